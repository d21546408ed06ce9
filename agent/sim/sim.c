/* sim: the virtual network and clock around N swim cores (see sim.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

/* A paused process's socket buffer holds only so much: packets past this
 * many are lost, like a full UDP receive buffer. */
#define SIM_BACKLOG_MAX_PACKETS 1024
/* The simulated network's default one-way delay: a LAN. */
#define SIM_DEFAULT_DELAY 1
#define SIM_DEFAULT_JITTER 1

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

sim *sim_new(uint64_t seed)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->seed = seed;
    swim_rng_seed(&s->rng, seed);
    s->delay = SIM_DEFAULT_DELAY;
    s->jitter = SIM_DEFAULT_JITTER;
    s->hash = 1469598103934665603ULL;
    wire_buf_init(&s->reply, 0);
    return s;
}

static void node_clear_backlog(sim_node *n)
{
    for (size_t i = 0; i < n->nbacklog; i++)
        free(n->backlog[i].data);
    n->nbacklog = 0;
}

void sim_free(sim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        sim_node *n = s->nodes[i];
        swim_free(n->core);
        node_clear_backlog(n);
        free(n->backlog);
        free(n);
    }
    free(s->nodes);
    sim_heap_free(&s->heap);
    free(s->links);
    free(s->streams);
    wire_buf_free(&s->reply);
    free(s);
}

static void push(sim *s, sim_item *it)
{
    it->seq = ++s->seq;
    if (sim_heap_push(&s->heap, it) != 0)
        free(it->data);
}

/* ---- addresses ---- */

swim_addr sim_addr(const sim *s, int i)
{
    swim_addr a;
    memset(&a, 0, sizeof a);
    uint32_t v = (uint32_t)i + 1;
    a.ip_len = 4;
    a.ip[0] = 10;
    a.ip[1] = (uint8_t)(v >> 16);
    a.ip[2] = (uint8_t)(v >> 8);
    a.ip[3] = (uint8_t)v;
    a.port = (i >= 0 && (size_t)i < s->n) ? s->nodes[i]->cfg.advertise.port : 7946;
    return a;
}

static int addr_node(const sim *s, const swim_addr *a)
{
    if (a->ip_len != 4 || a->ip[0] != 10)
        return -1;
    uint32_t v = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
    if (v == 0 || v > s->n)
        return -1;
    int i = (int)v - 1;
    if (s->nodes[i]->cfg.advertise.port != a->port)
        return -1; /* nobody listens there */
    return i;
}

/* ---- scheduling a node's core ---- */

static void reschedule(sim_node *n)
{
    if (!n->up || !n->core)
        return;
    swim_time d = swim_next_deadline(n->core);
    if (d == n->tick_at)
        return;
    n->tick_gen++;
    n->tick_at = d;
    if (d == SWIM_NEVER)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.t = d < n->sim->now ? n->sim->now : d;
    it.kind = SIM_TICK;
    it.to = n->index;
    it.gen = n->tick_gen;
    push(n->sim, &it);
}

/* ---- the core's I/O ---- */

static void link_params(const sim *s, int from, int to, uint32_t *delay, uint32_t *jitter, double *loss)
{
    *delay = s->delay;
    *jitter = s->jitter;
    *loss = s->loss;
    for (size_t i = 0; i < s->nlinks; i++)
        if (s->links[i].from == from && s->links[i].to == to) {
            *delay = s->links[i].delay;
            *jitter = s->links[i].jitter;
            *loss = s->links[i].loss;
        }
}

static swim_time transit(sim *s, int from, int to, bool *lost)
{
    uint32_t delay, jitter;
    double loss;
    link_params(s, from, to, &delay, &jitter, &loss);
    *lost = false;
    if (loss > 0) {
        double r = (double)(swim_rng_next(&s->rng) >> 11) / 9007199254740992.0;
        *lost = r < loss;
    }
    return delay + swim_rng_below(&s->rng, (uint64_t)jitter + 1);
}

