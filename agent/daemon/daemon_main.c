/* `moonlist agent`: one libuv loop runs the protocol (net + swim core) and
 * the RPC server. Membership changes are logged one line each; SIGTERM,
 * SIGINT or `moonlist leave` start a graceful leave:
 *   1. gossip serf's leave intent, so serf agents show us "left" (§16),
 *   2. once it has been sent its full retransmit count (bounded), swim_leave
 *      (our dead-with-From==Node),
 *   3. on SWIM_EV_LEAVE_DONE (or a hard deadline) close everything, exit 0.
 * A second signal exits at once. */
#include "daemon/daemon.h"

#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon_opts.h"
#include "base/base_log.h"
#include "wire/wire_mpx.h"
#include "daemon/daemon_rpc.h"
#include "daemon/daemon_rpc_server.h"
#include "serf/serf_msg.h"
#include "serf/serf_relay.h"
#include "daemon/daemon_script.h"
#include "moonlist_version.h"

/* How long swim_leave may take to gossip our leave, as serf's default
 * LeavePropagateDelay/BroadcastTimeout (5 s). */
#define AGENT_LEAVE_TIMEOUT_MS 5000
/* The leave intent rides on gossip; the memberlist leave must follow it,
 * not overtake it (serf shows a node "left" only if the intent came
 * first). Wait until it has been sent its full retransmit count, but at
 * most this long: serf's BroadcastTimeout (5 s), which bounds its own wait
 * for the same broadcast. */
#define AGENT_INTENT_TIMEOUT_MS 5000
/* How often to look whether the intent is out: a small fraction of the
 * 200 ms (lan) gossip interval, so the leave follows its last send soon. */
#define AGENT_INTENT_POLL_MS 20
/* serf intents we relay, nodes remembered (LRU): far more than the nodes
 * that join or leave at once in any cluster; a forgotten node's old intent
 * may be relayed once more, which serf agents ignore as old. */
#define AGENT_RELAY_NODES 1024
/* Relays waiting for the loop (events cannot call into the core): intents
 * arrive one per join or leave, a burst beyond this is dropped and logged. */
#define AGENT_RELAY_QUEUE 64
/* Hard stop if the core never reports the leave done. */
#define AGENT_LEAVE_GRACE_MS 1000
/* At exit, a hook still running gets this long to return. */
#define AGENT_LUA_STOP_MS 2000


typedef struct agent {
    uv_loop_t *loop;
    daemon_opts *o;
    net *net;
    daemon_rpc_server *rpc;
    mlua *lua;                 /* the script's host, NULL without Lua */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t leave_timer;
    uv_timer_t intent_timer;   /* sends serf's join intent after a join */
    int leave_phase;           /* 0 running, 1 intent out, 2 swim leaving, 3 done */
    uint64_t intent_deadline;  /* phase 1: swim_leave by then at the latest (loop ms) */
    serf_relay *relay;     /* serf intents seen: which to relay */
    uv_timer_t relay_timer;    /* broadcasts the queued relays from the loop */
    struct {
        char key[300];
        uint8_t *payload;      /* owned */
        size_t len;
    } relays[AGENT_RELAY_QUEUE];
    size_t nrelays;
    int signals;
    uint64_t serf_ltime;       /* highest serf Lamport time seen in intents */
    daemon_rpc_conn *leave_waiters[16];
    size_t nleave_waiters;
    int exit_code;
} agent;

/* The key our broadcast of an intent about `node` goes under: a newer
 * intent about the same node replaces one still queued. */
static void intent_key(char *buf, size_t len, const char *node)
{
    snprintf(buf, len, "serf-intent:%s", node);
}

static void on_relay_timer(uv_timer_t *t)
{
    agent *a = t->data;
    for (size_t i = 0; i < a->nrelays; i++) {
        if (a->net && swim_broadcast(net_core(a->net), a->relays[i].payload, a->relays[i].len, a->relays[i].key) != 0)
            base_log(BASE_LOG_WARN, "serf intent relay (%s) too large to broadcast", a->relays[i].key);
        free(a->relays[i].payload);
    }
    a->nrelays = 0;
    if (a->net)
        net_rearm(a->net);
}

