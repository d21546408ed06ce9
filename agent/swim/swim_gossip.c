/* swim_gossip: the gossip tick (§11.2): a fresh batch of queued broadcasts
 * to each of GossipNodes random members, the recently dead included so
 * that they can learn their fate and refute it; and memberlist's
 * kRandomNodes, which probes and push/pull use too. */
#include "swim/swim_internal.h"

static bool gossip_target(const swim *s, const swim_node *n)
{
    if (n == s->self)
        return false;
    switch (n->state) {
    case SWIM_ALIVE:
    case SWIM_SUSPECT:
        return true;
    case SWIM_DEAD:
        /* the dead keep hearing gossip a while, so they can refute */
        return s->now - n->state_change <= s->cfg.gossip_to_the_dead_time;
    default:
        return false;
    }
}

/* memberlist kRandomNodes: up to k distinct random nodes passing `ok`,
 * trying at most 3n times. Returns how many were put in out. */
size_t swim_random_nodes(swim *s, size_t k, swim_node **out, bool (*ok)(const swim *, const swim_node *, const void *),
                         const void *arg)
{
    size_t n = s->members.n, got = 0;
    for (size_t i = 0; i < 3 * n && got < k; i++) {
        swim_node *x = s->members.nodes[swim_rng_below(&s->rng, n)];
        if (!ok(s, x, arg))
            continue;
        bool dup = false;
        for (size_t j = 0; j < got && !dup; j++)
            dup = out[j] == x;
        if (!dup)
            out[got++] = x;
    }
    return got;
}

static bool gossip_ok(const swim *s, const swim_node *n, const void *arg)
{
    (void)arg;
    return gossip_target(s, n);
}

void swim_gossip(swim *s)
{
    swim_node *targets[64];
    size_t k = s->cfg.gossip_nodes < 64 ? s->cfg.gossip_nodes : 64;
    size_t got = swim_random_nodes(s, k, targets, gossip_ok, NULL);
    size_t limit = swim_budget(s, 0);
    for (size_t i = 0; i < got; i++) {
        swim_collect(s, SWIM_COMPOUND_PART_OVERHEAD, limit);
        if (s->nparts == 0)
            return;
        swim_node *t = targets[i];
        if (s->nparts == 1)
            swim_send_raw(s, &t->addr, t->name, s->partv[0].p, s->partv[0].n);
        else
            swim_send_compound(s, &t->addr, t->name, s->partv, s->nparts);
    }
}
