/* wire_mpx: the small msgpack subset moonlist's own encodings need (serf
 * tags, serf intents, the control RPC), with go-msgpack's conventions.
 *
 * Writers append to a wire_buf and write strings as old-spec raw (a0-bf,
 * da, db), as serf's go-msgpack does, so serf reads what we write.
 * The reader walks untrusted bytes with a cursor: every call checks the
 * remaining length, returns -1 on anything malformed, and never allocates,
 * so a hostile declared length costs nothing. */
#ifndef MOONLIST_WIRE_MPX_H
#define MOONLIST_WIRE_MPX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "wire/wire_buf.h"

int wire_mpx_map(wire_buf *b, uint32_t n);
int wire_mpx_array(wire_buf *b, uint32_t n);
int wire_mpx_str(wire_buf *b, const void *s, size_t len);   /* raw string */
int wire_mpx_cstr(wire_buf *b, const char *s);
int wire_mpx_uint(wire_buf *b, uint64_t v);
int wire_mpx_bool(wire_buf *b, bool v);
int wire_mpx_nil(wire_buf *b);

typedef struct wire_mpx_reader {
    const uint8_t *p;
    size_t n;         /* bytes left */
} wire_mpx_reader;

static inline void wire_mpx_reader_init(wire_mpx_reader *r, const void *p, size_t n)
{
    r->p = p;
    r->n = n;
}
/* The type of the next item: a msgpack first byte classified. */
typedef enum wire_mpx_kind {
    WIRE_MPX_NIL, WIRE_MPX_BOOL, WIRE_MPX_UINT, WIRE_MPX_INT, WIRE_MPX_FLOAT, WIRE_MPX_STR, WIRE_MPX_BIN,
    WIRE_MPX_ARRAY, WIRE_MPX_MAP, WIRE_MPX_EXT, WIRE_MPX_BAD, WIRE_MPX_END
} wire_mpx_kind;
wire_mpx_kind wire_mpx_peek(const wire_mpx_reader *r);
int wire_mpx_read_map(wire_mpx_reader *r, uint32_t *n);
int wire_mpx_read_array(wire_mpx_reader *r, uint32_t *n);
/* A string or bin item: a view into the input. */
int wire_mpx_read_str(wire_mpx_reader *r, const uint8_t **s, size_t *len);
int wire_mpx_read_uint(wire_mpx_reader *r, uint64_t *v);  /* also non-negative signed forms */
int wire_mpx_read_bool(wire_mpx_reader *r, bool *v);
/* Skip one item of any kind; nesting deeper than 32 is an error. */
int wire_mpx_skip(wire_mpx_reader *r);
/* Compare a string view with a C string. */
bool wire_mpx_eq(const uint8_t *s, size_t len, const char *c);

#endif
