/* serf_node: creation, the core's events, the outbox and the timers. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_node_internal.h"

/* Unknown messages logged per reap interval: a peer speaking a newer
 * serf (or garbage) must not flood the log. */
#define SERF_NODE_UNKNOWN_LOG_MAX 5

/* Messages waiting for the core at most: the driver flushes after every
 * packet it hands the core, so only a burst from one push/pull or a flood
 * waits here; past this they are dropped (logged), as serf's own queues
 * drop past MaxQueueDepth (4096). */
#define SERF_NODE_OUTBOX_MAX 4096

static uint64_t or_default(uint64_t v, uint64_t def)
{
    return v ? v : def;
}

serf_node *serf_node_new(const serf_node_config *cfg, const serf_node_io *io, swim_time now)
{
    if (!cfg || !cfg->name || !*cfg->name || strlen(cfg->name) >= sizeof((serf_node *)0)->name)
        return NULL;
    serf_node *sn = calloc(1, sizeof *sn);
    if (!sn)
        return NULL;
    snprintf(sn->name, sizeof sn->name, "%s", cfg->name);
    sn->cfg = *cfg;
    sn->cfg.name = sn->name;
    sn->cfg.reconnect_interval_ms = or_default(cfg->reconnect_interval_ms, SERF_RECONNECT_INTERVAL_MS);
    sn->cfg.reconnect_timeout_ms = or_default(cfg->reconnect_timeout_ms, SERF_RECONNECT_TIMEOUT_MS);
    sn->cfg.tombstone_timeout_ms = or_default(cfg->tombstone_timeout_ms, SERF_TOMBSTONE_TIMEOUT_MS);
    if (io)
        sn->io = *io;
    sn->log = (serf_log){ sn->io.log, sn->io.ud };
    sn->now = now;
    sn->rng = cfg->seed;
    sn->reported = SWIM_NEVER;
    wire_buf_init(&sn->state_buf, 0);
    /* at least 1, so that the default join LTime of 0 is old news */
    serf_clock_increment(&sn->clock);
    serf_node_members_init(sn);
    sn->self = serf_node_add(sn, sn->name);
    if (!sn->self || serf_nq_init(sn) != 0) {
        serf_node_members_free(sn);
        free(sn);
        return NULL;
    }
    sn->reap_at = now + SERF_REAP_INTERVAL_MS;
    sn->reconnect_at = now + sn->cfg.reconnect_interval_ms;
    serf_node_update_deadline(sn);
    return sn;
}

static void out_clear(serf_node *sn)
{
    for (size_t k = 0; k < sn->nout; k++)
        free(sn->out[k].msg);
    sn->nout = 0;
}

void serf_node_free(serf_node *sn)
{
    if (!sn)
        return;
    serf_nq_free(sn);
    out_clear(sn);
    free(sn->out);
    serf_node_members_free(sn);
    serf_node_state_free(sn);
    serf_tags_free(&sn->self_tags);
    free(sn);
}

/* ---- the outbox ---- */

