/* Any serf message by kind (serf_msg_any.h). */
#include "serf/serf_msg_any.h"

#include <string.h>

int serf_msg_any_decode(int kind, const uint8_t *p, size_t n, serf_msg_any *m)
{
    switch (kind) {
    case SERF_MSG_LEAVE: return serf_msg_leave_decode(p, n, &m->leave);
    case SERF_MSG_JOIN: return serf_msg_join_decode(p, n, &m->join);
    case SERF_MSG_PUSH_PULL: return serf_msg_push_pull_decode(p, n, &m->push_pull);
    case SERF_MSG_USER_EVENT: return serf_msg_user_event_decode(p, n, &m->user_event);
    case SERF_MSG_QUERY: return serf_msg_query_decode(p, n, &m->query);
    case SERF_MSG_QUERY_RESPONSE: return serf_msg_query_response_decode(p, n, &m->query_response);
    case SERF_MSG_CONFLICT_RESPONSE: return serf_msg_conflict_response_decode(p, n, &m->conflict_response);
    case SERF_MSG_KEY_REQUEST: return serf_msg_key_request_decode(p, n, &m->key_request);
    case SERF_MSG_KEY_RESPONSE: return serf_msg_key_response_decode(p, n, &m->key_response);
    case SERF_MSG_RELAY: return serf_msg_relay_decode(p, n, &m->relay);
    case SERF_ANY_FILTER: return serf_filter_decode(p, n, &m->filter);
    default:
        memset(m, 0, sizeof *m);
        return WIRE_ETYPE;
    }
}

int serf_msg_any_encode(int kind, wire_buf *out, const serf_msg_any *m)
{
    switch (kind) {
    case SERF_MSG_LEAVE: return serf_msg_leave_encode(out, &m->leave);
    case SERF_MSG_JOIN: return serf_msg_join_encode(out, &m->join);
    case SERF_MSG_PUSH_PULL: return serf_msg_push_pull_encode(out, &m->push_pull);
    case SERF_MSG_USER_EVENT: return serf_msg_user_event_encode(out, &m->user_event);
    case SERF_MSG_QUERY: return serf_msg_query_encode(out, &m->query);
    case SERF_MSG_QUERY_RESPONSE: return serf_msg_query_response_encode(out, &m->query_response);
    case SERF_MSG_CONFLICT_RESPONSE: return serf_msg_conflict_response_encode(out, &m->conflict_response);
    case SERF_MSG_KEY_REQUEST: return serf_msg_key_request_encode(out, &m->key_request);
    case SERF_MSG_KEY_RESPONSE: return serf_msg_key_response_encode(out, &m->key_response);
    case SERF_MSG_RELAY: return serf_msg_relay_encode(out, &m->relay);
    case SERF_ANY_FILTER:
        if (m->filter.type == SERF_FILTER_TAG)
            return serf_filter_tag_encode(out, m->filter.tag, m->filter.expr);
        if (m->filter.type == SERF_FILTER_NODE)
            return serf_filter_nodes_encode(out, &m->filter.nodes);
        return WIRE_ETYPE;
    default:
        return WIRE_ETYPE;
    }
}

void serf_msg_any_free(int kind, serf_msg_any *m)
{
    switch (kind) {
    case SERF_MSG_PUSH_PULL: serf_msg_push_pull_free(&m->push_pull); break;
    case SERF_MSG_QUERY: serf_msg_query_free(&m->query); break;
    case SERF_MSG_CONFLICT_RESPONSE: serf_member_free(&m->conflict_response); break;
    case SERF_MSG_KEY_RESPONSE: serf_msg_key_response_free(&m->key_response); break;
    case SERF_ANY_FILTER: serf_filter_free(&m->filter); break;
    default: break;   /* the others own nothing */
    }
}
