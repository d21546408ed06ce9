/* net_timer: a one-shot libuv timer that follows a sans-I/O deadline on
 * net_now()'s clock: the core's (net_core.c) and the serf node's
 * (daemon_serf.c). The owner keeps the deadline; these only arm the timer
 * at it, and again when it fired too early. On the loop's thread. */
#ifndef MOONLIST_NET_TIMER_H
#define MOONLIST_NET_TIMER_H

#include <uv.h>

#include "swim/swim.h"

/* Arm `t` (initialised) to run `cb` once at `at`: at once if `at` has
 * passed (0 for "now"), stopped if it is SWIM_NEVER. */
void net_timer_arm(uv_timer_t *t, uv_timer_cb cb, swim_time at);

/* The last thing in such a timer's callback, after its tick: libuv
 * measures the timeout from its cached loop time, which lags the clock the
 * tick reads, so the timer can fire a little before the deadline; the tick
 * then finds nothing due and reports no new deadline, and the spent
 * one-shot timer is armed again at `at` (the deadline, still ahead). A
 * tick that reported a new deadline has armed it already: left alone. */
void net_timer_rearm_spent(uv_timer_t *t, uv_timer_cb cb, swim_time at);

#endif
