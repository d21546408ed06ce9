#include "wire/wire_mpx.h"

#include <string.h>

static int put_be(wire_buf *b, uint8_t tag, uint64_t v, int bytes)
{
    uint8_t tmp[9];
    tmp[0] = tag;
    for (int i = 0; i < bytes; i++)
        tmp[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return wire_buf_append(b, tmp, 1 + (size_t)bytes);
}

static int put_len(wire_buf *b, uint32_t n, uint8_t fix, uint32_t fixmax, uint8_t t16, uint8_t t32)
{
    if (n <= fixmax)
        return wire_buf_append_byte(b, (uint8_t)(fix | n));
    if (n <= 0xffff)
        return put_be(b, t16, n, 2);
    return put_be(b, t32, n, 4);
}

int wire_mpx_map(wire_buf *b, uint32_t n) { return put_len(b, n, 0x80, 15, 0xde, 0xdf); }
int wire_mpx_array(wire_buf *b, uint32_t n) { return put_len(b, n, 0x90, 15, 0xdc, 0xdd); }

int wire_mpx_str(wire_buf *b, const void *s, size_t len)
{
    if (len > UINT32_MAX)
        return WIRE_ELIMIT;
    /* old-spec raw: never str8 (d9), which serf's go-msgpack 0.5 rejects */
    int rc = put_len(b, (uint32_t)len, 0xa0, 31, 0xda, 0xdb);
    return rc ? rc : wire_buf_append(b, s, len);
}

int wire_mpx_cstr(wire_buf *b, const char *s) { return wire_mpx_str(b, s, strlen(s)); }

int wire_mpx_uint(wire_buf *b, uint64_t v)
{
    if (v < 128)
        return wire_buf_append_byte(b, (uint8_t)v);
    if (v <= 0xff)
        return put_be(b, 0xcc, v, 1);
    if (v <= 0xffff)
        return put_be(b, 0xcd, v, 2);
    if (v <= 0xffffffffu)
        return put_be(b, 0xce, v, 4);
    return put_be(b, 0xcf, v, 8);
}

int wire_mpx_bool(wire_buf *b, bool v) { return wire_buf_append_byte(b, v ? 0xc3 : 0xc2); }
int wire_mpx_nil(wire_buf *b) { return wire_buf_append_byte(b, 0xc0); }

static int take(wire_mpx_reader *r, size_t k, const uint8_t **out)
{
    if (r->n < k)
        return -1;
    *out = r->p;
    r->p += k;
    r->n -= k;
    return 0;
}

static uint64_t be(const uint8_t *p, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = (v << 8) | p[i];
    return v;
}

wire_mpx_kind wire_mpx_peek(const wire_mpx_reader *r)
{
    if (r->n == 0)
        return WIRE_MPX_END;
    uint8_t c = r->p[0];
    if (c <= 0x7f || c == 0xcc || c == 0xcd || c == 0xce || c == 0xcf)
        return WIRE_MPX_UINT;
    if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3))
        return WIRE_MPX_INT;
    if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf)
        return WIRE_MPX_MAP;
    if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd)
        return WIRE_MPX_ARRAY;
    if ((c & 0xe0) == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb)
        return WIRE_MPX_STR;
    if (c == 0xc4 || c == 0xc5 || c == 0xc6)
        return WIRE_MPX_BIN;
    if (c == 0xc0)
        return WIRE_MPX_NIL;
    if (c == 0xc2 || c == 0xc3)
        return WIRE_MPX_BOOL;
    if (c == 0xca || c == 0xcb)
        return WIRE_MPX_FLOAT;
    if ((c >= 0xd4 && c <= 0xd8) || (c >= 0xc7 && c <= 0xc9))
        return WIRE_MPX_EXT;
    return WIRE_MPX_BAD;
}

static int read_len(wire_mpx_reader *r, uint8_t fixmask, uint8_t fixtag, uint32_t fixmax, uint8_t t8,
                    uint8_t t16, uint8_t t32, uint32_t *n)
{
    const uint8_t *h;
    if (take(r, 1, &h))
        return -1;
    int k;
    if ((h[0] & fixmask) == fixtag) {
        *n = h[0] & fixmax;
        return 0;
    }
    if (t8 && h[0] == t8)
        k = 1;
    else if (h[0] == t16)
        k = 2;
    else if (h[0] == t32)
        k = 4;
    else
        return -1;
    const uint8_t *q;
    if (take(r, (size_t)k, &q))
        return -1;
    *n = (uint32_t)be(q, k);
    return 0;
}

int wire_mpx_read_map(wire_mpx_reader *r, uint32_t *n)
{
    wire_mpx_reader save = *r;
    int rc = read_len(r, 0xf0, 0x80, 15, 0, 0xde, 0xdf, n);
    /* each entry needs at least two bytes: reject impossible counts early */
    if (rc || *n > r->n / 2) {
        *r = save;
        return -1;
    }
    return 0;
}

