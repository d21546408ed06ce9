/* swim_core: the public entry points. Each one that changes the core
 * checks it is not re-entered, sets the clock, does its work through the
 * other swim_*.c files, then delivers the events it caused and reports its
 * deadline if it moved (enter() ... finish()). */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Cap on one encoded message or packet the core builds; far above the
 * 1400-byte gossip budget, it only bounds a runaway (§14: 64 KiB UDP). */
#define SWIM_SCRATCH_MAX ((size_t)1 << 20)

static void advance(swim *s, swim_time now)
{
    if (now > s->now)
        s->now = now;
}

/* Every public entry point that changes the core starts here. The core is
 * not reentrant: a callback (event, delegate, send, log, deadline) that
 * calls back in would change the table under the operation that called it. */
static void enter(swim *s)
{
    assert(!s->in_call && "a swim callback called back into its own core");
    /* between calls every event has been delivered */
    assert(s->nevents == 0 && !s->flushing);
    s->in_call = true;
}

/* The deadline moved since the I/O side last heard: tell it, so that its
 * one timer follows without anyone re-arming it after calling in. */
static void report_deadline(swim *s)
{
    swim_time d = swim_next_deadline(s);
    if (d == s->deadline_reported)
        return;
    s->deadline_reported = d;
    if (s->io.deadline)
        s->io.deadline(s->io.ud, d);
}

static void leave_done(swim *s)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_LEAVE_DONE;
    swim_emit_event(s, &ev);
}

/* Every public entry point that changes the core ends here: events first,
 * then the deadline, which no event callback can move (they must not call
 * in). */
static void finish(swim *s)
{
    assert(s->in_call);
    if (s->bq.notify_finished) {
        s->bq.notify_finished = false;
        if (s->leave_waiting) {
            /* out of our queue; serf waits LeavePropagateDelay more for it
             * to spread through the cluster */
            s->leave_waiting = false;
            s->leave_deadline = SWIM_NEVER;
            s->leave_done_at = s->now + SWIM_LEAVE_PROPAGATE_DELAY_MS;
        }
    }
#ifndef NDEBUG
    swim_check(s); /* what the callbacks are about to see */
#endif
    swim_flush_events(s);
    report_deadline(s);
    s->in_call = false;
}

swim *swim_new(const swim_config *cfg, const swim_io *io, swim_time now)
{
    if (!cfg || !io || swim_config_check(cfg))
        return NULL;
    swim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->in_call = true; /* as enter(), on a core nobody else can reach yet */
    s->cfg = *cfg;
    s->io = *io;
    s->now = now;
    s->deadline_reported = SWIM_NEVER; /* what an unarmed timer waits for */
    s->susp_next = SWIM_NEVER;
    swim_rng_seed(&s->rng, cfg->seed);
    wire_buf_init(&s->scratch, SWIM_SCRATCH_MAX);
    wire_buf_init(&s->pkt, SWIM_SCRATCH_MAX);
    wire_buf_init(&s->parts, SWIM_SCRATCH_MAX);
    swim_queue_init(&s->bq);
    swim_queue_init(&s->uq);
    if (swim_members_init(&s->members) != 0)
        goto fail;
    size_t nlen = strlen(cfg->name);
    s->self = swim_members_add(&s->members, &s->rng, cfg->name, nlen);
    if (!s->self)
        goto fail;
    s->self->addr = cfg->advertise;
    s->members.gen++;
    s->leave_deadline = SWIM_NEVER;
    s->leave_done_at = SWIM_NEVER;
    /* Our own alive, incarnation 1, queued for gossip at once. */
    swim_alive_in a;
    memset(&a, 0, sizeof a);
    a.node = cfg->name;
    a.nlen = nlen;
    a.addr = cfg->advertise;
    a.incarnation = 1;
    a.meta = cfg->meta;
    a.meta_len = cfg->meta_len;
    a.vsn = cfg->vsn;
    a.vsn_len = 6;
    swim_alive_node(s, &a, true);
    if (s->self->state != SWIM_ALIVE) /* vetoed by allow_alive, or out of memory */
        goto fail;
    /* Random stagger, then the period, as memberlist's triggerFunc. */
    s->probe_tick = now + swim_rng_below(&s->rng, cfg->probe_interval) + cfg->probe_interval;
    s->gossip_tick = now + swim_rng_below(&s->rng, cfg->gossip_interval) + cfg->gossip_interval;
    s->push_pull_tick = cfg->push_pull_interval ? now + swim_rng_below(&s->rng, cfg->push_pull_interval) : SWIM_NEVER;
    s->join_followup_at = SWIM_NEVER;
    finish(s);
    return s;
fail:
    s->in_call = false; /* its events are dropped undelivered */
    swim_free(s);
    return NULL;
}

