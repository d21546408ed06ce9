/* wire_msg_fast: alive messages and push/pull node states written without
 * the table encoder (wire_msg.c), for their numbers: at 5,000 simulated
 * nodes every push/pull writes 5,000 node states, and the table encoder
 * packs each of their 14 items through msgpack-c's callback and a
 * checked append. The bytes are the table encoder's (msgpack-c's smallest
 * forms, old-spec raw strings, keys in table order, no omitempty field in
 * either message); tests/wire/test_msg_fast.c compares the two on random
 * and edge values. Only short strings (fix forms) are covered: anything
 * else is left to the table encoder, whose rules stay the one reference. */
#include "wire/wire_msg_fast.h"

#include <string.h>

/* Longest message this writes: the keys (42 bytes with their heads), three
 * fix raws of up to 31 bytes, the address, two uints of up to 5 bytes, a
 * state, the Vsn (7), the map head and type byte. */
#define FAST_MAX 256

static bool short_raw(wire_bytes b)
{
    return b.n < 32;
}

static uint8_t *put_key(uint8_t *q, const char *k, size_t n)
{
    *q++ = (uint8_t)(0xa0 | n);
    memcpy(q, k, n);
    return q + n;
}

/* wire_mp_pack_raw for n < 32: a0|n then the bytes */
static uint8_t *put_raw(uint8_t *q, wire_bytes b)
{
    *q++ = (uint8_t)(0xa0 | b.n);
    if (b.n)
        memcpy(q, b.p, b.n);
    return q + b.n;
}

/* wire_mp_pack_bytes: nil for a NULL view */
static uint8_t *put_bytes(uint8_t *q, wire_bytes b)
{
    if (!b.p) {
        *q++ = 0xc0;
        return q;
    }
    return put_raw(q, b);
}

/* msgpack-c's pack_uint64: the smallest unsigned form */
static uint8_t *put_uint(uint8_t *q, uint32_t v)
{
    if (v < 0x80) {
        *q++ = (uint8_t)v;
    } else if (v < 0x100) {
        *q++ = 0xcc;
        *q++ = (uint8_t)v;
    } else if (v < 0x10000) {
        *q++ = 0xcd;
        *q++ = (uint8_t)(v >> 8);
        *q++ = (uint8_t)v;
    } else {
        *q++ = 0xce;
        *q++ = (uint8_t)(v >> 24);
        *q++ = (uint8_t)(v >> 16);
        *q++ = (uint8_t)(v >> 8);
        *q++ = (uint8_t)v;
    }
    return q;
}

/* The Vsn: always its 6 bytes, as a fix raw (encode_field's F_VSN) */
static uint8_t *put_vsn(uint8_t *q, const wire_vsn *v)
{
    *q++ = 0xa6;
    memcpy(q, v->v, 6);
    return q + 6;
}

#define KEY(q, k) put_key(q, k, sizeof(k) - 1)

/* Where a message is written: straight into out when it has FAST_MAX bytes
 * of room (after growing within its cap), so the bytes are written once
 * and the buffer checked once; otherwise into the caller's buf, then
 * appended by done(), which fails or succeeds as an append of exactly
 * those bytes does (a buffer near its cap, memory short). */
static uint8_t *begin(wire_buf *out, uint8_t *buf)
{
    if (out->cap - out->len >= FAST_MAX || wire_buf_reserve(out, FAST_MAX) == WIRE_OK)
        return out->data + out->len;
    return buf;
}

static int done(wire_buf *out, const uint8_t *buf, const uint8_t *start, const uint8_t *end)
{
    if (start != buf) {
        out->len += (size_t)(end - start);
        return WIRE_OK;
    }
    return wire_buf_append(out, buf, (size_t)(end - buf));
}

bool wire_fast_alive(wire_buf *out, const wire_alive *m, int *rc)
{
    if (!short_raw(m->addr) || !short_raw(m->meta) || !short_raw(m->node))
        return false;
    uint8_t buf[FAST_MAX], *q0 = begin(out, buf), *q = q0;
    *q++ = WIRE_ALIVE;
    *q++ = 0x86;
    q = KEY(q, "Addr");
    q = put_bytes(q, m->addr);
    q = KEY(q, "Incarnation");
    q = put_uint(q, m->incarnation);
    q = KEY(q, "Meta");
    q = put_bytes(q, m->meta);
    q = KEY(q, "Node");
    q = put_raw(q, m->node);
    q = KEY(q, "Port");
    q = put_uint(q, m->port);
    q = KEY(q, "Vsn");
    q = put_vsn(q, &m->vsn);
    *rc = done(out, buf, q0, q);
    return true;
}

bool wire_fast_push_node_state(wire_buf *out, const wire_push_node_state *s, wire_int_style style, int *rc)
{
    /* a state of 0..127 is a positive fixint in either integer style */
    (void)style;
    if (!short_raw(s->addr) || !short_raw(s->meta) || !short_raw(s->name) || s->state < 0 || s->state > 127)
        return false;
    uint8_t buf[FAST_MAX], *q0 = begin(out, buf), *q = q0;
    *q++ = 0x87;
    q = KEY(q, "Addr");
    q = put_bytes(q, s->addr);
    q = KEY(q, "Incarnation");
    q = put_uint(q, s->incarnation);
    q = KEY(q, "Meta");
    q = put_bytes(q, s->meta);
    q = KEY(q, "Name");
    q = put_raw(q, s->name);
    q = KEY(q, "Port");
    q = put_uint(q, s->port);
    q = KEY(q, "State");
    *q++ = (uint8_t)s->state;
    q = KEY(q, "Vsn");
    q = put_vsn(q, &s->vsn);
    *rc = done(out, buf, q0, q);
    return true;
}