static serf_node_out *out_push(serf_node *sn, const uint8_t *msg, size_t len)
{
    if (sn->nout == SERF_NODE_OUTBOX_MAX)
        return NULL;
    if (sn->nout == sn->out_cap) {
        size_t cap = sn->out_cap ? sn->out_cap * 2 : 8;
        serf_node_out *v = realloc(sn->out, cap * sizeof *v);
        if (!v)
            return NULL;
        sn->out = v;
        sn->out_cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return NULL;
    memcpy(copy, msg, len);
    serf_node_out *o = &sn->out[sn->nout++];
    *o = (serf_node_out){ .msg = copy, .len = len };
    serf_node_update_deadline(sn);
    return o;
}

int serf_node_out_broadcast(serf_node *sn, const uint8_t *msg, size_t len, const char *key)
{
    if (key && strlen(key) >= SERF_NODE_KEY_MAX)
        return -1;
    serf_node_out *o = out_push(sn, msg, len);
    if (!o) {
        serf_logf(&sn->log, BASE_LOG_WARN, "serf broadcast dropped: outbox full or out of memory");
        return -1;
    }
    if (key)
        snprintf(o->key, sizeof o->key, "%s", key);
    return 0;
}

int serf_node_out_send_addr(serf_node *sn, const swim_addr *to, const uint8_t *msg, size_t len)
{
    serf_node_out *o = out_push(sn, msg, len);
    if (!o) {
        serf_logf(&sn->log, BASE_LOG_WARN, "serf message dropped: outbox full or out of memory");
        return -1;
    }
    o->to_addr = true;
    o->to = *to;
    return 0;
}

void serf_node_flush(serf_node *sn, swim *core, swim_time now)
{
    sn->now = now;
    /* the core may call us back (its events) while we hand work over:
     * take the queue first */
    while (sn->nout) {
        serf_node_out *v = sn->out;
        size_t n = sn->nout;
        sn->out = NULL;
        sn->nout = sn->out_cap = 0;
        for (size_t k = 0; k < n; k++) {
            serf_node_out *o = &v[k];
            int rc = o->to_addr ? swim_send_user_addr(core, now, &o->to, o->msg, o->len)
                                : swim_broadcast(core, o->msg, o->len, o->key[0] ? o->key : NULL);
            if (rc != 0)
                serf_logf(&sn->log, BASE_LOG_WARN, "serf %s message (%zu bytes) could not be sent",
                          serf_msg_type_name(o->len ? o->msg[0] : -1), o->len);
            free(o->msg);
        }
        free(v);
    }
    serf_node_update_deadline(sn);
}

void serf_node_emit(serf_node *sn, const serf_node_event *ev)
{
    if (sn->io.event)
        sn->io.event(sn->io.ud, ev);
}

/* ---- timers ---- */

static swim_time min_time(swim_time a, swim_time b)
{
    return a < b ? a : b;
}

swim_time serf_node_next_deadline(const serf_node *sn)
{
    if (sn->nout)
        return sn->now;
    return min_time(min_time(sn->reap_at, sn->reconnect_at), serf_nq_next_deadline(sn));
}

void serf_node_update_deadline(serf_node *sn)
{
    swim_time next = serf_node_next_deadline(sn);
    if (next == sn->reported)
        return;
    sn->reported = next;
    if (sn->io.deadline)
        sn->io.deadline(sn->io.ud, next);
}

void serf_node_tick(serf_node *sn, swim *core, swim_time now)
{
    sn->now = now;
    if (now >= sn->reap_at) {
        serf_node_reap(sn, now);
        sn->reap_at = now + SERF_REAP_INTERVAL_MS;
    }
    if (now >= sn->reconnect_at) {
        sn->reconnect_at = now + sn->cfg.reconnect_interval_ms;
        serf_node_reconnect(sn, core, now);
    }
    serf_nq_tick(sn, now);
    serf_node_flush(sn, core, now);
}

/* ---- the core's events ---- */

static void set_meta(serf_node *sn, serf_node_mstate *m, const swim_member *sm)
{
    m->addr = sm->addr;
    memcpy(m->vsn, sm->vsn, sizeof m->vsn);
    if (m->meta_len != sm->meta_len || (sm->meta_len && memcmp(m->meta, sm->meta, sm->meta_len) != 0)) {
        uint8_t *meta = sm->meta_len ? malloc(sm->meta_len) : NULL;
        if (sm->meta_len && !meta) {
            serf_logf(&sn->log, BASE_LOG_WARN, "tags of %s not updated: out of memory", m->name);
        } else {
            if (sm->meta_len)
                memcpy(meta, sm->meta, sm->meta_len);
            free(m->meta);
            m->meta = meta;
            m->meta_len = sm->meta_len;
        }
    }
    if (m == sn->self) {
        serf_tags_free(&sn->self_tags);
        if (serf_tags_decode(&sn->self_tags, m->meta, m->meta_len) != 0)
            serf_logf(&sn->log, BASE_LOG_WARN, "our own tags do not decode");
    }
}

/* The member's IP as serf's log lines print it. */
typedef struct ip_text {
    char s[64];
} ip_text;

static ip_text ip_of(const serf_node_mstate *m)
{
    ip_text t = { "" };
    if ((m->addr.ip_len != 4 && m->addr.ip_len != 16) ||
        !inet_ntop(m->addr.ip_len == 4 ? AF_INET : AF_INET6, m->addr.ip, t.s, sizeof t.s))
        snprintf(t.s, sizeof t.s, "<nil>");
    return t;
}

/* serf's handleNodeJoin */
static void on_join(serf_node *sn, const swim_member *sm)
{
    serf_node_mstate *m = serf_node_find(sn, sm->name);
    if (!m) {
        m = serf_node_add(sn, sm->name);
        if (!m) {
            serf_logf(&sn->log, BASE_LOG_ERROR, "member %s not added: out of memory", sm->name);
            return;
        }
        serf_node_apply_recent_intent(sn, m);
    } else {
        m->status = SERF_MEMBER_ALIVE;
        m->leave_time = 0;
    }
    set_meta(sn, m, sm);
    serf_logf(&sn->log, BASE_LOG_INFO, "EventMemberJoin: %s %s", m->name, ip_of(m).s);
    serf_node_emit_member(sn, SERF_EV_MEMBER_JOIN, m);
}

/* serf's handleNodeLeave: left after a leave intent, else failed */
static void on_leave(serf_node *sn, swim_time now, const swim_member *sm)
{
    serf_node_mstate *m = serf_node_find(sn, sm->name);
    if (!m)
        return;
    switch (m->status) {
    case SERF_MEMBER_LEAVING:
        m->status = SERF_MEMBER_LEFT;
        break;
    case SERF_MEMBER_ALIVE:
        m->status = SERF_MEMBER_FAILED;
        break;
    default:
        serf_logf(&sn->log, BASE_LOG_WARN, "bad state when leave: %s is %s", m->name,
                  serf_member_status_name(m->status));
        return;
    }
    m->leave_time = now;
    bool left = m->status == SERF_MEMBER_LEFT;
    serf_logf(&sn->log, BASE_LOG_INFO, "%s: %s %s", left ? "EventMemberLeave" : "EventMemberFailed", m->name,
              ip_of(m).s);
    serf_node_emit_member(sn, left ? SERF_EV_MEMBER_LEAVE : SERF_EV_MEMBER_FAILED, m);
}

/* serf's handleNodeUpdate */
static void on_update(serf_node *sn, const swim_member *sm)
{
    serf_node_mstate *m = serf_node_find(sn, sm->name);
    if (!m)
        return;
    set_meta(sn, m, sm);
    serf_logf(&sn->log, BASE_LOG_INFO, "EventMemberUpdate: %s", m->name);
    serf_node_emit_member(sn, SERF_EV_MEMBER_UPDATE, m);
}

/* A serf join or leave intent (serf's NotifyMsg, types 0 and 1):
 * rebroadcast when news. */
static void on_intent(serf_node *sn, const uint8_t *p, size_t n)
{
    char node[256];
    uint64_t ltime;
    bool news;
    const char *what;
    if (p[0] == SERF_MSG_LEAVE) {
        serf_msg_leave m;
        what = "leave";
        if (serf_msg_leave_decode(p, n, &m) != WIRE_OK || m.node.n >= sizeof node || !m.node.n ||
            memchr(m.node.p, 0, m.node.n))
            goto bad;
        memcpy(node, m.node.p, m.node.n);
        node[m.node.n] = 0;
        ltime = m.ltime;
        news = serf_node_leave_intent_in(sn, ltime, node, m.prune);
    } else {
        serf_msg_join m;
        what = "join";
        if (serf_msg_join_decode(p, n, &m) != WIRE_OK || m.node.n >= sizeof node || !m.node.n ||
            memchr(m.node.p, 0, m.node.n))
            goto bad;
        memcpy(node, m.node.p, m.node.n);
        node[m.node.n] = 0;
        ltime = m.ltime;
        news = serf_node_join_intent(sn, ltime, node);
    }
    sn->stats.intents_received++;
    serf_logf(&sn->log, BASE_LOG_DEBUG, "serf %s intent: %s (LTime %llu)%s", what, node, (unsigned long long)ltime,
              news ? ", rebroadcast" : "");
    if (news) {
        char key[SERF_NODE_KEY_MAX];
        serf_node_intent_key(key, sizeof key, node);
        (void)serf_node_out_broadcast(sn, p, n, key);
    }
    return;
bad:
    serf_logf(&sn->log, BASE_LOG_ERROR, "error decoding %s message", what);
}

static void on_user(serf_node *sn, swim_time now, const swim_event *ev)
{
    const uint8_t *p = ev->payload.p;
    size_t n = ev->payload.n;
    if (n == 0)
        return;
    switch (p[0]) {
    case SERF_MSG_LEAVE:
    case SERF_MSG_JOIN:
        on_intent(sn, p, n);
        return;
    case SERF_MSG_USER_EVENT:
    case SERF_MSG_QUERY:
    case SERF_MSG_QUERY_RESPONSE:
    case SERF_MSG_RELAY:
        serf_nq_on_message(sn, now, &ev->from, p, n);
        return;
    default:
        sn->stats.unknown_messages++;
        if (sn->unknown_logged++ < SERF_NODE_UNKNOWN_LOG_MAX)
            serf_logf(&sn->log, BASE_LOG_WARN, "received message of unknown type: %u", p[0]);
        return;
    }
}

void serf_node_on_swim_event(serf_node *sn, swim_time now, const swim_event *ev)
{
    sn->now = now;
    switch (ev->type) {
    case SWIM_EV_JOIN:
        on_join(sn, &ev->member);
        break;
    case SWIM_EV_UPDATE:
        on_update(sn, &ev->member);
        break;
    case SWIM_EV_LEAVE:
        on_leave(sn, now, &ev->member);
        break;
    case SWIM_EV_CONFLICT:
        serf_nq_on_conflict(sn, now, ev);
        break;
    case SWIM_EV_USER:
        on_user(sn, now, ev);
        break;
    case SWIM_EV_PING:
    case SWIM_EV_JOIN_DONE:
    case SWIM_EV_LEAVE_DONE:
        break;
    }
    serf_node_update_deadline(sn);
}

/* ---- commands ---- */

void serf_node_joining(serf_node *sn, bool ignore_old)
{
    sn->join_ignore = ignore_old;
}

int serf_node_joined(serf_node *sn, swim *core, swim_time now)
{
    sn->now = now;
    sn->join_ignore = false;
    int rc = serf_node_broadcast_join(sn, serf_clock_time(&sn->clock));
    serf_node_flush(sn, core, now);
    return rc;
}

/* serf's hasAliveMembers: anyone but us alive */
static bool others_alive(const serf_node *sn)
{
    for (size_t k = 0; k < sn->nmembers; k++)
        if (sn->members[k] != sn->self && sn->members[k]->status == SERF_MEMBER_ALIVE)
            return true;
    return false;
}

/* serf's Leave and forceLeave: an intent at the clock's time, then the
 * clock moves on; handled here first, broadcast only if anyone listens */
static int leave_msg(serf_node *sn, swim *core, swim_time now, const char *node, bool prune, bool direct)
{
    sn->now = now;
    uint64_t t = serf_clock_time(&sn->clock);
    serf_clock_increment(&sn->clock);
    (void)serf_node_leave_intent_in(sn, t, node, prune);
    int rc = 0;
    wire_buf b;
    wire_buf_init(&b, 0);
    if (others_alive(sn)) {
        serf_msg_leave m = { .ltime = t, .node = wire_bytes_of(node, strlen(node)), .prune = prune };
        char key[SERF_NODE_KEY_MAX];
        serf_node_intent_key(key, sizeof key, node);
        rc = serf_msg_leave_encode(&b, &m) == WIRE_OK ? serf_node_out_broadcast(sn, b.data, b.len, key) : -1;
    }
    serf_node_flush(sn, core, now);
    /* after the flush: queued first, so that a copy that comes back is
     * not news */
    if (b.len && rc == 0 && direct && swim_send_user_all(core, now, b.data, b.len) < 0)
        rc = -1;
    wire_buf_free(&b);
    return rc;
}

int serf_node_leave_intent(serf_node *sn, swim *core, swim_time now, bool direct)
{
    sn->leaving = true;
    return leave_msg(sn, core, now, sn->name, false, direct);
}

int serf_node_leave_intent_again(serf_node *sn, swim *core, swim_time now)
{
    if (!sn->leaving)
        return -1;
    sn->now = now;
    /* the intent as first sent: our own entry took its LTime */
    serf_msg_leave m = { .ltime = sn->self->status_ltime, .node = wire_bytes_of(sn->name, strlen(sn->name)) };
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = serf_msg_leave_encode(&b, &m) == WIRE_OK ? swim_send_user_all(core, now, b.data, b.len) : -1;
    wire_buf_free(&b);
    return rc;
}

int serf_node_force_leave(serf_node *sn, swim *core, swim_time now, const char *name, bool prune)
{
    if (!serf_node_find(sn, name) || strcmp(name, sn->name) == 0)
        return -1;
    return leave_msg(sn, core, now, name, prune, false);
}

int serf_node_set_meta(serf_node *sn, swim *core, swim_time now, const uint8_t *meta, size_t len)
{
    sn->now = now;
    int rc = swim_set_meta(core, now, meta, len);
    serf_node_update_deadline(sn);
    return rc;
}

/* ---- small accessors ---- */

uint64_t serf_node_rand(serf_node *sn)
{
    uint64_t z = (sn->rng += 0x9e3779b97f4a7c15ull);   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

swim_addr serf_node_self_addr(const serf_node *sn)
{
    return sn->self->addr;
}

const serf_tags *serf_node_self_tags(const serf_node *sn)
{
    return &sn->self_tags;
}

serf_node_clocks serf_node_get_clocks(const serf_node *sn)
{
    return (serf_node_clocks){ serf_clock_time(&sn->clock), serf_clock_time(&sn->nq.events.clock),
                               serf_clock_time(&sn->nq.queries.clock) };
}

void serf_node_witness_clocks(serf_node *sn, const serf_node_clocks *c)
{
    serf_clock_witness(&sn->clock, c->member);
    serf_clock_witness(&sn->nq.events.clock, c->event);
    serf_clock_witness(&sn->nq.queries.clock, c->query);
}

void serf_node_set_keyring(serf_node *sn, wire_keyring *keyring)
{
    sn->cfg.keyring = keyring;
}

const serf_node_stats *serf_node_get_stats(const serf_node *sn)
{
    return &sn->stats;
}
