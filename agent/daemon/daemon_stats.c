/* daemon_stats: gathering the agent's counters and writing them as
 * Prometheus text (daemon_stats.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_stats.h"
#include "wire/wire.h"

static bool count_member(void *ud, const swim_member *m)
{
    uint64_t *by_state = ud;
    if ((unsigned)m->state < 4)
        by_state[m->state]++;
    return true;
}

static bool count_serf_member(void *ud, const serf_node_member *m)
{
    uint64_t *by_status = ud;
    if ((unsigned)m->status <= SERF_MEMBER_FAILED)
        by_status[m->status]++;
    return true;
}

void daemon_stats_gather(const daemon_stats_sources *src, daemon_stats *out)
{
    memset(out, 0, sizeof *out);
    out->members_total = swim_member_count(src->core);
    swim_members_each(src->core, count_member, out->members_by_state);
    out->health_score = swim_health_score(src->core);
    out->swim = *swim_get_stats(src->core);
    size_t qm, qa;
    swim_queue_depths(src->core, &qm, &qa);
    out->queue_membership = qm;
    out->queue_application = qa;
    if ((out->has_net = src->net != NULL))
        out->net = *net_get_counters(src->net);
    if ((out->has_serf = src->sn != NULL)) {
        out->serf_members = serf_node_member_count(src->sn);
        serf_node_members_each(src->sn, count_serf_member, out->serf_by_status);
        out->serf_clocks = serf_node_get_clocks(src->sn);
        out->serf = *serf_node_get_stats(src->sn);
    }
    if ((out->has_lua = src->lua != NULL)) {
        mlua_get_stats(src->lua, &out->lua);
        out->lua_queue_depth = mlua_event_queue_depth(src->lua);
    }
    if ((out->has_rpc = src->rpc != NULL))
        daemon_rpc_server_get_stats(src->rpc, &out->rpc);
}

/* ---- the text exposition ------------------------------------------------ */

/* One rendering pass: the first error sticks and the buffer goes back to
 * where the pass began, so a caller checks once. */
typedef struct prom {
    wire_buf *b;
    size_t start;
    int err;
} prom;

static void put(prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(prom *p, const char *fmt, ...)
{
    if (p->err)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        p->err = WIRE_ELIMIT;   /* our own lines are short: a bug, not data */
    else
        p->err = wire_buf_append(p->b, line, (size_t)n);
}

/* # HELP and # TYPE. HELP text escapes backslash and newline (0.0.4). */
static void family(prom *p, const char *name, const char *type, const char *help)
{
    char esc[400];
    size_t j = 0;
    for (size_t i = 0; help[i] && j + 2 < sizeof esc; i++) {
        if (help[i] == '\\' || help[i] == '\n') {
            esc[j++] = '\\';
            esc[j++] = help[i] == '\n' ? 'n' : '\\';
        } else {
            esc[j++] = help[i];
        }
    }
    esc[j] = '\0';
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, esc, name, type);
}

static void one(prom *p, const char *name, const char *type, const char *help, uint64_t v)
{
    family(p, name, type, help);
    put(p, "%s %llu\n", name, (unsigned long long)v);
}

/* Label values here are our own fixed words, never network bytes: no
 * escaping needed. */