void swim_free(swim *s)
{
    if (!s)
        return;
    /* from a callback, the call that made it would go on in freed memory */
    assert(!s->in_call && "a swim callback freed its own core");
    free(s->events);
    free(s->evbytes);
    free(s->probe.name);
    swim_members_free(&s->members);
    swim_queue_free(&s->bq);
    swim_queue_free(&s->uq);
    wire_buf_free(&s->scratch);
    wire_buf_free(&s->pkt);
    wire_buf_free(&s->parts);
    swim_pp_cache_free(s);
    free(s->partv);
    free(s->susp_nodes);
    free(s->relays);
    free(s->streams);
    free(s->joins);
    free(s);
}

/* Anything for a gossip round to send. memberlist's round with nothing
 * queued picks its targets and sends nothing; here the round is skipped,
 * and so is the timer's wake-up (swim_next_deadline): 5 a second on LAN,
 * 40 % of an idle agent's CPU. The rounds keep their phase. */
static bool gossip_pending(const swim *s)
{
    return s->bq.n > 0 || s->uq.n > 0;
}

/* The first gossip round at or after now, on the ticker's phase. */
static swim_time next_gossip(const swim *s)
{
    if (s->gossip_tick >= s->now)
        return s->gossip_tick;
    swim_time late = s->now - s->gossip_tick;
    swim_time k = (late + s->cfg.gossip_interval - 1) / s->cfg.gossip_interval;
    return s->gossip_tick + k * s->cfg.gossip_interval;
}

void swim_tick(swim *s, swim_time now)
{
    enter(s);
    advance(s, now);
    swim_suspicion_tick(s);
    swim_probe_tick(s);
    if (s->gossip_tick <= s->now) {
        /* a late ticker fires once, then keeps its phase */
        s->gossip_tick += ((s->now - s->gossip_tick) / s->cfg.gossip_interval + 1) * s->cfg.gossip_interval;
        if (gossip_pending(s))
            swim_gossip(s);
    }
    swim_push_pull_tick(s);
    if (s->leave_waiting && s->leave_deadline <= s->now) {
        s->leave_waiting = false;
        s->leave_deadline = SWIM_NEVER;
        swim_logf(s, BASE_LOG_WARN, "timeout waiting for leave broadcast");
        leave_done(s);
    }
    if (s->leave_done_at <= s->now) {
        s->leave_done_at = SWIM_NEVER;
        leave_done(s);
    }
    finish(s);
}

swim_time swim_next_deadline(const swim *s)
{
    swim_time t = swim_probe_next(s);
    if (gossip_pending(s) && next_gossip(s) < t)
        t = next_gossip(s);
    if (!s->push_pull_running && s->push_pull_tick < t)
        t = s->push_pull_tick;
    if (s->join_followup_at < t)
        t = s->join_followup_at;
    swim_time st = swim_suspicion_next(s);
    if (st < t)
        t = st;
    if (s->leave_waiting && s->leave_deadline < t)
        t = s->leave_deadline;
    if (s->leave_done_at < t)
        t = s->leave_done_at;
    return t;
}

void swim_handle_packet(swim *s, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len)
{
    enter(s);
    advance(s, now);
    swim_dispatch(s, from, msg, len, 0);
    finish(s);
}

bool swim_handle_stream(swim *s, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len,
                        struct wire_buf *reply)
{
    enter(s);
    advance(s, now);
    bool r = swim_dispatch_stream(s, from, msg, len, reply);
    finish(s);
    return r;
}

void swim_send_failed(swim *s, swim_time now, const swim_addr *to)
{
    enter(s);
    advance(s, now);
    swim_probe_send_failed(s, to);
    finish(s);
}

