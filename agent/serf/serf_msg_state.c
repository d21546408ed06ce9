/* serf's push/pull state (type 2). */
#include "serf/serf_msg_state.h"

#include "serf/serf_msg_fields.h"

static const serf_field user_event_fields[] = {
    SERF_FIELD(serf_user_event, "Name", SF_STRING, name),
    SERF_FIELD(serf_user_event, "Payload", SF_BYTES, payload),
};
static const serf_table user_event_table = SERF_TABLE(serf_user_event, user_event_fields);

static const serf_field user_events_fields[] = {
    SERF_NESTED(serf_user_events, "Events", SF_STRUCT_LIST, events, &user_event_table),
    SERF_FIELD(serf_user_events, "LTime", SF_U64, ltime),
};
/* elements of a []*userEvents: nil when !present */
static const serf_table user_events_table = {
    user_events_fields, sizeof user_events_fields / sizeof user_events_fields[0], sizeof(serf_user_events),
    offsetof(serf_user_events, present),
};

/* serf's fields, and the same with our extra key: with no app state we
 * send serf's map exactly; we always read the extra key */
#define PUSH_PULL_SERF_FIELDS_HEAD \
    SERF_FIELD(serf_msg_push_pull, "EventLTime", SF_U64, event_ltime), \
    SERF_NESTED(serf_msg_push_pull, "Events", SF_STRUCT_LIST, events, &user_events_table), \
    SERF_FIELD(serf_msg_push_pull, "LTime", SF_U64, ltime), \
    SERF_FIELD(serf_msg_push_pull, "LeftMembers", SF_RAW_LIST, left_members)
#define PUSH_PULL_SERF_FIELDS_TAIL \
    SERF_FIELD(serf_msg_push_pull, "QueryLTime", SF_U64, query_ltime), \
    SERF_FIELD(serf_msg_push_pull, "StatusLTimes", SF_LTIME_MAP, status_ltimes)
static const serf_field push_pull_fields[] = { PUSH_PULL_SERF_FIELDS_HEAD, PUSH_PULL_SERF_FIELDS_TAIL };
static const serf_table push_pull_table = SERF_TABLE(serf_msg_push_pull, push_pull_fields);
static const serf_field push_pull_app_fields[] = {
    PUSH_PULL_SERF_FIELDS_HEAD,
    SERF_FIELD(serf_msg_push_pull, SERF_MSG_STATE_APP_KEY, SF_BYTES, app_state),
    PUSH_PULL_SERF_FIELDS_TAIL,
};
static const serf_table push_pull_app_table = SERF_TABLE(serf_msg_push_pull, push_pull_app_fields);

int serf_msg_push_pull_encode(wire_buf *out, const serf_msg_push_pull *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_PUSH_PULL, m->app_state.p ? &push_pull_app_table : &push_pull_table,
                                  m);
}

int serf_msg_push_pull_decode(const uint8_t *p, size_t n, serf_msg_push_pull *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_PUSH_PULL, &push_pull_app_table, m, NULL);
}

void serf_msg_push_pull_free(serf_msg_push_pull *m)
{
    serf_fields_free(&push_pull_app_table, m);
}
