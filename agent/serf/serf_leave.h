/* serf_leave: the graceful leave as serf does it (§16), sans I/O.
 *
 *   RUNNING       not leaving;
 *   INTENT_OUT    serf's leave intent is gossiped, so that serf agents show
 *                 us "left" rather than "failed": they do so only if the
 *                 intent reaches them before memberlist's leave. serf waits
 *                 until it has been sent its full retransmit count (at
 *                 most SERF_LEAVE_INTENT_TIMEOUT_MS), which is
 *                 ceil(RetransmitMult log10(N+1) / GossipNodes) gossip
 *                 rounds: 0.8 s at 100 members on lan. Direct (the
 *                 default, §12.3): the intent also goes to every member at
 *                 once, again (SERF_LEAVE_DIRECT_COPIES in all) spread
 *                 over the wait, and the wait is serf_leave_direct_wait:
 *                 the gossip's count is not waited for; alone, nobody
 *                 needs it;
 *   SWIM_LEAVING  swim_leave (our dead with From == Node) is gossiped; wait
 *                 for SWIM_EV_LEAVE_DONE, at most the core's own timeout
 *                 plus a grace;
 *   DONE          left: the caller may stop.
 * States only move forward, one at a time (asserted).
 *
 * The intent goes out through our serf_node (serf_node_leave_intent),
 * which broadcasts it under serf_intents_key(our name); INTENT_OUT polls
 * that key.
 *
 * The caller drives it like the core: with `now`, the core's
 * SWIM_EV_LEAVE_DONE, and a tick at serf_leave_next_deadline(). After a
 * call that may have called into the core (begin, tick) the caller re-arms
 * the core's own deadline. The agent runs it on libuv (daemon_leave.c), a
 * test on the simulator's virtual clock. */
#ifndef MOONLIST_SERF_LEAVE_H
#define MOONLIST_SERF_LEAVE_H

#include <stdbool.h>

#include "serf/serf_log.h"
#include "serf/serf_node.h"
#include "swim/swim.h"

/* serf's BroadcastTimeout (5 s), which bounds serf's own wait for the same
 * broadcast: the leave goes on without the intent after this long. */
#define SERF_LEAVE_INTENT_TIMEOUT_MS 5000
/* How often to look whether the intent is out: the core says so only when
 * asked (swim_broadcast_pending), and a small fraction of the 200 ms (lan)
 * gossip interval lets the leave follow the intent's last send soon. */
#define SERF_LEAVE_POLL_MS 20
/* Direct: the wait W between the intent's first copies to every member
 * and our leave, and K, the copies of the intent each member is sent in
 * it (at 0, W/K, 2W/K, ...). A serf agent that gets the leave before any
 * copy of the intent shows us failed (then left, when a later copy comes:
 * serf's "forced" leave). W is SERF_LEAVE_DIRECT_ROUNDS gossip intervals,
 * at most SERF_LEAVE_DIRECT_WAIT_MAX_MS: lan 400 ms, local 200, wan 500
 * (two WAN intervals, 1 s, had the leave seen by all at 1.01 s on
 * loopback; 500 ms leaves 500 for the trip under the 1 s asked).
 * The odds that a member has no copy when the leave comes, at loss p =
 * 10 %: all K direct copies lost, p^K, and none of the gossiped ones
 * arriving. The members holding the intent each send it to GossipNodes
 * random members a tick, so a member gets a Poisson number of copies,
 * mean about (1-p)^2 x ticks in W x GossipNodes: 4.9 on lan and local (2
 * ticks, 3 nodes), 6.5 on wan with 1 s (2 ticks, 4), 3.2 with 500 ms (1
 * tick); e^-mean = 0.0077, 0.0015, 0.039. One copy in two rounds (before):
 * 7.7e-4 a member (lan, local), 1.5e-4 (wan). Four copies: 7.7e-7 and
 * 3.9e-6, and copies W/4 apart outlast a burst of loss shorter than that.
 * The simulator, 100 nodes at 10 % loss (test_serf_leave.c with
 * SERF_LEAVE_LOSS_SEEDS; numbers in docs/protocol.md §12.3), counts fewer
 * than this model on both sides. A copy costs one packet per member. */
