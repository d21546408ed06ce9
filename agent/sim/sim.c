/* sim: the simulator's clock and event loop (see sim.h): the heap of
 * pending work is popped in (time, sequence) order and each item handed to
 * its node's core. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim_internal.h"

/* A paused process's socket buffer holds only so much: packets past this
 * many are lost, like a full UDP receive buffer. */
#define SIM_BACKLOG_MAX_PACKETS 1024
/* The simulated network's default one-way delay: a LAN. */
#define SIM_DEFAULT_DELAY 1
#define SIM_DEFAULT_JITTER 1

/* Eight bytes a step, the tail zero-padded with its length in the top
 * byte: a run digests every event of every node (25 million at 5,000
 * nodes), and FNV-1a's byte a step, a multiply's latency each, was 2 % of
 * such a run. */
uint64_t sim_digest(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    if (n) {
        uint64_t w = (uint64_t)n << 56;
        memcpy(&w, b, n);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
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
    s->msgs = swim_msg_pool_new();
    if (!s->msgs) {
        free(s);
        return NULL;
    }
    return s;
}

void sim_node_clear_backlog(sim_node *n)
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
        sim_serf_stop(n);
        free(n->serf);
        swim_free(n->core);
        sim_node_clear_backlog(n);
        free(n->backlog);
        free(n);
    }
    free(s->nodes);
    sim_serf_free(s);
    sim_heap_free(&s->heap);
    free(s->links);
    free(s->streams);
    wire_buf_free(&s->reply);
    swim_msg_pool_free(s->msgs); /* after the cores: they held its messages */
    free(s);
}

int sim_item_copy(sim_item *it, const void *data, size_t len)
{
    it->data = malloc(len ? len : 1);
    if (!it->data)
        return -1;
    memcpy(it->data, data, len);
    it->len = len;
    return 0;
}

void sim_push(sim *s, sim_item *it)
{
    /* nothing is scheduled in the past: virtual time never runs back */
    assert(it->t >= s->now);
    it->seq = ++s->seq;
    if (sim_heap_push(&s->heap, it) != 0)
        free(it->data);
}

/* ---- addresses ---- */

void sim_on_event(sim *s, sim_event_fn fn, void *ud)
{
    s->on_event = fn;
    s->on_event_ud = ud;
}

int sim_watch_events(sim *s, sim_event_fn fn, void *ud)
{
    if (s->nwatchers == SIM_WATCHERS_MAX)
        return -1;
    s->watchers[s->nwatchers++] = (sim_watcher){ fn, ud };
    return 0;
}

uint64_t sim_hash(const sim *s) { return s->hash; }

const sim_stats *sim_get_stats(const sim *s) { return &s->stats; }

/* ---- the loop ---- */

void sim_set_timing(sim *s, bool on) { s->timing_on = on; }

const sim_timing *sim_get_timing(const sim *s) { return &s->timing; }

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Brackets one call into a core: t0 from timing_start, 0 when off. */
static uint64_t timing_start(const sim *s) { return s->timing_on ? wall_ns() : 0; }

static void timing_end(sim *s, sim_work w, uint64_t t0)
{
    if (!s->timing_on)
        return;
    s->timing.ns[w] += wall_ns() - t0;
    s->timing.calls[w]++;
}

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

static void deliver_reply(sim *s, int from, uint32_t rec, const uint8_t *data, size_t len, bool ok)
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
    it.t = s->now + sim_transit(s, -1, -1, &lost) + sim_slow_extra(s, r->from);
    if (it.t > r->deadline)
        return; /* too late: the guard fails it */
    if (ok && sim_item_copy(&it, data, len) < 0)
        return;
    if (ok)
        sim_count_sent(s, from, len, true);
    sim_push(s, &it);
}

static void step(sim *s, sim_item *it)
{
    sim_node *n = s->nodes[it->to];
    s->stats.steps++;
    switch (it->kind) {
    case SIM_TICK:
        if (it->gen != n->tick_gen || !n->up)
            break;
        if (n->paused)
            break; /* sim_resume ticks it once at the deadline it has */
        {
            uint32_t gen = n->tick_gen;
            uint64_t t0 = timing_start(s);
            swim_tick(n->core, s->now);
            timing_end(s, SIM_WORK_TICK, t0);
            /* this tick is spent; if the core reported no new deadline
             * it still wants the one it had */
            if (n->tick_gen == gen)
                sim_schedule(n, n->tick_at);
        }
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
        n->traffic.msgs_received++;
        n->traffic.bytes_received += it->len;
        {
            swim_addr from = sim_addr(s, it->from);
            uint64_t t0 = timing_start(s);
            swim_handle_packet(n->core, s->now, &from, it->data, it->len);
            timing_end(s, SIM_WORK_PACKET, t0);
        }
        break;
    case SIM_STREAM_REQ:
        if (!n->up)
            break; /* refused: the guard reports the failure */
        if (n->paused) {
            hold(n, it);
            return;
        }
        n->traffic.msgs_received++;
        n->traffic.bytes_received += it->len;
        {
            swim_addr from = sim_addr(s, it->from);
            wire_buf_reset(&s->reply);
            uint64_t t0 = timing_start(s);
            bool r = swim_handle_stream(n->core, s->now, &from, it->data, it->len, &s->reply);
            timing_end(s, SIM_WORK_STREAM, t0);
            deliver_reply(s, it->to, it->stream, s->reply.data, s->reply.len, r);
        }
        break;
    case SIM_SERF_TICK:
        sim_serf_step(n, it);
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
        else {
            n->traffic.msgs_received++;
            n->traffic.bytes_received += it->len;
        }
        uint64_t t0 = timing_start(s);
        swim_stream_done(n->core, s->now, r->id, ok ? it->data : NULL, ok ? it->len : 0);
        timing_end(s, SIM_WORK_STREAM, t0);
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
    assert(it.t >= s->now);
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

bool sim_all_alive(sim *s, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < s->n; i++)
        if (!s->nodes[i]->up || sim_count_seeing(s, s->nodes[i]->cfg.name, SWIM_ALIVE, false) != s->n - 1)
            return false;
    return true;
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
