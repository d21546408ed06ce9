/* daemon_rpc: the agent's answers to the control protocol's commands
 * (daemon_rpc.h), on the protocol thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "moonlist_version.h"
#include "wire/wire_mpx.h"

static void reply_buf(daemon_rpc_conn *c, wire_buf *b, int rc)
{
    if (rc == 0)
        daemon_rpc_reply(c, b->data, b->len);
    else
        daemon_rpc_reply(c, (const uint8_t *)"\x81\xa5" "Error\xadout of memory", 21);
    wire_buf_free(b);
}

static void reply_error(daemon_rpc_conn *c, const char *msg)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = wire_mpx_map(&b, 1);
    rc = rc ? rc : wire_mpx_cstr(&b, "Error");
    rc = rc ? rc : wire_mpx_cstr(&b, msg);
    reply_buf(c, &b, rc);
}

static void reply_empty(daemon_rpc_conn *c)
{
    daemon_rpc_reply(c, (const uint8_t *)"\x80", 1);
}

void daemon_rpc_reply_left(daemon_rpc_conn *c)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = wire_mpx_map(&b, 1);
    rc = rc ? rc : wire_mpx_cstr(&b, "Left");
    rc = rc ? rc : wire_mpx_bool(&b, true);
    reply_buf(c, &b, rc);
}

typedef struct members_ctx {
    wire_buf *b;
    int rc;
} members_ctx;

static bool member_row(void *ud, const swim_member *m)
{
    members_ctx *c = ud;
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
    c->rc = daemon_rpc_member_encode(c->b, &r);
    return c->rc == 0;
}

static void rpc_members(agent *a, daemon_rpc_conn *c)
{
    swim *s = net_core(a->net);
    wire_buf b;
    wire_buf_init(&b, DAEMON_RPC_MAX_FRAME);
    members_ctx ctx = { .b = &b };
    ctx.rc = wire_mpx_map(&b, 1);
    ctx.rc = ctx.rc ? ctx.rc : wire_mpx_cstr(&b, "Members");
    ctx.rc = ctx.rc ? ctx.rc : wire_mpx_array(&b, (uint32_t)swim_member_count(s));
    if (ctx.rc == 0)
        swim_members_each(s, member_row, &ctx);
    reply_buf(c, &b, ctx.rc);
}

static void on_join_done(void *ud, int joined, const char *err)
{
    daemon_rpc_conn *c = ud;
    if (joined <= 0) {
        reply_error(c, err ? err : "no seed answered");
        return;
    }
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = wire_mpx_map(&b, err ? 2 : 1);
    rc = rc ? rc : wire_mpx_cstr(&b, "Joined");
    rc = rc ? rc : wire_mpx_uint(&b, (uint64_t)joined);
    if (err) {
        rc = rc ? rc : wire_mpx_cstr(&b, "Warning");
        rc = rc ? rc : wire_mpx_cstr(&b, err);
    }
    reply_buf(c, &b, rc);
}

#define RPC_MAX_JOIN 64   /* seeds per join request: plenty for any cluster */

