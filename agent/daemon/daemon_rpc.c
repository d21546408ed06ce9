/* daemon_rpc: the agent's answers to the control protocol's commands
 * (daemon_rpc.h), on the protocol thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "moonlist_version.h"
#include "swim/swim_knobs.h"
#include "wire/wire_mp.h"

/* A reply is one pass over its own buffer: start it, write one map, send
 * it with reply_send, which checks the pass once and frees the buffer. */
typedef struct reply {
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container map;
} reply;

static void reply_start(reply *r, size_t max)
{
    wire_buf_init(&r->b, max);
    wire_mp_writer_init(&r->w, &r->b);
    wire_mp_map_begin(&r->w, &r->map);
}

static void reply_send(daemon_rpc_conn *c, reply *r)
{
    wire_mp_map_end(&r->w, &r->map);
    if (wire_mp_finish(&r->w) == WIRE_OK)
        daemon_rpc_reply(c, r->b.data, r->b.len);
    else   /* prebuilt: nothing more can be built now; {"Error": "out of memory"} */
        daemon_rpc_reply(c, (const uint8_t *)"\x81\xa5" "Error\xadout of memory", 21);
    wire_buf_free(&r->b);
}

static void reply_error(daemon_rpc_conn *c, const char *msg)
{
    reply r;
    reply_start(&r, 0);
    wire_mp_pack_cstr(&r.w, "Error");
    wire_mp_pack_cstr(&r.w, msg);
    reply_send(c, &r);
}

static void reply_empty(daemon_rpc_conn *c)
{
    daemon_rpc_reply(c, (const uint8_t *)"\x80", 1);
}

void daemon_rpc_reply_left(daemon_rpc_conn *c)
{
    reply r;
    reply_start(&r, 0);
    wire_mp_pack_cstr(&r.w, "Left");
    wire_mp_pack_bool(&r.w, true);
    reply_send(c, &r);
}

static bool member_row(void *ud, const swim_member *m)
{
    wire_mp_writer *w = ud;
    char ip[64];
    net_addr_ip_text(&m->addr, ip, sizeof ip);
    const char *st = swim_state_name(m->state);
    daemon_rpc_member r = {
        .name = (const uint8_t *)m->name, .name_len = strlen(m->name),
        .addr = (const uint8_t *)ip, .addr_len = strlen(ip), .port = m->addr.port,
        .status = (const uint8_t *)st, .status_len = strlen(st), .incarnation = m->incarnation,
        .meta = m->meta, .meta_len = m->meta_len,
    };
    memcpy(r.vsn, m->vsn, 6);
    daemon_rpc_member_encode(w, &r);
    return wire_mp_error(w) == WIRE_OK;   /* a full frame: stop walking */
}

static void rpc_members(agent *a, daemon_rpc_conn *c)
{
    reply r;
    wire_mp_container rows;
    reply_start(&r, DAEMON_RPC_MAX_FRAME);
    wire_mp_pack_cstr(&r.w, "Members");
    wire_mp_array_begin(&r.w, &rows);
    swim_members_each(net_core(a->net), member_row, &r.w);
    wire_mp_array_end(&r.w, &rows);
    reply_send(c, &r);
}

static void on_join_done(void *ud, int joined, const char *err)
{
    daemon_rpc_conn *c = ud;
    if (joined <= 0) {
        reply_error(c, err ? err : "no seed answered");
        return;
    }
    reply r;
    reply_start(&r, 0);
    wire_mp_pack_cstr(&r.w, "Joined");
    wire_mp_pack_uint(&r.w, (uint64_t)joined);
    if (err) {
        wire_mp_pack_cstr(&r.w, "Warning");
        wire_mp_pack_cstr(&r.w, err);
    }
    reply_send(c, &r);
}

#define RPC_MAX_JOIN 64   /* seeds per join request: plenty for any cluster */

static void rpc_join(agent *a, daemon_rpc_conn *c, wire_mp_reader *addrs)
{
    uint32_t n;
    if (!addrs || wire_mp_read_array(addrs, &n) || n == 0 || n > RPC_MAX_JOIN) {
        reply_error(c, "join needs 1..64 addresses");
        return;
    }
    char buf[RPC_MAX_JOIN][300];
    const char *list[RPC_MAX_JOIN];
    for (uint32_t i = 0; i < n; i++) {
        wire_bytes s;
        if (wire_mp_read_str(addrs, &s) || s.n == 0 || s.n >= sizeof buf[i] || memchr(s.p, 0, s.n)) {
            reply_error(c, "bad address in join request");
            return;
        }
        memcpy(buf[i], s.p, s.n);
        buf[i][s.n] = '\0';
        list[i] = buf[i];
    }
    if (net_join(a->net, list, n, on_join_done, c) < 0)
        reply_error(c, "out of memory");
}