swim_pending_stream *swim_stream_add(swim *s, swim_pending_kind kind)
{
    if (s->nstreams == s->capstreams) {
        size_t cap = s->capstreams ? s->capstreams * 2 : 8;
        swim_pending_stream *v = realloc(s->streams, cap * sizeof *v);
        if (!v)
            return NULL;
        s->streams = v;
        s->capstreams = cap;
    }
    swim_pending_stream *ps = &s->streams[s->nstreams++];
    memset(ps, 0, sizeof *ps);
    ps->id = ++s->next_stream_id;
    ps->kind = kind;
    return ps;
}

static void stream_result(swim *s, uint64_t id, const uint8_t *reply, size_t len)
{
    for (size_t i = 0; i < s->nstreams; i++) {
        if (s->streams[i].id != id)
            continue;
        swim_pending_stream ps = s->streams[i];
        s->streams[i] = s->streams[--s->nstreams];
        switch (ps.kind) {
        case STREAM_PING:
            swim_probe_tcp_done(s, ps.seq, reply, len);
            break;
        case STREAM_PUSH_PULL:
            swim_push_pull_done(s, &ps, reply, len);
            break;
        case STREAM_USER:
            break;
        }
        return;
    }
}

void swim_open_stream(swim *s, uint64_t id, swim_stream_kind kind, const swim_addr *to, const uint8_t *msg,
                      size_t len, bool want_reply, swim_time deadline, uint32_t phase_timeout)
{
    if (!s->io.open_stream || !msg) {
        stream_result(s, id, NULL, 0);
        return;
    }
    swim_stream_req req = { id, kind, *to, msg, len, want_reply, deadline, phase_timeout };
    if (len) {
        s->stats.sent[msg[0] & 15]++;
        s->stats.bytes_sent[msg[0] & 15] += len;
    }
    s->io.open_stream(s->io.ud, &req);
}

void swim_stream_done(swim *s, swim_time now, uint64_t id, const uint8_t *reply, size_t len)
{
    enter(s);
    advance(s, now);
    if (reply && len > 0 && reply[0] < 16) {
        s->stats.received[reply[0]]++;
        s->stats.bytes_received[reply[0]] += len;
    }
    stream_result(s, id, reply, len);
    finish(s);
}

/* A join with nothing to wait for (no seeds, or no memory to track it):
 * done at once, having joined none. */
static void join_done_now(swim *s, uint64_t id)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_JOIN_DONE;
    ev.join_id = id;
    swim_emit_event(s, &ev);
}

static uint64_t join(swim *s, const swim_addr *seeds, size_t n)
{
    uint64_t id = ++s->next_join_id;
    if (n == 0) {
        join_done_now(s, id);
        return id;
    }
    if (s->njoins == s->capjoins) {
        size_t cap = s->capjoins ? s->capjoins * 2 : 4;
        swim_join_batch *v = realloc(s->joins, cap * sizeof *v);
        if (!v) {
            join_done_now(s, id);
            return id;
        }
        s->joins = v;
        s->capjoins = cap;
    }
    swim_join_batch *b = &s->joins[s->njoins++];
    b->id = id;
    b->pending = (int)n;
    b->ok = 0;
    for (size_t i = 0; i < n; i++)
        swim_push_pull_start(s, &seeds[i], true, id);
    return id;
}

uint64_t swim_join(swim *s, swim_time now, const swim_addr *seeds, size_t n)
{
    enter(s);
    advance(s, now);
    uint64_t id = join(s, seeds, n);
    finish(s);
    return id;
}

static bool any_alive(const swim *s)
{
    for (size_t i = 0; i < s->members.n; i++) {
        const swim_node *n = s->members.nodes[i];
        if (n != s->self && n->state != SWIM_DEAD && n->state != SWIM_LEFT)
            return true;
    }
    return false;
}

/* s->scratch, alone in its packet, to every member alive or suspect but
 * us; how many copies went out. */
static int send_scratch_all(swim *s)
{
    int sent = 0;
    for (size_t i = 0; i < s->members.n; i++) {
        const swim_node *n = s->members.nodes[i];
        if (n == s->self || (n->state != SWIM_ALIVE && n->state != SWIM_SUSPECT))
            continue;
        swim_send_raw(s, &n->addr, n->name, s->scratch.data, s->scratch.len);
        sent++;
    }
    return sent;
}

