/* The table engine of serf_msg_fields.h: one decoder and one encoder for
 * every serf struct, so that go-msgpack's rules (§3, §16.2) live once. */
#include "serf/serf_msg_fields.h"

#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg.h"

/* The { T *v; size_t n; } lists, whatever T, read and written through
 * memcpy so that no list type is accessed through another. */
typedef struct any_list {
    void *v;
    size_t n;
} any_list;

static any_list list_get(const void *at)
{
    any_list l;
    memcpy(&l, at, sizeof l);
    return l;
}

static void list_set(void *at, any_list l)
{
    memcpy(at, &l, sizeof l);
}

static size_t elem_size(const serf_field *f)
{
    switch (f->kind) {
    case SF_RAW_LIST: return sizeof(wire_bytes);
    case SF_STR_MAP: return sizeof(serf_str_pair);
    case SF_LTIME_MAP: return sizeof(serf_ltime_pair);
    case SF_STRUCT_LIST: return f->sub->size;
    default: return 0;
    }
}

static bool elem_present(const serf_table *t, const void *e)
{
    return t->present_off == SERF_NOT_NILABLE || *(const bool *)(const void *)((const char *)e + t->present_off);
}

/* ---- freeing ----------------------------------------------------------- */

void serf_field_free(const serf_field *f, void *obj)
{
    char *at = (char *)obj + f->off;
    switch (f->kind) {
    case SF_STRUCT:
        serf_fields_free(f->sub, at);
        return;
    case SF_STRUCT_LIST: {
        any_list l = list_get(at);
        for (size_t i = 0; l.v && i < l.n; i++)
            serf_fields_free(f->sub, (char *)l.v + i * f->sub->size);
        free(l.v);
        list_set(at, (any_list){ NULL, 0 });
        return;
    }
    case SF_RAW_LIST:
    case SF_STR_MAP:
    case SF_LTIME_MAP: {
        any_list l = list_get(at);
        free(l.v);
        list_set(at, (any_list){ NULL, 0 });
        return;
    }
    default:
        return;
    }
}

void serf_fields_free(const serf_table *t, void *obj)
{
    for (size_t i = 0; i < t->n; i++)
        serf_field_free(&t->f[i], obj);
    memset(obj, 0, t->size);
}

/* ---- decoding ---------------------------------------------------------- */

static int read_u(wire_mp_reader *r, uint64_t max, uint64_t *v)
{
    *v = 0;
    return wire_mp_read_nil(r) ? WIRE_OK : wire_mp_read_uint(r, max, v);
}

/* A Go string: nil (c0) is "", as go-msgpack decodes it (a string cannot
 * be nil), so that it goes out again as a0. */
static int read_string(wire_mp_reader *r, wire_bytes *v)
{
    int rc = wire_mp_read_raw(r, v);
    if (!rc && !v->p)
        v->p = (const uint8_t *)"";
    return rc;
}

/* One element of a list or map into e (zeroed, elem_size bytes). */
static int decode_elem(wire_mp_reader *r, const serf_field *f, void *e)
{
    switch (f->kind) {
    case SF_RAW_LIST:
        return wire_mp_read_raw(r, (wire_bytes *)e);
    case SF_STR_MAP: {
        serf_str_pair *kv = e;
        int rc = read_string(r, &kv->key);
        return rc ? rc : read_string(r, &kv->value);
    }
    case SF_LTIME_MAP: {
        serf_ltime_pair *kv = e;
        int rc = read_string(r, &kv->name);
        return rc ? rc : read_u(r, UINT64_MAX, &kv->ltime);
    }
    case SF_STRUCT_LIST:
        if (f->sub->present_off != SERF_NOT_NILABLE) {
            bool *present = (bool *)(void *)((char *)e + f->sub->present_off);
            if (wire_mp_read_nil(r))
                return WIRE_OK;
            int rc = serf_fields_decode(r, f->sub, e);
            *present = rc == WIRE_OK;
            return rc;
        }
        return serf_fields_decode(r, f->sub, e);
    default:
        return WIRE_EFORMAT;
    }
}

