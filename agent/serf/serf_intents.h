/* serf_intents: serf's join and leave intents (§16), sans I/O.
 *
 * We witness serf's Lamport time in the intents and push/pull states we
 * see, so that our own intents are newer than anything the cluster holds
 * for us; we announce our own intents; and we relay the intents that are
 * news to us, as serf agents do (serf_relay.h). Relays are seen from inside
 * the core (an event) but must be broadcast into it, which a callback may
 * not do: they wait in a queue until the caller flushes it. */
#ifndef MOONLIST_SERF_INTENTS_H
#define MOONLIST_SERF_INTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_log.h"
#include "serf/serf_relay.h"
#include "swim/swim.h"

/* Nodes whose last intent we remember (LRU): far more than the nodes that
 * join or leave at once in any cluster; a forgotten node's old intent may
 * be relayed once more, which serf agents ignore as old. */
#define SERF_INTENTS_RELAY_NODES 1024
/* Relays waiting for a flush: intents arrive one per join or leave, a
 * burst beyond this is dropped and logged. */
#define SERF_INTENTS_RELAY_QUEUE 64
/* "serf-intent:" and a memberlist name (at most 255 bytes) fit. */
#define SERF_INTENTS_KEY_MAX 300

/* One agent's intents. Fields are read and written through the functions
 * below; the struct is public so that its owner can embed it. */
typedef struct serf_intents {
    char self[256];              /* our node name */
    uint64_t ltime;              /* highest serf Lamport time seen or sent */
    serf_relay *relay;           /* intents seen; NULL: nothing is relayed */
    struct {
        char key[SERF_INTENTS_KEY_MAX];
        uint8_t *payload;        /* owned */
        size_t len;
    } queue[SERF_INTENTS_RELAY_QUEUE];
    size_t nqueued;
    serf_log log;
} serf_intents;

/* Set up for node `self`. Returns 0, or -1 when out of memory for the
 * relay table: the clock and our own intents still work, nothing is
 * relayed (logged). Release with serf_intents_free(). */
int serf_intents_init(serf_intents *si, const char *self, serf_log log);
/* Frees the relay table and the relays still queued. */
void serf_intents_free(serf_intents *si);

/* The key a broadcast of an intent about `node` goes under: a newer
 * intent about the same node replaces one still queued in the core. */
void serf_intents_key(char *buf, size_t len, const char *node);

/* A user message arrived (SWIM_EV_USER): if it is a serf intent, witness
 * its time, and queue it for relaying if it is news. Safe from inside the
 * core's event callback. Returns true when a relay was queued: call
 * serf_intents_flush() once outside the callback. */
bool serf_intents_observe(serf_intents *si, const uint8_t *payload, size_t len);
/* A push/pull's remote user state (the merge_remote_state delegate):
 * witness serf's member clock in it. */
void serf_intents_merge_state(serf_intents *si, const uint8_t *state, size_t len);
/* Broadcast the queued relays into `core` and empty the queue. Not from
 * inside the core's callbacks. */
void serf_intents_flush(serf_intents *si, swim *core);

/* Broadcast our own intent, SERF_MSG_JOIN or SERF_MSG_LEAVE, with a
 * Lamport time newer than any seen, under our own key; recorded as seen,
 * so that it is not relayed back to us. Returns 0 and the time used in
 * *ltime (may be NULL), or -1 (could not be built or queued). */
int serf_intents_announce(serf_intents *si, swim *core, int type, uint64_t *ltime);

#endif
