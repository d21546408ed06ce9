/* serf_node: a serf peer (§16), sans I/O, riding on a swim core it does not
 * own.
 *
 * serf is a layer over memberlist: its messages are memberlist user
 * messages whose first byte is a serf type (serf_msg.h), its state rides
 * in memberlist's push/pull, and it keeps its own view of the members
 * (alive, leaving, left, failed, with the Lamport time of their last
 * intent) on top of memberlist's. serf_node is that layer, as serf 0.9.4
 * (Debian's serf) behaves on the wire:
 *   - the member, event and query Lamport clocks;
 *   - join and leave intents with the recent-intent buffer, statuses and
 *     status times, failed and left members kept until reaped
 *     (ReconnectTimeout, TombstoneTimeout), reconnects to failed members
 *     (ReconnectInterval), force-leave and its -prune;
 *   - serf's push/pull state (type 2) with every peer, carrying the
 *     application's own state inside it under SERF_NODE_STATE_KEY;
 *   - user events (dedup buffer, coalescing, ignore-old on join);
 *   - queries (filters, ack, no-broadcast, relay factor, timeouts,
 *     responses, size limits) and the internal queries _serf_ping,
 *     _serf_conflict (the name conflict vote) and the key operations
 *     _serf_install-key, _serf_use-key, _serf_remove-key,
 *     _serf_list-keys on a keyring that changes at run time.
 *
 * How it is driven (the same way by net's agent and by the simulator):
 *   - the driver creates the swim core with the delegates that
 *     serf_node_swim_delegate() returns, and hands every core event to
 *     serf_node_on_swim_event() (safe from inside the core's callback:
 *     it never calls the core, it queues);
 *   - serf_node reports the next time it has work through io->deadline,
 *     like the core; work queued from inside a callback (a rebroadcast, a
 *     query response, a reconnect) makes that "now". The driver then calls
 *     serf_node_tick() from outside any core callback, which runs what is
 *     due and hands what was queued to the core (swim_broadcast,
 *     swim_send_user_addr, swim_join, swim_set_meta);
 *   - commands (serf_node_event, serf_node_query, ...) are called from
 *     outside the core's callbacks too, with the core.
 * serf_node never calls back into itself from its own io callbacks; a
 * callback may queue work on it with the commands below only if it is not
 * inside serf_node_tick or a command (the driver's commands come from its
 * own loop, never from inside these callbacks).
 *
 * Nothing here reads a clock or touches a socket or a file: the keyring
 * file is written by the driver when SERF_EV_KEYRING says it changed. */
#ifndef MOONLIST_SERF_NODE_H
#define MOONLIST_SERF_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_log.h"
#include "serf/serf_msg.h"
#include "serf/serf_tags.h"
#include "swim/swim.h"
#include "wire/wire_keyring.h"

/* The map key under which our push/pull state (type 2) carries the
 * application's state (agent.state): serf decodes the map into its
 * messagePushPull struct and skips keys it does not know (checked against
 * Debian's serf 0.9.4 by tests/e2e). */
#define SERF_NODE_STATE_KEY "MoonlistState"

/* serf's defaults (serf/config.go DefaultConfig), each with serf's reason:
 * how often a failed member is tried again, and how long failed and left
 * members are remembered (and shown by `members`) before they are reaped. */
#define SERF_RECONNECT_INTERVAL_MS (30 * 1000)
#define SERF_RECONNECT_TIMEOUT_MS (24ull * 3600 * 1000)
#define SERF_TOMBSTONE_TIMEOUT_MS (24ull * 3600 * 1000)
/* serf's ReapInterval: how often failed/left members are checked against
 * the two timeouts above. */
#define SERF_REAP_INTERVAL_MS (15 * 1000)
/* serf's RecentIntentTimeout: an intent about a member not (yet) known is
 * kept this long, so that a join intent arriving before memberlist's alive
 * still gives the member its status time. */
#define SERF_RECENT_INTENT_TIMEOUT_MS (5 * 60 * 1000)

typedef struct serf_node serf_node;

