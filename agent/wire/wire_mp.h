/* wire_mp: the one msgpack reader and the one msgpack writer, for
 * memberlist's bodies and for everything else we encode (serf tags and
 * intents, the control RPC), all with go-msgpack's conventions (§3).
 *
 * Reading uses our own cursor, not msgpack-c's unpacker: the unpacker
 * allocates an object per declared element, so a 5-byte "map of 4 billion
 * entries" from the network would make it try to allocate gigabytes before
 * noticing the input is short. The cursor here is zero-copy, allocates
 * nothing, checks every declared length against the bytes actually left,
 * and bounds nesting when skipping values we do not know. The caller owns
 * the input; views (wire_bytes) point into it and live as long as it does.
 *
 * Every reader returns WIRE_OK or a wire_err and, on error, leaves the
 * cursor where it was, so a caller can peek and retry another kind.
 *
 * Writing goes through a wire_mp_writer: one encoding pass over a caller's
 * wire_buf (the caller owns the buffer; the writer owns nothing and needs
 * no freeing). The writer remembers the first error and every call after
 * it does nothing, so an encoder writes its items straight down and checks
 * once, with wire_mp_finish(), which on error also takes the buffer back
 * to its length when the pass began: no caller ever sees half a message,
 * and no step can go unchecked.
 *
 * Why the error lives in a writer and not in wire_buf: wire_buf is shared
 * with the framing, crypto, swim and net code, which checks each append,
 * rolls a buffer back by assigning its len, and sometimes goes on after a
 * refused append (swim's broadcast parts skip one that does not fit and
 * take the next). A flag in the buffer would outlive those rollbacks and
 * refuse every later message; a writer lives for one pass, on the stack.
 *
 * Maps and arrays are written with begin/end: the writer counts what goes
 * in and writes the header at the end in its smallest form (fix, 16, 32,
 * as go-msgpack does), so a count can never disagree with the entries.
 * There is deliberately no "header with count n" call.
 *
 * Formats written: old-spec raw for strings and byte slices (a0-bf, da,
 * db; never d9 or bin, which go-msgpack 0.5 in serf rejects), c0 for nil,
 * smallest unsigned forms, and go-msgpack v2's signed forms for Go int
 * fields on request. The writer is our own rather than msgpack-c's packer
 * because the end of a map must patch its header in place anyway, and one
 * encoder of big-endian headers is simpler than two. */
#ifndef MOONLIST_WIRE_MP_H
#define MOONLIST_WIRE_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

/* Deepest nesting wire_mp_skip follows. memberlist's own bodies are flat
 * maps; an unknown key's value is skipped, and 32 levels is far beyond
 * anything Go sends (serf's payloads are at most 3 deep) while keeping the
 * recursion a few hundred bytes of stack. */
#define WIRE_MP_MAX_DEPTH 32

/* ---- reading ---------------------------------------------------------- */

typedef struct wire_mp_reader {
    const uint8_t *start;
    const uint8_t *p;    /* next unread byte */
    const uint8_t *end;  /* one past the last byte */
} wire_mp_reader;

void wire_mp_reader_init(wire_mp_reader *r, const uint8_t *p, size_t n);
static inline size_t wire_mp_consumed(const wire_mp_reader *r) { return (size_t)(r->p - r->start); }
static inline size_t wire_mp_left(const wire_mp_reader *r) { return (size_t)(r->end - r->p); }

/* The next format byte without consuming it: WIRE_ETRUNC at the end. */
int wire_mp_peek(const wire_mp_reader *r, uint8_t *byte);

/* What the next item is, from its format byte alone (its length is not
 * checked: reading it may still be WIRE_ETRUNC). UINT is every unsigned
 * format and positive fixint, INT every signed format and negative fixint,
 * STR the string formats (a0-bf, d9-db), BIN c4-c6; BAD is c1, END no byte
 * left. */
typedef enum wire_mp_kind {
    WIRE_MP_NIL, WIRE_MP_BOOL, WIRE_MP_UINT, WIRE_MP_INT, WIRE_MP_FLOAT, WIRE_MP_STR, WIRE_MP_BIN,
    WIRE_MP_ARRAY, WIRE_MP_MAP, WIRE_MP_EXT, WIRE_MP_BAD, WIRE_MP_END
} wire_mp_kind;
wire_mp_kind wire_mp_peek_kind(const wire_mp_reader *r);

/* Consumes a c0 and returns true; otherwise consumes nothing. */
bool wire_mp_read_nil(wire_mp_reader *r);

/* Map/array header (fix, 16, 32). A count that cannot fit in the bytes
 * left (each map entry needs at least 2, each element 1) is WIRE_ETRUNC at
 * once, so a hostile count costs nothing. */
int wire_mp_read_map(wire_mp_reader *r, uint32_t *count);
int wire_mp_read_array(wire_mp_reader *r, uint32_t *count);

/* Integers in any msgpack format (fixint, cc-cf, d0-d3, negative fixint),
 * range-checked: WIRE_ERANGE if the value is outside [0, max] or
 * [min, max]; a negative value into an unsigned field is WIRE_ERANGE. */
