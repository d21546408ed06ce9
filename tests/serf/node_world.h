/* A simulated cluster of serf peers for the serf_node tests (header
 * only): sim_use_serf, serf events counted per node and type, and
 * predicates on what every node sees. */
#ifndef MOONLIST_TEST_SERF_NODE_WORLD_H
#define MOONLIST_TEST_SERF_NODE_WORLD_H

#include <string.h>

#include "check.h"
#include "serf/serf_leave.h"
#include "serf/serf_msg.h"
#include "serf/serf_node.h"
#include "sim/sim.h"

#define NMAX 10
/* 5 lan nodes converge in a second or two; the intents a few rounds later */
#define SETTLED_MS 10000

typedef struct world {
    sim *s;
    int n;
    int ev[NMAX][SERF_EV_SHUTDOWN + 1];   /* events by node and type */
    serf_leave leave;                      /* the leaving node's */
    int leaver;
} world;

static inline void on_serf(void *ud, int node, swim_time now, const serf_node_event *ev)
{
    world *w = ud;
    (void)now;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "%8llu node-%d serf event %d %s\n", (unsigned long long)now, node, ev->type,
                ev->member.name ? ev->member.name : "");
    w->ev[node][ev->type]++;
}

static inline void on_core(void *ud, int node, swim_time now, const swim_event *ev)
{
    world *w = ud;
    (void)now;
    if (node == w->leaver)
        (void)serf_leave_on_event(&w->leave, ev);
}

static inline void make(world *w, int n, uint64_t seed, const serf_node_config *tmpl)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->leaver = -1;
    w->s = sim_new(seed);
    REQUIRE(w->s);
    sim_use_serf(w->s, tmpl);
    sim_on_serf_event(w->s, on_serf, w);
    sim_on_event(w->s, on_core, w);
    REQUIRE(sim_add_many(w->s, (size_t)n, "node-", "lan") == 0);
    for (int i = 1; i < n; i++) {
        int seed_node = 0;
        sim_join(w->s, i, &seed_node, 1);
    }
}

static inline serf_member_status status_at(world *w, int at, int of)
{
    serf_node *sn = sim_serf(w->s, at);
    char name[32];
    snprintf(name, sizeof name, "node-%d", of);
    serf_node_member m;
    if (!sn || !serf_node_member_get(sn, name, &m))
        return SERF_MEMBER_NONE;
    return m.status;
}

/* every live node other than `of` sees it in `st` */
static inline bool all_see(world *w, int of, serf_member_status st)
{
    for (int i = 0; i < w->n; i++)
        if (i != of && sim_serf(w->s, i) && status_at(w, i, of) != st)
            return false;
    return true;
}

typedef struct want {
    world *w;
    int of;
    serf_member_status st;
} want;

static inline bool wanted(sim *s, void *ud)
{
    (void)s;
    want *q = ud;
    return all_see(q->w, q->of, q->st);
}

static inline bool all_alive(sim *s, void *ud)
{
    (void)s;
    world *w = ud;
    for (int of = 0; of < w->n; of++)
        if (!all_see(w, of, SERF_MEMBER_ALIVE))
            return false;
    return true;
}

#endif