typedef struct serf_node_config {
    const char *name;                 /* ours, as the core's (copied) */
    uint64_t gossip_interval_ms;      /* the core's, for query timeouts */
    uint32_t query_timeout_mult;      /* 0: SERF_QUERY_TIMEOUT_MULT */
    size_t event_buffer;              /* 0: SERF_EVENT_BUFFER */
    size_t query_buffer;              /* 0: SERF_QUERY_BUFFER */
    size_t user_event_size_limit;     /* 0: SERF_USER_EVENT_SIZE_LIMIT */
    size_t query_size_limit;          /* 0: SERF_QUERY_SIZE_LIMIT */
    size_t query_response_size_limit; /* 0: SERF_QUERY_RESPONSE_SIZE_LIMIT */
    uint32_t coalesce_period_ms;      /* user event coalescing; 0 (serf agent's default): off */
    uint32_t quiescent_period_ms;
    uint64_t reconnect_interval_ms;   /* 0: SERF_RECONNECT_INTERVAL_MS */
    uint64_t reconnect_timeout_ms;    /* 0: SERF_RECONNECT_TIMEOUT_MS */
    uint64_t tombstone_timeout_ms;    /* 0: SERF_TOMBSTONE_TIMEOUT_MS */
    bool disable_name_resolution;     /* serf's EnableNameConflictResolution = false */
    /* The keyring the I/O side encrypts with; the key queries change it in
     * place (the I/O side reads it for every packet). NULL: no encryption
     * (key queries answer "encryption is not enabled", as serf). Not
     * owned; must outlive the node. */
    wire_keyring *keyring;
    uint64_t seed;                    /* query IDs, reconnect picks, relays */
} serf_node_config;

/* A member as serf sees it. Views valid until the next call into the node
 * or the core. */
typedef enum serf_member_status {
    SERF_MEMBER_NONE = 0,
    SERF_MEMBER_ALIVE = 1,
    SERF_MEMBER_LEAVING = 2,
    SERF_MEMBER_LEFT = 3,
    SERF_MEMBER_FAILED = 4,
} serf_member_status;

/* "none", "alive", "leaving", "left", "failed": serf's names, which its
 * CLI prints and `members -status` matches */
const char *serf_member_status_name(serf_member_status s);

typedef struct serf_node_member {
    const char *name;
    swim_addr addr;
    const uint8_t *meta;              /* serf tags, encoded (serf_tags.h) */
    size_t meta_len;
    uint8_t vsn[6];
    serf_member_status status;
    uint64_t status_ltime;            /* LTime of its last intent */
    swim_time leave_time;             /* failed/left: when (for reaping) */
} serf_node_member;

typedef enum serf_node_event_type {
    /* members, as serf's EventMemberJoin/Leave/Failed/Update/Reap */
    SERF_EV_MEMBER_JOIN,
    SERF_EV_MEMBER_LEAVE,
    SERF_EV_MEMBER_FAILED,
    SERF_EV_MEMBER_UPDATE,
    SERF_EV_MEMBER_REAP,
    /* a user event, once per event (deduplicated; coalesced if it was sent
     * with coalesce and coalescing is on): name, payload, ltime, coalesce */
    SERF_EV_USER,
    /* a query whose filters select us: name, payload, from, ltime,
     * query_id. Answer with serf_node_respond(query_id) while it is open
     * (its timeout); the ack was sent already if asked. Internal queries
     * (_serf_*) are answered inside and never reported. */
    SERF_EV_QUERY,
    /* answers to our own query (query_id as serf_node_query returned):
     * an ack (from), a response (from, payload); then DONE once, when its
     * timeout passed */
    SERF_EV_QUERY_ACK,
    SERF_EV_QUERY_RESPONSE,
    SERF_EV_QUERY_DONE,
    /* the keyring changed (a key query): persist it if asked to */
    SERF_EV_KEYRING,
    /* we lost a name conflict vote: stop, as serf's agent does */
    SERF_EV_SHUTDOWN,
} serf_node_event_type;