static void rpc_join(agent *a, daemon_rpc_conn *c, wire_mpx_reader *addrs)
{
    uint32_t n;
    if (!addrs || wire_mpx_read_array(addrs, &n) || n == 0 || n > RPC_MAX_JOIN) {
        reply_error(c, "join needs 1..64 addresses");
        return;
    }
    char buf[RPC_MAX_JOIN][300];
    const char *list[RPC_MAX_JOIN];
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        if (wire_mpx_read_str(addrs, &s, &len) || len == 0 || len >= sizeof buf[i] || memchr(s, 0, len)) {
            reply_error(c, "bad address in join request");
            return;
        }
        memcpy(buf[i], s, len);
        buf[i][len] = '\0';
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

static void rpc_force_leave(agent *a, daemon_rpc_conn *c, const uint8_t *node, size_t len)
{
    char name[256];
    if (!node || len == 0 || len >= sizeof name || memchr(node, 0, len)) {
        reply_error(c, "force-leave needs a node name");
        return;
    }
    memcpy(name, node, len);
    name[len] = '\0';
    bool ok = swim_force_leave(net_core(a->net), net_now(a->net), name);
    if (!ok) {
        reply_error(c, "no such member");
        return;
    }
    base_log(BASE_LOG_INFO, "force-leave: %s", name);
    reply_empty(c);
}

static int kv_str(wire_buf *b, const char *k, const char *v)
{
    int rc = wire_mpx_cstr(b, k);
    return rc ? rc : wire_mpx_cstr(b, v);
}

static int kv_uint(wire_buf *b, const char *k, uint64_t v)
{
    int rc = wire_mpx_cstr(b, k);
    return rc ? rc : wire_mpx_uint(b, v);
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

static int stats_section(wire_buf *b, const char *title, const uint64_t *v)
{
    /* type bytes 0..13 are every message memberlist defines (§2) */
    int rc = wire_mpx_cstr(b, title);
    rc = rc ? rc : wire_mpx_map(b, WIRE_ERR + 1);
    for (int t = 0; !rc && t <= WIRE_ERR; t++)
        rc = kv_uint(b, wire_type_name(t), v[t]);
    return rc;
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

    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = wire_mpx_map(&b, 1);
    rc = rc ? rc : wire_mpx_cstr(&b, "Info");
    rc = rc ? rc : wire_mpx_map(&b, 9);

    rc = rc ? rc : wire_mpx_cstr(&b, "agent");
    rc = rc ? rc : wire_mpx_map(&b, 6);
    rc = rc ? rc : kv_str(&b, "name", cfg->name);
    rc = rc ? rc : kv_str(&b, "version", MOONLIST_VERSION);
    rc = rc ? rc : kv_str(&b, "advertise", net_advertise_text(a->net));
    rc = rc ? rc : kv_str(&b, "bind", net_bind_text(a->net));
    rc = rc ? rc : kv_str(&b, "rpc_addr", rpc);
    rc = rc ? rc : kv_str(&b, "config", a->o->config_path[0] ? a->o->config_path : "(none)");

    rc = rc ? rc : wire_mpx_cstr(&b, "members");
    rc = rc ? rc : wire_mpx_map(&b, 6);
    rc = rc ? rc : kv_uint(&b, "total", swim_member_count(s));
    rc = rc ? rc : kv_uint(&b, "alive", cc.by_state[SWIM_ALIVE]);
    rc = rc ? rc : kv_uint(&b, "suspect", cc.by_state[SWIM_SUSPECT]);
    rc = rc ? rc : kv_uint(&b, "dead", cc.by_state[SWIM_DEAD]);
    rc = rc ? rc : kv_uint(&b, "left", cc.by_state[SWIM_LEFT]);
    rc = rc ? rc : kv_uint(&b, "health_score", (uint64_t)swim_health_score(s));

    rc = rc ? rc : wire_mpx_cstr(&b, "versions");
    rc = rc ? rc : wire_mpx_map(&b, 2);
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[0], cfg->vsn[1], cfg->vsn[2]);
    rc = rc ? rc : kv_str(&b, "protocol", vsn);
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[3], cfg->vsn[4], cfg->vsn[5]);
    rc = rc ? rc : kv_str(&b, "delegate", vsn);

    rc = rc ? rc : wire_mpx_cstr(&b, "config");
    rc = rc ? rc : wire_mpx_map(&b, 16);
    rc = rc ? rc : kv_str(&b, "profile", a->o->profile);
    rc = rc ? rc : kv_str(&b, "encryption", a->o->net.keyring.n ? "on" : "off");
    rc = rc ? rc : kv_str(&b, "compression", a->o->net.frame.compress ? "on" : "off");
    rc = rc ? rc : kv_uint(&b, "probe_interval_ms", cfg->probe_interval);
    rc = rc ? rc : kv_uint(&b, "probe_timeout_ms", cfg->probe_timeout);
    rc = rc ? rc : kv_uint(&b, "gossip_interval_ms", cfg->gossip_interval);
    rc = rc ? rc : kv_uint(&b, "gossip_nodes", cfg->gossip_nodes);
    rc = rc ? rc : kv_uint(&b, "push_pull_interval_ms", cfg->push_pull_interval);
    rc = rc ? rc : kv_uint(&b, "tcp_timeout_ms", cfg->tcp_timeout);
    rc = rc ? rc : kv_uint(&b, "suspicion_mult", cfg->suspicion_mult);
    rc = rc ? rc : kv_uint(&b, "suspicion_max_timeout_mult", cfg->suspicion_max_timeout_mult);
    rc = rc ? rc : kv_uint(&b, "retransmit_mult", cfg->retransmit_mult);
    rc = rc ? rc : kv_uint(&b, "indirect_checks", cfg->indirect_checks);
    rc = rc ? rc : kv_uint(&b, "awareness_max_multiplier", cfg->awareness_max_multiplier);
    rc = rc ? rc : kv_uint(&b, "gossip_to_the_dead_ms", cfg->gossip_to_the_dead_time);
    rc = rc ? rc : kv_uint(&b, "meta_bytes", cfg->meta_len);

    rc = rc ? rc : wire_mpx_cstr(&b, "protocol");
    rc = rc ? rc : wire_mpx_map(&b, 5);
    rc = rc ? rc : kv_uint(&b, "dropped", st->dropped);
    rc = rc ? rc : kv_uint(&b, "broadcasts_dropped", st->broadcasts_dropped);
    rc = rc ? rc : kv_uint(&b, "probes", st->probes);
    rc = rc ? rc : kv_uint(&b, "probe_failures", st->probe_failures);
    rc = rc ? rc : kv_uint(&b, "refutations", st->refutations);

    rc = rc ? rc : stats_section(&b, "messages sent", st->sent);
    rc = rc ? rc : stats_section(&b, "messages received", st->received);
    rc = rc ? rc : stats_section(&b, "messages dropped", st->dropped_by_type);

    rc = rc ? rc : wire_mpx_cstr(&b, "network");
    rc = rc ? rc : wire_mpx_map(&b, 8);
    rc = rc ? rc : kv_uint(&b, "packets_in", nc->packets_in);
    rc = rc ? rc : kv_uint(&b, "packets_out", nc->packets_out);
    rc = rc ? rc : kv_uint(&b, "malformed_packets", nc->malformed_packets);
    rc = rc ? rc : kv_uint(&b, "send_errors", nc->send_errors);
    rc = rc ? rc : kv_uint(&b, "streams_in", nc->streams_in);
    rc = rc ? rc : kv_uint(&b, "streams_out", nc->streams_out);
    rc = rc ? rc : kv_uint(&b, "streams_rejected", nc->streams_rejected);
    rc = rc ? rc : kv_uint(&b, "stream_errors", nc->stream_errors);
    reply_buf(c, &b, rc);
}

