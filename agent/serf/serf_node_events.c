/* serf_node_events: user events of a serf_node (serf.go UserEvent,
 * handleUserEvent; coalesce_user.go). First version: stubs. */
#include "serf/serf_node_internal.h"

int serf_nq_init(serf_node *sn)
{
    if (serf_events_init(&sn->nq.events, sn->cfg.event_buffer ? sn->cfg.event_buffer : SERF_EVENT_BUFFER) != 0)
        return -1;
    if (serf_queries_init(&sn->nq.queries, sn->cfg.query_buffer ? sn->cfg.query_buffer : SERF_QUERY_BUFFER) != 0) {
        serf_events_free(&sn->nq.events);
        return -1;
    }
    return 0;
}

void serf_nq_free(serf_node *sn)
{
    serf_events_free(&sn->nq.events);
    serf_queries_free(&sn->nq.queries);
}

void serf_nq_on_message(serf_node *sn, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len)
{
    (void)sn; (void)now; (void)from; (void)msg; (void)len;
}

void serf_nq_tick(serf_node *sn, swim_time now) { (void)sn; (void)now; }

swim_time serf_nq_next_deadline(const serf_node *sn) { (void)sn; return SWIM_NEVER; }

void serf_nq_local_state(serf_node *sn, serf_msg_push_pull *pp)
{
    pp->event_ltime = serf_clock_time(&sn->nq.events.clock);
    pp->events.v = sn->nq.events.slots;
    pp->events.n = sn->nq.events.size;
    pp->query_ltime = serf_clock_time(&sn->nq.queries.clock);
}

void serf_nq_merge_state(serf_node *sn, const serf_msg_push_pull *pp, bool is_join, bool ignore_old)
{
    (void)sn; (void)pp; (void)is_join; (void)ignore_old;
}

void serf_nq_on_conflict(serf_node *sn, swim_time now, const swim_event *ev)
{
    (void)sn; (void)now; (void)ev;
}

int serf_node_user_event(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload, bool coalesce)
{
    (void)sn; (void)core; (void)now; (void)name; (void)payload; (void)coalesce;
    return -1;
}

int serf_node_query(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload,
                    const serf_node_query_opts *opts, uint64_t *query_id)
{
    (void)sn; (void)core; (void)now; (void)name; (void)payload; (void)opts; (void)query_id;
    return -1;
}

int serf_node_respond(serf_node *sn, swim *core, swim_time now, uint64_t query_id, wire_bytes payload)
{
    (void)sn; (void)core; (void)now; (void)query_id; (void)payload;
    return -1;
}

int serf_node_key_query(serf_node *sn, swim *core, swim_time now, serf_key_op op, const uint8_t *key,
                        size_t key_len, uint64_t *query_id)
{
    (void)sn; (void)core; (void)now; (void)op; (void)key; (void)key_len; (void)query_id;
    return -1;
}
