/* serf_events: serf's user events as pure data, sans I/O (§16.3).
 *
 * Two structures, each a rule of serf 0.9.4 (serf.go, coalesce_user.go):
 *
 * serf_events, the recent-events buffer (handleUserEvent, and the event
 * half of MergeRemoteState and UserEvent). It holds the event clock, the
 * minimum event time and EventBuffer slots; an event at LTime t lives in
 * slot t % size, next to the other events of the same LTime. An event is
 *   - ignored if t < min_time (a node that joined with "ignore old
 *     events" raises min_time to the EventLTime of the state it pulled);
 *   - ignored as too old if clock > size and t < clock - size: it would
 *     sit in a slot already reused, so it could not be told from new;
 *   - ignored if its slot holds the same LTime and an event of the same
 *     name and payload (a duplicate: gossip brings every event many
 *     times);
 *   - not serf's: dropped if its slot holds SERF_EVENTS_PER_LTIME_MAX
 *     events of that LTime already;
 *   - otherwise recorded (the slot is reset first if it held another
 *     LTime): new, to deliver and to gossip on.
 * The clock witnesses every event's LTime first, even one then ignored.
 * The slots are exactly what serf's push/pull sends as Events.
 *
 * serf_coalesce, user event coalescing (serf's userEventCoalescer in its
 * coalesceLoop), fed with `now` instead of timers. Only events sent with
 * CC (can coalesce) are held; per name only the latest LTime survives
 * (an event with a newer LTime replaces those held, one with the same
 * LTime joins them, an older one is dropped). Everything held is let go
 * at the first of two deadlines: the coalesce period after the first
 * event held, or the quiescent period after the last one. serf coalesces
 * only when both periods are above zero (its agent's defaults are zero:
 * no coalescing). */
#ifndef MOONLIST_SERF_EVENTS_H
#define MOONLIST_SERF_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_clock.h"
#include "serf/serf_msg_state.h"
#include "wire/wire_buf.h"

/* serf's EventBuffer default (config.go DefaultConfig): the push/pulls of
 * the serf captures carry exactly this many slots. */
#define SERF_EVENT_BUFFER 512

/* Distinct events kept at one LTime. A node sends each of its events at
 * its clock and then moves the clock on, so honest events share an LTime
 * only when different nodes fire before hearing of each other (within a
 * gossip round or two): a few, even in a cluster of thousands. serf
 * appends without bound, so a peer sending made-up events at one LTime
 * grows that slot until it is reused; past this bound they are dropped
 * and counted (serf_events.full). It also bounds the work of the
 * duplicate check, a scan of the slot. */
#define SERF_EVENTS_PER_LTIME_MAX 256

typedef enum serf_event_verdict {
    SERF_EVENT_NEW = 0,        /* recorded: deliver it, gossip it on */
    SERF_EVENT_SEEN,           /* a duplicate */
    SERF_EVENT_TOO_OLD,        /* older than the buffer reaches */
    SERF_EVENT_BEFORE_MIN,     /* before min_time (join with ignore-old) */
    SERF_EVENT_FULL,           /* its LTime holds SERF_EVENTS_PER_LTIME_MAX already: dropped */
    SERF_EVENT_NOMEM,          /* could not be recorded (and is not delivered) */
} serf_event_verdict;

typedef struct serf_events {
    serf_clock clock;          /* serf's eventClock */
    uint64_t min_time;         /* serf's eventMinTime */
    size_t size;               /* slots */
    serf_user_events *slots;   /* owned, names and payloads copied */
    uint64_t full;             /* events dropped as SERF_EVENT_FULL */
} serf_events;

/* size >= 1 slots (SERF_EVENT_BUFFER as serf). 0, or -1 out of memory.
 * Release with serf_events_free(). */
int serf_events_init(serf_events *ev, size_t size);
void serf_events_free(serf_events *ev);

/* A user event at ltime (received, or from a push/pull): the rules
 * above. name and payload are copied when recorded. */
serf_event_verdict serf_events_receive(serf_events *ev, uint64_t ltime, wire_bytes name, wire_bytes payload);

/* Our own event (serf's UserEvent): refused with WIRE_ELIMIT if
 * name + payload exceed `limit` (serf's UserEventSizeLimit, normally
 * SERF_USER_EVENT_SIZE_LIMIT) or SERF_USER_EVENT_SANE_LIMIT, or if the
 * encoded message does. Otherwise the message (03 + map, at the current
 * event time) is appended to out for gossip, the clock moves on and the
 * event is recorded as seen. serf also delivers it to its own node: the
 * caller does that. Returns WIRE_OK or a wire_err (out unchanged). */
int serf_events_send(serf_events *ev, wire_buf *out, wire_bytes name, wire_bytes payload, bool cc, size_t limit);

/* The event half of merging a remote push/pull state (MergeRemoteState):
 * witness EventLTime - 1; if this is a join that ignores old events,
 * raise min_time to EventLTime; then every event of every slot goes
 * through serf_events_receive, and `deliver` (may be NULL) is called for
 * each new one (serf delivers these with CC false). Returns how many were
 * new. */
typedef void (*serf_event_fn)(void *ctx, uint64_t ltime, wire_bytes name, wire_bytes payload);
size_t serf_events_merge(serf_events *ev, const serf_msg_push_pull *pp, bool join_ignore_old,
                         serf_event_fn deliver, void *ctx);

/* ---- coalescing --------------------------------------------------------- */

typedef struct serf_coalesce_event {
    uint64_t ltime;
    wire_bytes name, payload;  /* owned copies */
} serf_coalesce_event;

typedef struct serf_coalesce {
    int64_t period, quiescent;            /* in the caller's unit of `now` */
    bool armed;                           /* an event came since the last flush */
    int64_t quantum_at, quiescent_at;     /* the two deadlines, while armed */
    struct {
        wire_bytes name;                  /* owned */
        uint64_t ltime;                   /* latest LTime seen for the name */
        serf_coalesce_event *v;
        size_t n, cap;
    } *names;                             /* in the order first seen */
    size_t nnames, cap;
    size_t held;                          /* events held, all names */
} serf_coalesce;

/* Both periods > 0 (serf's UserCoalescePeriod and UserQuiescentPeriod). */
void serf_coalesce_init(serf_coalesce *c, int64_t period, int64_t quiescent);
void serf_coalesce_free(serf_coalesce *c);
/* Whether an event goes through the coalescer: sent with CC. Others are
 * delivered at once. */
static inline bool serf_coalesce_takes(bool cc) { return cc; }
/* Hold a CC event at `now`. 0, or -1 out of memory (then deliver it at
 * once rather than lose it). */
int serf_coalesce_add(serf_coalesce *c, int64_t now, uint64_t ltime, wire_bytes name, wire_bytes payload);
/* When the held events are due; -1 when no event came since the last
 * flush. */
int64_t serf_coalesce_deadline(const serf_coalesce *c);
/* If now has reached the deadline (or `force`, serf's shutdown), deliver
 * every held event (names in the order first seen, events of a name in
 * arrival order) and start over. Returns how many were delivered. */
size_t serf_coalesce_flush(serf_coalesce *c, int64_t now, bool force, serf_event_fn deliver, void *ctx);

#endif
