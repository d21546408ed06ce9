/* sim_node: the simulated nodes: their cores' lifecycle (add, crash,
 * restart, pause, resume), scheduling each core's next tick, and the
 * event and delegate callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

void sim_schedule(sim_node *n, swim_time at)
{
    n->tick_gen++;      /* a tick queued for an older deadline is stale */
    n->tick_at = at;
    if (!n->up || at == SWIM_NEVER)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.t = at < n->sim->now ? n->sim->now : at;
    it.kind = SIM_TICK;
    it.to = n->index;
    it.gen = n->tick_gen;
    sim_push(n->sim, &it);
}

/* ---- the core's I/O ---- */

/* io->deadline: the core's next deadline moved, whoever called into it
 * (the loop, sim_join, or a test holding sim_core()). */
static void sim_io_deadline(void *ud, swim_time next)
{
    sim_schedule(ud, next);
}

static void sim_io_event(void *ud, const swim_event *ev)
{
    sim_node *n = ud;
    sim *s = n->sim;
    /* the event's numbers in one block, without padding: one call */
    uint64_t head[4] = { s->now, (uint64_t)(uint32_t)n->index << 32 | (uint32_t)ev->type,
                         (uint64_t)ev->member.state << 32 | ev->member.incarnation, (uint64_t)ev->count };
    uint64_t h = sim_digest(s->hash, head, sizeof head);
    if (ev->member.name)
        h = sim_digest(h, ev->member.name, strlen(ev->member.name));
    if (ev->payload.p)
        h = sim_digest(h, ev->payload.p, ev->payload.n);
    s->hash = h;
    if (s->on_event)
        s->on_event(s->on_event_ud, n->index, s->now, ev);
    for (size_t i = 0; i < s->nwatchers; i++)
        s->watchers[i].fn(s->watchers[i].ud, n->index, s->now, ev);
    if (n->serf)   /* the benchmarks' nodes have none: one test here */
        sim_serf_on_event(n, ev);
}

int sim_start_core(sim_node *n)
{
    sim *s = n->sim;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.ud = n;
    io.send_packet = sim_io_send_packet;
    io.open_stream = sim_io_open_stream;
    io.event = sim_io_event;
    io.deadline = sim_io_deadline;
    io.delegate = n->delegates;
    uint64_t seed = s->seed ^ (0x9e3779b97f4a7c15ULL * ((uint64_t)n->index + 1)) ^ ((uint64_t)n->life << 48);
    n->cfg.seed = seed;
    n->up = true;
    n->paused = false;
    if (sim_serf_start(n, &io) != 0) {
        n->up = false;
        return -1;
    }
    /* the new core reports its first deadline from swim_new */
    n->core = swim_new(&n->cfg, &io, s->now);
    if (!n->core) {
        sim_serf_stop(n);
        n->up = false;
        return -1;
    }
    swim_set_msg_pool(n->core, s->msgs);
    return 0;
}

int sim_add(sim *s, const swim_config *cfg, const swim_delegate *delegates)
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
    if (delegates)
        n->delegates = *delegates;
    if (sim_start_core(n) != 0) {
        s->n--;
        free(n->serf);
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

void sim_kill(sim *s, int i)
{
    sim_node *n = s->nodes[i];
    sim_serf_stop(n);
    swim_free(n->core);
    n->core = NULL;
    n->up = false;
    n->paused = false;
    sim_schedule(n, SWIM_NEVER);
    sim_node_clear_backlog(n);
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
    return sim_start_core(n);
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
        sim_push(s, &it);
    }
    n->nbacklog = 0;
    /* the ticks it slept through: one now, at the deadline it still has */
    sim_schedule(n, n->tick_at);
    sim_serf_resume(n);
}

void sim_join_all(sim *s, int seed)
{
    for (size_t i = 0; i < s->n; i++)
        if ((int)i != seed)
            sim_join(s, (int)i, &seed, 1);
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
    sim_serf_join_begin(nd);
    uint64_t id = swim_join(nd->core, s->now, a, n);
    sim_serf_join_end(nd, id);
    free(a);
}
