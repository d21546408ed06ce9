/* serf's message types, and the membership intents (join 01, leave 00). */
#include "serf/serf_msg.h"

#include <string.h>

#include "serf/serf_msg_fields.h"
#include "wire/wire_mp.h"

const char *serf_msg_type_name(int type)
{
    static const char *const names[] = {
        "leave", "join", "pushPull", "userEvent", "query", "queryResponse",
        "conflictResponse", "keyRequest", "keyResponse", "relay",
    };
    return type >= 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : "unknown";
}

static const serf_field join_fields[] = {
    SERF_FIELD(serf_msg_join, "LTime", SF_U64, ltime),
    SERF_FIELD(serf_msg_join, "Node", SF_STRING, node),
};
static const serf_table join_table = SERF_TABLE(serf_msg_join, join_fields);

static const serf_field leave_fields[] = {
    SERF_FIELD(serf_msg_leave, "LTime", SF_U64, ltime),
    SERF_FIELD(serf_msg_leave, "Node", SF_STRING, node),
    SERF_FIELD(serf_msg_leave, "Prune", SF_BOOL, prune),
};
static const serf_table leave_table = SERF_TABLE(serf_msg_leave, leave_fields);

int serf_msg_join_encode(wire_buf *out, const serf_msg_join *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_JOIN, &join_table, m);
}

int serf_msg_join_decode(const uint8_t *p, size_t n, serf_msg_join *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_JOIN, &join_table, m, NULL);
}

int serf_msg_leave_encode(wire_buf *out, const serf_msg_leave *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_LEAVE, &leave_table, m);
}

int serf_msg_leave_decode(const uint8_t *p, size_t n, serf_msg_leave *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_LEAVE, &leave_table, m, NULL);
}

int serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    serf_msg_leave m = { .ltime = ltime, .node = wire_bytes_of(node, strlen(node)), .prune = false };
    return serf_msg_leave_encode(out, &m);
}

int serf_join_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    serf_msg_join m = { .ltime = ltime, .node = wire_bytes_of(node, strlen(node)) };
    return serf_msg_join_encode(out, &m);
}

/* LTime from the map after the type byte. */
static int map_ltime(const uint8_t *p, size_t n, uint64_t *ltime)
{
    wire_mp_reader r;
    wire_mp_reader_init(&r, p + 1, n - 1);
    uint32_t nk;
    if (wire_mp_read_map(&r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k))
            return -1;
        if (wire_mp_eq(k, "LTime"))
            return wire_mp_read_uint(&r, UINT64_MAX, ltime) ? -1 : 0;
        if (wire_mp_skip(&r))
            return -1;
    }
    return -1;
}

int serf_intent_ltime(const uint8_t *p, size_t n, uint64_t *ltime)
{
    if (n < 2 || (p[0] != SERF_MSG_LEAVE && p[0] != SERF_MSG_JOIN))
        return -1;
    return map_ltime(p, n, ltime);
}

int serf_state_ltime(const uint8_t *p, size_t n, uint64_t *ltime)
{
    if (n < 2 || p[0] != SERF_MSG_PUSH_PULL)
        return -1;
    return map_ltime(p, n, ltime);
}

int serf_intent_parse(const uint8_t *p, size_t n, serf_intent *out)
{
    if (n < 2 || (p[0] != SERF_MSG_LEAVE && p[0] != SERF_MSG_JOIN))
        return -1;
    wire_mp_reader r;
    wire_mp_reader_init(&r, p + 1, n - 1);
    uint32_t nk;
    if (wire_mp_read_map(&r, &nk))
        return -1;
    bool have_ltime = false, have_node = false;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k, v;
        if (wire_mp_read_str(&r, &k))
            return -1;
        if (wire_mp_eq(k, "LTime")) {
            if (wire_mp_read_uint(&r, UINT64_MAX, &out->ltime))
                return -1;
            have_ltime = true;
        } else if (wire_mp_eq(k, "Node")) {
            if (wire_mp_read_str(&r, &v) || v.n == 0 || v.n >= sizeof out->node || memchr(v.p, 0, v.n))
                return -1;
            memcpy(out->node, v.p, v.n);
            out->node[v.n] = '\0';
            have_node = true;
        } else if (wire_mp_skip(&r)) {
            return -1;
        }
    }
    if (!have_ltime || !have_node)
        return -1;
    out->type = p[0];
    return 0;
}