static bool connected(const sim *s, int a, int b)
{
    return s->nodes[a]->group == s->nodes[b]->group;
}

static void io_send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    (void)crc;
    sim_node *n = ud;
    sim *s = n->sim;
    s->stats.packets_sent++;
    s->stats.bytes_sent += len;
    int dst = addr_node(s, to);
    bool lost = false;
    swim_time d = dst >= 0 ? transit(s, n->index, dst, &lost) : 0;
    if (dst < 0 || lost || !connected(s, n->index, dst)) {
        s->stats.packets_dropped++;
        return;
    }
    sim_item it;
    memset(&it, 0, sizeof it);
    it.t = s->now + d;
    it.kind = SIM_PACKET;
    it.to = dst;
    it.from = n->index;
    it.data = malloc(len ? len : 1);
    if (!it.data)
        return;
    memcpy(it.data, msg, len);
    it.len = len;
    push(s, &it);
}

static uint32_t stream_record(sim *s, int from, uint32_t life, uint64_t id, swim_time deadline, bool want_reply)
{
    if (s->nstreams == s->capstreams) {
        size_t cap = s->capstreams ? s->capstreams * 2 : 256;
        sim_stream *v = realloc(s->streams, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        s->streams = v;
        s->capstreams = cap;
    }
    sim_stream *r = &s->streams[s->nstreams];
    r->from = from;
    r->life = life;
    r->id = id;
    r->deadline = deadline;
    r->want_reply = want_reply;
    r->done = false;
    return (uint32_t)s->nstreams++;
}

static void io_open_stream(void *ud, const swim_stream_req *req)
{
    sim_node *n = ud;
    sim *s = n->sim;
    s->stats.streams_opened++;
    uint32_t rec = stream_record(s, n->index, n->life, req->id, req->deadline, req->want_reply);
    if (rec == UINT32_MAX)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.stream = rec;
    it.from = n->index;
    if (req->want_reply) {
        /* the deadline guard: failure unless a reply came first */
        it.t = req->deadline < s->now ? s->now : req->deadline;
        it.kind = SIM_STREAM_TIMEOUT;
        it.to = n->index;
        push(s, &it);
    }
    int dst = addr_node(s, &req->to);
    bool lost;
    swim_time d = dst >= 0 ? transit(s, n->index, dst, &lost) : 0;
    if (dst < 0 || !connected(s, n->index, dst))
        return; /* connect times out: the guard reports it */
    memset(&it, 0, sizeof it);
    it.t = s->now + d;
    it.kind = SIM_STREAM_REQ;
    it.to = dst;
    it.from = n->index;
    it.stream = rec;
    it.data = malloc(req->len ? req->len : 1);
    if (!it.data)
        return;
    memcpy(it.data, req->msg, req->len);
    it.len = req->len;
    push(s, &it);
}

static void io_event(void *ud, const swim_event *ev)
{
    sim_node *n = ud;
    sim *s = n->sim;
    uint64_t h = s->hash;
    h = fnv(h, &s->now, sizeof s->now);
    h = fnv(h, &n->index, sizeof n->index);
    uint32_t t = ev->type;
    h = fnv(h, &t, sizeof t);
    if (ev->member.name)
        h = fnv(h, ev->member.name, strlen(ev->member.name));
    uint32_t st = ev->member.state, inc = ev->member.incarnation;
    h = fnv(h, &st, sizeof st);
    h = fnv(h, &inc, sizeof inc);
    if (ev->payload.p)
        h = fnv(h, ev->payload.p, ev->payload.n);
    h = fnv(h, &ev->count, sizeof ev->count);
    s->hash = h;
    if (s->on_event)
        s->on_event(s->on_event_ud, n->index, s->now, ev);
}

/* Delegate trampolines: the core has one ud (ours); each node's own
 * delegates have theirs. */
static void tr_local_state(void *ud, bool join, const uint8_t **out, size_t *len)
{
    sim_node *n = ud;
    n->delegates.local_state(n->delegates.ud, join, out, len);
}
static void tr_merge_remote_state(void *ud, const uint8_t *st, size_t len, bool join)
{
    sim_node *n = ud;
    n->delegates.merge_remote_state(n->delegates.ud, st, len, join);
}
static void tr_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    sim_node *n = ud;
    n->delegates.ack_payload(n->delegates.ud, out, len);
}
static bool tr_allow_merge(void *ud, const swim_member *peers, size_t np, const char **reason)
{
    sim_node *n = ud;
    return n->delegates.allow_merge(n->delegates.ud, peers, np, reason);
}
static bool tr_allow_alive(void *ud, const swim_member *m)
{
    sim_node *n = ud;
    return n->delegates.allow_alive(n->delegates.ud, m);
}
static void tr_log(void *ud, int level, const char *msg)
{
    sim_node *n = ud;
    n->delegates.log(n->delegates.ud, level, msg);
}

