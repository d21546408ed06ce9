/* serf_node's reaper and reconnects (serf's handleReap, reap, reconnect). */
#include <stdlib.h>

#include "serf/serf_node_internal.h"

void serf_node_reap(serf_node *sn, swim_time now)
{
    for (size_t k = 0; k < sn->nmembers;) {
        serf_node_mstate *m = sn->members[k];
        /* we are left too after our own leave, but never reaped: the
         * node's own entry lives as long as the node */
        uint64_t timeout = m == sn->self                   ? UINT64_MAX
                         : m->status == SERF_MEMBER_FAILED ? sn->cfg.reconnect_timeout_ms
                         : m->status == SERF_MEMBER_LEFT  ? sn->cfg.tombstone_timeout_ms
                                                          : UINT64_MAX;
        if (timeout == UINT64_MAX || now < m->leave_time || now - m->leave_time <= timeout) {
            k++;
            continue;
        }
        serf_logf(&sn->log, BASE_LOG_INFO, "EventMemberReap: %s", m->name);
        serf_node_erase(sn, m);   /* the last slot moved into k: look at it next */
    }
    serf_node_reap_intents(sn, now);
    sn->unknown_logged = 0;
}

void serf_node_reconnect(serf_node *sn, swim *core, swim_time now)
{
    size_t failed = 0, left = 0;
    for (size_t k = 0; k < sn->nmembers; k++) {
        failed += sn->members[k]->status == SERF_MEMBER_FAILED;
        left += sn->members[k]->status == SERF_MEMBER_LEFT;
    }
    if (failed == 0)
        return;
    /* num failed / num alive: the cluster as a whole tries each failed
     * member about once per interval */
    size_t alive = sn->nmembers - failed - left;
    if (alive == 0)
        alive = 1;
    double prob = (double)failed / (double)alive;
    double r = (double)(serf_node_rand(sn) >> 11) / (double)(1ull << 53);
    if (r > prob) {
        serf_logf(&sn->log, BASE_LOG_DEBUG, "forgoing reconnect for random throttling");
        return;
    }
    size_t pick = (size_t)(serf_node_rand(sn) % failed);
    for (size_t k = 0; k < sn->nmembers; k++) {
        serf_node_mstate *m = sn->members[k];
        if (m->status != SERF_MEMBER_FAILED || pick--)
            continue;
        serf_logf(&sn->log, BASE_LOG_INFO, "attempting reconnect to %s", m->name);
        sn->stats.reconnects++;
        swim_addr to = m->addr;   /* the core's events may change the table */
        (void)swim_join(core, now, &to, 1);
        return;
    }
}
