/* sim_measure: what a run costs, per node: its traffic (counted by
 * sim_net.c and the loop) and the size of its core's member table. */
#include <stddef.h>
#include <string.h>

#include "sim/sim_internal.h"

const sim_traffic *sim_node_traffic(const sim *s, int i) { return &s->nodes[i]->traffic; }

static uint64_t suspicion_bytes(const swim_suspicion *sp)
{
    if (!sp)
        return 0;
    uint64_t b = sizeof *sp + sp->nfrom * sizeof *sp->from;
    for (size_t i = 0; i < sp->nfrom; i++)
        b += sp->from[i].n;
    return b;
}

/* How far ahead the walk loads nodes: enough misses in flight to cover
 * memory's latency, as swim_pushpull.c's ENCODE_AHEAD. */
#define MEASURE_AHEAD 8

uint64_t sim_member_bytes(const sim *s, uint64_t *entries)
{
    uint64_t bytes = 0, count = 0;
    for (size_t i = 0; i < s->n; i++) {
        const sim_node *n = s->nodes[i];
        if (!n->up)
            continue;
        const swim_members *m = &n->core->members;
        /* the arrays are sized for growth: their whole capacity is held */
        bytes += m->cap * sizeof *m->nodes + m->nbuckets * sizeof *m->buckets;
        for (size_t k = 0; k < m->n; k++) {
            /* N^2 nodes out of the cache (25 million at 5,000 nodes): the
             * next ones' loads go out while this one is read */
            if (k + MEASURE_AHEAD < m->n)
                __builtin_prefetch(m->nodes[k + MEASURE_AHEAD]);
            const swim_node *x = m->nodes[k];
            bytes += offsetof(swim_node, name) + x->name_len + 1 + suspicion_bytes(swim_node_susp(x));
            if (x->meta_len > SWIM_META_INLINE)
                bytes += x->meta_len;
        }
        count += m->n;
    }
    *entries = count;
    return bytes;
}
