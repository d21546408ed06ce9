/* wire_mp writing: the writer with a sticky error and counted containers
 * (see wire_mp.h). */
#include "wire/wire_mp.h"

#include <string.h>

void wire_mp_writer_init(wire_mp_writer *w, wire_buf *b)
{
    w->b = b;
    w->start = b->len;
    w->err = WIRE_OK;
    w->open = NULL;
}

void wire_mp_fail(wire_mp_writer *w, int err)
{
    if (w->err == WIRE_OK)
        w->err = err;
}

int wire_mp_finish(wire_mp_writer *w)
{
    if (w->open)
        wire_mp_fail(w, WIRE_EFORMAT);
    w->open = NULL;
    if (w->err)
        w->b->len = w->start;
    return w->err;
}

void wire_mp_put(wire_mp_writer *w, const void *p, size_t n)
{
    if (w->err == WIRE_OK)
        w->err = wire_buf_append(w->b, p, n);
}

void wire_mp_put_byte(wire_mp_writer *w, uint8_t c)
{
    wire_mp_put(w, &c, 1);
}

/* One msgpack item, head then body, counted in the innermost open
 * container. Reserved at once so that a refused item leaves no half. */
static void emit(wire_mp_writer *w, const uint8_t *head, size_t hn, const void *body, size_t bn)
{
    if (w->err)
        return;
    if (w->open)
        w->open->items++;
    int rc = bn > SIZE_MAX - hn ? WIRE_ELIMIT : wire_buf_reserve(w->b, hn + bn);
    if (!rc)
        rc = wire_buf_append(w->b, head, hn);
    if (!rc)
        rc = wire_buf_append(w->b, body, bn);
    w->err = rc;
}

/* A format byte and the low n bytes of v, big-endian; returns the size. */
static size_t head(uint8_t *out, uint8_t tag, uint64_t v, int n)
{
    out[0] = tag;
    for (int i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return (size_t)1 + (size_t)n;
}

/* The smallest of a fix form (fix | n up to fixmax), a 16-bit and a
 * 32-bit length form. */
static size_t length_head(uint8_t out[5], uint32_t n, uint8_t fix, uint32_t fixmax, uint8_t f16, uint8_t f32)
{
    if (n <= fixmax) {
        out[0] = (uint8_t)(fix | n);
        return 1;
    }
    return n <= UINT16_MAX ? head(out, f16, n, 2) : head(out, f32, n, 4);
}

static void begin(wire_mp_writer *w, wire_mp_container *c, bool map)
{
    c->outer = w->open;
    c->at = w->b->len;
    c->items = 0;
    c->map = map;
    /* One byte now, the fix form most containers fit; end widens it. It
     * counts as the one item the container is in the outer one. */
    static const uint8_t placeholder = 0;
    emit(w, &placeholder, 1, NULL, 0);
    /* Linked even after an error, so that end can unlink it. */
    w->open = c;
}

static void end(wire_mp_writer *w, wire_mp_container *c, bool map)
{
    if (w->open != c) {
        wire_mp_fail(w, WIRE_EFORMAT);   /* not the innermost open one */
        return;
    }
    w->open = c->outer;
    if (c->map != map || (map && c->items % 2))
        wire_mp_fail(w, WIRE_EFORMAT);
    uint64_t n = map ? c->items / 2 : c->items;
    if (n > UINT32_MAX)
        wire_mp_fail(w, WIRE_ELIMIT);
    if (w->err)
        return;
    uint8_t h[5];
    size_t hn = map ? length_head(h, (uint32_t)n, 0x80, 15, 0xde, 0xdf)
                    : length_head(h, (uint32_t)n, 0x90, 15, 0xdc, 0xdd);
    size_t grow = hn - 1;
    if (grow) {
        w->err = wire_buf_reserve(w->b, grow);
        if (w->err)
            return;
        uint8_t *body = w->b->data + c->at + 1;
        memmove(body + grow, body, w->b->len - c->at - 1);
        w->b->len += grow;
    }
    memcpy(w->b->data + c->at, h, hn);
}

void wire_mp_map_begin(wire_mp_writer *w, wire_mp_container *c) { begin(w, c, true); }
void wire_mp_map_end(wire_mp_writer *w, wire_mp_container *c) { end(w, c, true); }
void wire_mp_array_begin(wire_mp_writer *w, wire_mp_container *c) { begin(w, c, false); }
void wire_mp_array_end(wire_mp_writer *w, wire_mp_container *c) { end(w, c, false); }

void wire_mp_pack_nil(wire_mp_writer *w)
{
    static const uint8_t nil = 0xc0;
    emit(w, &nil, 1, NULL, 0);
}

void wire_mp_pack_bool(wire_mp_writer *w, bool v)
{
    uint8_t b = v ? 0xc3 : 0xc2;
    emit(w, &b, 1, NULL, 0);
}

static size_t uint_head(uint8_t out[9], uint64_t v)
{
    if (v <= 0x7f) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v <= UINT8_MAX)
        return head(out, 0xcc, v, 1);
    if (v <= UINT16_MAX)
        return head(out, 0xcd, v, 2);
    if (v <= UINT32_MAX)
        return head(out, 0xce, v, 4);
    return head(out, 0xcf, v, 8);
}

void wire_mp_pack_uint(wire_mp_writer *w, uint64_t v)
{
    uint8_t h[9];
    emit(w, h, uint_head(h, v), NULL, 0);
}

void wire_mp_pack_int(wire_mp_writer *w, int64_t v, wire_int_style style)
{
    uint8_t h[9];
    size_t n;
    if (v >= 0 && (style == WIRE_INT_GO_MSGPACK_V0 || v <= INT8_MAX)) {
        /* go-msgpack 0.5 (and msgpack-c): non-negative values in the
         * smallest unsigned form */
        n = uint_head(h, (uint64_t)v);
    } else if (v > 0) {
        /* go-msgpack v2 EncodeInt: signed forms by size, never d0 for a
         * positive value (128 does not fit int8) */
        n = v <= INT16_MAX ? head(h, 0xd1, (uint64_t)v, 2)
          : v <= INT32_MAX ? head(h, 0xd2, (uint64_t)v, 4) : head(h, 0xd3, (uint64_t)v, 8);
    } else if (v >= -32) {
        h[0] = (uint8_t)(int8_t)v;   /* negative fixint */
        n = 1;
    } else {
        n = v >= INT8_MIN ? head(h, 0xd0, (uint64_t)v, 1)
          : v >= INT16_MIN ? head(h, 0xd1, (uint64_t)v, 2)
          : v >= INT32_MIN ? head(h, 0xd2, (uint64_t)v, 4) : head(h, 0xd3, (uint64_t)v, 8);
    }
    emit(w, h, n, NULL, 0);
}

void wire_mp_pack_raw(wire_mp_writer *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        wire_mp_fail(w, WIRE_ELIMIT);   /* db's length is 32 bits */
        return;
    }
    uint8_t h[5];
    emit(w, h, length_head(h, (uint32_t)n, 0xa0, 31, 0xda, 0xdb), p, n);
}

void wire_mp_pack_bytes(wire_mp_writer *w, wire_bytes v)
{
    if (!v.p)
        wire_mp_pack_nil(w);
    else
        wire_mp_pack_raw(w, v.p, v.n);
}

void wire_mp_pack_string(wire_mp_writer *w, wire_bytes v)
{
    wire_mp_pack_raw(w, v.p, v.n);
}

void wire_mp_pack_cstr(wire_mp_writer *w, const char *s)
{
    wire_mp_pack_raw(w, s, strlen(s));
}