/* A list or map: c0 is nil; otherwise one array of count elements, never
 * NULL (an empty one too), so that nil and empty stay apart. The count
 * was checked against the bytes left by the header read. */
static int decode_list(wire_mp_reader *r, const serf_field *f, void *at)
{
    if (wire_mp_read_nil(r))
        return WIRE_OK;
    uint32_t count;
    bool map = f->kind == SF_STR_MAP || f->kind == SF_LTIME_MAP;
    int rc = map ? wire_mp_read_map(r, &count) : wire_mp_read_array(r, &count);
    if (rc)
        return rc;
    size_t es = elem_size(f);
    void *v = calloc(count ? count : 1, es);
    if (!v)
        return WIRE_ENOMEM;
    /* stored first, so that an error below frees what was decoded */
    list_set(at, (any_list){ v, 0 });
    for (uint32_t i = 0; i < count; i++) {
        rc = decode_elem(r, f, (char *)v + (size_t)i * es);
        if (rc)
            return rc;
        list_set(at, (any_list){ v, (size_t)i + 1 });
    }
    return WIRE_OK;
}

int serf_field_decode(wire_mp_reader *r, const serf_field *f, void *obj)
{
    char *at = (char *)obj + f->off;
    uint64_t u;
    int rc;

    switch (f->kind) {
    case SF_BOOL: {
        bool b = false;
        rc = wire_mp_read_nil(r) ? WIRE_OK : wire_mp_read_bool(r, &b);
        *(bool *)(void *)at = b;
        return rc;
    }
    case SF_U8:
        rc = read_u(r, UINT8_MAX, &u);
        *(uint8_t *)(void *)at = (uint8_t)u;
        return rc;
    case SF_U16:
        rc = read_u(r, UINT16_MAX, &u);
        *(uint16_t *)(void *)at = (uint16_t)u;
        return rc;
    case SF_U32:
        rc = read_u(r, UINT32_MAX, &u);
        *(uint32_t *)(void *)at = (uint32_t)u;
        return rc;
    case SF_U64:
        return read_u(r, UINT64_MAX, (uint64_t *)(void *)at);
    case SF_INT: {
        int64_t s = 0;
        rc = wire_mp_read_nil(r) ? WIRE_OK : wire_mp_read_int(r, INT64_MIN, INT64_MAX, &s);
        *(int64_t *)(void *)at = s;
        return rc;
    }
    case SF_STRING:
        return read_string(r, (wire_bytes *)(void *)at);
    case SF_BYTES:
        return wire_mp_read_raw(r, (wire_bytes *)(void *)at);
    case SF_RAW_LIST:
    case SF_STR_MAP:
    case SF_LTIME_MAP:
    case SF_STRUCT_LIST:
        serf_field_free(f, obj);   /* a repeated key: last wins */
        return decode_list(r, f, at);
    case SF_STRUCT:
        serf_field_free(f, obj);
        return serf_fields_decode(r, f->sub, at);
    }
    return WIRE_EFORMAT;
}

static const serf_field *find_field(const serf_table *t, wire_bytes key)
{
    for (size_t i = 0; key.p && i < t->n; i++)
        if (wire_mp_eq(key, t->f[i].name))
            return &t->f[i];
    return NULL;
}

int serf_fields_decode(wire_mp_reader *r, const serf_table *t, void *obj)
{
    memset(obj, 0, t->size);
    if (wire_mp_read_nil(r))
        return WIRE_OK;
    uint32_t count;
    int rc = wire_mp_read_map(r, &count);
    for (uint32_t i = 0; !rc && i < count; i++) {
        wire_bytes key;
        /* keys are strings; a nil key is go-msgpack's "" (unknown) */
        rc = wire_mp_read_raw(r, &key);
        if (rc)
            break;
        const serf_field *f = find_field(t, key);
        rc = f ? serf_field_decode(r, f, obj) : wire_mp_skip(r);
    }
    if (rc)
        serf_fields_free(t, obj);
    return rc;
}

