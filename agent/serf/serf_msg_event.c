/* serf's user event message (type 3). */
#include "serf/serf_msg_event.h"

#include "serf/serf_msg_fields.h"

static const serf_field user_event_fields[] = {
    SERF_FIELD(serf_msg_user_event, "CC", SF_BOOL, cc),
    SERF_FIELD(serf_msg_user_event, "LTime", SF_U64, ltime),
    SERF_FIELD(serf_msg_user_event, "Name", SF_STRING, name),
    SERF_FIELD(serf_msg_user_event, "Payload", SF_BYTES, payload),
};
static const serf_table user_event_table = SERF_TABLE(serf_msg_user_event, user_event_fields);

int serf_msg_user_event_encode(wire_buf *out, const serf_msg_user_event *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_USER_EVENT, &user_event_table, m);
}

int serf_msg_user_event_decode(const uint8_t *p, size_t n, serf_msg_user_event *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_USER_EVENT, &user_event_table, m, NULL);
}
