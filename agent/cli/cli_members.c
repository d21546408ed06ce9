#include "cli/cli_members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"

/* A string field of a row: a view into the response. */
static int read_view(wire_mp_reader *r, const uint8_t **p, size_t *n)
{
    wire_bytes v;
    if (wire_mp_read_str(r, &v))
        return -1;
    *p = v.p;
    *n = v.n;
    return 0;
}

static int decode_row(wire_mp_reader *r, daemon_rpc_member *m)
{
    uint32_t nk;
    memset(m, 0, sizeof *m);
    if (wire_mp_read_map(r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        uint64_t v;
        if (wire_mp_read_str(r, &k))
            return -1;
        if (wire_mp_eq(k, "Name")) {
            if (read_view(r, &m->name, &m->name_len))
                return -1;
        } else if (wire_mp_eq(k, "Addr")) {
            if (read_view(r, &m->addr, &m->addr_len))
                return -1;
        } else if (wire_mp_eq(k, "Status")) {
            if (read_view(r, &m->status, &m->status_len))
                return -1;
        } else if (wire_mp_eq(k, "Meta")) {
            if (read_view(r, &m->meta, &m->meta_len))
                return -1;
        } else if (wire_mp_eq(k, "Port")) {
            if (wire_mp_read_uint(r, UINT16_MAX, &v))
                return -1;
            m->port = (uint16_t)v;
        } else if (wire_mp_eq(k, "Incarnation")) {
            if (wire_mp_read_uint(r, UINT32_MAX, &v))
                return -1;
            m->incarnation = (uint32_t)v;
        } else if (wire_mp_eq(k, "Vsn")) {
            uint32_t na;
            if (wire_mp_read_array(r, &na) || na != 6)
                return -1;
            for (int j = 0; j < 6; j++) {
                if (wire_mp_read_uint(r, UINT8_MAX, &v))
                    return -1;
                m->vsn[j] = (uint8_t)v;
            }
        } else if (wire_mp_skip(r)) {
            return -1;
        }
    }
    return m->name && m->addr && m->status ? 0 : -1;
}

int cli_members_decode(wire_mp_reader *r, daemon_rpc_member **rows, size_t *n)
{
    uint32_t na;
    *rows = NULL;
    *n = 0;
    if (wire_mp_read_array(r, &na))
        return -1;
    /* na is bounded by the bytes left (wire_mp_read_array), so this is too */
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

static void json_member(wire_mp_writer *w, const daemon_rpc_member *m)
{
    char num[128];
    serf_tags tags = { 0 };
    /* malformed meta: show the tags decoded before the error */
    (void)serf_tags_decode(&tags, m->meta, m->meta_len);
    cli_json_raw(w, "{\"name\":");
    cli_json_str(w, (const char *)m->name, m->name_len);
    cli_json_raw(w, ",\"addr\":");
    cli_json_str(w, (const char *)m->addr, m->addr_len);
    snprintf(num, sizeof num, ",\"port\":%u,\"status\":", m->port);
    cli_json_raw(w, num);
    cli_json_str(w, (const char *)m->status, m->status_len);
    cli_json_raw(w, ",\"tags\":{");
    for (size_t i = 0; i < tags.n; i++) {
        if (i)
            cli_json_raw(w, ",");
        cli_json_str(w, tags.v[i].key, tags.v[i].klen);
        cli_json_raw(w, ":");
        cli_json_str(w, tags.v[i].value, tags.v[i].vlen);
    }
    snprintf(num, sizeof num, "},\"incarnation\":%u,\"protocol\":[%u,%u,%u],\"delegate\":[%u,%u,%u]}",
             m->incarnation, m->vsn[0], m->vsn[1], m->vsn[2], m->vsn[3], m->vsn[4], m->vsn[5]);
    cli_json_raw(w, num);
    serf_tags_free(&tags);
}

int cli_members_json(wire_buf *out, const daemon_rpc_member *rows, size_t n)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    cli_json_raw(&w, "{\"members\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            cli_json_raw(&w, ",");
        json_member(&w, &rows[i]);
    }
    cli_json_raw(&w, "]}\n");
    return wire_mp_finish(&w);
}

/* Text output mirrors `serf members`: name, addr:port, status, tags as
 * k=v,k=v; columns padded to the widest entry. Control bytes in names or
 * tags are shown as '?' so a hostile name cannot drive the terminal. */
static void put_safe(wire_mp_writer *w, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wire_mp_put_byte(w, (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i]);
}

static void pad(wire_mp_writer *w, size_t have, size_t want)
{
    for (size_t i = have; i < want + 2; i++)
        wire_mp_put_byte(w, ' ');
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
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    for (size_t i = 0; i < n; i++) {
        const daemon_rpc_member *m = &rows[i];
        put_safe(&w, m->name, m->name_len);
        pad(&w, m->name_len, wname);
        size_t al = addr_text(m, addr, sizeof addr);
        put_safe(&w, (const uint8_t *)addr, al);
        pad(&w, al, waddr);
        put_safe(&w, m->status, m->status_len);
        pad(&w, m->status_len, wstat);
        serf_tags tags = { 0 };
        (void)serf_tags_decode(&tags, m->meta, m->meta_len);
        for (size_t t = 0; t < tags.n; t++) {
            if (t)
                wire_mp_put_byte(&w, ',');
            put_safe(&w, (const uint8_t *)tags.v[t].key, tags.v[t].klen);
            wire_mp_put_byte(&w, '=');
            put_safe(&w, (const uint8_t *)tags.v[t].value, tags.v[t].vlen);
        }
        serf_tags_free(&tags);
        wire_mp_put_byte(&w, '\n');
    }
    return wire_mp_finish(&w);
}