static void rpc_leave(agent *a, daemon_rpc_conn *c)
{
    if (a->nleave_waiters == sizeof a->leave_waiters / sizeof a->leave_waiters[0]) {
        reply_error(c, "leave already in progress");
        return;
    }
    a->leave_waiters[a->nleave_waiters++] = c;
    base_log(BASE_LOG_INFO, "leave requested over RPC");
    daemon_leave_begin(a);
}

static void rpc_force_leave(agent *a, daemon_rpc_conn *c, wire_bytes node)
{
    char name[256];
    if (!node.p || node.n == 0 || node.n >= sizeof name || memchr(node.p, 0, node.n)) {
        reply_error(c, "force-leave needs a node name");
        return;
    }
    memcpy(name, node.p, node.n);
    name[node.n] = '\0';
    bool ok = swim_force_leave(net_core(a->net), net_now(a->net), name);
    if (!ok) {
        reply_error(c, "no such member");
        return;
    }
    base_log(BASE_LOG_INFO, "force-leave: %s", name);
    reply_empty(c);
}

static void kv_str(wire_mp_writer *w, const char *k, const char *v)
{
    wire_mp_pack_cstr(w, k);
    wire_mp_pack_cstr(w, v);
}

static void kv_uint(wire_mp_writer *w, const char *k, uint64_t v)
{
    wire_mp_pack_cstr(w, k);
    wire_mp_pack_uint(w, v);
}

typedef struct count_ctx {
    uint64_t by_state[4];
} count_ctx;

static bool count_member(void *ud, const swim_member *m)
{
    count_ctx *c = ud;
    if ((unsigned)m->state < 4)
        c->by_state[m->state]++;
    return true;
}

/* "title": {...} inside the Info map; fill it between section_begin and
 * wire_mp_map_end. */
static void section_begin(wire_mp_writer *w, wire_mp_container *m, const char *title)
{
    wire_mp_pack_cstr(w, title);
    wire_mp_map_begin(w, m);
}

static void stats_section(wire_mp_writer *w, const char *title, const uint64_t *v)
{
    wire_mp_container m;
    section_begin(w, &m, title);
    /* type bytes 0..13 are every message memberlist defines (§2) */
    for (int t = 0; t <= WIRE_ERR; t++)
        kv_uint(w, wire_type_name(t), v[t]);
    wire_mp_map_end(w, &m);
}

