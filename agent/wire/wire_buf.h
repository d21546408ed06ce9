/* wire_buf: a growable output buffer with a hard size cap.
 *
 * Encoders append to it. The caller owns the buffer: wire_buf_init() takes
 * no memory, the first append allocates, wire_buf_free() releases. An
 * append that would pass the cap fails with WIRE_ELIMIT and leaves the
 * buffer as it was, so a bug or a hostile size can never grow it without
 * bound. */
#ifndef MOONLIST_WIRE_BUF_H
#define MOONLIST_WIRE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/wire.h"

/* Default cap: memberlist rejects encrypted stream bodies over 20 MiB and
 * decompressed bodies over 40 MiB (§6.1, §14), so nothing we legitimately
 * build or inflate is larger. */
#define WIRE_BUF_DEFAULT_MAX ((size_t)40 << 20)

typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;   /* hard cap on len */
} wire_buf;

void wire_buf_init(wire_buf *b, size_t max);  /* max 0: WIRE_BUF_DEFAULT_MAX */
void wire_buf_free(wire_buf *b);
static inline void wire_buf_reset(wire_buf *b) { b->len = 0; }
/* wire_buf_reserve's slow path: growth, the cap, no memory. */
int wire_buf_grow(wire_buf *b, size_t extra);

/* Room for `extra` more bytes: WIRE_OK or error. Inline for what fits
 * already (cap never passes max): encoders call it for every field, the
 * simulator a few hundred million times a run, where the call was 5 % of
 * the instructions. */
static inline int wire_buf_reserve(wire_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return WIRE_OK;
    return wire_buf_grow(b, extra);
}

static inline int wire_buf_append(wire_buf *b, const void *p, size_t n)
{
    int rc = wire_buf_reserve(b, n);
    if (rc == WIRE_OK && n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
    return rc;
}

int wire_buf_append_byte(wire_buf *b, uint8_t c);

#endif