/* Witness serf's Lamport time in join/leave intents, so our own intent is
 * newer than what serf agents hold for us; and relay the intents that are
 * news to us, as serf agents do (serf_relay.h). Called from inside the
 * core: the relay is queued for the loop. */
static void on_serf_intent(agent *a, const uint8_t *p, size_t n)
{
    serf_intent in;
    if (serf_intent_parse(p, n, &in) != 0)
        return;
    /* a wildly large time is an attack on the clock, not a real cluster */
    if (in.ltime >= UINT64_MAX / 2)
        return;
    if (in.ltime > a->serf_ltime)
        a->serf_ltime = in.ltime;
    if (!a->relay || !a->net)
        return;
    int rc = serf_relay_observe(a->relay, swim_get_config(net_core(a->net))->name, in.node, in.ltime);
    if (rc < 0) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return;
    }
    if (rc == 0)
        return;
    if (a->nrelays == AGENT_RELAY_QUEUE) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: %d relays already waiting", in.node, AGENT_RELAY_QUEUE);
        return;
    }
    uint8_t *copy = malloc(n);
    if (!copy) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return;
    }
    memcpy(copy, p, n);
    intent_key(a->relays[a->nrelays].key, sizeof a->relays[a->nrelays].key, in.node);
    a->relays[a->nrelays].payload = copy;
    a->relays[a->nrelays].len = n;
    a->nrelays++;
    base_log(BASE_LOG_DEBUG, "relaying serf %s intent of %s (LTime %llu)", in.type == SERF_MSG_LEAVE ? "leave" : "join",
            in.node, (unsigned long long)in.ltime);
    uv_timer_start(&a->relay_timer, on_relay_timer, 0, 0);
}

/* Broadcast our own intent (built in b): under our per-node key, and
 * recorded as seen so it is not relayed back. 0 or -1. */
static int broadcast_own_intent(agent *a, const wire_buf *b, uint64_t ltime)
{
    const char *name = swim_get_config(net_core(a->net))->name;
    char key[300];
    intent_key(key, sizeof key, name);
    if (swim_broadcast(net_core(a->net), b->data, b->len, key) != 0)
        return -1;
    if (a->relay)
        (void)serf_relay_observe(a->relay, name, name, ltime); /* self: never relayed */
    return 0;
}

static void member_line(const swim_member *m, char *buf, size_t len)
{
    char ip[64];
    net_addr_ip_text(&m->addr, ip, sizeof ip);
    snprintf(buf, len, m->addr.ip_len == 16 ? "%s [%s]:%u" : "%s %s:%u", m->name, ip, m->addr.port);
}

static void on_leave_timer(uv_timer_t *t);

/* After a successful join, announce a serf join intent newer than the
 * cluster's member clock (learnt from the push/pull): serf then holds that
 * time for us, which clears a "leaving" state left over from an earlier
 * run under the same name, and our later leave intent beats it. */
static void on_join_intent(uv_timer_t *t)
{
    agent *a = t->data;
    if (a->leave_phase || !a->net)
        return;
    wire_buf b;
    wire_buf_init(&b, 0);
    uint64_t ltime = a->serf_ltime + 1;
    if (serf_join_intent(&b, ltime, swim_get_config(net_core(a->net))->name) == 0 &&
        broadcast_own_intent(a, &b, ltime) == 0) {
        a->serf_ltime = ltime;
        net_rearm(a->net);
    }
    wire_buf_free(&b);
}

static void on_merge_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    (void)is_join;
    agent *a = ud;
    uint64_t v;
    if (serf_state_ltime(state, len, &v) == 0 && v > a->serf_ltime && v < UINT64_MAX / 2)
        a->serf_ltime = v;
}

static void d_merge_remote_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    on_merge_state(ud, state, len, is_join);
    mlua_merge_remote_state(((agent *)ud)->lua, state, len, is_join);
}

