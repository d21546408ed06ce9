#include "serf/serf_leave.h"

#include <assert.h>

#include "serf/serf_intents.h"

const char *serf_leave_phase_name(serf_leave_phase p)
{
    switch (p) {
    case SERF_LEAVE_RUNNING:
        return "running";
    case SERF_LEAVE_INTENT_OUT:
        return "intent_out";
    case SERF_LEAVE_SWIM_LEAVING:
        return "swim_leaving";
    case SERF_LEAVE_DONE:
        return "done";
    }
    return "?";
}

void serf_leave_init_node(serf_leave *l, serf_node *node, serf_log log)
{
    assert(node);
    *l = (serf_leave){ .phase = SERF_LEAVE_RUNNING, .node = node, .log = log, .direct = true,
                       .copies = SERF_LEAVE_DIRECT_COPIES, .wait_max = SERF_LEAVE_DIRECT_WAIT_MAX_MS,
                       .intent_deadline = SWIM_NEVER, .poll_at = SWIM_NEVER, .done_deadline = SWIM_NEVER };
}

void serf_leave_set_direct(serf_leave *l, bool direct)
{
    l->direct = direct;
}

void serf_leave_set_direct_timing(serf_leave *l, int copies, uint32_t wait_max_ms)
{
    l->copies = copies < 1 ? 1 : copies;
    l->wait_max = wait_max_ms;
}

swim_time serf_leave_direct_wait(const serf_leave *l, const swim_config *cfg)
{
    swim_time w = (swim_time)SERF_LEAVE_DIRECT_ROUNDS * cfg->gossip_interval;
    if (w > l->wait_max)
        w = l->wait_max;
    return w < SERF_LEAVE_INTENT_TIMEOUT_MS ? w : SERF_LEAVE_INTENT_TIMEOUT_MS;
}

/* Direct: when copy number `k` (0 the first) is due: k/K of the wait. */
static swim_time copy_time(const serf_leave *l, int k)
{
    return l->began + (l->intent_deadline - l->began) * (swim_time)k / (swim_time)l->copies;
}

/* The one way a state changes: forward, one step. */
static void move(serf_leave *l, serf_leave_phase next)
{
    assert(next == l->phase + 1);
    serf_logf(&l->log, BASE_LOG_DEBUG, "leave: %s -> %s", serf_leave_phase_name(l->phase),
              serf_leave_phase_name(next));
    l->phase = next;
}

static void done(serf_leave *l)
{
    move(l, SERF_LEAVE_DONE);
    l->done_deadline = SWIM_NEVER;
}

static void swim_leave_now(serf_leave *l, swim *core, swim_time now)
{
    move(l, SERF_LEAVE_SWIM_LEAVING);
    l->intent_deadline = l->poll_at = SWIM_NEVER;
    /* the core's LEAVE_DONE comes at the latest its timeout after this,
     * or its LeavePropagateDelay after a broadcast that finished just
     * before the timeout; the grace comes on top of both */
    l->done_deadline = now + SERF_LEAVE_SWIM_TIMEOUT_MS + SWIM_LEAVE_PROPAGATE_DELAY_MS + SERF_LEAVE_GRACE_MS;
    serf_logf(&l->log, BASE_LOG_INFO, "leaving: gossiping our leave");
    /* alone, the core reports LEAVE_DONE from inside this call: the state
     * is set before, so that serf_leave_on_event finds SWIM_LEAVING */
    if (l->direct)
        swim_leave_all(core, now, SERF_LEAVE_SWIM_TIMEOUT_MS);
    else
        swim_leave(core, now, SERF_LEAVE_SWIM_TIMEOUT_MS);
}