#define SERF_LEAVE_DIRECT_ROUNDS 2
#define SERF_LEAVE_DIRECT_WAIT_MAX_MS 500
#define SERF_LEAVE_DIRECT_COPIES 4
/* How long swim_leave may take to gossip our leave: the timeout serf gives
 * memberlist's Leave, its BroadcastTimeout (5 s). */
#define SERF_LEAVE_SWIM_TIMEOUT_MS 5000
/* Past the core's own timeout, DONE even if SWIM_EV_LEAVE_DONE never
 * comes: a leave must end. */
#define SERF_LEAVE_GRACE_MS 1000

typedef enum serf_leave_phase {
    SERF_LEAVE_RUNNING = 0,
    SERF_LEAVE_INTENT_OUT,
    SERF_LEAVE_SWIM_LEAVING,
    SERF_LEAVE_DONE,
} serf_leave_phase;

/* "running", "intent_out", "swim_leaving", "done" */
const char *serf_leave_phase_name(serf_leave_phase p);

/* Fields are read and written through the functions below; the struct is
 * public so that its owner can embed it. */
typedef struct serf_leave {
    serf_leave_phase phase;
    serf_node *node;             /* ours: the leave intent goes out through it */
    serf_log log;
    bool direct;                 /* the intent to every member at once (default) */
    int copies;                  /* direct: copies of the intent to each member */
    swim_time wait_max;          /* direct: longest wait before the leave, ms */
    int copies_sent;             /* INTENT_OUT, direct: so far */
    swim_time began;             /* INTENT_OUT: when serf_leave_begin ran */
    swim_time intent_deadline;   /* INTENT_OUT: swim_leave by then at the latest */
    swim_time poll_at;           /* INTENT_OUT: next look at the intent (serf's way),
                                    or the next direct copy */
    swim_time done_deadline;     /* SWIM_LEAVING: DONE by then at the latest */
} serf_leave;

/* RUNNING, announcing through `node` (serf_node_leave_intent, which also
 * marks us leaving in its table; not owned, it must outlive l). Each state
 * change is logged at debug level, "leave: a -> b". */
void serf_leave_init_node(serf_leave *l, serf_node *node, serf_log log);
/* Direct or not (serf's own way: gossip only, wait for the full count);
 * before serf_leave_begin. */
void serf_leave_set_direct(serf_leave *l, bool direct);
/* Direct: `copies` of the intent (at least 1) within a wait of at most
 * `wait_max_ms`, in place of SERF_LEAVE_DIRECT_COPIES and
 * SERF_LEAVE_DIRECT_WAIT_MAX_MS (an experiment's; the ROUNDS bound
 * stays); before serf_leave_begin. */
void serf_leave_set_direct_timing(serf_leave *l, int copies, uint32_t wait_max_ms);
/* Direct: the wait between the intent's first copies and our leave under
 * `cfg`: SERF_LEAVE_DIRECT_ROUNDS gossip intervals, at most the wait's
 * bound. */
swim_time serf_leave_direct_wait(const serf_leave *l, const swim_config *cfg);

/* Start leaving: the intent goes out (INTENT_OUT); alone, or if it could
 * not be queued, swim_leave at once (SWIM_LEAVING, and DONE at once when
 * the core has nobody to tell). Returns false, doing nothing, if already
 * leaving or left. */
bool serf_leave_begin(serf_leave *l, swim *core, swim_time now);
/* Run what is due at `now`: swim_leave once the intent is out or its time
 * is up; DONE past the hard deadline. */
void serf_leave_tick(serf_leave *l, swim *core, swim_time now);
/* A core event. Only SWIM_EV_LEAVE_DONE in SWIM_LEAVING matters: DONE.
 * Does not call into the core, so it is safe from the event callback.
 * Returns true if this event made it DONE. */
bool serf_leave_on_event(serf_leave *l, const swim_event *ev);
/* When serf_leave_tick() has work next; SWIM_NEVER when RUNNING or DONE. */
swim_time serf_leave_next_deadline(const serf_leave *l);

serf_leave_phase serf_leave_state(const serf_leave *l);
/* Leaving or left: not RUNNING. */
bool serf_leave_active(const serf_leave *l);

#endif
