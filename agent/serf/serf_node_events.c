/* serf_node_events: the user events of a serf_node, as serf 0.9.4's
 * UserEvent, handleUserEvent, the event half of its push/pull and its
 * user event coalescer (serf.go, delegate.go, coalesce_user.go). */
#include <string.h>

#include "serf/serf_msg_event.h"
#include "serf/serf_node_internal.h"

static void deliver(serf_node *sn, uint64_t ltime, wire_bytes name, wire_bytes payload, bool cc)
{
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SERF_EV_USER;
    ev.name = name;
    ev.payload = payload;
    ev.ltime = ltime;
    ev.coalesce = cc;
    serf_node_emit(sn, &ev);
}

static void deliver_coalesced(void *ctx, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    deliver(ctx, ltime, name, payload, true);
}

static void deliver_merged(void *ctx, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    /* serf's MergeRemoteState hands these to handleUserEvent with CC
     * false: they never wait in the coalescer */
    deliver(ctx, ltime, name, payload, false);
}

/* serf's EventCh, behind its coalescer when that is on */
static void deliver_new(serf_node *sn, uint64_t ltime, wire_bytes name, wire_bytes payload, bool cc)
{
    serf_nq *nq = &sn->nq;
    if (nq->coalescing && serf_coalesce_takes(cc)) {
        bool was_armed = nq->coalesce.armed;
        if (serf_coalesce_add(&nq->coalesce, (int64_t)sn->now, ltime, name, payload) == 0) {
            if (!was_armed)
                serf_node_update_deadline(sn);
            return;
        }
    }
    deliver(sn, ltime, name, payload, cc);
}

void serf_nq_on_user_event(serf_node *sn, const uint8_t *msg, size_t len)
{
    serf_msg_user_event m;
    int rc = serf_msg_user_event_decode(msg, len, &m);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Error decoding user event message: %s", wire_strerror(rc));
        return;
    }
    sn->stats.events_received++;
    serf_event_verdict v = serf_events_receive(&sn->nq.events, m.ltime, m.name, m.payload);
    switch (v) {
    case SERF_EVENT_NEW:
        break;
    case SERF_EVENT_SEEN:
    case SERF_EVENT_BEFORE_MIN:
        sn->stats.events_dup++;
        return;
    case SERF_EVENT_TOO_OLD:
        serf_logf(&sn->log, BASE_LOG_WARN, "serf: received old event %.*s from time %llu (current: %llu)",
                  (int)(m.name.n > 200 ? 200 : m.name.n), m.name.p ? (const char *)m.name.p : "",
                  (unsigned long long)m.ltime, (unsigned long long)serf_clock_time(&sn->nq.events.clock));
        return;
    case SERF_EVENT_NOMEM:
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: out of memory recording a user event");
        return;
    }
    deliver_new(sn, m.ltime, m.name, m.payload, m.cc);
    /* serf gossips on the very bytes it received */
    serf_node_out_broadcast(sn, msg, len, NULL);
}

int serf_node_user_event(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload,
                         bool coalesce)
{
    sn->now = now;
    size_t limit = sn->cfg.user_event_size_limit ? sn->cfg.user_event_size_limit : SERF_USER_EVENT_SIZE_LIMIT;
    wire_buf out;
    wire_buf_init(&out, 0);
    uint64_t ltime = serf_clock_time(&sn->nq.events.clock);
    int rc = serf_events_send(&sn->nq.events, &out, name, payload, coalesce, limit);
    if (rc != WIRE_OK) {
        wire_buf_free(&out);
        return rc;
    }
    /* serf hands its own event to handleUserEvent: it is delivered here
     * too, through the coalescer like any other */
    deliver_new(sn, ltime, name, payload, coalesce);
    rc = serf_node_out_broadcast(sn, out.data, out.len, NULL);
    wire_buf_free(&out);
    serf_node_flush(sn, core, now);
    return rc == 0 ? WIRE_OK : WIRE_ENOMEM;
}

void serf_nq_events_tick(serf_node *sn, swim_time now)
{
    serf_nq *nq = &sn->nq;
    if (nq->coalescing)
        serf_coalesce_flush(&nq->coalesce, (int64_t)now, false, deliver_coalesced, sn);
}

swim_time serf_nq_events_deadline(const serf_node *sn)
{
    const serf_nq *nq = &sn->nq;
    if (!nq->coalescing)
        return SWIM_NEVER;
    int64_t d = serf_coalesce_deadline(&nq->coalesce);
    return d < 0 ? SWIM_NEVER : (swim_time)d;
}

void serf_nq_local_state(serf_node *sn, serf_msg_push_pull *pp)
{
    pp->event_ltime = serf_clock_time(&sn->nq.events.clock);
    pp->events.v = sn->nq.events.slots;
    pp->events.n = sn->nq.events.size;
    pp->query_ltime = serf_clock_time(&sn->nq.queries.clock);
}

void serf_nq_merge_state(serf_node *sn, const serf_msg_push_pull *pp, bool is_join, bool ignore_old)
{
    /* "we subtract 1 since no message with that clock has been sent yet" */
    if (pp->query_ltime > 0)
        serf_clock_witness(&sn->nq.queries.clock, pp->query_ltime - 1);
    serf_events_merge(&sn->nq.events, pp, is_join && ignore_old, deliver_merged, sn);
}