bool serf_leave_begin(serf_leave *l, swim *core, swim_time now)
{
    if (l->phase != SERF_LEAVE_RUNNING)
        return false;
    move(l, SERF_LEAVE_INTENT_OUT);
    uint64_t ltime = serf_node_get_clocks(l->node).member;   /* serf's Leave: the clock's time, then +1 */
    bool queued = serf_node_leave_intent(l->node, core, now, l->direct) == 0;
    if (queued)
        serf_logf(&l->log, BASE_LOG_INFO, "leaving: %s serf's leave intent (LTime %llu)",
                  l->direct ? "sending every member" : "gossiping", (unsigned long long)ltime);
    else
        serf_logf(&l->log, BASE_LOG_WARN, "leaving: could not queue serf's leave intent; serf agents will show us failed");
    /* alone, nobody needs the intent; unqueued, there is nothing to wait for */
    if (!queued || swim_alive_count(core) <= 1) {
        swim_leave_now(l, core, now);
        return true;
    }
    l->began = now;
    if (!l->direct) {
        l->intent_deadline = now + SERF_LEAVE_INTENT_TIMEOUT_MS;
        l->poll_at = now + SERF_LEAVE_POLL_MS;
        return true;
    }
    l->intent_deadline = now + serf_leave_direct_wait(l, swim_get_config(core));
    l->copies_sent = 1;
    l->poll_at = l->copies > 1 ? copy_time(l, 1) : SWIM_NEVER;
    return true;
}

/* Direct: the copies that are due, then the leave at the end of the wait
 * (the gossip's count is not waited for: the copies and the wait are the
 * argument, serf_leave.h). */
static void tick_direct(serf_leave *l, swim *core, swim_time now)
{
    while (l->copies_sent < l->copies && copy_time(l, l->copies_sent) <= now && now < l->intent_deadline) {
        if (serf_node_leave_intent_again(l->node, core, now) < 0)
            serf_logf(&l->log, BASE_LOG_WARN, "leaving: could not send serf's leave intent again");
        l->copies_sent++;
    }
    l->poll_at = l->copies_sent < l->copies ? copy_time(l, l->copies_sent) : SWIM_NEVER;
    if (now >= l->intent_deadline)
        swim_leave_now(l, core, now);
}

static void tick_intent_out(serf_leave *l, swim *core, swim_time now)
{
    if (l->direct) {
        tick_direct(l, core, now);
        return;
    }
    char key[SERF_INTENTS_KEY_MAX];
    serf_intents_key(key, sizeof key, swim_get_config(core)->name);
    if (swim_broadcast_pending(core, key)) {
        if (now < l->intent_deadline) {
            l->poll_at = now + SERF_LEAVE_POLL_MS;
            return;
        }
        serf_logf(&l->log, BASE_LOG_WARN, "leaving: serf's leave intent not fully sent after %d ms; leaving anyway",
                  SERF_LEAVE_INTENT_TIMEOUT_MS);
    }
    swim_leave_now(l, core, now);
}

void serf_leave_tick(serf_leave *l, swim *core, swim_time now)
{
    switch (l->phase) {
    case SERF_LEAVE_INTENT_OUT:
        tick_intent_out(l, core, now);
        break;
    case SERF_LEAVE_SWIM_LEAVING:
        if (now < l->done_deadline)
            break;
        serf_logf(&l->log, BASE_LOG_WARN, "leave not confirmed by the protocol in time; shutting down anyway");
        done(l);
        break;
    case SERF_LEAVE_RUNNING:
    case SERF_LEAVE_DONE:
        break;
    }
}

bool serf_leave_on_event(serf_leave *l, const swim_event *ev)
{
    if (ev->type != SWIM_EV_LEAVE_DONE || l->phase != SERF_LEAVE_SWIM_LEAVING)
        return false;
    done(l);
    return true;
}

swim_time serf_leave_next_deadline(const serf_leave *l)
{
    switch (l->phase) {
    case SERF_LEAVE_INTENT_OUT:
        return l->poll_at < l->intent_deadline ? l->poll_at : l->intent_deadline;
    case SERF_LEAVE_SWIM_LEAVING:
        return l->done_deadline;
    case SERF_LEAVE_RUNNING:
    case SERF_LEAVE_DONE:
        break;
    }
    return SWIM_NEVER;
}

serf_leave_phase serf_leave_state(const serf_leave *l)
{
    return l->phase;
}

bool serf_leave_active(const serf_leave *l)
{
    return l->phase != SERF_LEAVE_RUNNING;
}