static void on_event(void *ud, const swim_event *ev)
{
    agent *a = ud;
    char who[400], other[80];
    if (a->lua)
        mlua_post_event(a->lua, ev);   /* copied and queued: never blocks */
    switch (ev->type) {
    case SWIM_EV_JOIN:
        member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member join: %s", who);
        break;
    case SWIM_EV_UPDATE:
        member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member update: %s incarnation %u", who, ev->member.incarnation);
        break;
    case SWIM_EV_LEAVE:
        member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member leave (%s): %s", swim_state_name(ev->member.state), who);
        break;
    case SWIM_EV_CONFLICT:
        member_line(&ev->member, who, sizeof who);
        net_addr_ip_text(&ev->other, other, sizeof other);
        base_log(BASE_LOG_WARN, "member conflict: %s is also claimed by %s:%u", who, other, ev->other.port);
        break;
    case SWIM_EV_USER:
        on_serf_intent(a, ev->payload.p, ev->payload.n);
        break;
    case SWIM_EV_JOIN_DONE:
        /* not from inside the core: broadcast from the loop */
        if (ev->count > 0 && !a->leave_phase)
            uv_timer_start(&a->intent_timer, on_join_intent, 0, 0);
        break;
    case SWIM_EV_LEAVE_DONE:
        if (a->leave_phase == 2) {
            /* finish from the loop, not from inside the core */
            a->leave_phase = 3;
            uv_timer_start(&a->leave_timer, on_leave_timer, 0, 0);
        }
        break;
    default:
        break;
    }
}

static void on_net_log(void *ud, base_log_level level, const char *msg)
{
    (void)ud;
    base_log(level, "%s", msg);
}

/* The core's delegates, answered by the Lua host without waiting on the
 * Lua thread (see lua/mlua.h for what is waited for and how long). */
static void d_local_state(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    mlua_local_state(((agent *)ud)->lua, is_join, out, len);
}

static void d_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    mlua_ack_payload(((agent *)ud)->lua, out, len);
}
static bool d_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    return mlua_allow_merge(((agent *)ud)->lua, peers, n, reason);
}
static bool d_allow_alive(void *ud, const swim_member *m)
{
    return mlua_allow_alive(((agent *)ud)->lua, m);
}

static void begin_leave(agent *a);

/* A command from the script (agent.broadcast, send, set_tags, leave,
 * members), on this loop. */
static void on_lua_command(void *ud, const mlua_cmd *c)
{
    agent *a = ud;
    if (!a->net)
        return;
    if (c->type == MLUA_CMD_LEAVE) {
        base_log(BASE_LOG_INFO, "leave requested by the script");
        begin_leave(a);
        return;
    }
    mlua_cmd_apply(a->lua, c, net_core(a->net), net_now(a->net));
    net_rearm(a->net);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    agent *a = s->data;
    (void)signum;
    if (a->lua) {
        base_log(BASE_LOG_INFO, "caught SIGHUP: reloading the script");
        mlua_reload(a->lua);
    } else
        base_log(BASE_LOG_WARN, "caught SIGHUP: no script to reload");
}

static void close_all(agent *a)
{
    if (a->lua)
        mlua_detach(a->lua);
    if (a->rpc)
        daemon_rpc_server_close(a->rpc);
    a->rpc = NULL;
    if (a->net)
        net_close(a->net);
    a->net = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sighup, NULL);
    uv_close((uv_handle_t *)&a->leave_timer, NULL);
    uv_close((uv_handle_t *)&a->intent_timer, NULL);
    uv_close((uv_handle_t *)&a->relay_timer, NULL);
    for (size_t i = 0; i < a->nrelays; i++)
        free(a->relays[i].payload);
    a->nrelays = 0;
}

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

