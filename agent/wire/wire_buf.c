#include "wire/wire_buf.h"

#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* First allocation: big enough for any gossip packet (UDPBufferSize 1400
 * plus framing), so the common case grows once. */
#define WIRE_BUF_FIRST_CAP 2048

void wire_buf_init(wire_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : WIRE_BUF_DEFAULT_MAX;
}

void wire_buf_free(wire_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int wire_buf_grow(wire_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return WIRE_ELIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return WIRE_OK;
    size_t cap = b->cap ? b->cap : WIRE_BUF_FIRST_CAP;
    if (cap > b->max)
        cap = b->max;   /* a small cap is a promise about memory too */
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return WIRE_ENOMEM;
    b->data = p;
    b->cap = cap;
    return WIRE_OK;
}

int wire_buf_append_byte(wire_buf *b, uint8_t c)
{
    return wire_buf_append(b, &c, 1);
}
