/* serf_clock: serf's Lamport clock (serf/lamport.go), sans I/O.
 *
 * serf keeps three of them: one for member intents (join/leave), one for
 * user events and one for queries (§16.2). Each is a counter that a node
 * increments when it originates something and pushes forward when it sees
 * a time from someone else:
 *
 *   Time()       the current value;
 *   Increment()  adds one and returns the new value;
 *   Witness(v)   if v >= current, current becomes v + 1; else nothing.
 *
 * Witness(v) with v equal to the current value still moves the clock to
 * v + 1: serf relies on that so that its next message is strictly newer
 * than everything it has seen.
 *
 * One difference from Go, on purpose: Go's uint64 arithmetic wraps, so a
 * peer sending LTime 2^64-1 turns a Go clock back to 0. Ours saturates at
 * UINT64_MAX (Witness and Increment alike): a hostile time can freeze our
 * clock at the top, never send it back to the start. No honest cluster
 * gets within sight of 2^64. */
#ifndef MOONLIST_SERF_CLOCK_H
#define MOONLIST_SERF_CLOCK_H

#include <stdint.h>

typedef struct serf_clock {
    uint64_t counter;   /* starts at 0, as Go's zero value */
} serf_clock;

static inline uint64_t serf_clock_time(const serf_clock *c) { return c->counter; }

/* Add one and return the new value (UINT64_MAX stays). */
uint64_t serf_clock_increment(serf_clock *c);

/* Seen time v from elsewhere: current becomes v + 1 if v >= current. */
void serf_clock_witness(serf_clock *c, uint64_t v);

#endif