static void labelled(prom *p, const char *name, const char *label, const char *value, uint64_t v)
{
    put(p, "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

static void by_type(prom *p, const char *name, const char *help, const uint64_t *v)
{
    family(p, name, "counter", help);
    /* type bytes 0..13 are every message memberlist defines (§2) */
    for (int t = 0; t <= WIRE_ERR; t++)
        labelled(p, name, "type", wire_type_name(t), v[t]);
}

static void members(prom *p, const daemon_stats *st)
{
    family(p, "moonlist_members", "gauge", "members in the SWIM table by state, this agent included");
    for (int s = SWIM_ALIVE; s <= SWIM_LEFT; s++)
        labelled(p, "moonlist_members", "status", swim_state_name((swim_state)s), st->members_by_state[s]);
    one(p, "moonlist_health_score", "gauge", "Lifeguard's awareness score (0 is healthy)",
        (uint64_t)(st->health_score > 0 ? st->health_score : 0));
    if (!st->has_serf)
        return;
    family(p, "moonlist_serf_members", "gauge",
           "members in serf's view by status (failed and left kept until reaped)");
    for (int s = SERF_MEMBER_ALIVE; s <= SERF_MEMBER_FAILED; s++)
        labelled(p, "moonlist_serf_members", "status", serf_member_status_name((serf_member_status)s),
                 st->serf_by_status[s]);
}

static void protocol(prom *p, const daemon_stats *st)
{
    const swim_stats *s = &st->swim;
    one(p, "moonlist_probes_total", "counter", "probes started", s->probes);
    one(p, "moonlist_probe_failures_total", "counter", "probes that got no ack, direct or indirect",
        s->probe_failures);
    one(p, "moonlist_refutations_total", "counter",
        "suspicions of this agent refuted with a higher incarnation", s->refutations);
    one(p, "moonlist_stale_answers_total", "counter",
        "accusations below this agent's incarnation answered with its alive, straight to the accuser",
        s->stale_answers);
    one(p, "moonlist_repair_push_pulls_total", "counter",
        "push/pulls started because a node this agent did not know, or held dead, pinged it", s->repair_push_pulls);
    /* a suspicion raised or heard is one suspect message; the core does
     * not count the ones it started apart (yet) */
    family(p, "moonlist_suspect_messages_total", "counter", "suspect messages sent and received");
    put(p, "moonlist_suspect_messages_total{direction=\"sent\"} %llu\n", (unsigned long long)s->sent[WIRE_SUSPECT]);
    put(p, "moonlist_suspect_messages_total{direction=\"received\"} %llu\n",
        (unsigned long long)s->received[WIRE_SUSPECT]);
    /* what an operator looks for by name, also in messages_*{type="pushPull"} */
    family(p, "moonlist_push_pulls_total", "counter", "push/pull state exchanges started and answered");
    put(p, "moonlist_push_pulls_total{direction=\"sent\"} %llu\n", (unsigned long long)s->sent[WIRE_PUSH_PULL]);
    put(p, "moonlist_push_pulls_total{direction=\"received\"} %llu\n",
        (unsigned long long)s->received[WIRE_PUSH_PULL]);
    by_type(p, "moonlist_messages_sent_total", "memberlist messages sent, by type", s->sent);
    by_type(p, "moonlist_messages_received_total", "memberlist messages received, by type", s->received);
    by_type(p, "moonlist_message_bytes_sent_total",
            "bytes of the memberlist messages sent, by type (before framing; a compound's parts by their types)",
            s->bytes_sent);
    by_type(p, "moonlist_message_bytes_received_total",
            "bytes of the memberlist messages received, by type (after unframing)", s->bytes_received);
    family(p, "moonlist_broadcast_queue_depth", "gauge", "broadcasts waiting to be gossiped");
    labelled(p, "moonlist_broadcast_queue_depth", "queue", "membership", st->queue_membership);
    labelled(p, "moonlist_broadcast_queue_depth", "queue", "application", st->queue_application);
    by_type(p, "moonlist_messages_dropped_total", "messages dropped as malformed or unexpected, by type",
            s->dropped_by_type);
    one(p, "moonlist_dropped_messages_total", "counter",
        "every message dropped, those of no known type included", s->dropped);
    one(p, "moonlist_broadcasts_dropped_total", "counter", "application broadcasts pruned from a full queue",
        s->broadcasts_dropped);
    one(p, "moonlist_members_refused_total", "counter", "new names from alive messages past max_members",
        s->members_refused);
}

static void network(prom *p, const daemon_stats *st)
{
    if (!st->has_net)
        return;
    const net_counters *n = &st->net;
    family(p, "moonlist_packets_total", "counter", "UDP packets");
    put(p, "moonlist_packets_total{direction=\"in\"} %llu\n", (unsigned long long)n->packets_in);
    put(p, "moonlist_packets_total{direction=\"out\"} %llu\n", (unsigned long long)n->packets_out);
    family(p, "moonlist_packet_bytes_total", "counter", "UDP bytes as on the wire (framed)");
    put(p, "moonlist_packet_bytes_total{direction=\"in\"} %llu\n", (unsigned long long)n->bytes_in);
    put(p, "moonlist_packet_bytes_total{direction=\"out\"} %llu\n", (unsigned long long)n->bytes_out);
    one(p, "moonlist_malformed_packets_total", "counter", "packets dropped by the framing layer",
        n->malformed_packets);
    one(p, "moonlist_send_errors_total", "counter", "packets the socket refused", n->send_errors);
    family(p, "moonlist_streams_total", "counter", "TCP streams (push/pull, TCP ping, reliable messages)");
    put(p, "moonlist_streams_total{direction=\"in\"} %llu\n", (unsigned long long)n->streams_in);
    put(p, "moonlist_streams_total{direction=\"out\"} %llu\n", (unsigned long long)n->streams_out);
    one(p, "moonlist_streams_rejected_total", "counter", "inbound push/pulls over the concurrency limit",
        n->streams_rejected);
    one(p, "moonlist_stream_errors_total", "counter", "streams malformed, timed out or reset", n->stream_errors);
    one(p, "moonlist_streams_too_large_total", "counter", "streams refused at max_stream_bytes (also errors)",
        n->streams_too_large);
    one(p, "moonlist_sources_refused_total", "counter", "packets and streams from outside -allow-cidr",
        n->sources_refused);
}

static void serf(prom *p, const daemon_stats *st)
{
    if (!st->has_serf)
        return;
    family(p, "moonlist_serf_lamport_time", "gauge", "serf's Lamport clocks");
    labelled(p, "moonlist_serf_lamport_time", "clock", "member", st->serf_clocks.member);
    labelled(p, "moonlist_serf_lamport_time", "clock", "event", st->serf_clocks.event);
    labelled(p, "moonlist_serf_lamport_time", "clock", "query", st->serf_clocks.query);
    const serf_node_stats *s = &st->serf;
    one(p, "moonlist_serf_user_events_total", "counter", "serf user events received", s->events_received);
    one(p, "moonlist_serf_user_events_dup_total", "counter", "serf user events received again", s->events_dup);
    one(p, "moonlist_serf_user_events_full_total", "counter",
        "serf user events dropped: too many distinct events at one Lamport time (SERF_EVENTS_PER_LTIME_MAX)",
        s->events_full);
    one(p, "moonlist_serf_queries_total", "counter", "serf queries received", s->queries_received);
    one(p, "moonlist_serf_queries_dup_total", "counter", "serf queries received again", s->queries_dup);
    one(p, "moonlist_serf_intents_total", "counter", "serf join and leave intents received", s->intents_received);
    one(p, "moonlist_serf_unknown_messages_total", "counter", "serf messages of an unknown type",
        s->unknown_messages);
    one(p, "moonlist_serf_reconnects_total", "counter", "reconnect attempts to failed members", s->reconnects);
    one(p, "moonlist_serf_reaped_total", "counter", "failed and left members reaped", s->reaped);
}

/* The server's "open now" counts are gauges, the rest only grow. */
static bool rpc_is_gauge(const char *name)
{
    return strcmp(name, "connections") == 0 || strcmp(name, "streams") == 0 || strcmp(name, "monitors") == 0;
}

static void rpc(prom *p, const daemon_stats *st)
{
    if (!st->has_rpc)
        return;
    char name[96];
#define RPC_STAT(field, why)                                                                          \
    do {                                                                                              \
        bool g = rpc_is_gauge(#field);                                                                \
        snprintf(name, sizeof name, "moonlist_rpc_%s%s", #field, g ? "" : "_total");                 \
        one(p, name, g ? "gauge" : "counter", why, st->rpc.field);                                    \
    } while (0);
    DAEMON_RPC_STATS(RPC_STAT)
#undef RPC_STAT
}

static void lua(prom *p, const daemon_stats *st)
{
    one(p, "moonlist_lua_script", "gauge", "1 when a script's host runs", st->has_lua ? 1 : 0);
    if (!st->has_lua)
        return;
    char name[96];
    /* the call times are the histogram below, not counters of their own */
#define LUA_STAT(field, why)                                                                          \
    if (strcmp(#field, "hook_us") != 0 && strncmp(#field, "hooks_over_", 11) != 0) {                 \
        snprintf(name, sizeof name, "moonlist_lua_%s_total", #field);                                \
        one(p, name, "counter", why, st->lua.field);                                                  \
    }
    MLUA_STATS(LUA_STAT)
#undef LUA_STAT
    one(p, "moonlist_lua_event_queue_depth", "gauge", "events waiting for the hooks (dropped past MLUA_EVENT_QUEUE_MAX)",
        st->lua_queue_depth);
    const mlua_stats *l = &st->lua;
    const char *h = "moonlist_lua_hook_duration_seconds";
    family(p, h, "histogram", "how long each call into the script took (hooks, timers, luv callbacks, the load)");
    /* the host counts the calls over each bound; a bucket counts those
     * within it */
    put(p, "%s_bucket{le=\"0.001\"} %llu\n", h, (unsigned long long)(l->hooks_run - l->hooks_over_1ms));
    put(p, "%s_bucket{le=\"0.01\"} %llu\n", h, (unsigned long long)(l->hooks_run - l->hooks_over_10ms));
    put(p, "%s_bucket{le=\"0.1\"} %llu\n", h, (unsigned long long)(l->hooks_run - l->hooks_over_100ms));
    put(p, "%s_bucket{le=\"1\"} %llu\n", h, (unsigned long long)(l->hooks_run - l->hooks_over_1s));
    put(p, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)l->hooks_run);
    put(p, "%s_sum %llu.%06llu\n", h, (unsigned long long)(l->hook_us / 1000000),
        (unsigned long long)(l->hook_us % 1000000));
    put(p, "%s_count %llu\n", h, (unsigned long long)l->hooks_run);
}

int daemon_stats_render_prometheus(const daemon_stats *st, wire_buf *out)
{
    prom p = { out, out->len, WIRE_OK };
    members(&p, st);
    protocol(&p, st);
    network(&p, st);
    serf(&p, st);
    rpc(&p, st);
    lua(&p, st);
    if (p.err)
        out->len = p.start;
    return p.err;
}
