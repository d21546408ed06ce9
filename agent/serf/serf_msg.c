#include "serf/serf_msg.h"

#include <string.h>

#include "wire/wire_mp.h"

/* type byte + {LTime, Node[, Prune: false]}: serf's join and leave
 * intents, keys in go-msgpack's sorted order. */
static int intent(wire_buf *out, uint8_t type, uint64_t ltime, const char *node, bool prune_key)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, type);
    wire_mp_container m;
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "LTime");
    wire_mp_pack_uint(&w, ltime);
    wire_mp_pack_cstr(&w, "Node");
    wire_mp_pack_cstr(&w, node);
    if (prune_key) {
        wire_mp_pack_cstr(&w, "Prune");
        wire_mp_pack_bool(&w, false);
    }
    wire_mp_map_end(&w, &m);
    return wire_mp_finish(&w);
}

int serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    return intent(out, SERF_MSG_LEAVE, ltime, node, true);
}

int serf_join_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    return intent(out, SERF_MSG_JOIN, ltime, node, false);
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
