#include "cli/cli_members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "wire/wire_mpx.h"

static int decode_row(wire_mpx_reader *r, daemon_rpc_member *m)
{
    uint32_t nk;
    memset(m, 0, sizeof *m);
    if (wire_mpx_read_map(r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        const uint8_t *k;
        size_t kl;
        uint64_t v;
        if (wire_mpx_read_str(r, &k, &kl))
            return -1;
        if (wire_mpx_eq(k, kl, "Name")) {
            if (wire_mpx_read_str(r, &m->name, &m->name_len))
                return -1;
        } else if (wire_mpx_eq(k, kl, "Addr")) {
            if (wire_mpx_read_str(r, &m->addr, &m->addr_len))
                return -1;
        } else if (wire_mpx_eq(k, kl, "Status")) {
            if (wire_mpx_read_str(r, &m->status, &m->status_len))
                return -1;
        } else if (wire_mpx_eq(k, kl, "Meta")) {
            if (wire_mpx_read_str(r, &m->meta, &m->meta_len))
                return -1;
        } else if (wire_mpx_eq(k, kl, "Port")) {
            if (wire_mpx_read_uint(r, &v) || v > UINT16_MAX)
                return -1;
            m->port = (uint16_t)v;
        } else if (wire_mpx_eq(k, kl, "Incarnation")) {
            if (wire_mpx_read_uint(r, &v) || v > UINT32_MAX)
                return -1;
            m->incarnation = (uint32_t)v;
        } else if (wire_mpx_eq(k, kl, "Vsn")) {
            uint32_t na;
            if (wire_mpx_read_array(r, &na) || na != 6)
                return -1;
            for (int j = 0; j < 6; j++) {
                if (wire_mpx_read_uint(r, &v) || v > 255)
                    return -1;
                m->vsn[j] = (uint8_t)v;
            }
        } else if (wire_mpx_skip(r)) {
            return -1;
        }
    }
    return m->name && m->addr && m->status ? 0 : -1;
}

int cli_members_decode(wire_mpx_reader *r, daemon_rpc_member **rows, size_t *n)
{
    uint32_t na;
    *rows = NULL;
    *n = 0;
    if (wire_mpx_read_array(r, &na))
        return -1;
    /* na is bounded by the bytes left (wire_mpx_read_array), so this is too */
    daemon_rpc_member *v = calloc(na ? na : 1, sizeof *v);
    if (!v)
        return -1;
    for (uint32_t i = 0; i < na; i++) {
        if (decode_row(r, &v[i])) {
            free(v);
            return -1;
        }
    }
    *rows = v;
    *n = na;
    return 0;
}

static int json_member(wire_buf *out, const daemon_rpc_member *m)
{
    char num[128];
    serf_tags tags = { 0 };
    /* malformed meta: show the tags decoded before the error */
    (void)serf_tags_decode(&tags, m->meta, m->meta_len);
    int rc = cli_json_raw(out, "{\"name\":");
    rc = rc ? rc : cli_json_str(out, (const char *)m->name, m->name_len);
    rc = rc ? rc : cli_json_raw(out, ",\"addr\":");
    rc = rc ? rc : cli_json_str(out, (const char *)m->addr, m->addr_len);
    snprintf(num, sizeof num, ",\"port\":%u,\"status\":", m->port);
    rc = rc ? rc : cli_json_raw(out, num);
    rc = rc ? rc : cli_json_str(out, (const char *)m->status, m->status_len);
    rc = rc ? rc : cli_json_raw(out, ",\"tags\":{");
    for (size_t i = 0; !rc && i < tags.n; i++) {
        if (i)
            rc = cli_json_raw(out, ",");
        rc = rc ? rc : cli_json_str(out, tags.v[i].key, tags.v[i].klen);
        rc = rc ? rc : cli_json_raw(out, ":");
        rc = rc ? rc : cli_json_str(out, tags.v[i].value, tags.v[i].vlen);
    }
    snprintf(num, sizeof num, "},\"incarnation\":%u,\"protocol\":[%u,%u,%u],\"delegate\":[%u,%u,%u]}",
             m->incarnation, m->vsn[0], m->vsn[1], m->vsn[2], m->vsn[3], m->vsn[4], m->vsn[5]);
    rc = rc ? rc : cli_json_raw(out, num);
    serf_tags_free(&tags);
    return rc;
}

int cli_members_json(wire_buf *out, const daemon_rpc_member *rows, size_t n)
{
    int rc = cli_json_raw(out, "{\"members\":[");
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = cli_json_raw(out, ",");
        rc = rc ? rc : json_member(out, &rows[i]);
    }
    return rc ? rc : cli_json_raw(out, "]}\n");
}

/* Text output mirrors `serf members`: name, addr:port, status, tags as
 * k=v,k=v; columns padded to the widest entry. Control bytes in names or
 * tags are shown as '?' so a hostile name cannot drive the terminal. */
static int put_safe(wire_buf *out, const uint8_t *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = wire_buf_append_byte(out, (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i]);
    return rc;
}

static int pad(wire_buf *out, size_t have, size_t want)
{
    int rc = 0;
    for (size_t i = have; !rc && i < want + 2; i++)
        rc = wire_buf_append_byte(out, ' ');
    return rc;
}

static size_t addr_text(const daemon_rpc_member *m, char *buf, size_t len)
{
    bool v6 = memchr(m->addr, ':', m->addr_len) != NULL;
    int k = snprintf(buf, len, "%s%.*s%s:%u", v6 ? "[" : "", (int)m->addr_len, (const char *)m->addr,
                     v6 ? "]" : "", m->port);
    return k < 0 ? 0 : (size_t)k >= len ? len - 1 : (size_t)k;
}

int cli_members_text(wire_buf *out, const daemon_rpc_member *rows, size_t n)
{
    size_t wname = 0, waddr = 0, wstat = 0;
    char addr[128];
    for (size_t i = 0; i < n; i++) {
        if (rows[i].name_len > wname)
            wname = rows[i].name_len;
        size_t al = addr_text(&rows[i], addr, sizeof addr);
        if (al > waddr)
            waddr = al;
        if (rows[i].status_len > wstat)
            wstat = rows[i].status_len;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const daemon_rpc_member *m = &rows[i];
        rc = put_safe(out, m->name, m->name_len);
        rc = rc ? rc : pad(out, m->name_len, wname);
        size_t al = addr_text(m, addr, sizeof addr);
        rc = rc ? rc : put_safe(out, (const uint8_t *)addr, al);
        rc = rc ? rc : pad(out, al, waddr);
        rc = rc ? rc : put_safe(out, m->status, m->status_len);
        rc = rc ? rc : pad(out, m->status_len, wstat);
        serf_tags tags = { 0 };
        (void)serf_tags_decode(&tags, m->meta, m->meta_len);
        for (size_t t = 0; !rc && t < tags.n; t++) {
            if (t)
                rc = wire_buf_append_byte(out, ',');
            rc = rc ? rc : put_safe(out, (const uint8_t *)tags.v[t].key, tags.v[t].klen);
            rc = rc ? rc : wire_buf_append_byte(out, '=');
            rc = rc ? rc : put_safe(out, (const uint8_t *)tags.v[t].value, tags.v[t].vlen);
        }
        serf_tags_free(&tags);
        rc = rc ? rc : wire_buf_append_byte(out, '\n');
    }
    return rc;
}
