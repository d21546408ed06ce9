/* libFuzzer target for the message body codec (wire_msg).
 *
 * Every input goes to wire_decode_msg (as a message with its type byte)
 * and to the push/pull and TCP user-header decoders (as a bare body).
 * Anything that decodes is encoded again, and the encoding must decode to
 * the same fields and re-encode to the same bytes: our encoding is
 * canonical, so decode(encode(x)) is a fixed point even when the input
 * was not canonical (other key orders, d9/bin raws, unknown keys...).
 * The in-order reader of alives and node states must agree with the
 * general one. The sanitizers catch any read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_msg.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)

/* []byte fields: nil-ness survives a round trip. */
static int same_bytes(wire_bytes a, wire_bytes b)
{
    return (a.p == NULL) == (b.p == NULL) && a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Go strings cannot be nil: a decoded c0 comes back as a0. */
static int same_str(wire_bytes a, wire_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* We always send 6 bytes of Vsn: a short one comes back zero-padded. */
static int same_vsn(const wire_vsn *a, const wire_vsn *b)
{
    return memcmp(a->v, b->v, sizeof a->v) == 0 && b->len == 6;
}

static int same_msg(const wire_msg *a, const wire_msg *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case WIRE_PING: {
        const wire_ping *x = &a->u.ping, *y = &b->u.ping;
        return same_str(x->node, y->node) && x->seq_no == y->seq_no &&
               (x->source_addr.n == 0 ? y->source_addr.n == 0 : same_bytes(x->source_addr, y->source_addr)) &&
               same_str(x->source_node, y->source_node) && x->source_port == y->source_port;
    }
    case WIRE_INDIRECT_PING: {
        const wire_indirect_ping *x = &a->u.indirect_ping, *y = &b->u.indirect_ping;
        return x->nack == y->nack && same_str(x->node, y->node) && x->port == y->port &&
               x->seq_no == y->seq_no &&
               (x->source_addr.n == 0 ? y->source_addr.n == 0 : same_bytes(x->source_addr, y->source_addr)) &&
               same_str(x->source_node, y->source_node) && x->source_port == y->source_port &&
               same_bytes(x->target, y->target);
    }
    case WIRE_ACK:
        return same_bytes(a->u.ack.payload, b->u.ack.payload) && a->u.ack.seq_no == b->u.ack.seq_no;
    case WIRE_NACK:
        return a->u.nack.seq_no == b->u.nack.seq_no;
    case WIRE_SUSPECT:
    case WIRE_DEAD:
        return same_str(a->u.suspect.from, b->u.suspect.from) &&
               a->u.suspect.incarnation == b->u.suspect.incarnation &&
               same_str(a->u.suspect.node, b->u.suspect.node);
    case WIRE_ALIVE: {
        const wire_alive *x = &a->u.alive, *y = &b->u.alive;
        return same_bytes(x->addr, y->addr) && x->incarnation == y->incarnation && same_bytes(x->meta, y->meta) &&
               same_str(x->node, y->node) && x->port == y->port && same_vsn(&x->vsn, &y->vsn);
    }
    case WIRE_ERR:
        return same_str(a->u.err.error, b->u.err.error);
    case WIRE_COMPRESS:
        return a->u.compress.algo == b->u.compress.algo && same_bytes(a->u.compress.buf, b->u.compress.buf);
    case WIRE_USER:
        return same_str(a->u.user, b->u.user);
    }
    return 0;
}

static int encode_msg(wire_buf *b, const wire_msg *m)
{
    switch (m->type) {
    case WIRE_PING: return wire_encode_ping(b, &m->u.ping);
    case WIRE_INDIRECT_PING: return wire_encode_indirect_ping(b, &m->u.indirect_ping);
    case WIRE_ACK: return wire_encode_ack(b, &m->u.ack);
    case WIRE_NACK: return wire_encode_nack(b, &m->u.nack);
    case WIRE_SUSPECT: return wire_encode_suspect(b, &m->u.suspect);
    case WIRE_ALIVE: return wire_encode_alive(b, &m->u.alive);
    case WIRE_DEAD: return wire_encode_dead(b, &m->u.dead);
    case WIRE_ERR: return wire_encode_err(b, &m->u.err);
    case WIRE_COMPRESS: return wire_encode_compress(b, &m->u.compress);
    case WIRE_USER: return wire_encode_user_udp(b, m->u.user.p, m->u.user.n);
    }
    return WIRE_ETYPE;
}

static void fuzz_message(const uint8_t *data, size_t size)
{
    wire_msg m, m2, m3;
    if (wire_decode_msg(data, size, &m) != WIRE_OK)
        return;
    wire_buf b, b2;
    wire_buf_init(&b, 0);
    wire_buf_init(&b2, 0);
    ASSERT(encode_msg(&b, &m) == WIRE_OK);
    ASSERT(wire_decode_msg(b.data, b.len, &m2) == WIRE_OK);
    ASSERT(same_msg(&m, &m2));
    /* fixed point: encoding what we decoded from our own bytes gives them back */
    ASSERT(encode_msg(&b2, &m2) == WIRE_OK);
    ASSERT(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
    ASSERT(wire_decode_msg(b2.data, b2.len, &m3) == WIRE_OK && same_msg(&m2, &m3));
    wire_buf_free(&b);
    wire_buf_free(&b2);
}

static void fuzz_push_pull(const uint8_t *data, size_t size)
{
    wire_push_pull_header h, h2;
    size_t used;
    if (wire_decode_push_pull_header(data, size, &h, &used) == WIRE_OK) {
        ASSERT(used <= size);
        for (int style = WIRE_INT_GO_MSGPACK_V0; style <= WIRE_INT_GO_MSGPACK_V2; style++) {
            wire_buf b;
            wire_buf_init(&b, 0);
            ASSERT(wire_encode_push_pull_header(&b, &h, (wire_int_style)style) == WIRE_OK);
            ASSERT(b.len > 1 && b.data[0] == WIRE_PUSH_PULL);
            ASSERT(wire_decode_push_pull_header(b.data + 1, b.len - 1, &h2, &used) == WIRE_OK);
            ASSERT(used == b.len - 1);
            ASSERT(h.join == h2.join && h.nodes == h2.nodes && h.user_state_len == h2.user_state_len);
            wire_buf_free(&b);
        }
    }
    wire_push_node_state s, s2;
    if (wire_decode_push_node_state(data, size, &s, &used) == WIRE_OK) {
        ASSERT(used <= size);
        for (int style = WIRE_INT_GO_MSGPACK_V0; style <= WIRE_INT_GO_MSGPACK_V2; style++) {
            wire_buf b;
            wire_buf_init(&b, 0);
            ASSERT(wire_encode_push_node_state(&b, &s, (wire_int_style)style) == WIRE_OK);
            ASSERT(wire_decode_push_node_state(b.data, b.len, &s2, &used) == WIRE_OK && used == b.len);
            ASSERT(same_bytes(s.addr, s2.addr) && s.incarnation == s2.incarnation && same_bytes(s.meta, s2.meta) &&
                   same_str(s.name, s2.name) && s.port == s2.port && s.state == s2.state &&
                   same_vsn(&s.vsn, &s2.vsn));
            wire_buf_free(&b);
        }
    }
}

static void fuzz_user_header(const uint8_t *data, size_t size)
{
    wire_user_msg_header h, h2;
    size_t used;
    if (wire_decode_user_msg_header(data, size, &h, &used) != WIRE_OK)
        return;
    ASSERT(used <= size);
    if (h.user_msg_len < 0 || (uint64_t)h.user_msg_len > size - used)
        return;   /* the stream layer refuses these */
    for (int style = WIRE_INT_GO_MSGPACK_V0; style <= WIRE_INT_GO_MSGPACK_V2; style++) {
        wire_buf b;
        wire_buf_init(&b, 0);
        ASSERT(wire_encode_user_tcp(&b, data + used, (size_t)h.user_msg_len, (wire_int_style)style) == WIRE_OK);
        ASSERT(wire_decode_user_msg_header(b.data + 1, b.len - 1, &h2, &used) == WIRE_OK);
        ASSERT(h2.user_msg_len == h.user_msg_len && 1 + used + (size_t)h.user_msg_len == b.len);
        wire_buf_free(&b);
    }
}

static bool same_bytes_view(wire_bytes a, wire_bytes b)
{
    return a.p == b.p && a.n == b.n;
}

static bool same_vsn_read(const wire_vsn *a, const wire_vsn *b)
{
    return a->len == b->len && memcmp(a->v, b->v, sizeof a->v) == 0;
}

/* The direct readers of alives and node states (wire_fast_read_*, behind
 * wire_decode_alive and wire_decode_push_node_state) give what the general
 * map reader gives, for any bytes: the result, the bytes used and every
 * field (not the padding, which the direct readers leave alone). */
static void fuzz_in_order(const uint8_t *p, size_t n)
{
    wire_alive a, b;
    size_t ua = 0, ub = 0;
    int ra = wire_decode_alive(p, n, &a, &ua), rb = wire_decode_alive_map(p, n, &b, &ub);
    ASSERT(ra == rb && ua == ub && same_bytes_view(a.addr, b.addr) && a.incarnation == b.incarnation &&
           same_bytes_view(a.meta, b.meta) && same_bytes_view(a.node, b.node) && a.port == b.port &&
           same_vsn_read(&a.vsn, &b.vsn));
    wire_push_node_state s, t;
    ua = ub = 0;
    ra = wire_decode_push_node_state(p, n, &s, &ua);
    rb = wire_decode_push_node_state_map(p, n, &t, &ub);
    ASSERT(ra == rb && ua == ub && same_bytes_view(s.addr, t.addr) && s.incarnation == t.incarnation &&
           same_bytes_view(s.meta, t.meta) && same_bytes_view(s.name, t.name) && s.port == t.port &&
           s.state == t.state && same_vsn_read(&s.vsn, &t.vsn));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_message(data, size);
    /* The same bytes as a bare body, and past a leading type byte, so
     * seeds taken from whole messages exercise the body decoders too. */
    fuzz_push_pull(data, size);
    fuzz_user_header(data, size);
    fuzz_in_order(data, size);
    if (size > 0) {
        fuzz_push_pull(data + 1, size - 1);
        fuzz_user_header(data + 1, size - 1);
        fuzz_in_order(data + 1, size - 1);
    }
    return 0;
}
