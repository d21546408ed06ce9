/* The payloads of serf's internal queries: conflict response (6), key
 * request (7), key response (8). */
#include "serf/serf_msg_key.h"

#include <string.h>

#include "serf/serf_msg_fields.h"

static const serf_field member_fields[] = {
    SERF_FIELD(serf_member, "Addr", SF_BYTES, addr),
    SERF_FIELD(serf_member, "DelegateCur", SF_U8, delegate_cur),
    SERF_FIELD(serf_member, "DelegateMax", SF_U8, delegate_max),
    SERF_FIELD(serf_member, "DelegateMin", SF_U8, delegate_min),
    SERF_FIELD(serf_member, "Name", SF_STRING, name),
    SERF_FIELD(serf_member, "Port", SF_U16, port),
    SERF_FIELD(serf_member, "ProtocolCur", SF_U8, protocol_cur),
    SERF_FIELD(serf_member, "ProtocolMax", SF_U8, protocol_max),
    SERF_FIELD(serf_member, "ProtocolMin", SF_U8, protocol_min),
    SERF_FIELD(serf_member, "Status", SF_INT, status),
    SERF_FIELD(serf_member, "Tags", SF_STR_MAP, tags),
};
static const serf_table member_table = SERF_TABLE(serf_member, member_fields);

static const serf_field key_request_fields[] = {
    SERF_FIELD(serf_msg_key_request, "Key", SF_BYTES, key),
};
static const serf_table key_request_table = SERF_TABLE(serf_msg_key_request, key_request_fields);

static const serf_field key_response_fields[] = {
    SERF_FIELD(serf_msg_key_response, "Keys", SF_RAW_LIST, keys),
    SERF_FIELD(serf_msg_key_response, "Message", SF_STRING, message),
    SERF_FIELD(serf_msg_key_response, "PrimaryKey", SF_STRING, primary_key),
    SERF_FIELD(serf_msg_key_response, "Result", SF_BOOL, result),
};
static const serf_table key_response_table = SERF_TABLE(serf_msg_key_response, key_response_fields);

int serf_msg_conflict_response_encode(wire_buf *out, const serf_member *m)
{
    if (m->present)
        return serf_fields_encode_msg(out, SERF_MSG_CONFLICT_RESPONSE, &member_table, m);
    static const uint8_t nil_member[] = { SERF_MSG_CONFLICT_RESPONSE, 0xc0 };
    return wire_buf_append(out, nil_member, sizeof nil_member);
}

int serf_msg_conflict_response_decode(const uint8_t *p, size_t n, serf_member *m)
{
    int rc = serf_fields_decode_msg(p, n, SERF_MSG_CONFLICT_RESPONSE, &member_table, m, NULL);
    /* c0 decodes as the zero struct, which is the nil member */
    if (!rc)
        m->present = n >= 2 && p[1] != 0xc0;
    return rc;
}

void serf_member_free(serf_member *m)
{
    serf_fields_free(&member_table, m);
}

int serf_msg_key_request_encode(wire_buf *out, const serf_msg_key_request *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_KEY_REQUEST, &key_request_table, m);
}

int serf_msg_key_request_decode(const uint8_t *p, size_t n, serf_msg_key_request *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_KEY_REQUEST, &key_request_table, m, NULL);
}

int serf_msg_key_response_encode(wire_buf *out, const serf_msg_key_response *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_KEY_RESPONSE, &key_response_table, m);
}

int serf_msg_key_response_decode(const uint8_t *p, size_t n, serf_msg_key_response *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_KEY_RESPONSE, &key_response_table, m, NULL);
}

void serf_msg_key_response_free(serf_msg_key_response *m)
{
    serf_fields_free(&key_response_table, m);
}