void daemon_rpc_request(void *ud, daemon_rpc_conn *c, const uint8_t *req, size_t len)
{
    agent *a = ud;
    wire_mpx_reader r, addrs;
    bool have_addrs = false;
    const uint8_t *cmd = NULL, *node = NULL;
    size_t cmdlen = 0, nodelen = 0;
    uint32_t nk;
    wire_mpx_reader_init(&r, req, len);
    if (wire_mpx_read_map(&r, &nk)) {
        reply_error(c, "malformed request");
        return;
    }
    for (uint32_t i = 0; i < nk; i++) {
        const uint8_t *k;
        size_t kl;
        if (wire_mpx_read_str(&r, &k, &kl)) {
            reply_error(c, "malformed request");
            return;
        }
        int bad;
        if (wire_mpx_eq(k, kl, "Command")) {
            bad = wire_mpx_read_str(&r, &cmd, &cmdlen);
        } else if (wire_mpx_eq(k, kl, "Node")) {
            bad = wire_mpx_read_str(&r, &node, &nodelen);
        } else if (wire_mpx_eq(k, kl, "Addrs")) {
            addrs = r;
            have_addrs = true;
            bad = wire_mpx_skip(&r);
        } else {
            bad = wire_mpx_skip(&r);
        }
        if (bad) {
            reply_error(c, "malformed request");
            return;
        }
    }
    if (!cmd) {
        reply_error(c, "request has no Command");
    } else if (a->leave_phase && (wire_mpx_eq(cmd, cmdlen, "join") || wire_mpx_eq(cmd, cmdlen, "force-leave"))) {
        reply_error(c, "the agent is leaving");
    } else if (wire_mpx_eq(cmd, cmdlen, "members")) {
        rpc_members(a, c);
    } else if (wire_mpx_eq(cmd, cmdlen, "join")) {
        rpc_join(a, c, have_addrs ? &addrs : NULL);
    } else if (wire_mpx_eq(cmd, cmdlen, "leave")) {
        rpc_leave(a, c);
    } else if (wire_mpx_eq(cmd, cmdlen, "force-leave")) {
        rpc_force_leave(a, c, node, nodelen);
    } else if (wire_mpx_eq(cmd, cmdlen, "info")) {
        rpc_info(a, c);
    } else {
        reply_error(c, "unknown command");
    }
}