typedef struct serf_node_event {
    serf_node_event_type type;
    serf_node_member member;          /* MEMBER_* */
    wire_bytes name, payload;         /* USER, QUERY; payload also QUERY_RESPONSE */
    const char *from;                 /* QUERY (asker), QUERY_ACK, QUERY_RESPONSE (answerer) */
    uint64_t ltime;                   /* USER, QUERY */
    bool coalesce;                    /* USER */
    uint64_t query_id;                /* QUERY*, our handle (not serf's 32-bit ID) */
} serf_node_event;

/* The application's push/pull state, carried inside serf's (type 2) under
 * SERF_NODE_STATE_KEY. Both optional. local_state: *out stays valid until
 * the next call into the node. merge_state gets what a peer carried (only
 * when it carried something). */
typedef struct serf_node_state_delegate {
    void *ud;
    void (*local_state)(void *ud, bool is_join, const uint8_t **out, size_t *len);
    void (*merge_state)(void *ud, const uint8_t *state, size_t len, bool is_join);
} serf_node_state_delegate;

typedef struct serf_node_io {
    void *ud;
    void (*event)(void *ud, const serf_node_event *ev);
    void (*log)(void *ud, base_log_level level, const char *msg);
    /* As swim_io.deadline: the next time serf_node_tick() has work
     * (SWIM_NEVER: none), only when it changed. */
    void (*deadline)(void *ud, swim_time next);
    serf_node_state_delegate state;
} serf_node_io;

/* Create. Ownership: the caller's, released by serf_node_free(); cfg and
 * io are copied (cfg->name too). NULL if out of memory or cfg is invalid.
 * The member table starts with ourselves, alive. */
serf_node *serf_node_new(const serf_node_config *cfg, const serf_node_io *io, swim_time now);
void serf_node_free(serf_node *sn);

/* The delegates to create the core with: serf's push/pull state
 * (local_state, merge_remote_state) are the node's; ack_payload,
 * allow_merge and allow_alive are taken from `app` (may be NULL) as they
 * are. */
swim_delegate serf_node_swim_delegate(serf_node *sn, const swim_delegate *app);

/* A core event (from inside the core's io->event: queues only). User
 * messages are serf's: dispatched by type, never passed on raw; a
 * message with an unknown type is logged (rate limited) and dropped.
 * Member events update serf's table and become SERF_EV_MEMBER_*. */
void serf_node_on_swim_event(serf_node *sn, swim_time now, const swim_event *ev);

/* Run what is due at `now` and hand queued work to `core` (outside the
 * core's callbacks). */
void serf_node_tick(serf_node *sn, swim *core, swim_time now);
swim_time serf_node_next_deadline(const serf_node *sn);

/* ---- membership ---- */
/* Before swim_join: ignore_old says whether the push/pulls of this join
 * skip the events older than the cluster's event time (serf's
 * eventJoinIgnore: `join -replay=false`, its default, is true). */
void serf_node_joining(serf_node *sn, bool ignore_old);
/* After a swim_join that reached someone: our join intent, as serf's Join
 * sends it; ends the ignore_old window. */
int serf_node_joined(serf_node *sn, swim *core, swim_time now);
/* Broadcast our leave intent (the first step of a graceful leave;
 * serf_leave.h runs the rest); `direct`: also send it at once to every
 * member alive (swim_send_user_all), so that it is everywhere within a
 * round trip (§12.3). 0 or -1. */
int serf_node_leave_intent(serf_node *sn, swim *core, swim_time now, bool direct);
/* Once leaving: the same intent (its LTime) again, straight to every
 * member alive or suspect, a copy each (serf_leave's later copies, for
 * one lost on the way). The copies sent, or -1 when not leaving or it
 * cannot be encoded. */
int serf_node_leave_intent_again(serf_node *sn, swim *core, swim_time now);
/* serf's RemoveFailedNode: a leave intent for `name`, so that everyone
 * moves it from failed to left; with prune, erased at once everywhere
 * (serf's -prune). 0, or -1 if no such member. */
int serf_node_force_leave(serf_node *sn, swim *core, swim_time now, const char *name, bool prune);
/* New tags (encoded meta) for us: swim_set_meta, serf's SetTags. */
int serf_node_set_meta(serf_node *sn, swim *core, swim_time now, const uint8_t *meta, size_t len);
/* serf's view: alive, leaving, left and failed members (until reaped),
 * ourselves included. Stop early if fn returns false. */