static void leave(swim *s, swim_time now, uint32_t timeout, bool direct)
{
    if (!s->leaving) {
        s->leaving = true;
        /* Node == From: the others mark us left, not failed */
        swim_dead_node(s, s->self->name, s->self->name_len, s->self->incarnation, s->self->name, s->self->name_len);
        /* gossip alone takes ceil(log N) rounds to reach the last member;
         * a copy to each makes it one round trip (§12.3). The gossiped
         * copies still go out: they cover a lost datagram */
        if (direct && swim_enc_dead(s, s->self->name, s->self->name_len, s->self->incarnation, s->self->name,
                                    s->self->name_len) == 0)
            (void)send_scratch_all(s);
        s->bq.notify_finished = false;
        if (any_alive(s)) {
            s->leave_waiting = true;
            s->leave_deadline = timeout ? now + timeout : SWIM_NEVER;
            return;
        }
        /* alone: serf would still sleep LeavePropagateDelay, but there is
         * nobody for the leave to reach and nobody probing us */
    }
    leave_done(s);
}

void swim_leave(swim *s, swim_time now, uint32_t timeout)
{
    enter(s);
    advance(s, now);
    leave(s, now, timeout, false);
    finish(s);
}

void swim_leave_all(swim *s, swim_time now, uint32_t timeout)
{
    enter(s);
    advance(s, now);
    leave(s, now, timeout, true);
    finish(s);
}

static bool force_leave(swim *s, const char *name)
{
    size_t nlen = strlen(name);
    swim_node *n = swim_members_find(&s->members, name, nlen);
    if (!n || n == s->self)
        return false;
    if (n->state == SWIM_ALIVE || n->state == SWIM_SUSPECT) {
        swim_dead_node(s, n->name, n->name_len, n->incarnation, n->name, n->name_len);
    } else if (n->state == SWIM_DEAD) {
        /* already failed: memberlist would ignore a dead message, so mark
         * it left here and tell the others */
        swim_node_transition(s, n, SWIM_LEFT, n->incarnation, false);
        if (swim_enc_dead(s, n->name, n->name_len, n->incarnation, n->name, n->name_len) == 0)
            swim_broadcast_scratch(s, n, false);
        swim_emit(s, SWIM_EV_LEAVE, n);
    }
    return true;
}

bool swim_force_leave(swim *s, swim_time now, const char *name)
{
    enter(s);
    advance(s, now);
    bool ok = force_leave(s, name);
    finish(s);
    return ok;
}

int swim_set_meta(swim *s, swim_time now, const uint8_t *meta, size_t len)
{
    enter(s);
    if (len > sizeof s->cfg.meta) {
        finish(s);
        return -1;
    }
    advance(s, now);
    if (len)
        memcpy(s->cfg.meta, meta, len);
    s->cfg.meta_len = len;
    swim_alive_in a;
    memset(&a, 0, sizeof a);
    a.node = s->self->name;
    a.nlen = s->self->name_len;
    a.addr = s->self->addr;
    a.incarnation = s->self->incarnation + 1;
    a.meta = s->cfg.meta;
    a.meta_len = len;
    a.vsn = s->cfg.vsn;
    a.vsn_len = 6;
    swim_alive_node(s, &a, true);
    finish(s);
    return 0;
}

static int broadcast(swim *s, const uint8_t *payload, size_t len, const char *key)
{
    /* one user message (08 + payload) and its compound slot must fit */
    size_t room = s->cfg.udp_buffer_size - s->cfg.packet_overhead;
    if (len + 1 + 2 + 2 > room)
        return -1;
    uint8_t *m = malloc(len + 1);
    if (!m)
        return -1;
    m[0] = WIRE_USER;
    if (len)
        memcpy(m + 1, payload, len);
    int rc = swim_queue_put(&s->uq, key && *key ? key : NULL, m, len + 1, false);
    free(m);
    /* Bounded like serf's queues: a burst (or a peer feeding us intents to
     * relay) must not grow memory without limit. */
    if (rc == 0 && s->uq.n > SWIM_APP_QUEUE_MAX) {
        s->stats.broadcasts_dropped += s->uq.n - SWIM_APP_QUEUE_MAX;
        swim_queue_prune(&s->uq, SWIM_APP_QUEUE_MAX);
        /* one line per doubling: a flood cannot flood the log too */
        uint64_t d = s->stats.broadcasts_dropped;
        if ((d & (d - 1)) == 0)
            swim_logf(s, BASE_LOG_WARN, "application broadcast queue full (%d): %llu oldest dropped so far", SWIM_APP_QUEUE_MAX,
                      (unsigned long long)d);
    }
    return rc;
}

