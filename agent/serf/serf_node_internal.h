/* serf_node_internal: what the files of serf_node share (not for other
 * modules). The struct is split by owner: the members, intents, push/pull
 * state, outbox and timers here (serf_node.c, serf_node_members.c,
 * serf_node_state.c, serf_node_reconnect.c); events and queries in
 * serf_nq (serf_node_query_internal.h: serf_node_events.c,
 * serf_node_query.c, serf_node_internal_query.c). */
#ifndef MOONLIST_SERF_NODE_INTERNAL_H
#define MOONLIST_SERF_NODE_INTERNAL_H

#include "serf/serf_clock.h"
#include "serf/serf_node.h"
#include "serf/serf_node_query_internal.h"
#include "serf/serf_tags.h"

/* "serf-intent:" and a memberlist name (at most 255 bytes) fit. */
#define SERF_NODE_KEY_MAX 300

/* serf's memberState: a member with its status and the LTime of its last
 * intent. Owned by the node's table. */
typedef struct serf_node_mstate {
    char *name;                       /* owned */
    swim_addr addr;
    uint8_t *meta;                    /* owned, may be NULL */
    size_t meta_len;
    uint8_t vsn[6];
    serf_member_status status;
    uint64_t status_ltime;
    swim_time leave_time;             /* failed/left: when */
} serf_node_mstate;

/* serf's nodeIntent: the latest intent about a member we do not know yet */
typedef struct serf_node_intent {
    char *name;                       /* owned */
    int type;                         /* SERF_MSG_JOIN or SERF_MSG_LEAVE */
    uint64_t ltime;
    swim_time wall;                   /* when recorded, for RecentIntentTimeout */
} serf_node_intent;

/* Names to slots (serf_node_index.c): entry k of `tab` is named
 * name_at(tab, k); entries are 0 .. n-1, added at the end. */
typedef struct serf_node_index {
    uint32_t *v;                      /* slot + 1, 0: empty */
    size_t cap;                       /* a power of two, > 2 * entries */
    const char *(*name_at)(const void *tab, size_t k);
    const void *tab;
} serf_node_index;

/* The slot of the entry named `name`, or -1. */
long serf_node_index_find(const serf_node_index *ix, const char *name);
/* Entry k (the last, k == entries before) was added: 0, or -1 (out of
 * memory: not indexed, the caller takes it back). */
int serf_node_index_add(serf_node_index *ix, size_t k);
/* Entries moved or went (n remain): index them again. */
void serf_node_index_fill(serf_node_index *ix, size_t n);
void serf_node_index_free(serf_node_index *ix);

/* Work for the core, queued from inside its callbacks. */
typedef struct serf_node_out {
    uint8_t *msg;                     /* owned */
    size_t len;
    bool to_addr;                     /* swim_send_user_addr, else swim_broadcast */
    swim_addr to;
    char key[SERF_NODE_KEY_MAX];      /* broadcast key, "" for none */
} serf_node_out;

struct serf_node {
    char name[256];
    serf_node_config cfg;             /* cfg.name points at name */
    serf_node_io io;
    serf_log log;
    serf_node_stats stats;
    swim_time now;                    /* the latest `now` handed in */
    serf_nq nq;                       /* events and queries */

    /* members (serf_node_members.c): a table with a name index */
    serf_node_mstate **members;
    size_t nmembers, members_cap;
    serf_node_index members_ix;
    serf_node_mstate *self;           /* members' entry for us */
    serf_tags self_tags;
    serf_clock clock;                 /* serf's member (intent) clock */
    serf_node_intent *intents;        /* recentIntents */
    size_t nintents, intents_cap;
    serf_node_index intents_ix;
    bool leaving;                     /* our leave intent was sent: no refuting */
    bool join_ignore;                 /* serf's eventJoinIgnore */

    /* push/pull (serf_node_state.c): buffers our local state points into */
    swim_delegate app;                /* the application's own delegates */
    wire_buf state_buf;
    serf_ltime_pair *state_ltimes;
    wire_bytes *state_left;

    /* outbox and timers (serf_node.c, serf_node_reconnect.c) */
    serf_node_out *out;
    size_t nout, out_cap;
    swim_time reap_at, reconnect_at;
    swim_time reported;               /* the deadline last told io->deadline */
    uint64_t rng;                     /* splitmix64 state */
    uint32_t unknown_logged;          /* unknown messages logged this reap interval */
};