/* Leave, phase by phase (see the top of the file). */
static void on_leave_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (a->leave_phase == 1) {
        char key[300];
        intent_key(key, sizeof key, swim_get_config(net_core(a->net))->name);
        if (swim_broadcast_pending(net_core(a->net), key)) {
            if (uv_now(a->loop) < a->intent_deadline)
                return; /* polled again by the repeating timer */
            base_log(BASE_LOG_WARN, "leaving: serf's leave intent not fully sent after %d ms; leaving anyway",
                    AGENT_INTENT_TIMEOUT_MS);
        }
        uv_timer_stop(&a->leave_timer);
        a->leave_phase = 2;
        base_log(BASE_LOG_INFO, "leaving: gossiping our leave");
        swim_leave(net_core(a->net), net_now(a->net), AGENT_LEAVE_TIMEOUT_MS);
        net_rearm(a->net);
        if (a->leave_phase == 2)
            uv_timer_start(&a->leave_timer, on_leave_timer, AGENT_LEAVE_TIMEOUT_MS + AGENT_LEAVE_GRACE_MS, 0);
        return;
    }
    if (a->leave_phase == 2)
        base_log(BASE_LOG_WARN, "leave not confirmed by the protocol in time; shutting down anyway");
    a->leave_phase = 3;
    base_log(BASE_LOG_INFO, "left the cluster; shutting down");
    for (size_t i = 0; i < a->nleave_waiters; i++) {
        wire_buf b;
        wire_buf_init(&b, 0);
        int rc = wire_mpx_map(&b, 1);
        rc = rc ? rc : wire_mpx_cstr(&b, "Left");
        rc = rc ? rc : wire_mpx_bool(&b, true);
        reply_buf(a->leave_waiters[i], &b, rc);
    }
    a->nleave_waiters = 0;
    a->exit_code = 0;
    close_all(a);
}

static void begin_leave(agent *a)
{
    if (a->leave_phase)
        return;
    a->leave_phase = 1;
    wire_buf b;
    wire_buf_init(&b, 0);
    uint64_t ltime = a->serf_ltime + 1;
    const char *name = swim_get_config(net_core(a->net))->name;
    if (serf_leave_intent(&b, ltime, name) == 0 && broadcast_own_intent(a, &b, ltime) == 0) {
        net_rearm(a->net);
        base_log(BASE_LOG_INFO, "leaving: gossiping serf's leave intent (LTime %llu)", (unsigned long long)ltime);
    } else {
        base_log(BASE_LOG_WARN, "leaving: could not queue serf's leave intent; serf agents will show us failed");
    }
    wire_buf_free(&b);
    /* alone, nobody needs the intent: go straight to the leave; else poll
     * until it is out (on_leave_timer) */
    if (swim_alive_count(net_core(a->net)) <= 1) {
        uv_timer_start(&a->leave_timer, on_leave_timer, 0, 0);
        return;
    }
    uv_update_time(a->loop);
    a->intent_deadline = uv_now(a->loop) + AGENT_INTENT_TIMEOUT_MS;
    uv_timer_start(&a->leave_timer, on_leave_timer, AGENT_INTENT_POLL_MS, AGENT_INTENT_POLL_MS);
}

static void on_signal(uv_signal_t *s, int signum)
{
    agent *a = s->data;
    if (++a->signals > 1) {
        base_log(BASE_LOG_WARN, "second signal (%s): exiting now", strsignal(signum));
        _exit(1);
    }
    base_log(BASE_LOG_INFO, "caught %s: leaving gracefully (signal again to exit at once)", strsignal(signum));
    begin_leave(a);
}

/* ---- RPC commands ---- */

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
    begin_leave(a);
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
    net_rearm(a->net);
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

static void on_rpc(void *ud, daemon_rpc_conn *c, const uint8_t *req, size_t len)
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

static void on_startup_join(void *ud, int joined, const char *err)
{
    (void)ud;
    if (joined > 0)
        base_log(BASE_LOG_INFO, "join: %d seed%s answered%s%s", joined, joined == 1 ? "" : "s", err ? "; " : "", err ? err : "");
    else
        base_log(BASE_LOG_ERROR, "join failed: %s", err ? err : "no seed answered");
}

