/* What serf's Create does with a replayed snapshot: the clocks move past
 * what we had seen, and user events and queries from before the restart
 * are not delivered again (serf's eventMinTime, queryMinTime). */
#include "serf/serf_node_internal.h"
#include "serf/serf_node_query_internal.h"
#include "serf/serf_snapshot.h"

static uint64_t after(uint64_t t)
{
    return t == UINT64_MAX ? t : t + 1;
}

void serf_snapshot_restore(serf_node *sn, const serf_snapshot_replay *r)
{
    serf_node_clocks c = { r->clock, r->event_clock, r->query_clock };
    serf_node_witness_clocks(sn, &c);
    if (sn->nq.events.min_time < after(r->event_clock))
        sn->nq.events.min_time = after(r->event_clock);
    if (sn->nq.queries.min_time < after(r->query_clock))
        sn->nq.queries.min_time = after(r->query_clock);
}
