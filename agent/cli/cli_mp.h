/* cli_mp: the small msgpack subset moonlist's own encodings need (serf
 * tags, serf intents, the control RPC), with go-msgpack's conventions.
 *
 * Writers append to a wire_buf and write strings as old-spec raw (a0-bf,
 * da, db), as serf's go-msgpack does, so serf reads what we write.
 * The reader walks untrusted bytes with a cursor: every call checks the
 * remaining length, returns -1 on anything malformed, and never allocates,
 * so a hostile declared length costs nothing. */
#ifndef MOONLIST_CLI_MP_H
#define MOONLIST_CLI_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "wire/wire_buf.h"

int cli_mp_map(wire_buf *b, uint32_t n);
int cli_mp_array(wire_buf *b, uint32_t n);
int cli_mp_str(wire_buf *b, const void *s, size_t len);   /* raw string */
int cli_mp_cstr(wire_buf *b, const char *s);
int cli_mp_uint(wire_buf *b, uint64_t v);
int cli_mp_bool(wire_buf *b, bool v);
int cli_mp_nil(wire_buf *b);

typedef struct cli_mp_reader {
    const uint8_t *p;
    size_t n;         /* bytes left */
} cli_mp_reader;

static inline void cli_mp_reader_init(cli_mp_reader *r, const void *p, size_t n)
{
    r->p = p;
    r->n = n;
}
/* The type of the next item: a msgpack first byte classified. */
typedef enum cli_mp_kind {
    CLI_MP_NIL, CLI_MP_BOOL, CLI_MP_UINT, CLI_MP_INT, CLI_MP_FLOAT, CLI_MP_STR, CLI_MP_BIN,
    CLI_MP_ARRAY, CLI_MP_MAP, CLI_MP_EXT, CLI_MP_BAD, CLI_MP_END
} cli_mp_kind;
cli_mp_kind cli_mp_peek(const cli_mp_reader *r);
int cli_mp_read_map(cli_mp_reader *r, uint32_t *n);
int cli_mp_read_array(cli_mp_reader *r, uint32_t *n);
/* A string or bin item: a view into the input. */
int cli_mp_read_str(cli_mp_reader *r, const uint8_t **s, size_t *len);
int cli_mp_read_uint(cli_mp_reader *r, uint64_t *v);  /* also non-negative signed forms */
int cli_mp_read_bool(cli_mp_reader *r, bool *v);
/* Skip one item of any kind; nesting deeper than 32 is an error. */
int cli_mp_skip(cli_mp_reader *r);
/* Compare a string view with a C string. */
bool cli_mp_eq(const uint8_t *s, size_t len, const char *c);

#endif
