/* daemon_leave: the graceful leave, on SIGTERM, SIGINT, `moonlist leave`
 * or agent.leave():
 *   1. gossip serf's leave intent, so serf agents show us "left" (§16),
 *   2. once it has been sent its full retransmit count (bounded), swim_leave
 *      (our dead-with-From==Node),
 *   3. on SWIM_EV_LEAVE_DONE (or a hard deadline) close everything, exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "serf/serf_msg.h"

/* Leave, phase by phase (see the top of the file). */
void daemon_leave_on_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (a->leave_phase == 1) {
        char key[300];
        daemon_intents_key(key, sizeof key, swim_get_config(net_core(a->net))->name);
        if (swim_broadcast_pending(net_core(a->net), key)) {
            if (uv_now(a->loop) < a->intent_deadline)
                return; /* polled again by the repeating timer */
            base_log(BASE_LOG_WARN, "leaving: serf's leave intent not fully sent after %d ms; leaving anyway",
                    AGENT_INTENT_TIMEOUT_MS);
        }
        uv_timer_stop(&a->leave_timer);
        a->leave_phase = 2;
        base_log(BASE_LOG_INFO, "leaving: gossiping our leave");
        swim_leave(net_core(a->net), net_now(a->net), AGENT_LEAVE_TIMEOUT_MS);
        if (a->leave_phase == 2)
            uv_timer_start(&a->leave_timer, daemon_leave_on_timer, AGENT_LEAVE_TIMEOUT_MS + AGENT_LEAVE_GRACE_MS, 0);
        return;
    }
    if (a->leave_phase == 2)
        base_log(BASE_LOG_WARN, "leave not confirmed by the protocol in time; shutting down anyway");
    a->leave_phase = 3;
    base_log(BASE_LOG_INFO, "left the cluster; shutting down");
    for (size_t i = 0; i < a->nleave_waiters; i++)
        daemon_rpc_reply_left(a->leave_waiters[i]);
    a->nleave_waiters = 0;
    a->exit_code = 0;
    daemon_close_all(a);
}

void daemon_leave_begin(agent *a)
{
    if (a->leave_phase)
        return;
    a->leave_phase = 1;
    wire_buf b;
    wire_buf_init(&b, 0);
    uint64_t ltime = a->serf_ltime + 1;
    const char *name = swim_get_config(net_core(a->net))->name;
    if (serf_leave_intent(&b, ltime, name) == 0 && daemon_intents_broadcast_own(a, &b, ltime) == 0) {
        base_log(BASE_LOG_INFO, "leaving: gossiping serf's leave intent (LTime %llu)", (unsigned long long)ltime);
    } else {
        base_log(BASE_LOG_WARN, "leaving: could not queue serf's leave intent; serf agents will show us failed");
    }
    wire_buf_free(&b);
    /* alone, nobody needs the intent: go straight to the leave; else poll
     * until it is out (daemon_leave_on_timer) */
    if (swim_alive_count(net_core(a->net)) <= 1) {
        uv_timer_start(&a->leave_timer, daemon_leave_on_timer, 0, 0);
        return;
    }
    uv_update_time(a->loop);
    a->intent_deadline = uv_now(a->loop) + AGENT_INTENT_TIMEOUT_MS;
    uv_timer_start(&a->leave_timer, daemon_leave_on_timer, AGENT_INTENT_POLL_MS, AGENT_INTENT_POLL_MS);
}