int swim_broadcast(swim *s, const uint8_t *payload, size_t len, const char *key)
{
    enter(s);
    int rc = broadcast(s, payload, len, key);
    finish(s);
    return rc;
}

bool swim_broadcast_pending(const swim *s, const char *key)
{
    return key && *key && swim_queue_has(&s->uq, key);
}

static int send_user(swim *s, const char *name, const uint8_t *payload, size_t len, bool reliable)
{
    swim_node *n = swim_members_find(&s->members, name, strlen(name));
    if (!n)
        return -1;
    wire_buf_reset(&s->scratch);
    int rc = reliable ? wire_encode_user_tcp(&s->scratch, payload, len, WIRE_INT_GO_MSGPACK_V0)
                      : wire_encode_user_udp(&s->scratch, payload, len);
    if (rc != WIRE_OK)
        return -1;
    if (reliable) {
        swim_pending_stream *ps = swim_stream_add(s, STREAM_USER);
        /* memberlist's sendUserMsg: the dial within TCPTimeout, then a
         * write with no deadline at all; ours is bounded by another one */
        if (ps)
            swim_open_stream(s, ps->id, SWIM_STREAM_USER, &n->addr, s->scratch.data, s->scratch.len, false,
                             s->now + s->cfg.tcp_timeout, s->cfg.tcp_timeout);
        /* no reply comes: forget it now */
        if (ps)
            stream_result(s, ps->id, NULL, 0);
    } else {
        /* memberlist's SendBestEffort hands the Node to rawSendMsgPacket:
         * CRC-wrapped when its PMax >= 5 */
        swim_send_raw(s, &n->addr, n->name, s->scratch.data, s->scratch.len);
    }
    return 0;
}

int swim_send_user(swim *s, swim_time now, const char *name, const uint8_t *payload, size_t len, bool reliable)
{
    enter(s);
    advance(s, now);
    int rc = send_user(s, name, payload, len, reliable);
    finish(s);
    return rc;
}

int swim_send_user_addr(swim *s, swim_time now, const swim_addr *to, const uint8_t *payload, size_t len)
{
    enter(s);
    advance(s, now);
    wire_buf_reset(&s->scratch);
    int rc = wire_encode_user_udp(&s->scratch, payload, len) == WIRE_OK ? 0 : -1;
    /* memberlist's SendToAddress: rawSendMsgPacket with no Node, alone in
     * its packet (no piggy-backed gossip), CRC-wrapped only if the bare IP
     * names a member speaking protocol 5 (see dst_crc) */
    if (rc == 0)
        swim_send_raw(s, to, NULL, s->scratch.data, s->scratch.len);
    finish(s);
    return rc;
}

int swim_send_user_all(swim *s, swim_time now, const uint8_t *payload, size_t len)
{
    enter(s);
    advance(s, now);
    wire_buf_reset(&s->scratch);
    int rc = wire_encode_user_udp(&s->scratch, payload, len) == WIRE_OK ? send_scratch_all(s) : -1;
    finish(s);
    return rc;
}

size_t swim_member_count(const swim *s)
{
    return s->members.n;
}

size_t swim_alive_count(const swim *s)
{
    size_t c = 0;
    for (size_t i = 0; i < s->members.n; i++)
        if (s->members.nodes[i]->state == SWIM_ALIVE || s->members.nodes[i]->state == SWIM_SUSPECT)
            c++;
    return c;
}

void swim_members_each(const swim *s, bool (*fn)(void *ud, const swim_member *m), void *ud)
{
    for (size_t i = 0; i < s->members.n; i++) {
        swim_member m;
        swim_node_view(s->members.nodes[i], &m);
        if (!fn(ud, &m))
            return;
    }
}

bool swim_member_get(const swim *s, const char *name, swim_member *out)
{
    swim_node *n = swim_members_find(&s->members, name, strlen(name));
    if (!n)
        return false;
    swim_node_view(n, out);
    return true;
}

int swim_health_score(const swim *s)
{
    return (int)s->awareness;
}

const swim_config *swim_get_config(const swim *s)
{
    return &s->cfg;
}

const swim_stats *swim_get_stats(const swim *s)
{
    return &s->stats;
}

void swim_queue_depths(const swim *s, size_t *membership, size_t *application)
{
    *membership = s->bq.n;
    *application = s->uq.n;
}