int daemon_main(int argc, char **argv)
{
    daemon_opts o;
    char err[512];
    if (base_wants_help(argc, argv)) {
        daemon_usage(stdout);
        return 0;
    }
    if (daemon_opts_parse(&o, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist agent: %s\n\n", err);
        daemon_usage(stderr);
        return 2;
    }
    base_log_set_level((int)o.log_level);
    if (RAND_bytes((unsigned char *)&o.net.swim.seed, sizeof o.net.swim.seed) != 1) {
        fprintf(stderr, "moonlist agent: no randomness available\n");
        daemon_opts_free(&o);
        return 1;
    }
    /* a peer closing a stream while we write must not kill the agent */
    signal(SIGPIPE, SIG_IGN);

    agent a = { .loop = uv_default_loop(), .o = &o, .exit_code = 1 };
    /* the script first: its agent.config feeds the options (flags win) */
    if (daemon_script_load(&o, &a.lua, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist agent: %s\n", err);
        daemon_opts_free(&o);
        return 2;
    }
    base_log_set_level((int)o.log_level);
    net_handlers h = { .ud = &a, .event = on_event, .log = on_net_log,
                       .delegate = { .ud = &a, .merge_remote_state = on_merge_state } };
    if (a.lua) {
        h.delegate = (swim_delegate){
            .ud = &a,
            .local_state = d_local_state,
            .merge_remote_state = d_merge_remote_state,
            .ack_payload = d_ack_payload,
            .allow_merge = d_allow_merge,
            .allow_alive = d_allow_alive,
        };
    }
    /* RPC first: a taken control port should fail before we announce
     * ourselves to anyone (requests are only served once the loop runs,
     * after net is up) */
    a.rpc = daemon_rpc_server_start(a.loop, o.rpc_host, o.rpc_port, on_rpc, &a, err, sizeof err);
    if (!a.rpc) {
        base_log(BASE_LOG_ERROR, "cannot start: %s", err);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    a.net = net_start(a.loop, &o.net, &h, err, sizeof err);
    if (!a.net) {
        base_log(BASE_LOG_ERROR, "cannot start: %s", err);
        daemon_rpc_server_close(a.rpc);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    uv_signal_init(a.loop, &a.sighup);
    a.sighup.data = &a;
    uv_signal_start(&a.sighup, on_sighup, SIGHUP);
    /* every handle close_all closes exists from here on */
    uv_timer_init(a.loop, &a.leave_timer);
    a.leave_timer.data = &a;
    uv_timer_init(a.loop, &a.intent_timer);
    a.intent_timer.data = &a;
    uv_timer_init(a.loop, &a.relay_timer);
    a.relay_timer.data = &a;
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    a.relay = serf_relay_new(AGENT_RELAY_NODES);
    if (!a.relay)
        base_log(BASE_LOG_WARN, "out of memory: serf intents will not be relayed");
    if (a.lua && (mlua_attach(a.lua, a.loop, on_lua_command, &a) < 0 || mlua_start(a.lua, err, sizeof err) < 0)) {
        base_log(BASE_LOG_ERROR, "cannot start the Lua thread: %s", err);
        mlua_detach(a.lua);
        mlua_free(a.lua);   /* never started */
        a.lua = NULL;
        close_all(&a);
        uv_run(a.loop, UV_RUN_DEFAULT);
        serf_relay_free(a.relay);
        daemon_opts_free(&o);
        return 1;
    }
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);

    base_log(BASE_LOG_INFO, "moonlist agent %s: node '%s', gossip on %s (advertised as %s), RPC on %s:%u, profile %s%s",
            MOONLIST_VERSION, o.net.swim.name, net_bind_text(a.net), net_advertise_text(a.net), o.rpc_host,
            o.rpc_port, o.profile, o.net.keyring.n ? ", encrypted" : "");
    if (a.lua)
        base_log(BASE_LOG_INFO, "config script %s running on the Lua thread", o.config_path);
    if (o.njoin && net_join(a.net, o.join, o.njoin, on_startup_join, &a) < 0)
        base_log(BASE_LOG_ERROR, "join: out of memory");

    uv_run(a.loop, UV_RUN_DEFAULT);
    uv_loop_close(a.loop);
    /* a hook stuck for good cannot be stopped: then exit without it */
    if (a.lua && mlua_stop(a.lua, AGENT_LUA_STOP_MS) == 0)
        mlua_free(a.lua);
    serf_relay_free(a.relay);
    daemon_opts_free(&o);
    return a.exit_code;
}