static int start_core(sim_node *n)
{
    sim *s = n->sim;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.ud = n;
    io.send_packet = io_send_packet;
    io.open_stream = io_open_stream;
    io.event = io_event;
    if (n->has_delegates) {
        const swim_io *d = &n->delegates;
        io.local_state = d->local_state ? tr_local_state : NULL;
        io.merge_remote_state = d->merge_remote_state ? tr_merge_remote_state : NULL;
        io.ack_payload = d->ack_payload ? tr_ack_payload : NULL;
        io.allow_merge = d->allow_merge ? tr_allow_merge : NULL;
        io.allow_alive = d->allow_alive ? tr_allow_alive : NULL;
        io.log = d->log ? tr_log : NULL;
    }
    uint64_t seed = s->seed ^ (0x9e3779b97f4a7c15ULL * ((uint64_t)n->index + 1)) ^ ((uint64_t)n->life << 48);
    n->cfg.seed = seed;
    n->up = true;
    n->paused = false;
    n->core = swim_new(&n->cfg, &io, s->now);
    if (!n->core) {
        n->up = false;
        return -1;
    }
    n->tick_at = SWIM_NEVER - 1; /* force a schedule */
    reschedule(n);
    return 0;
}

int sim_add(sim *s, const swim_config *cfg, const swim_io *delegates)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sim_node **v = realloc(s->nodes, cap * sizeof *v);
        if (!v)
            return -1;
        s->nodes = v;
        s->cap = cap;
    }
    if (s->n >= 0xfffffe)
        return -1;
    sim_node *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->sim = s;
    n->index = (int)s->n;
    n->cfg = *cfg;
    uint16_t port = cfg->advertise.port ? cfg->advertise.port : 7946;
    s->nodes[s->n++] = n;
    n->cfg.advertise = sim_addr(s, n->index);
    n->cfg.advertise.port = port;
    if (delegates) {
        n->delegates = *delegates;
        n->has_delegates = true;
    }
    if (start_core(n) != 0) {
        s->n--;
        free(n);
        return -1;
    }
    return n->index;
}

int sim_add_many(sim *s, size_t count, const char *prefix, const char *profile)
{
    int first = -1;
    for (size_t i = 0; i < count; i++) {
        swim_config c;
        memset(&c, 0, sizeof c);
        if (swim_config_profile(&c, profile) != 0)
            return -1;
        snprintf(c.name, sizeof c.name, "%s%zu", prefix, s->n);
        int idx = sim_add(s, &c, NULL);
        if (idx < 0)
            return -1;
        if (first < 0)
            first = idx;
    }
    return first;
}

size_t sim_count(const sim *s) { return s->n; }
swim *sim_core(sim *s, int i) { return s->nodes[i]->up ? s->nodes[i]->core : NULL; }
swim_time sim_now(const sim *s) { return s->now; }
bool sim_is_up(const sim *s, int i) { return s->nodes[i]->up; }

