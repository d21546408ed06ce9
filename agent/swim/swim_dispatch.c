/* swim_dispatch: decoding what arrives (packets, compounds, inbound
 * streams) and handing each message to the part of the core it is for.
 * Malformed input is counted in stats.dropped and logged, never fatal. */
#include <string.h>

#include "swim/swim_internal.h"

/* A compound nested in a compound is legal (Go would follow it) but never
 * sent; one level of nesting is all we follow. */
#define SWIM_MAX_NESTING 2

static void user_event(swim *s, const swim_addr *from, const uint8_t *p, size_t n)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_USER;
    ev.payload = wire_bytes_of(p ? p : (const uint8_t *)"", n);
    ev.from = *from;
    swim_emit_event(s, &ev);
}

/* Parts of a compound decoded ahead of handling them, at most: enough to
 * overlap their lookups' cache misses (a full packet holds about 20), few
 * enough for the stack. */
#define PREFETCH_BATCH 32

/* One message that is not a compound, decoded by wire_decode_msg (rc its
 * result), handed to the part of the core it is for. */
static void handle(swim *s, const swim_addr *from, const uint8_t *msg, const wire_msg *m, int rc, const uint32_t *hash)
{
    uint8_t type = msg[0];
    if (rc != WIRE_OK) {
        swim_logf(s, BASE_LOG_WARN, "dropping %s message: %s", wire_type_name(type), wire_strerror(rc));
        swim_count_drop(s, type, 1);
        return;
    }
    switch (type) {
    case WIRE_PING:
        swim_handle_ping(s, from, &m->u.ping);
        break;
    case WIRE_INDIRECT_PING:
        swim_handle_indirect(s, from, &m->u.indirect_ping);
        break;
    case WIRE_ACK:
        swim_handle_ack(s, &m->u.ack);
        break;
    case WIRE_NACK:
        swim_handle_nack(s, &m->u.nack);
        break;
    case WIRE_SUSPECT:
        s->rx_from = from;
        swim_suspect_node(s, (const char *)m->u.suspect.node.p, m->u.suspect.node.n, m->u.suspect.incarnation,
                          (const char *)m->u.suspect.from.p, m->u.suspect.from.n);
        s->rx_from = NULL;
        break;
    case WIRE_DEAD:
        s->rx_from = from;
        swim_dead_node(s, (const char *)m->u.dead.node.p, m->u.dead.node.n, m->u.dead.incarnation,
                       (const char *)m->u.dead.from.p, m->u.dead.from.n);
        s->rx_from = NULL;
        break;
    case WIRE_ALIVE: {
        const wire_alive *w = &m->u.alive;
        if (hash && swim_alive_is_repeat(s, w->node, *hash, w->incarnation, w->addr, w->port, &w->vsn))
            break;
        swim_alive_in a;
        const char *bad = swim_alive_from_wire(s, &a, w->node, w->incarnation, w->addr, w->port, w->meta, &w->vsn);
        if (bad) {
            swim_logf(s, BASE_LOG_WARN, "dropping alive with %s", bad);
            swim_count_drop(s, type, 1);
            break;
        }
        if (hash) {
            a.hashed = true;
            a.hash = *hash;
        }
        swim_alive_node(s, &a, false);
        break;
    }
    case WIRE_USER:
        user_event(s, from, m->u.user.p, m->u.user.n);
        break;
    default:
        swim_logf(s, BASE_LOG_WARN, "unexpected %s message in a packet", wire_type_name(type));
        swim_count_drop(s, type, 1);
        break;
    }
}

/* The member an alive, suspect or dead message is about, or NULL. */
static const wire_bytes *member_of(const wire_msg *m)
{
    return m->type == WIRE_ALIVE ? &m->u.alive.node
         : m->type == WIRE_SUSPECT ? &m->u.suspect.node
         : m->type == WIRE_DEAD ? &m->u.dead.node : NULL;
}

/* A compound's n whole parts (at off[i], len[i] bytes), in order. Each
 * message about a member looks it up, and with the tables of many cores
 * in one process (the simulator: thousands) each lookup misses the cache
 * twice or more, bucket then node (then the next in its chain), one after
 * the other. So the parts are decoded a batch ahead, the loads of their
 * buckets started, then of their nodes, then of the nodes next in line,
 * each round overlapping, and only then handled one by one. The prefetches are hints:
 * what the parts do, and in what order, is unchanged. */