static void rpc_info(agent *a, daemon_rpc_conn *c)
{
    swim *s = net_core(a->net);
    const swim_config *cfg = swim_get_config(s);
    const swim_stats *st = swim_get_stats(s);
    const net_counters *nc = net_get_counters(a->net);
    count_ctx cc = { { 0 } };
    swim_members_each(s, count_member, &cc);
    char rpc[300], vsn[64];
    snprintf(rpc, sizeof rpc, "%s:%u", a->o->rpc_host, a->o->rpc_port);

    reply r;
    reply_start(&r, 0);
    wire_mp_writer *w = &r.w;
    wire_mp_container info, m;
    section_begin(w, &info, "Info");

    section_begin(w, &m, "agent");
    kv_str(w, "name", cfg->name);
    kv_str(w, "version", MOONLIST_VERSION);
    kv_str(w, "advertise", net_advertise_text(a->net));
    kv_str(w, "bind", net_bind_text(a->net));
    kv_str(w, "rpc_addr", rpc);
    kv_str(w, "config", a->o->config_path[0] ? a->o->config_path : "(none)");
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "members");
    kv_uint(w, "total", swim_member_count(s));
    kv_uint(w, "alive", cc.by_state[SWIM_ALIVE]);
    kv_uint(w, "suspect", cc.by_state[SWIM_SUSPECT]);
    kv_uint(w, "dead", cc.by_state[SWIM_DEAD]);
    kv_uint(w, "left", cc.by_state[SWIM_LEFT]);
    kv_uint(w, "health_score", (uint64_t)swim_health_score(s));
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "versions");
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[0], cfg->vsn[1], cfg->vsn[2]);
    kv_str(w, "protocol", vsn);
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[3], cfg->vsn[4], cfg->vsn[5]);
    kv_str(w, "delegate", vsn);
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "config");
    kv_str(w, "profile", a->o->profile);
    kv_str(w, "encryption", a->o->net.keyring.n ? "on" : "off");
    kv_str(w, "compression", a->o->net.frame.compress ? "on" : "off");
    /* every knob of the table, durations in milliseconds */
    for (size_t i = 0; i < swim_knob_count(); i++) {
        const swim_knob *k = swim_knob_at(i);
        uint64_t v = swim_knob_get(cfg, i);
        char key[64];
        snprintf(key, sizeof key, "%s%s", k->name, k->kind == SWIM_KNOB_KIND_MS ? "_ms" : "");
        if (k->kind == SWIM_KNOB_KIND_BOOL)
            kv_str(w, key, v ? "true" : "false");
        else
            kv_uint(w, key, v);
    }
    kv_uint(w, "meta_bytes", cfg->meta_len);
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "protocol");
    kv_uint(w, "dropped", st->dropped);
    kv_uint(w, "broadcasts_dropped", st->broadcasts_dropped);
    kv_uint(w, "probes", st->probes);
    kv_uint(w, "probe_failures", st->probe_failures);
    kv_uint(w, "refutations", st->refutations);
    wire_mp_map_end(w, &m);

    stats_section(w, "messages sent", st->sent);
    stats_section(w, "messages received", st->received);
    stats_section(w, "messages dropped", st->dropped_by_type);

    section_begin(w, &m, "network");
    kv_uint(w, "packets_in", nc->packets_in);
    kv_uint(w, "packets_out", nc->packets_out);
    kv_uint(w, "malformed_packets", nc->malformed_packets);
    kv_uint(w, "send_errors", nc->send_errors);
    kv_uint(w, "streams_in", nc->streams_in);
    kv_uint(w, "streams_out", nc->streams_out);
    kv_uint(w, "streams_rejected", nc->streams_rejected);
    kv_uint(w, "stream_errors", nc->stream_errors);
    wire_mp_map_end(w, &m);

    /* the script's host: what its hooks cost and what went wrong there */
    mlua_stats ls = { 0 };
    if (a->lua)
        mlua_get_stats(a->lua, &ls);
    section_begin(w, &m, "lua");
    kv_str(w, "script", a->lua ? "running" : "none");
#define LUA_STAT(name, why) kv_uint(w, #name, ls.name);
    MLUA_STATS(LUA_STAT)
#undef LUA_STAT
    wire_mp_map_end(w, &m);

    wire_mp_map_end(w, &info);
    reply_send(c, &r);
}

void daemon_rpc_request(void *ud, daemon_rpc_conn *c, const uint8_t *req, size_t len)
{
    agent *a = ud;
    wire_mp_reader r, addrs;
    bool have_addrs = false;
    wire_bytes cmd = { 0 }, node = { 0 };
    uint32_t nk;
    wire_mp_reader_init(&r, req, len);
    if (wire_mp_read_map(&r, &nk)) {
        reply_error(c, "malformed request");
        return;
    }
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k)) {
            reply_error(c, "malformed request");
            return;
        }
        int bad;
        if (wire_mp_eq(k, "Command")) {
            bad = wire_mp_read_str(&r, &cmd);
        } else if (wire_mp_eq(k, "Node")) {
            bad = wire_mp_read_str(&r, &node);
        } else if (wire_mp_eq(k, "Addrs")) {
            addrs = r;
            have_addrs = true;
            bad = wire_mp_skip(&r);
        } else {
            bad = wire_mp_skip(&r);
        }
        if (bad) {
            reply_error(c, "malformed request");
            return;
        }
    }
    if (!cmd.p) {
        reply_error(c, "request has no Command");
    } else if (serf_leave_active(&a->leave) && (wire_mp_eq(cmd, "join") || wire_mp_eq(cmd, "force-leave"))) {
        reply_error(c, "the agent is leaving");
    } else if (wire_mp_eq(cmd, "members")) {
        rpc_members(a, c);
    } else if (wire_mp_eq(cmd, "join")) {
        rpc_join(a, c, have_addrs ? &addrs : NULL);
    } else if (wire_mp_eq(cmd, "leave")) {
        rpc_leave(a, c);
    } else if (wire_mp_eq(cmd, "force-leave")) {
        rpc_force_leave(a, c, node);
    } else if (wire_mp_eq(cmd, "info")) {
        rpc_info(a, c);
    } else {
        reply_error(c, "unknown command");
    }
}
