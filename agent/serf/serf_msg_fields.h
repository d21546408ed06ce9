/* serf_msg_fields: serf's Go structs <-> msgpack maps, from tables.
 *
 * Internal to the serf_msg*.c files. Every serf message is a Go struct
 * that go-msgpack 0.5.5 writes as a map (§3.1, §16.2): keys are the field
 * names in byte-wise ascending order, strings and byte slices old-spec
 * raw, nil slices and maps c0, unsigned and non-negative signed integers
 * in their smallest unsigned form. Each family file describes its structs
 * as a table of fields (sorted, as they go on the wire) and this engine
 * applies those rules in one place, for every struct and for the structs
 * nested in them (net.UDPAddr, userEvents, userEvent).
 *
 * Decoding is Go's: keys in any order, matched exactly (case-sensitive),
 * unknown keys skipped, missing keys and nil values zero, a repeated key
 * overwrites (last wins; what the earlier one allocated is freed). Integer
 * fields take any msgpack integer form, range-checked to the Go type;
 * strings and byte slices take fixstr, d9-db and bin. Lists and maps are
 * allocated (one array each, never more elements than bytes of input) and
 * their strings stay views into the input. On any error every allocation
 * is released and the struct zeroed. */
#ifndef MOONLIST_SERF_MSG_FIELDS_H
#define MOONLIST_SERF_MSG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire_mp.h"

typedef enum serf_fkind {
    SF_BOOL,
    SF_U8,           /* uint8_t */
    SF_U16,          /* uint16_t */
    SF_U32,          /* uint32_t */
    SF_U64,          /* uint64_t: LamportTime */
    SF_INT,          /* int64_t: Go int, int64, time.Duration, MemberStatus */
    SF_STRING,       /* wire_bytes: Go string (a NULL view goes out as a0) */
    SF_BYTES,        /* wire_bytes: Go []byte (a NULL view goes out as c0) */
    SF_RAW_LIST,     /* serf_raw_list: Go [][]byte or []string */
    SF_STR_MAP,      /* serf_str_map: Go map[string]string */
    SF_LTIME_MAP,    /* serf_ltime_map: Go map[string]LamportTime */
    SF_STRUCT,       /* a nested struct by value: sub describes it */
    SF_STRUCT_LIST,  /* { T *v; size_t n; }: Go []T, or []*T when sub->present_off is set */
} serf_fkind;

typedef struct serf_table serf_table;

typedef struct serf_field {
    const char *name;
    serf_fkind kind;
    size_t off;
    const serf_table *sub;   /* SF_STRUCT, SF_STRUCT_LIST */
} serf_field;

/* A struct: its fields in wire order (byte-wise sorted names), its size,
 * and for elements of a []*T list the offset of a bool that is false for
 * a nil element (SERF_NOT_NILABLE otherwise). */
struct serf_table {
    const serf_field *f;
    size_t n;
    size_t size;
    size_t present_off;
};
#define SERF_NOT_NILABLE ((size_t)-1)

#define SERF_FIELD(T, name, kind, member) { name, kind, offsetof(T, member), NULL }
#define SERF_NESTED(T, name, kind, member, sub) { name, kind, offsetof(T, member), sub }
#define SERF_TABLE(T, fields) { fields, sizeof(fields) / sizeof((fields)[0]), sizeof(T), SERF_NOT_NILABLE }

/* One struct from the map at the reader (nil is the zero struct). On
 * error obj is released and zeroed and the reader may have moved. */
int serf_fields_decode(wire_mp_reader *r, const serf_table *t, void *obj);
/* One struct as a map, into a pass that the caller finishes. */
void serf_fields_encode(wire_mp_writer *w, const serf_table *t, const void *obj);
/* Releases what decoding allocated and zeroes obj. A struct the caller
 * built by hand (pointing at its own arrays) must not be passed here. */
void serf_fields_free(const serf_table *t, void *obj);

/* One value of the kind of f, at f->off in obj: for a message body that
 * is not a struct (a node filter is a bare []string). */
int serf_field_decode(wire_mp_reader *r, const serf_field *f, void *obj);
void serf_field_encode(wire_mp_writer *w, const serf_field *f, const void *obj);
void serf_field_free(const serf_field *f, void *obj);

/* A whole message: the type byte, then the struct. decode checks the
 * type byte (WIRE_ETYPE), ignores bytes after the map as Go does, and
 * stores the bytes the message took in *used (may be NULL). */
int serf_fields_decode_msg(const uint8_t *p, size_t n, uint8_t type, const serf_table *t, void *obj,
                           size_t *used);
int serf_fields_encode_msg(wire_buf *out, uint8_t type, const serf_table *t, const void *obj);

#endif
