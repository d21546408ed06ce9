#include "serf/serf_msg.h"

#include <string.h>

#include "wire/wire_mpx.h"

int serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    int rc = wire_buf_append_byte(out, SERF_MSG_LEAVE);
    rc = rc ? rc : wire_mpx_map(out, 3);
    rc = rc ? rc : wire_mpx_cstr(out, "LTime");
    rc = rc ? rc : wire_mpx_uint(out, ltime);
    rc = rc ? rc : wire_mpx_cstr(out, "Node");
    rc = rc ? rc : wire_mpx_cstr(out, node);
    rc = rc ? rc : wire_mpx_cstr(out, "Prune");
    rc = rc ? rc : wire_mpx_bool(out, false);
    return rc;
}

int serf_join_intent(wire_buf *out, uint64_t ltime, const char *node)
{
    int rc = wire_buf_append_byte(out, SERF_MSG_JOIN);
    rc = rc ? rc : wire_mpx_map(out, 2);
    rc = rc ? rc : wire_mpx_cstr(out, "LTime");
    rc = rc ? rc : wire_mpx_uint(out, ltime);
    rc = rc ? rc : wire_mpx_cstr(out, "Node");
    rc = rc ? rc : wire_mpx_cstr(out, node);
    return rc;
}

/* LTime from the map after the type byte. */
static int map_ltime(const uint8_t *p, size_t n, uint64_t *ltime)
{
    wire_mpx_reader r;
    wire_mpx_reader_init(&r, p + 1, n - 1);
    uint32_t nk;
    if (wire_mpx_read_map(&r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        const uint8_t *k;
        size_t kl;
        if (wire_mpx_read_str(&r, &k, &kl))
            return -1;
        if (wire_mpx_eq(k, kl, "LTime"))
            return wire_mpx_read_uint(&r, ltime);
        if (wire_mpx_skip(&r))
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
    wire_mpx_reader r;
    wire_mpx_reader_init(&r, p + 1, n - 1);
    uint32_t nk;
    if (wire_mpx_read_map(&r, &nk))
        return -1;
    bool have_ltime = false, have_node = false;
    for (uint32_t i = 0; i < nk; i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if (wire_mpx_read_str(&r, &k, &kl))
            return -1;
        if (wire_mpx_eq(k, kl, "LTime")) {
            if (wire_mpx_read_uint(&r, &out->ltime))
                return -1;
            have_ltime = true;
        } else if (wire_mpx_eq(k, kl, "Node")) {
            if (wire_mpx_read_str(&r, &v, &vl) || vl == 0 || vl >= sizeof out->node || memchr(v, 0, vl))
                return -1;
            memcpy(out->node, v, vl);
            out->node[vl] = '\0';
            have_node = true;
        } else if (wire_mpx_skip(&r)) {
            return -1;
        }
    }
    if (!have_ltime || !have_node)
        return -1;
    out->type = p[0];
    return 0;
}
