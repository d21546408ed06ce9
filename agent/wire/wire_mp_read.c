/* wire_mp reading: the bounded cursor (see wire_mp.h). */
#include "wire/wire_mp.h"

#include <string.h>

void wire_mp_reader_init(wire_mp_reader *r, const uint8_t *p, size_t n)
{
    r->start = p;
    r->p = p;
    r->end = n ? p + n : p;   /* NULL + 0 is undefined behaviour, and an empty input may be NULL */
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Reads a big-endian length/value of n bytes after the format byte at q,
 * checking it is there. */
static int read_be(const wire_mp_reader *r, const uint8_t *q, int n, uint64_t *v)
{
    if ((size_t)(r->end - q) < (size_t)1 + (size_t)n)
        return WIRE_ETRUNC;
    *v = be(q + 1, n);
    return WIRE_OK;
}

int wire_mp_peek(const wire_mp_reader *r, uint8_t *byte)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    *byte = *r->p;
    return WIRE_OK;
}

wire_mp_kind wire_mp_peek_kind(const wire_mp_reader *r)
{
    if (r->p >= r->end)
        return WIRE_MP_END;
    uint8_t c = *r->p;
    if (c <= 0x7f || (c >= 0xcc && c <= 0xcf))
        return WIRE_MP_UINT;
    if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3))
        return WIRE_MP_INT;
    if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf)
        return WIRE_MP_MAP;
    if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd)
        return WIRE_MP_ARRAY;
    if ((c & 0xe0) == 0xa0 || (c >= 0xd9 && c <= 0xdb))
        return WIRE_MP_STR;
    if (c >= 0xc4 && c <= 0xc6)
        return WIRE_MP_BIN;
    if ((c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8))
        return WIRE_MP_EXT;
    switch (c) {
    case 0xc0: return WIRE_MP_NIL;
    case 0xc2: case 0xc3: return WIRE_MP_BOOL;
    case 0xca: case 0xcb: return WIRE_MP_FLOAT;
    default: return WIRE_MP_BAD;   /* c1: never used */
    }
}

bool wire_mp_read_nil(wire_mp_reader *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return true;
    }
    return false;
}

/* A container header: fix (mask/fixbase), 16-bit and 32-bit forms. Each
 * entry takes at least min_entry bytes, which bounds the count. */
static int read_container(wire_mp_reader *r, uint8_t fixbase, uint8_t f16, uint8_t f32,
                          size_t min_entry, uint32_t *count)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    uint8_t c = *r->p;
    uint64_t n;
    int hdr;
    if ((c & 0xf0) == fixbase) {
        n = c & 0x0f;
        hdr = 1;
    } else if (c == f16 || c == f32) {
        int w = c == f16 ? 2 : 4;
        int rc = read_be(r, r->p, w, &n);
        if (rc)
            return rc;
        hdr = 1 + w;
    } else {
        return WIRE_EFORMAT;
    }
    size_t left = (size_t)(r->end - r->p) - (size_t)hdr;
    if (n > left / min_entry)
        return WIRE_ETRUNC;
    r->p += hdr;
    *count = (uint32_t)n;
    return WIRE_OK;
}

int wire_mp_read_map(wire_mp_reader *r, uint32_t *count)
{
    return read_container(r, 0x80, 0xde, 0xdf, 2, count);
}

int wire_mp_read_array(wire_mp_reader *r, uint32_t *count)
{
    return read_container(r, 0x90, 0xdc, 0xdd, 1, count);
}

/* Any integer format, without consuming it: a negative value lands in *s
 * (neg set), a non-negative one in *u, and *len is its encoded size. */
static int read_integer(wire_mp_reader *r, bool *neg, uint64_t *u, int64_t *s, size_t *len)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    uint8_t c = *r->p;
    uint64_t v;
    int rc;
    if (c <= 0x7f) {
        *neg = false;
        *u = c;
        *len = 1;
        return WIRE_OK;
    }
    if (c >= 0xe0) {
        *neg = true;
        *s = (int8_t)c;
        *len = 1;
        return WIRE_OK;
    }
    int w;
    bool is_signed;
    switch (c) {
    case 0xcc: w = 1; is_signed = false; break;
    case 0xcd: w = 2; is_signed = false; break;
    case 0xce: w = 4; is_signed = false; break;
    case 0xcf: w = 8; is_signed = false; break;
    case 0xd0: w = 1; is_signed = true; break;
    case 0xd1: w = 2; is_signed = true; break;
    case 0xd2: w = 4; is_signed = true; break;
    case 0xd3: w = 8; is_signed = true; break;
    default: return WIRE_EFORMAT;
    }
    rc = read_be(r, r->p, w, &v);
    if (rc)
        return rc;
    *len = (size_t)1 + (size_t)w;
    if (!is_signed) {
        *neg = false;
        *u = v;
        return WIRE_OK;
    }
    int64_t sv;
    switch (w) {
    case 1: sv = (int8_t)v; break;
    case 2: sv = (int16_t)v; break;
    case 4: sv = (int32_t)v; break;
    default: sv = (int64_t)v; break;
    }
    if (sv >= 0) {
        *neg = false;
        *u = (uint64_t)sv;
    } else {
        *neg = true;
        *s = sv;
    }
    return WIRE_OK;
}

