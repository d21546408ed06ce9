/* serf_node_query_internal: the user events and queries of a serf_node
 * (serf_node_events.c, serf_node_query.c, serf_node_query_direct.c,
 * serf_node_internal_query.c):
 * their state, embedded in struct serf_node, and what serf_node.c calls. */
#ifndef MOONLIST_SERF_NODE_QUERY_INTERNAL_H
#define MOONLIST_SERF_NODE_QUERY_INTERNAL_H

#include "serf/serf_events.h"
#include "serf/serf_msg_query.h"
#include "serf/serf_msg_state.h"
#include "serf/serf_node.h"
#include "serf/serf_query.h"

/* What a query of ours is for: the application's (its answers are
 * reported), or serf's name conflict vote (counted inside, never
 * reported, as serf's resolveNodeConflict reads its own channel). */
typedef enum serf_nq_purpose {
    SERF_NQ_FOR_APP = 0,
    SERF_NQ_FOR_VOTE,
} serf_nq_purpose;

/* The names that answered one query (serf's acks / responses maps): a
 * node's second answer is dropped. A set (open addressing, a hash keyed
 * per set) so that a flood of made-up answerers costs O(1) each. */
typedef struct serf_nq_names {
    wire_bytes *v;                    /* owned copies, in arrival order */
    size_t n, cap;
    uint32_t *slot;                   /* index + 1 into v, 0 empty; under half full */
    size_t nslots;                    /* a power of two, or 0 */
    uint64_t key;                     /* the hash's key: made-up names cannot aim at one chain */
} serf_nq_names;

/* A query we sent (serf's QueryResponse), open until its deadline. */
typedef struct serf_nq_asked {
    uint64_t handle;
    uint32_t id;
    uint64_t ltime;                   /* unique among ours: the clock moves on each */
    swim_time deadline;
    bool want_acks;                   /* serf makes its ack channel only then */
    serf_nq_purpose purpose;
    serf_nq_names acks, responses;
    unsigned vote_responses, vote_matching;
} serf_nq_asked;

/* A query we were asked and reported (serf's *Query), answerable once
 * until its deadline. */
typedef struct serf_nq_asking {
    uint64_t handle;
    uint32_t id;
    uint64_t ltime;
    uint8_t ip[16];                   /* the asker's Addr, as it came */
    uint8_t ip_len;
    uint16_t port;
    char *source;                     /* owned: its SourceNode */
    uint8_t relay_factor;
    swim_time deadline;
    bool expired;                     /* a Timeout <= 0: past its deadline at once, as in serf */
} serf_nq_asking;

typedef struct serf_nq {
    serf_events events;               /* the event clock and dedup buffer */
    serf_queries queries;             /* the query clock and dedup buffer */
    bool coalescing;                  /* both user coalesce periods set */
    serf_coalesce coalesce;
    uint64_t next_handle;             /* query handles, from 1 */
    struct { serf_nq_asked *v; size_t n, cap; } asked;
    struct { serf_nq_asking *v; size_t n, cap; } asking;
    bool voting;                      /* a conflict vote about us is open */
    uint64_t names_key;               /* keys the answerer sets (serf_nq_names) */
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

/* ---- between the three files (not for serf_node.c) ---- */

/* Events (serf_node_events.c). */
void serf_nq_on_user_event(serf_node *sn, const uint8_t *msg, size_t len);
void serf_nq_events_tick(serf_node *sn, swim_time now);
swim_time serf_nq_events_deadline(const serf_node *sn);

/* A member memberlist still counts and talks to: not dead or left (serf's
 * alive and leaving members). */
static inline bool serf_nq_member_live(const serf_node_member *m)
{
    return m->status == SERF_MEMBER_ALIVE || m->status == SERF_MEMBER_LEAVING;
}

/* memberlist's NumMembers, the members not dead or left (serf's alive
 * and leaving ones, ourselves included): what serf's default query
 * timeout and its KeyManager's NumNodes count. */
size_t serf_nq_num_members(const serf_node *sn);
/* cfg.query_response_size_limit, or serf's default */
size_t serf_nq_response_limit(const serf_node *sn);

/* The asker's direct copies of its query message `msg` (encoded with
 * `filters`): one to each live member other than us that the filters
 * select, queued on the outbox, unless more than SERF_QUERY_DIRECT_MAX are
 * selected (serf_node_query_direct.c says why). Returns how many were
 * queued. */
size_t serf_nq_send_direct(serf_node *sn, const serf_raw_list *filters, const uint8_t *msg, size_t len);

/* Queries (serf_node_query.c). Send our query (serf's Query, the local
 * handling included); purpose says who reads the answers. If its message
 * finds the outbox full (WIRE_ENOMEM), the query is not left open and
 * *handle is 0. */
int serf_nq_query_send(serf_node *sn, swim_time now, wire_bytes name, wire_bytes payload,
                       const serf_node_query_opts *opts, serf_nq_purpose purpose, uint64_t *handle);
/* Answer a query we were asked (serf's Query.respondWithMessageAndResponse):
 * 0, -1 closed or unknown, WIRE_ELIMIT too large. An answer whose relay
 * copy is too large went to the asker but keeps the query open, as
 * serf's. */
int serf_nq_respond(serf_node *sn, swim_time now, serf_nq_asking *q, wire_bytes payload);
serf_nq_asking *serf_nq_asking_find(serf_node *sn, uint64_t handle);
/* Send a message to an address; to ourselves it is taken at once (serf
 * sends it to its own UDP socket). */
void serf_nq_send_to(serf_node *sn, swim_time now, const uint8_t *ip, size_t ip_len, uint16_t port,
                     const uint8_t *msg, size_t len);

/* Internal queries (serf_node_internal_query.c): a query named _serf_*
 * that our filters selected: answered here. */
bool serf_nq_is_internal(wire_bytes name);
void serf_nq_internal_query(serf_node *sn, swim_time now, const serf_msg_query *q, serf_nq_asking *ask);
/* A response to our conflict vote. */
void serf_nq_vote_response(serf_node *sn, serf_nq_asked *a, wire_bytes payload);
/* Our conflict vote's time is up: count it. */
void serf_nq_vote_done(serf_node *sn, serf_nq_asked *a);

#endif