void sim_set_default_link(sim *s, uint32_t delay, uint32_t jitter, double loss)
{
    s->delay = delay;
    s->jitter = jitter;
    s->loss = loss;
}

void sim_set_link(sim *s, int from, int to, uint32_t delay, uint32_t jitter, double loss)
{
    for (size_t i = 0; i < s->nlinks; i++)
        if (s->links[i].from == from && s->links[i].to == to) {
            s->links[i].delay = delay;
            s->links[i].jitter = jitter;
            s->links[i].loss = loss;
            return;
        }
    if (s->nlinks == s->caplinks) {
        size_t cap = s->caplinks ? s->caplinks * 2 : 16;
        sim_link_override *v = realloc(s->links, cap * sizeof *v);
        if (!v)
            return;
        s->links = v;
        s->caplinks = cap;
    }
    s->links[s->nlinks++] = (sim_link_override){ from, to, delay, jitter, loss };
}

void sim_set_group(sim *s, int i, int group) { s->nodes[i]->group = group; }

void sim_kill(sim *s, int i)
{
    sim_node *n = s->nodes[i];
    swim_free(n->core);
    n->core = NULL;
    n->up = false;
    n->paused = false;
    n->tick_gen++;
    n->tick_at = SWIM_NEVER;
    node_clear_backlog(n);
}

int sim_restart(sim *s, int i, const swim_config *cfg)
{
    sim_node *n = s->nodes[i];
    if (n->up)
        sim_kill(s, i);
    if (cfg) {
        swim_addr a = n->cfg.advertise;
        n->cfg = *cfg;
        n->cfg.advertise = a;
    }
    n->life++;
    return start_core(n);
}

void sim_pause(sim *s, int i)
{
    if (s->nodes[i]->up)
        s->nodes[i]->paused = true;
}

void sim_resume(sim *s, int i)
{
    sim_node *n = s->nodes[i];
    if (!n->up || !n->paused)
        return;
    n->paused = false;
    /* everything that waited is delivered now, in arrival order */
    for (size_t k = 0; k < n->nbacklog; k++) {
        sim_item it = n->backlog[k];
        it.t = s->now;
        push(s, &it);
    }
    n->nbacklog = 0;
    n->tick_at = SWIM_NEVER - 1;
    reschedule(n);
}

void sim_join(sim *s, int i, const int *seeds, size_t n)
{
    sim_node *nd = s->nodes[i];
    if (!nd->up)
        return;
    swim_addr *a = calloc(n ? n : 1, sizeof *a);
    if (!a)
        return;
    for (size_t k = 0; k < n; k++)
        a[k] = sim_addr(s, seeds[k]);
    swim_join(nd->core, s->now, a, n);
    free(a);
    reschedule(nd);
}

void sim_on_event(sim *s, sim_event_fn fn, void *ud)
{
    s->on_event = fn;
    s->on_event_ud = ud;
}

uint64_t sim_hash(const sim *s) { return s->hash; }
const sim_stats *sim_get_stats(const sim *s) { return &s->stats; }

/* ---- the loop ---- */

static void hold(sim_node *n, sim_item *it)
{
    size_t packets = 0;
    if (it->kind == SIM_PACKET) {
        for (size_t k = 0; k < n->nbacklog; k++)
            packets += n->backlog[k].kind == SIM_PACKET;
        if (packets >= SIM_BACKLOG_MAX_PACKETS) {
            n->sim->stats.packets_dropped++;
            free(it->data);
            return;
        }
    }
    if (n->nbacklog == n->capbacklog) {
        size_t cap = n->capbacklog ? n->capbacklog * 2 : 64;
        sim_item *v = realloc(n->backlog, cap * sizeof *v);
        if (!v) {
            free(it->data);
            return;
        }
        n->backlog = v;
        n->capbacklog = cap;
    }
    n->backlog[n->nbacklog++] = *it;
}

