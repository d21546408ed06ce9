/* daemon_leave: the graceful leave on the loop, on SIGTERM, SIGINT,
 * `moonlist leave` or agent.leave(). The sequence itself (serf's leave
 * intent first, then swim_leave, then done) is serf_leave's
 * (serf/serf_leave.h); here one timer follows its deadline, and once it is
 * done the waiting `leave` requests are answered and everything closes. */
#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "net/net_timer.h"

static void finish(agent *a)
{
    base_log(BASE_LOG_INFO, "left the cluster; shutting down");
    for (size_t i = 0; i < a->nleave_waiters; i++)
        daemon_rpc_reply_left(a->leave_waiters[i]);
    a->nleave_waiters = 0;
    a->exit_code = 0;
    daemon_close_all(a);
}

/* The timer at the leave's next deadline; at once when done, so that the
 * shutdown runs from the loop, never from inside the core. */
static void arm(agent *a)
{
    bool done = serf_leave_state(&a->leave) == SERF_LEAVE_DONE;
    net_timer_arm(&a->leave_timer, daemon_leave_on_timer, done ? 0 : serf_leave_next_deadline(&a->leave));
}

void daemon_leave_on_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (serf_leave_state(&a->leave) != SERF_LEAVE_DONE)
        serf_leave_tick(&a->leave, net_core(a->net), net_now(a->net));
    if (serf_leave_state(&a->leave) == SERF_LEAVE_DONE)
        finish(a);
    else
        arm(a);
}

void daemon_leave_begin(agent *a)
{
    /* serf's Leave tells the snapshot before its leave intent */
    daemon_snapshot_leave(a->snapshot);
    if (!a->net || !serf_leave_begin(&a->leave, net_core(a->net), net_now(a->net)))
        return;
    arm(a);
}