int serf_fields_decode_msg(const uint8_t *p, size_t n, uint8_t type, const serf_table *t, void *obj,
                           size_t *used)
{
    memset(obj, 0, t->size);
    if (!p || n < 1)
        return WIRE_ETRUNC;
    if (p[0] != type)
        return WIRE_ETYPE;
    wire_mp_reader r;
    wire_mp_reader_init(&r, p + 1, n - 1);
    int rc = serf_fields_decode(&r, t, obj);
    if (!rc && used)
        *used = 1 + wire_mp_consumed(&r);
    return rc;
}

/* ---- encoding ---------------------------------------------------------- */

static void encode_elem(wire_mp_writer *w, const serf_field *f, const void *e)
{
    switch (f->kind) {
    case SF_RAW_LIST:
        wire_mp_pack_bytes(w, *(const wire_bytes *)e);
        return;
    case SF_STR_MAP: {
        const serf_str_pair *kv = e;
        wire_mp_pack_string(w, kv->key);
        wire_mp_pack_string(w, kv->value);
        return;
    }
    case SF_LTIME_MAP: {
        const serf_ltime_pair *kv = e;
        wire_mp_pack_string(w, kv->name);
        wire_mp_pack_uint(w, kv->ltime);
        return;
    }
    case SF_STRUCT_LIST:
        if (elem_present(f->sub, e))
            serf_fields_encode(w, f->sub, e);
        else
            wire_mp_pack_nil(w);
        return;
    default:
        wire_mp_fail(w, WIRE_EFORMAT);
        return;
    }
}

static void encode_list(wire_mp_writer *w, const serf_field *f, const void *at)
{
    any_list l = list_get(at);
    if (!l.v) {
        if (l.n)
            wire_mp_fail(w, WIRE_EFORMAT);   /* n elements of nothing */
        wire_mp_pack_nil(w);
        return;
    }
    bool map = f->kind == SF_STR_MAP || f->kind == SF_LTIME_MAP;
    wire_mp_container c;
    if (map)
        wire_mp_map_begin(w, &c);
    else
        wire_mp_array_begin(w, &c);
    size_t es = elem_size(f);
    for (size_t i = 0; i < l.n && !wire_mp_error(w); i++)
        encode_elem(w, f, (const char *)l.v + i * es);
    if (map)
        wire_mp_map_end(w, &c);
    else
        wire_mp_array_end(w, &c);
}

void serf_field_encode(wire_mp_writer *w, const serf_field *f, const void *obj)
{
    const char *at = (const char *)obj + f->off;
    switch (f->kind) {
    case SF_BOOL: wire_mp_pack_bool(w, *(const bool *)(const void *)at); return;
    case SF_U8: wire_mp_pack_uint(w, *(const uint8_t *)(const void *)at); return;
    case SF_U16: wire_mp_pack_uint(w, *(const uint16_t *)(const void *)at); return;
    case SF_U32: wire_mp_pack_uint(w, *(const uint32_t *)(const void *)at); return;
    case SF_U64: wire_mp_pack_uint(w, *(const uint64_t *)(const void *)at); return;
    case SF_INT: wire_mp_pack_int(w, *(const int64_t *)(const void *)at, WIRE_INT_GO_MSGPACK_V0); return;
    case SF_STRING: wire_mp_pack_string(w, *(const wire_bytes *)(const void *)at); return;
    case SF_BYTES: wire_mp_pack_bytes(w, *(const wire_bytes *)(const void *)at); return;
    case SF_RAW_LIST:
    case SF_STR_MAP:
    case SF_LTIME_MAP:
    case SF_STRUCT_LIST: encode_list(w, f, at); return;
    case SF_STRUCT: serf_fields_encode(w, f->sub, at); return;
    }
    wire_mp_fail(w, WIRE_EFORMAT);
}

void serf_fields_encode(wire_mp_writer *w, const serf_table *t, const void *obj)
{
    wire_mp_container m;
    wire_mp_map_begin(w, &m);
    for (size_t i = 0; i < t->n; i++) {
        wire_mp_pack_cstr(w, t->f[i].name);
        serf_field_encode(w, &t->f[i], obj);
    }
    wire_mp_map_end(w, &m);
}

int serf_fields_encode_msg(wire_buf *out, uint8_t type, const serf_table *t, const void *obj)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, type);
    serf_fields_encode(&w, t, obj);
    return wire_mp_finish(&w);
}
