/* daemon_intents: serf's join and leave intents (§16) on the loop. What to
 * witness, announce and relay is serf_intents' (serf/serf_intents.h); here
 * relays seen inside the core are flushed from the loop, and our join
 * intent follows a successful join. */
#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "serf/serf_msg.h"

static void on_relay_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (!a->net)
        return;
    serf_intents_flush(&a->intents, net_core(a->net));
}

/* Called from inside the core: the relay is queued for the loop. */
void daemon_intents_observe(agent *a, const uint8_t *p, size_t n)
{
    if (serf_intents_observe(&a->intents, p, n))
        uv_timer_start(&a->relay_timer, on_relay_timer, 0, 0);
}

/* After a successful join, announce a serf join intent newer than the
 * cluster's member clock (learnt from the push/pull): serf then holds that
 * time for us, which clears a "leaving" state left over from an earlier
 * run under the same name, and our later leave intent beats it. */
void daemon_intents_on_join(uv_timer_t *t)
{
    agent *a = t->data;
    if (serf_leave_active(&a->leave) || !a->net)
        return;
    if (serf_intents_announce(&a->intents, net_core(a->net), SERF_MSG_JOIN, NULL) != 0)
        base_log(BASE_LOG_WARN, "could not queue serf's join intent: serf agents keep our old status time");
}

void daemon_intents_merge_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    (void)is_join;
    agent *a = ud;
    serf_intents_merge_state(&a->intents, state, len);
}