int wire_mp_read_uint(wire_mp_reader *r, uint64_t max, uint64_t *v)
{
    bool neg;
    uint64_t u = 0;
    int64_t s = 0;
    size_t len;
    int rc = read_integer(r, &neg, &u, &s, &len);
    if (rc)
        return rc;
    if (neg || u > max)
        return WIRE_ERANGE;
    r->p += len;
    *v = u;
    return WIRE_OK;
}

int wire_mp_read_int(wire_mp_reader *r, int64_t min, int64_t max, int64_t *v)
{
    bool neg;
    uint64_t u = 0;
    int64_t s = 0;
    size_t len;
    int rc = read_integer(r, &neg, &u, &s, &len);
    if (rc)
        return rc;
    if (neg) {
        if (s < min || s > max)
            return WIRE_ERANGE;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return WIRE_ERANGE;
        s = (int64_t)u;
        if (s < min || s > max)
            return WIRE_ERANGE;
    }
    r->p += len;
    *v = s;
    return WIRE_OK;
}

int wire_mp_read_bool(wire_mp_reader *r, bool *v)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    switch (*r->p) {
    case 0xc2: case 0x00: *v = false; break;
    case 0xc3: case 0x01: *v = true; break;
    default: return WIRE_EFORMAT;
    }
    r->p++;
    return WIRE_OK;
}

int wire_mp_read_raw(wire_mp_reader *r, wire_bytes *v)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    uint8_t c = *r->p;
    uint64_t n;
    int w;
    if (c == 0xc0) {
        r->p++;
        v->p = NULL;
        v->n = 0;
        return WIRE_OK;
    }
    if ((c & 0xe0) == 0xa0) {
        n = c & 0x1f;
        w = 0;
    } else {
        switch (c) {
        case 0xd9: case 0xc4: w = 1; break;
        case 0xda: case 0xc5: w = 2; break;
        case 0xdb: case 0xc6: w = 4; break;
        default: return WIRE_EFORMAT;
        }
        int rc = read_be(r, r->p, w, &n);
        if (rc)
            return rc;
    }
    size_t left = (size_t)(r->end - r->p) - (size_t)1 - (size_t)w;
    if (n > left)
        return WIRE_ETRUNC;
    v->p = r->p + 1 + w;
    v->n = (size_t)n;
    r->p = v->p + n;
    return WIRE_OK;
}

int wire_mp_read_str(wire_mp_reader *r, wire_bytes *v)
{
    if (r->p < r->end && *r->p == 0xc0)
        return WIRE_EFORMAT;
    return wire_mp_read_raw(r, v);
}

bool wire_mp_eq(wire_bytes v, const char *c)
{
    size_t n = strlen(c);
    return v.n == n && (n == 0 || memcmp(v.p, c, n) == 0);
}

/* Recursion is bounded by depth, and every level consumes at least one
 * byte per element, so the work is bounded by the input size. On error the
 * cursor is back where this value started. */
static int skip_at(wire_mp_reader *r, int depth)
{
    if (r->p >= r->end)
        return WIRE_ETRUNC;
    uint8_t c = *r->p;
    uint64_t n;
    int rc;

    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        r->p++;
        return WIRE_OK;
    }
    if ((c & 0xe0) == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb ||
        c == 0xc4 || c == 0xc5 || c == 0xc6) {
        wire_bytes ignored;
        return wire_mp_read_raw(r, &ignored);
    }
    if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf ||
        (c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd) {
        if (depth >= WIRE_MP_MAX_DEPTH)
            return WIRE_EDEPTH;
        bool is_map = (c & 0xf0) == 0x80 || c == 0xde || c == 0xdf;
        const uint8_t *save = r->p;
        uint32_t count;
        rc = is_map ? wire_mp_read_map(r, &count) : wire_mp_read_array(r, &count);
        if (rc)
            return rc;
        uint64_t items = is_map ? (uint64_t)count * 2 : count;
        for (uint64_t i = 0; i < items; i++) {
            rc = skip_at(r, depth + 1);
            if (rc) {
                r->p = save;
                return rc;
            }
        }
        return WIRE_OK;
    }
    /* Fixed-size payloads. */
    size_t fixed;
    switch (c) {
    case 0xcc: case 0xd0: fixed = 1; break;
    case 0xcd: case 0xd1: fixed = 2; break;
    case 0xca: case 0xce: case 0xd2: fixed = 4; break;
    case 0xcb: case 0xcf: case 0xd3: fixed = 8; break;
    case 0xd4: fixed = 2; break;   /* fixext: type byte + 1..16 */
    case 0xd5: fixed = 3; break;
    case 0xd6: fixed = 5; break;
    case 0xd7: fixed = 9; break;
    case 0xd8: fixed = 17; break;
    case 0xc7: case 0xc8: case 0xc9: {
        int w = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
        rc = read_be(r, r->p, w, &n);
        if (rc)
            return rc;
        size_t left = (size_t)(r->end - r->p) - (size_t)1 - (size_t)w;
        if (n >= left)   /* n data bytes plus the ext type byte */
            return WIRE_ETRUNC;
        r->p += 1 + w + 1 + n;
        return WIRE_OK;
    }
    default:
        return WIRE_EFORMAT;   /* c1: never used */
    }
    if ((size_t)(r->end - r->p) - 1 < fixed)
        return WIRE_ETRUNC;
    r->p += 1 + fixed;
    return WIRE_OK;
}

int wire_mp_skip(wire_mp_reader *r)
{
    return skip_at(r, 0);
}
