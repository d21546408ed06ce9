/* swim_gossip: the gossip tick (§11.2): a fresh batch of queued broadcasts
 * to each of GossipNodes random members, the recently dead included so
 * that they can learn their fate and refute it; and memberlist's
 * kRandomNodes (exact here), which probes and push/pull use too. */
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
        return s->now - swim_node_state_change(n) <= s->cfg.gossip_to_the_dead_time;
    default:
        return false;
    }
}

/* Below this many draws per wanted node the table is small enough that
 * drawing at random misses eligible nodes too often; memberlist (>= 0.6.0)
 * switches to shuffle-and-scan when n < 3k, and so do we. */
#define RANDOM_NODES_DRAWS_PER_PICK 3

/* memberlist kRandomNodes, made exact: up to k distinct random nodes
 * passing `ok`, and fewer only when fewer pass. memberlist 0.2 drew 3n
 * times at random and could miss the only eligible relay of a 3-node
 * cluster (in about 2.6 % of failed probes); 0.6 shuffles and scans when
 * n < 3k but still draws 3n times above that. Here the draws are only a
 * fast path: if they find k, those k are a uniform sample (a draw that is
 * accepted is uniform over the eligible nodes not yet taken, whatever the
 * number of draws it took); if they do not, a reservoir sample over the
 * whole table decides, which is uniform too. Returns how many were put in
 * out, in random order. */
size_t swim_random_nodes(swim *s, size_t k, swim_node **out, bool (*ok)(const swim *, const swim_node *, const void *),
                         const void *arg)
{
    size_t n = s->members.n, got = 0;
    if (k == 0 || n == 0)
        return 0;
    if (n >= RANDOM_NODES_DRAWS_PER_PICK * k) {
        for (size_t i = 0; i < RANDOM_NODES_DRAWS_PER_PICK * n && got < k; i++) {
            swim_node *x = s->members.nodes[swim_rng_below(&s->rng, n)];
            if (!ok(s, x, arg))
                continue;
            bool dup = false;
            for (size_t j = 0; j < got && !dup; j++)
                dup = out[j] == x;
            if (!dup)
                out[got++] = x;
        }
        if (got == k)
            return got;
    }
    /* Algorithm R: the i-th eligible node replaces a random pick with
     * probability k/i, which leaves every k-subset equally likely. */
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        swim_node *x = s->members.nodes[i];
        if (!ok(s, x, arg))
            continue;
        if (seen < k) {
            out[seen] = x;
        } else {
            uint64_t j = swim_rng_below(&s->rng, seen + 1);
            if (j < k)
                out[j] = x;
        }
        seen++;
    }
    got = seen < k ? seen : k;
    /* the reservoir keeps table order for its first picks: shuffle, so
     * that the first target (which gets the freshest gossip) is random */
    for (size_t i = got; i > 1; i--) {
        size_t j = (size_t)swim_rng_below(&s->rng, i);
        swim_node *t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
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