int wire_mp_read_uint(wire_mp_reader *r, uint64_t max, uint64_t *v);
int wire_mp_read_int(wire_mp_reader *r, int64_t min, int64_t max, int64_t *v);

/* c2/c3, and fixint 00/01 as go-msgpack accepts them. */
int wire_mp_read_bool(wire_mp_reader *r, bool *v);

/* A string or byte slice: fixstr, d9, da, db, c4, c5, c6. nil (c0) gives
 * p == NULL, n == 0. The view points into the reader's input. */
int wire_mp_read_raw(wire_mp_reader *r, wire_bytes *v);
/* The same but nil is WIRE_EFORMAT: a key, or a value that must be there,
 * so v->p is never NULL and can be printed or compared as it is. */
int wire_mp_read_str(wire_mp_reader *r, wire_bytes *v);

/* Whether a view holds exactly the bytes of the C string c (map keys). */
bool wire_mp_eq(wire_bytes v, const char *c);

/* Skip one value of any kind, nested at most WIRE_MP_MAX_DEPTH deep
 * (WIRE_EDEPTH beyond). c1 (never used) is WIRE_EFORMAT. */
int wire_mp_skip(wire_mp_reader *r);

/* ---- writing ---------------------------------------------------------- */

typedef struct wire_mp_container wire_mp_container;

typedef struct wire_mp_writer {
    wire_buf *b;
    size_t start;              /* b->len when the pass began: where a failure rolls back to */
    int err;                   /* the first error, WIRE_OK until one */
    wire_mp_container *open;   /* innermost map or array not yet ended */
} wire_mp_writer;

/* A map or array being written: the caller's, on its stack, from begin to
 * end. The writer links the open ones innermost first. */
struct wire_mp_container {
    wire_mp_container *outer;
    size_t at;        /* offset of the header in the buffer */
    uint64_t items;   /* items written directly inside; a map's keys and values both count */
    bool map;
};

void wire_mp_writer_init(wire_mp_writer *w, wire_buf *b);
/* Ends the pass: WIRE_OK, or the first error (a container left open is
 * WIRE_EFORMAT), with the buffer back at its length from init. */
int wire_mp_finish(wire_mp_writer *w);
static inline int wire_mp_error(const wire_mp_writer *w) { return w->err; }
/* Bytes written since init. */
static inline size_t wire_mp_written(const wire_mp_writer *w) { return w->b->len - w->start; }
/* Record an error the caller found (a size limit, a value Go cannot
 * decode): from here on the pass does nothing and finish reports it.
 * A pass that already failed keeps its first error. */
void wire_mp_fail(wire_mp_writer *w, int err);

/* Bytes that are not a msgpack item (a type byte before a map, a payload
 * after a header, text): appended as they are, counted in no container. */
void wire_mp_put(wire_mp_writer *w, const void *p, size_t n);
void wire_mp_put_byte(wire_mp_writer *w, uint8_t c);

/* Containers. end writes the header for what was written since begin: a
 * map with an odd number of items, ends out of order or an array's begin
 * closed by map_end (or the reverse) are WIRE_EFORMAT; more than 2^32-1
 * entries is WIRE_ELIMIT. */
void wire_mp_map_begin(wire_mp_writer *w, wire_mp_container *c);
void wire_mp_map_end(wire_mp_writer *w, wire_mp_container *c);
void wire_mp_array_begin(wire_mp_writer *w, wire_mp_container *c);
void wire_mp_array_end(wire_mp_writer *w, wire_mp_container *c);

void wire_mp_pack_nil(wire_mp_writer *w);
void wire_mp_pack_bool(wire_mp_writer *w, bool v);
/* Smallest unsigned form: fixint, cc, cd, ce, cf. */
void wire_mp_pack_uint(wire_mp_writer *w, uint64_t v);
/* A Go int field: V0 as go-msgpack 0.5 (non-negative = smallest unsigned),
 * V2 as go-msgpack v2 (> 127 = d1/d2/d3 by size). Negatives are the
 * smallest signed form in both. */
void wire_mp_pack_int(wire_mp_writer *w, int64_t v, wire_int_style style);
/* Old-spec raw: a0|n, da n16, db n32; never d9 or bin. */
void wire_mp_pack_raw(wire_mp_writer *w, const void *p, size_t n);
/* The bin family (c4, c5, c6): what go-msgpack writes for a value with its
 * own extension writer, e.g. serf's net.IP in RPC member records. The
 * memberlist protocol itself never uses it (§3.3). */
void wire_mp_pack_bin(wire_mp_writer *w, const void *p, size_t n);
/* A Go []byte: nil view (p == NULL) as c0, else raw. */
void wire_mp_pack_bytes(wire_mp_writer *w, wire_bytes v);
/* A Go string: never nil in Go, so a NULL view is the empty raw a0. */
void wire_mp_pack_string(wire_mp_writer *w, wire_bytes v);
/* A C string as a raw string (keys, mostly). */
void wire_mp_pack_cstr(wire_mp_writer *w, const char *s);

#endif