/* ---- between serf_node's own files ---- */

/* members (serf_node_members.c) */
/* Set up the (empty) member table and intent buffer. */
void serf_node_members_init(serf_node *sn);
serf_node_mstate *serf_node_find(const serf_node *sn, const char *name);
/* A new member (status ALIVE, no status time): NULL if out of memory. */
serf_node_mstate *serf_node_add(serf_node *sn, const char *name);
/* Remove and free (serf's eraseNode): SERF_EV_MEMBER_REAP. */
void serf_node_erase(serf_node *sn, serf_node_mstate *m);
void serf_node_members_free(serf_node *sn);
/* The view handed out for m. */
serf_node_member serf_node_view(const serf_node_mstate *m);
void serf_node_emit_member(serf_node *sn, serf_node_event_type type, const serf_node_mstate *m);
/* serf's handleNodeJoinIntent / handleNodeLeaveIntent (the clock witnessed
 * by the caller's message included): true when news, to be rebroadcast. */
bool serf_node_join_intent(serf_node *sn, uint64_t ltime, const char *node);
bool serf_node_leave_intent_in(serf_node *sn, uint64_t ltime, const char *node, bool prune);
/* Our join intent at `ltime` (serf's broadcastJoin), queued. */
int serf_node_broadcast_join(serf_node *sn, uint64_t ltime);
/* A new member takes the status of an intent about it that came first. */
void serf_node_apply_recent_intent(serf_node *sn, serf_node_mstate *m);
/* Forget recent intents older than RecentIntentTimeout. */
void serf_node_reap_intents(serf_node *sn, swim_time now);
/* The broadcast key of an intent about `node`. */
void serf_node_intent_key(char *buf, size_t len, const char *node);

/* reap and reconnect (serf_node_reconnect.c) */
void serf_node_reap(serf_node *sn, swim_time now);
void serf_node_reconnect(serf_node *sn, swim *core, swim_time now);

/* push/pull (serf_node_state.c) */
void serf_node_state_free(serf_node *sn);

/* ---- what serf_node.c offers the query/event files ---- */

/* Queue a broadcast of a serf message (type byte + map) for the core
 * (swim_broadcast at the next flush). key: NULL or "" for none. 0 or -1. */
int serf_node_out_broadcast(serf_node *sn, const uint8_t *msg, size_t len, const char *key);
/* Queue a UDP user message to an address (swim_send_user_addr), as serf's
 * memberlist.SendToAddress: query responses and relays. 0 or -1. */
int serf_node_out_send_addr(serf_node *sn, const swim_addr *to, const uint8_t *msg, size_t len);
/* Hand the queued work to the core (outside its callbacks). Every command
 * ends with it. */
void serf_node_flush(serf_node *sn, swim *core, swim_time now);
/* Report an event to io->event. */
void serf_node_emit(serf_node *sn, const serf_node_event *ev);
/* Re-evaluate the next deadline (serf_nq's included) and report it if it
 * moved; call after changing a timer. */
void serf_node_update_deadline(serf_node *sn);
/* Randomness from cfg.seed. */
uint64_t serf_node_rand(serf_node *sn);
/* Our own address and tags, as the core advertises them (known from the
 * core's JOIN event for ourselves). tags may be empty. */
swim_addr serf_node_self_addr(const serf_node *sn);
const serf_tags *serf_node_self_tags(const serf_node *sn);
/* Up to n alive members other than ourselves and `exclude` (may be NULL)
 * that speak memberlist protocol 5 or later, chosen at random (serf's
 * kRandomMembers with relayResponse's filter: 3 * members draws, so with
 * few members it may find fewer than exist). Returns how many were
 * written. Views valid until the next call into the node. */
size_t serf_node_random_alive(serf_node *sn, size_t n, const char *exclude, serf_node_member *out);
/* serf's NumNodes (and Stats' "members"): every member in the table,
 * "regardless of their health or status" (failed and left included,
 * until reaped), ourselves too. Not the default query timeout's N, which
 * serf takes from memberlist (serf_nq counts that itself). */
size_t serf_node_alive_count(const serf_node *sn);

void serf_node_check(const serf_node *sn, serf_node_clocks *seen); /* serf_node_check.c: assert()s, see there */
#endif
