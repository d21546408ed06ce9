/* Waiting in a test on a real libuv loop: run it until a condition holds
 * or a bound passes, looking at the condition from a timer; never a bare
 * sleep. Header only, shared by the net tests. */
#ifndef MOONLIST_TEST_NET_LOOP_WAIT_H
#define MOONLIST_TEST_NET_LOOP_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* How often the condition is looked at: far below any bound a test sets,
 * and far above the loop's own cost. */
#define LOOP_WAIT_POLL_MS 5

typedef struct loop_wait {
    uv_loop_t *loop;
    uv_timer_t poll, deadline;
    int (*done)(void *ud);
    void *ud;
    bool timed_out;
} loop_wait;

static inline void loop_wait_poll(uv_timer_t *t)
{
    loop_wait *lw = t->data;
    if (lw->done(lw->ud))
        uv_stop(lw->loop);
}

static inline void loop_wait_expired(uv_timer_t *t)
{
    loop_wait *lw = t->data;
    lw->timed_out = true;
    uv_stop(lw->loop);
}

static inline void loop_wait_init(loop_wait *lw, uv_loop_t *loop)
{
    lw->loop = loop;
    uv_timer_init(loop, &lw->poll);
    uv_timer_init(loop, &lw->deadline);
    lw->poll.data = lw->deadline.data = lw;
}

/* Run the loop until done(ud) says so or `ms` pass. True if done. */
static inline bool loop_wait_run(loop_wait *lw, int (*done)(void *ud), void *ud, uint64_t ms)
{
    lw->done = done;
    lw->ud = ud;
    lw->timed_out = false;
    uv_timer_start(&lw->poll, loop_wait_poll, LOOP_WAIT_POLL_MS, LOOP_WAIT_POLL_MS);
    uv_timer_start(&lw->deadline, loop_wait_expired, ms, 0);
    uv_run(lw->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&lw->poll);
    uv_timer_stop(&lw->deadline);
    return !lw->timed_out;
}

/* Close both timers; the caller runs the loop to let them close. */
static inline void loop_wait_close(loop_wait *lw)
{
    uv_close((uv_handle_t *)&lw->poll, NULL);
    uv_close((uv_handle_t *)&lw->deadline, NULL);
}

#endif