static void dispatch_parts(swim *s, const swim_addr *from, const uint8_t *msg, const size_t *off,
                           const size_t *len, size_t n, int depth)
{
    for (size_t first = 0; first < n; first += PREFETCH_BATCH) {
        size_t k = n - first < PREFETCH_BATCH ? n - first : PREFETCH_BATCH;
        wire_msg m[PREFETCH_BATCH];
        int rc[PREFETCH_BATCH];
        uint32_t hash[PREFETCH_BATCH];
        const wire_bytes *about[PREFETCH_BATCH];
        for (size_t i = 0; i < k; i++) {
            const uint8_t *p = msg + off[first + i];
            size_t plen = len[first + i];
            about[i] = NULL;
            rc[i] = WIRE_OK;
            if (plen == 0 || p[0] == WIRE_COMPOUND)
                continue;   /* swim_dispatch's own cases */
            rc[i] = wire_decode_msg(p, plen, &m[i]);
            if (rc[i] == WIRE_OK && (about[i] = member_of(&m[i])) != NULL)
                hash[i] = swim_members_prefetch(&s->members, (const char *)about[i]->p, about[i]->n);
        }
        for (size_t i = 0; i < k; i++)
            if (about[i])
                swim_members_prefetch_node(&s->members, hash[i], about[i]->n);
        for (size_t i = 0; i < k; i++)
            if (about[i])
                swim_members_prefetch_next(&s->members, hash[i], about[i]->n);
        for (size_t i = 0; i < k; i++) {
            const uint8_t *p = msg + off[first + i];
            size_t plen = len[first + i];
            if (plen == 0 || p[0] == WIRE_COMPOUND) {
                swim_dispatch(s, from, p, plen, depth + 1);
                continue;
            }
            if (p[0] < 16) {
                s->stats.received[p[0]]++;
                s->stats.bytes_received[p[0]] += plen;
            }
            handle(s, from, p, &m[i], rc[i], about[i] ? &hash[i] : NULL);
        }
    }
}

void swim_dispatch(swim *s, const swim_addr *from, const uint8_t *msg, size_t len, int depth)
{
    if (len == 0) {
        swim_count_drop(s, -1, 1);
        return;
    }
    uint8_t type = msg[0];
    if (type < 16)
        s->stats.received[type]++;
    if (type < 16 && type != WIRE_COMPOUND)
        s->stats.bytes_received[type] += len;
    if (type == WIRE_COMPOUND) {
        if (depth >= SWIM_MAX_NESTING || len < 2) {
            swim_count_drop(s, type, 1);
            return;
        }
        size_t n = msg[1], off = 2 + 2 * n;
        if (off > len) {
            swim_logf(s, BASE_LOG_WARN, "compound: truncated length table");
            swim_count_drop(s, type, 1);
            return;
        }
        size_t offs[255], lens[255], whole = 0;
        for (; whole < n; whole++) {
            lens[whole] = ((size_t)msg[2 + 2 * whole] << 8) | msg[3 + 2 * whole];
            if (off + lens[whole] > len)
                break;
            offs[whole] = off;
            off += lens[whole];
        }
        dispatch_parts(s, from, msg, offs, lens, whole, depth);
        if (whole < n) {
            swim_logf(s, BASE_LOG_WARN, "compound: %zu of %zu parts truncated", n - whole, n);
            swim_count_drop(s, WIRE_COMPOUND, n - whole);
        }
        return;
    }
    wire_msg m;
    int rc = wire_decode_msg(msg, len, &m);
    handle(s, from, msg, &m, rc, NULL);
}

bool swim_dispatch_stream(swim *s, const swim_addr *from, const uint8_t *msg, size_t len, wire_buf *reply)
{
    if (len == 0) {
        swim_count_drop(s, -1, 1);
        return false;
    }
    uint8_t type = msg[0];
    if (type < 16) {
        s->stats.received[type]++;
        s->stats.bytes_received[type] += len;
    }
    size_t reply_at = reply->len;   /* what we append is our answer's bytes */
    switch (type) {
    case WIRE_PING: {
        wire_ping p;
        if (wire_decode_ping(msg + 1, len - 1, &p, NULL) != WIRE_OK) {
            swim_count_drop(s, type, 1);
            return false;
        }
        if (p.node.n > 0 && (p.node.n != s->self->name_len || memcmp(p.node.p, s->self->name, p.node.n) != 0)) {
            swim_logf(s, BASE_LOG_WARN, "got stream ping for unexpected node %.*s", (int)p.node.n, (const char *)p.node.p);
            swim_count_drop(s, type, 1);
            return false;
        }
        /* a TCP ack never carries a payload */
        wire_ack a = { wire_bytes_of(NULL, 0), p.seq_no };
        if (wire_encode_ack(reply, &a) != WIRE_OK)
            return false;
        s->stats.sent[WIRE_ACK]++;
        s->stats.bytes_sent[WIRE_ACK] += reply->len - reply_at;
        return true;
    }
    case WIRE_PUSH_PULL: {
        swim_remote_state rs;
        if (swim_parse_remote(s, msg, len, &rs) != 0) {
            swim_count_drop(s, type, 1);
            return false;
        }
        /* reply first, then merge, as memberlist does */
        bool ok = swim_encode_reply_state(s, reply, rs.join) == 0;
        if (ok) {
            s->stats.sent[WIRE_PUSH_PULL]++;
            s->stats.bytes_sent[WIRE_PUSH_PULL] += reply->len - reply_at;
        }
        swim_merge_remote(s, &rs);
        swim_remote_free(&rs);
        return ok;
    }
    case WIRE_USER: {
        wire_user_msg_header h;
        size_t used = 0;
        if (wire_decode_user_msg_header(msg + 1, len - 1, &h, &used) != WIRE_OK || h.user_msg_len < 0 ||
            (uint64_t)h.user_msg_len > len - 1 - used) {
            swim_logf(s, BASE_LOG_WARN, "bad stream user message");
            swim_count_drop(s, type, 1);
            return false;
        }
        user_event(s, from, msg + 1 + used, (size_t)h.user_msg_len);
        return false;
    }
    default:
        swim_logf(s, BASE_LOG_ERROR, "received invalid msgType (%u) on a stream", type);
        swim_count_drop(s, type, 1);
        return false;
    }
}