void serf_node_members_each(const serf_node *sn, bool (*fn)(void *ud, const serf_node_member *m), void *ud);
size_t serf_node_member_count(const serf_node *sn);
bool serf_node_member_get(const serf_node *sn, const char *name, serf_node_member *out);

/* ---- user events ---- */
/* serf's UserEvent (not serf_node_event: that is the event type):
 * gossiped to everyone; also delivered to ourselves (SERF_EV_USER), as
 * serf does. 0, or a wire_err (WIRE_ELIMIT: name +
 * payload over the size limit). */
int serf_node_user_event(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload,
                         bool coalesce);

/* ---- queries ---- */
typedef struct serf_node_query_opts {
    const char *const *nodes;         /* node filter (NULL / 0: none) */
    size_t nnodes;
    const char *const *tag_keys;      /* tag filters: tag_keys[i] must match regexps[i] */
    const char *const *tag_exprs;
    size_t ntags;
    bool request_ack;
    bool no_broadcast;                /* ask receivers not to gossip it on */
    uint8_t relay_factor;
    uint64_t timeout_ms;              /* 0: serf's default (serf_query_timeout) */
} serf_node_query_opts;
/* serf's Query: gossip it, also handled by ourselves if our filters pass
 * (as serf does). Answers come as SERF_EV_QUERY_ACK / _RESPONSE with the
 * handle returned in *query_id, then SERF_EV_QUERY_DONE. 0 or a wire_err
 * (WIRE_ELIMIT: over the size limit). */
int serf_node_query(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload,
                    const serf_node_query_opts *opts, uint64_t *query_id);
/* Answer a query reported by SERF_EV_QUERY (once; later answers are
 * refused as serf refuses them). 0, or -1: unknown or closed query
 * (timed out, answered), WIRE_ELIMIT: over the response size limit. */
int serf_node_respond(serf_node *sn, swim *core, swim_time now, uint64_t query_id, wire_bytes payload);

/* ---- keys (serf's KeyManager, the asking side) ---- */
typedef enum serf_key_op {
    SERF_KEY_INSTALL, SERF_KEY_USE, SERF_KEY_REMOVE, SERF_KEY_LIST,
} serf_key_op;
/* Run a key query over the whole cluster (ourselves included), with
 * serf's default query parameters and relay_factor (serf's
 * KeyRequestOptions, `serf keys -relay-factor`); the outcome comes as
 * SERF_EV_QUERY_RESPONSE events whose payloads are key responses
 * (serf_msg_key_response, type 8), then SERF_EV_QUERY_DONE: the caller
 * counts them as serf's KeyManager does (serf_keys.h), against
 * *num_nodes, the members alive when it was sent (serf's NumNodes; may
 * be NULL). key: raw bytes (not for LIST). 0 or a wire_err. */
int serf_node_key_query(serf_node *sn, swim *core, swim_time now, serf_key_op op, const uint8_t *key,
                        size_t key_len, uint8_t relay_factor, uint64_t *query_id, size_t *num_nodes);

/* ---- clocks, for `info` and snapshots ---- */
typedef struct serf_node_clocks {
    uint64_t member, event, query;
} serf_node_clocks;
serf_node_clocks serf_node_get_clocks(const serf_node *sn);
/* Raise a clock at start (serf's snapshot replay). */
void serf_node_witness_clocks(serf_node *sn, const serf_node_clocks *c);

/* Use another keyring (cfg.keyring's rules; NULL: no encryption): for a
 * driver that sets the node up after creating it (the simulator). */
void serf_node_set_keyring(serf_node *sn, wire_keyring *keyring);

typedef struct serf_node_stats {
    uint64_t events_received, events_dup, queries_received, queries_dup;
    uint64_t intents_received, unknown_messages, reconnects, reaped;
    uint64_t events_full;   /* dropped: SERF_EVENTS_PER_LTIME_MAX at their LTime (serf keeps them) */
} serf_node_stats;
const serf_node_stats *serf_node_get_stats(const serf_node *sn);

#endif
