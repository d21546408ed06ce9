/* serf_node_query_internal: the user events and queries of a serf_node
 * (serf_node_events.c, serf_node_query.c, serf_node_internal_query.c):
 * their state, embedded in struct serf_node, and what serf_node.c calls. */
#ifndef MOONLIST_SERF_NODE_QUERY_INTERNAL_H
#define MOONLIST_SERF_NODE_QUERY_INTERNAL_H

#include "serf/serf_events.h"
#include "serf/serf_msg_state.h"
#include "serf/serf_node.h"
#include "serf/serf_query.h"

typedef struct serf_nq {
    serf_events events;               /* the event clock and dedup buffer */
    serf_queries queries;             /* the query clock and dedup buffer */
    /* ... coalescer, open queries (ours and those we answer), the
     * conflict vote: serf_node_query.c's owner adds here */
} serf_nq;

/* Set up / release sn->nq (cfg is sn->cfg). 0 or -1 (out of memory). */
int serf_nq_init(serf_node *sn);
void serf_nq_free(serf_node *sn);
/* A serf message of type 3 (user event), 4 (query), 5 (query response) or
 * 9 (relay) arrived as a memberlist user message (from inside the core's
 * callback: queue only). msg starts at the type byte. */
void serf_nq_on_message(serf_node *sn, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len);
/* Timers: query timeouts, coalescing. */
void serf_nq_tick(serf_node *sn, swim_time now);
swim_time serf_nq_next_deadline(const serf_node *sn);
/* Our push/pull: fill EventLTime, Events and QueryLTime (views into
 * sn->nq, valid until the next call). */
void serf_nq_local_state(serf_node *sn, serf_msg_push_pull *pp);
/* A peer's push/pull: the event and query halves of serf's
 * MergeRemoteState (ignore_old: this is our join and old events are not
 * to be delivered). */
void serf_nq_merge_state(serf_node *sn, const serf_msg_push_pull *pp, bool is_join, bool ignore_old);
/* The core saw another node claim our name (SWIM_EV_CONFLICT about us):
 * start serf's conflict vote (unless cfg.disable_name_resolution). A
 * conflict about another member's name is only logged, as serf. */
void serf_nq_on_conflict(serf_node *sn, swim_time now, const swim_event *ev);

#endif
