/* wire_mp writing: the writer with a sticky error and counted containers
 * (see wire_mp.h). */
#include "wire/wire_mp.h"

#include <msgpack/pack.h>
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
    if (rc) {
        w->err = rc;
        return;
    }
    /* reserved: written in place, not appended (and checked) twice more */
    uint8_t *at = w->b->data + w->b->len;
    memcpy(at, head, hn);
    if (bn)
        memcpy(at + hn, body, bn);
    w->b->len += hn + bn;
}

/* msgpack-c's packer writes an item's head into a small buffer on the
 * stack: the format choices (smallest forms, old-spec raw strings) are the
 * library's; the sticky error, the counting and the all-or-nothing append
 * are ours (emit). 9 bytes hold the largest head msgpack has (cf + 8). */
typedef struct item_head {
    uint8_t b[9];
    size_t n;
    msgpack_packer pk;
} item_head;

static int head_write(void *data, const char *buf, size_t len)
{
    item_head *h = data;
    if (len > sizeof h->b - h->n)
        return -1;   /* cannot happen: no head is longer than 9 bytes */
    memcpy(h->b + h->n, buf, len);
    h->n += len;
    return 0;
}

/* A packer that writes into h: pack one item's head with it. */
static msgpack_packer *head_start(item_head *h)
{
    h->n = 0;
    msgpack_packer_init(&h->pk, h, head_write);
    return &h->pk;
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
    item_head h;
    if (map)
        msgpack_pack_map(head_start(&h), (size_t)n);
    else
        msgpack_pack_array(head_start(&h), (size_t)n);
    size_t grow = h.n - 1;
    if (grow) {
        w->err = wire_buf_reserve(w->b, grow);
        if (w->err)
            return;
        uint8_t *body = w->b->data + c->at + 1;
        memmove(body + grow, body, w->b->len - c->at - 1);
        w->b->len += grow;
    }
    memcpy(w->b->data + c->at, h.b, h.n);
}

void wire_mp_map_begin(wire_mp_writer *w, wire_mp_container *c) { begin(w, c, true); }
void wire_mp_map_end(wire_mp_writer *w, wire_mp_container *c) { end(w, c, true); }
void wire_mp_array_begin(wire_mp_writer *w, wire_mp_container *c) { begin(w, c, false); }
void wire_mp_array_end(wire_mp_writer *w, wire_mp_container *c) { end(w, c, false); }

void wire_mp_pack_nil(wire_mp_writer *w)
{
    item_head h;
    msgpack_pack_nil(head_start(&h));
    emit(w, h.b, h.n, NULL, 0);
}

void wire_mp_pack_bool(wire_mp_writer *w, bool v)
{
    item_head h;
    if (v)
        msgpack_pack_true(head_start(&h));
    else
        msgpack_pack_false(head_start(&h));
    emit(w, h.b, h.n, NULL, 0);
}

void wire_mp_pack_uint(wire_mp_writer *w, uint64_t v)
{
    item_head h;
    msgpack_pack_uint64(head_start(&h), v);   /* the smallest unsigned form */
    emit(w, h.b, h.n, NULL, 0);
}

void wire_mp_pack_int(wire_mp_writer *w, int64_t v, wire_int_style style)
{
    item_head h;
    msgpack_packer *pk = head_start(&h);
    if (v > INT8_MAX && style != WIRE_INT_GO_MSGPACK_V0) {
        /* go-msgpack v2 EncodeInt: signed forms by size, never d0 for a
         * positive value (128 does not fit int8) */
        if (v <= INT16_MAX)
            msgpack_pack_fix_int16(pk, (int16_t)v);
        else if (v <= INT32_MAX)
            msgpack_pack_fix_int32(pk, (int32_t)v);
        else
            msgpack_pack_fix_int64(pk, v);
    } else {
        /* go-msgpack 0.5 (as msgpack-c): non-negative values in the
         * smallest unsigned form, negatives in the smallest signed one */
        msgpack_pack_int64(pk, v);
    }
    emit(w, h.b, h.n, NULL, 0);
}

void wire_mp_pack_raw(wire_mp_writer *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        wire_mp_fail(w, WIRE_ELIMIT);   /* db's length is 32 bits */
        return;
    }
    item_head h;
    msgpack_pack_v4raw(head_start(&h), n);   /* old-spec raw: a0|n, da, db; never d9 or bin */
    emit(w, h.b, h.n, p, n);
}

void wire_mp_pack_bin(wire_mp_writer *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        wire_mp_fail(w, WIRE_ELIMIT);   /* c6's length is 32 bits */
        return;
    }
    item_head h;
    msgpack_pack_bin(head_start(&h), n);
    emit(w, h.b, h.n, p, n);
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