int wire_mpx_read_array(wire_mpx_reader *r, uint32_t *n)
{
    wire_mpx_reader save = *r;
    int rc = read_len(r, 0xf0, 0x90, 15, 0, 0xdc, 0xdd, n);
    if (rc || *n > r->n) {
        *r = save;
        return -1;
    }
    return 0;
}

int wire_mpx_read_str(wire_mpx_reader *r, const uint8_t **s, size_t *len)
{
    wire_mpx_reader save = *r;
    uint32_t n;
    int rc;
    if (r->n && r->p[0] >= 0xc4 && r->p[0] <= 0xc6)
        rc = read_len(r, 0xff, 0x00, 0, 0xc4, 0xc5, 0xc6, &n);  /* bin: no fix form */
    else
        rc = read_len(r, 0xe0, 0xa0, 31, 0xd9, 0xda, 0xdb, &n);
    if (rc || take(r, n, s)) {
        *r = save;
        return -1;
    }
    *len = n;
    return 0;
}

int wire_mpx_read_uint(wire_mpx_reader *r, uint64_t *v)
{
    wire_mpx_reader save = *r;
    const uint8_t *h, *q;
    if (take(r, 1, &h))
        return -1;
    uint8_t c = h[0];
    if (c <= 0x7f) {
        *v = c;
        return 0;
    }
    int k;
    bool sig = false;
    switch (c) {
    case 0xcc: k = 1; break;
    case 0xcd: k = 2; break;
    case 0xce: k = 4; break;
    case 0xcf: k = 8; break;
    case 0xd0: k = 1; sig = true; break;
    case 0xd1: k = 2; sig = true; break;
    case 0xd2: k = 4; sig = true; break;
    case 0xd3: k = 8; sig = true; break;
    default: *r = save; return -1;
    }
    if (take(r, (size_t)k, &q)) {
        *r = save;
        return -1;
    }
    uint64_t x = be(q, k);
    if (sig && (q[0] & 0x80)) {   /* negative */
        *r = save;
        return -1;
    }
    *v = x;
    return 0;
}

int wire_mpx_read_bool(wire_mpx_reader *r, bool *v)
{
    if (r->n == 0 || (r->p[0] != 0xc2 && r->p[0] != 0xc3))
        return -1;
    *v = r->p[0] == 0xc3;
    r->p++;
    r->n--;
    return 0;
}

static int skip_depth(wire_mpx_reader *r, int depth)
{
    if (depth > 32 || r->n == 0)
        return -1;
    uint8_t c = r->p[0];
    const uint8_t *q;
    uint32_t n;
    switch (wire_mpx_peek(r)) {
    case WIRE_MPX_NIL: case WIRE_MPX_BOOL:
        return take(r, 1, &q);
    case WIRE_MPX_UINT: case WIRE_MPX_INT: {
        if (c <= 0x7f || c >= 0xe0)
            return take(r, 1, &q);
        static const uint8_t sz[4] = { 1, 2, 4, 8 };
        return take(r, 1 + (size_t)sz[(c >= 0xd0 ? c - 0xd0 : c - 0xcc) & 3], &q);
    }
    case WIRE_MPX_FLOAT:
        return take(r, c == 0xca ? 5 : 9, &q);
    case WIRE_MPX_STR: case WIRE_MPX_BIN: {
        const uint8_t *s;
        size_t len;
        return wire_mpx_read_str(r, &s, &len);
    }
    case WIRE_MPX_ARRAY:
        if (wire_mpx_read_array(r, &n))
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (skip_depth(r, depth + 1))
                return -1;
        return 0;
    case WIRE_MPX_MAP:
        if (wire_mpx_read_map(r, &n))
            return -1;
        for (uint32_t i = 0; i < 2 * n; i++)
            if (skip_depth(r, depth + 1))
                return -1;
        return 0;
    case WIRE_MPX_EXT: {
        size_t len;
        if (c >= 0xd4 && c <= 0xd8)
            return take(r, 2 + ((size_t)1 << (c - 0xd4)), &q);
        int k = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
        if (r->n < 1 + (size_t)k)
            return -1;
        len = (size_t)be(r->p + 1, k);
        if (r->n - 1 - (size_t)k < 1 + len)
            return -1;
        return take(r, 2 + (size_t)k + len, &q);
    }
    default:
        return -1;
    }
}

int wire_mpx_skip(wire_mpx_reader *r)
{
    wire_mpx_reader save = *r;
    if (skip_depth(r, 0)) {
        *r = save;
        return -1;
    }
    return 0;
}

bool wire_mpx_eq(const uint8_t *s, size_t len, const char *c)
{
    return strlen(c) == len && memcmp(s, c, len) == 0;
}
