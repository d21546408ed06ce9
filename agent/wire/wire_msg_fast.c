/* wire_msg_fast: alive messages and push/pull node states written and read
 * without the tables of wire_msg.c, for their numbers: at 5,000 simulated
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

/* ---- reading ------------------------------------------------------------

 * The layout every peer writes (§3.1): a fix map of exactly the message's
 * keys, each a fix string, in table order; values in their usual forms (a
 * fix raw or nil for bytes, a fix raw for a name, an unsigned int of 1 to
 * 5 bytes, a fixint State, a 6-byte raw Vsn). Read here with the keys
 * compared as one or two loads against constants, each value's bounds
 * checked once. Anything else declines (false), and the caller hands the
 * message to the map reader (wire_msg.c), the one judge of what is an
 * error: whenever this says true, every field of the object and *used
 * are what the map reader gives, which tests/wire/test_msg_fast.c checks on
 * random messages, every prefix of them and copies with a byte changed. At
 * 5,000 simulated nodes this reads about 80 million alives and node states
 * (docs/sim-speed.md). */

/* The helpers are forced inline: each is called with constants (a key,
 * its length, a bound) that fold into the code only then, and GCC at -O2
 * kept them as calls (rd_key alone was 8 % of a 600-node run's
 * instructions). */
typedef struct rd {
    const uint8_t *q, *end;
} rd;

static inline __attribute__((always_inline)) uint32_t ld4(const void *q)
{
    uint32_t v;
    memcpy(&v, q, 4);
    return v;
}

static inline __attribute__((always_inline)) uint64_t ld8(const void *q)
{
    uint64_t v;
    memcpy(&v, q, 8);
    return v;
}

/* The key `lit` (its fix string head included, n bytes, 4 to 16) next,
 * and at least one byte of value after it. Compared as two whole loads
 * that overlap (a partial load into a wider word went through the stack);
 * the literal's fold into constants. */
static inline __attribute__((always_inline)) bool rd_key(rd *r, const char *lit, size_t n)
{
    if ((size_t)(r->end - r->q) < n + 1)
        return false;
    const uint8_t *q = r->q;
    bool eq = n >= 8 ? ld8(q) == ld8(lit) && ld8(q + n - 8) == ld8(lit + n - 8)
                     : ld4(q) == ld4(lit) && ld4(q + n - 4) == ld4(lit + n - 4);
    r->q += n;
    return eq;
}

#define RD_KEY(r, lit) rd_key(r, lit, sizeof(lit) - 1)

/* A fix raw (rd_key left at least its head byte) */
static inline __attribute__((always_inline)) bool rd_raw(rd *r, wire_bytes *v)
{
    uint8_t c = r->q[0];
    size_t n = c & 0x1f;
    if ((c & 0xe0) != 0xa0 || n > (size_t)(r->end - r->q) - 1)
        return false;
    v->p = r->q + 1;
    v->n = n;
    r->q += 1 + n;
    return true;
}

/* A fix raw or nil: a Go []byte */
static inline __attribute__((always_inline)) bool rd_bytes(rd *r, wire_bytes *v)
{
    if (r->q[0] == 0xc0) {
        v->p = NULL;
        v->n = 0;
        r->q++;
        return true;
    }
    return rd_raw(r, v);
}

/* A positive fixint, uint8, uint16 or uint32, at most max */
static inline __attribute__((always_inline)) bool rd_uint(rd *r, uint32_t max, uint32_t *v)
{
    const uint8_t *q = r->q;
    size_t left = (size_t)(r->end - q);
    uint32_t u;
    if (q[0] <= 0x7f) {
        u = q[0];
        r->q += 1;
    } else if (q[0] == 0xcc && left >= 2) {
        u = q[1];
        r->q += 2;
    } else if (q[0] == 0xcd && left >= 3) {
        u = (uint32_t)q[1] << 8 | q[2];
        r->q += 3;
    } else if (q[0] == 0xce && left >= 5) {
        u = (uint32_t)q[1] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 8 | q[4];
        r->q += 5;
    } else {
        return false;
    }
    *v = u;
    return u <= max;
}

static inline __attribute__((always_inline)) bool rd_vsn(rd *r, wire_vsn *v)
{
    if ((size_t)(r->end - r->q) < 7 || r->q[0] != 0xa6)
        return false;
    memcpy(v->v, r->q + 1, 6);
    v->len = 6;
    r->q += 7;
    return true;
}

/* The fields both messages begin with, in this order */
typedef struct rd_head {
    wire_bytes addr, meta, name;
    uint32_t inc, port;
} rd_head;

/* The map head (map: 0x86 or 0x87), then Addr, Incarnation, Meta, the
 * name under name_key ("Node" or "Name", with its head) and Port */
static inline __attribute__((always_inline)) bool rd_begin(rd *r, const uint8_t *p, size_t n, uint8_t map,
                                                           const char *name_key, rd_head *h)
{
    if (!p || n < 1 || p[0] != map)
        return false;
    r->q = p + 1;
    r->end = p + n;
    return RD_KEY(r, "\xa4" "Addr") && rd_bytes(r, &h->addr) && RD_KEY(r, "\xab" "Incarnation") &&
           rd_uint(r, UINT32_MAX, &h->inc) && RD_KEY(r, "\xa4" "Meta") && rd_bytes(r, &h->meta) &&
           rd_key(r, name_key, 5) && rd_raw(r, &h->name) && RD_KEY(r, "\xa4" "Port") &&
           rd_uint(r, UINT16_MAX, &h->port);
}

bool wire_fast_read_alive(const uint8_t *p, size_t n, wire_alive *m, size_t *used)
{
    rd r;
    rd_head h;
    wire_vsn vsn;
    if (!rd_begin(&r, p, n, 0x86, "\xa4" "Node", &h) || !RD_KEY(&r, "\xa3" "Vsn") || !rd_vsn(&r, &vsn))
        return false;
    /* every field written: no memset first (GCC made it a rep stos, which
     * cost more than all the rest) */
    m->addr = h.addr;
    m->incarnation = h.inc;
    m->meta = h.meta;
    m->node = h.name;
    m->port = (uint16_t)h.port;
    m->vsn = vsn;
    if (used)
        *used = (size_t)(r.q - p);
    return true;
}

bool wire_fast_read_push_node_state(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used)
{
    rd r;
    rd_head h;
    wire_vsn vsn;
    if (!rd_begin(&r, p, n, 0x87, "\xa4" "Name", &h) || !RD_KEY(&r, "\xa5" "State") || r.q[0] > 0x7f)
        return false;
    int64_t state = *r.q++;
    if (!RD_KEY(&r, "\xa3" "Vsn") || !rd_vsn(&r, &vsn))
        return false;
    s->addr = h.addr;
    s->incarnation = h.inc;
    s->meta = h.meta;
    s->name = h.name;
    s->port = (uint16_t)h.port;
    s->state = state;
    s->vsn = vsn;
    if (used)
        *used = (size_t)(r.q - p);
    return true;
}