static void deliver_reply(sim *s, uint32_t rec, const uint8_t *data, size_t len, bool ok)
{
    sim_stream *r = &s->streams[rec];
    if (r->done || !r->want_reply)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.kind = SIM_STREAM_REPLY;
    it.to = r->from;
    it.stream = rec;
    bool lost;
    it.t = s->now + transit(s, -1, -1, &lost);
    if (it.t > r->deadline)
        return; /* too late: the guard fails it */
    if (ok) {
        it.data = malloc(len ? len : 1);
        if (!it.data)
            return;
        memcpy(it.data, data, len);
        it.len = len;
    }
    push(s, &it);
}

static void step(sim *s, sim_item *it)
{
    sim_node *n = s->nodes[it->to];
    s->stats.steps++;
    switch (it->kind) {
    case SIM_TICK:
        if (it->gen != n->tick_gen || !n->up)
            break;
        if (n->paused) {
            n->tick_missed = true;
            break;
        }
        n->tick_at = SWIM_NEVER - 1;
        swim_tick(n->core, s->now);
        reschedule(n);
        break;
    case SIM_PACKET:
        if (!n->up) {
            s->stats.packets_dropped++;
            break;
        }
        if (n->paused) {
            hold(n, it);
            return; /* data now owned by the backlog */
        }
        s->stats.packets_delivered++;
        {
            swim_addr from = sim_addr(s, it->from);
            swim_handle_packet(n->core, s->now, &from, it->data, it->len);
        }
        reschedule(n);
        break;
    case SIM_STREAM_REQ:
        if (!n->up)
            break; /* refused: the guard reports the failure */
        if (n->paused) {
            hold(n, it);
            return;
        }
        {
            swim_addr from = sim_addr(s, it->from);
            wire_buf_reset(&s->reply);
            bool r = swim_handle_stream(n->core, s->now, &from, it->data, it->len, &s->reply);
            reschedule(n);
            deliver_reply(s, it->stream, s->reply.data, s->reply.len, r);
        }
        break;
    case SIM_STREAM_REPLY:
    case SIM_STREAM_TIMEOUT: {
        sim_stream *r = &s->streams[it->stream];
        if (r->done)
            break;
        if (!n->up || n->life != r->life) {
            r->done = true;
            break;
        }
        if (n->paused) {
            hold(n, it);
            return;
        }
        r->done = true;
        bool ok = it->kind == SIM_STREAM_REPLY && it->data;
        if (!ok)
            s->stats.streams_failed++;
        swim_stream_done(n->core, s->now, r->id, ok ? it->data : NULL, ok ? it->len : 0);
        reschedule(n);
        break;
    }
    }
    free(it->data);
}

static bool step_once(sim *s, swim_time limit)
{
    const sim_item *top = sim_heap_top(&s->heap);
    if (!top || top->t > limit)
        return false;
    sim_item it;
    sim_heap_pop(&s->heap, &it);
    if (it.t > s->now)
        s->now = it.t;
    step(s, &it);
    return true;
}

void sim_run_until(sim *s, swim_time t)
{
    while (step_once(s, t))
        ;
    if (t > s->now)
        s->now = t;
}

bool sim_run_while_not(sim *s, swim_time limit, bool (*done)(sim *s, void *ud), void *ud)
{
    if (done(s, ud))
        return true;
    while (step_once(s, limit))
        if (done(s, ud))
            return true;
    if (limit > s->now)
        s->now = limit;
    return done(s, ud);
}

size_t sim_count_seeing(sim *s, const char *name, swim_state state, bool include_self)
{
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++) {
        sim_node *n = s->nodes[i];
        if (!n->up || (!include_self && strcmp(n->cfg.name, name) == 0))
            continue;
        swim_member m;
        if (swim_member_get(n->core, name, &m) && m.state == state)
            c++;
    }
    return c;
}
