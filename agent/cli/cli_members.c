#include "cli/cli_members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "net/net.h"

static int read_vsn(wire_mp_reader *r, uint8_t *v)
{
    uint64_t x = 0;
    int rc = wire_mp_read_uint(r, UINT8_MAX, &x);
    *v = (uint8_t)x;
    return rc;
}

static int decode_row(wire_mp_reader *r, cli_member *m)
{
    static const char *const vsn_keys[6] = { "ProtocolMin", "ProtocolMax", "ProtocolCur",
                                             "DelegateMin", "DelegateMax", "DelegateCur" };
    uint32_t nk;
    wire_bytes status = { 0 }, state = { 0 }, addr = { 0 };
    bool have_tags = false;
    memset(m, 0, sizeof *m);
    if (wire_mp_read_map(r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        uint64_t v;
        int rc;
        if (wire_mp_read_str(r, &k))
            return -1;
        if (wire_mp_eq(k, "Name")) {
            rc = wire_mp_read_str(r, &m->name);
        } else if (wire_mp_eq(k, "Addr")) {
            rc = wire_mp_read_str(r, &addr);
        } else if (wire_mp_eq(k, "Status")) {
            rc = wire_mp_read_str(r, &status);
        } else if (wire_mp_eq(k, "State")) {
            rc = wire_mp_read_str(r, &state);
        } else if (wire_mp_eq(k, "Tags")) {
            rc = daemon_rpc_read_list(r, &m->tags, true);
            have_tags = true;
        } else if (wire_mp_eq(k, "Port")) {
            rc = wire_mp_read_uint(r, UINT16_MAX, &v);
            m->port = (uint16_t)v;
        } else if (wire_mp_eq(k, "Incarnation")) {
            rc = wire_mp_read_uint(r, UINT32_MAX, &v);
            m->incarnation = (uint32_t)v;
        } else {
            int j = 0;
            while (j < 6 && !wire_mp_eq(k, vsn_keys[j]))
                j++;
            rc = j < 6 ? read_vsn(r, &m->vsn[j]) : wire_mp_skip(r);
        }
        if (rc)
            return -1;
    }
    /* serf's Addr is the raw IP: 4 or 16 bytes */
    if (!m->name.p || !addr.p || (addr.n != 4 && addr.n != 16) || !(state.p || status.p) || !have_tags)
        return -1;
    swim_addr a = { .ip_len = (uint8_t)addr.n };
    memcpy(a.ip, addr.p, addr.n);
    net_addr_ip_text(&a, m->addr, sizeof m->addr);
    m->status = state.p ? state : status;
    m->serf_status = status.p ? status : state;
    return 0;
}

int cli_members_decode(wire_mp_reader *r, cli_member **rows, size_t *n)
{
    uint32_t na;
    *rows = NULL;
    *n = 0;
    if (wire_mp_read_array(r, &na))
        return -1;
    /* na is bounded by the bytes left (wire_mp_read_array), so this is too */
    cli_member *v = calloc(na ? na : 1, sizeof *v);
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

static void json_member(wire_mp_writer *w, const cli_member *m)
{
    char num[128];
    cli_json_raw(w, "{\"name\":");
    cli_json_str(w, (const char *)m->name.p, m->name.n);
    cli_json_raw(w, ",\"addr\":");
    cli_json_str(w, m->addr, strlen(m->addr));
    snprintf(num, sizeof num, ",\"port\":%u,\"status\":", m->port);
    cli_json_raw(w, num);
    cli_json_str(w, (const char *)m->status.p, m->status.n);
    cli_json_raw(w, ",\"tags\":{");
    daemon_rpc_list tags = m->tags;
    wire_bytes k, v;
    for (bool first = true; daemon_rpc_map_next(&tags, &k, &v); first = false) {
        if (!first)
            cli_json_raw(w, ",");
        cli_json_str(w, (const char *)k.p, k.n);
        cli_json_raw(w, ":");
        cli_json_str(w, (const char *)v.p, v.n);
    }
    snprintf(num, sizeof num, "},\"incarnation\":%u,\"protocol\":[%u,%u,%u],\"delegate\":[%u,%u,%u]",
             m->incarnation, m->vsn[0], m->vsn[1], m->vsn[2], m->vsn[3], m->vsn[4], m->vsn[5]);
    cli_json_raw(w, num);
    cli_json_raw(w, ",\"serf_status\":");
    cli_json_str(w, (const char *)m->serf_status.p, m->serf_status.n);
    cli_json_raw(w, "}");
}

int cli_members_json(wire_buf *out, const cli_member *rows, size_t n)
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

static size_t addr_text(const cli_member *m, char *buf, size_t len)
{
    bool v6 = strchr(m->addr, ':') != NULL;
    int k = snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", m->addr, v6 ? "]" : "", m->port);
    return k < 0 ? 0 : (size_t)k >= len ? len - 1 : (size_t)k;
}

int cli_members_text(wire_buf *out, const cli_member *rows, size_t n)
{
    size_t wname = 0, waddr = 0, wstat = 0;
    char addr[128];
    for (size_t i = 0; i < n; i++) {
        if (rows[i].name.n > wname)
            wname = rows[i].name.n;
        size_t al = addr_text(&rows[i], addr, sizeof addr);
        if (al > waddr)
            waddr = al;
        if (rows[i].status.n > wstat)
            wstat = rows[i].status.n;
    }
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    for (size_t i = 0; i < n; i++) {
        const cli_member *m = &rows[i];
        put_safe(&w, m->name.p, m->name.n);
        pad(&w, m->name.n, wname);
        size_t al = addr_text(m, addr, sizeof addr);
        put_safe(&w, (const uint8_t *)addr, al);
        pad(&w, al, waddr);
        put_safe(&w, m->status.p, m->status.n);
        pad(&w, m->status.n, wstat);
        daemon_rpc_list tags = m->tags;
        wire_bytes k, v;
        for (bool first = true; daemon_rpc_map_next(&tags, &k, &v); first = false) {
            if (!first)
                wire_mp_put_byte(&w, ',');
            put_safe(&w, k.p, k.n);
            wire_mp_put_byte(&w, '=');
            put_safe(&w, v.p, v.n);
        }
        wire_mp_put_byte(&w, '\n');
    }
    return wire_mp_finish(&w);
}
