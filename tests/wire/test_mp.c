/* wire_mp: the msgpack cursor and the go-msgpack-style writer, format by
 * format and at every range boundary; the writer's sticky error and its
 * counted maps and arrays. */
#include <string.h>

#include "check.h"
#include "wire/wire_mp.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;
    while (h[0] && h[1] && n < cap && sscanf(h, "%2x", &v) == 1) {
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

/* Reads hex as one unsigned value with the given max; returns rc. */
static int ru(const char *hex, uint64_t max, uint64_t *v)
{
    uint8_t b[32];
    size_t n = unhex(hex, b, sizeof b);
    uint8_t *p = malloc(n ? n : 1);   /* exact size: the sanitizer sees overruns */
    memcpy(p, b, n);
    wire_mp_reader r;
    wire_mp_reader_init(&r, p, n);
    int rc = wire_mp_read_uint(&r, max, v);
    if (rc)
        CHECK(wire_mp_consumed(&r) == 0);   /* cursor untouched on error */
    else
        CHECK_EQ_INT(wire_mp_consumed(&r), n);
    free(p);
    return rc;
}

static int ri(const char *hex, int64_t min, int64_t max, int64_t *v)
{
    uint8_t b[32];
    size_t n = unhex(hex, b, sizeof b);
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, b, n);
    wire_mp_reader r;
    wire_mp_reader_init(&r, p, n);
    int rc = wire_mp_read_int(&r, min, max, v);
    if (rc)
        CHECK(wire_mp_consumed(&r) == 0);
    else
        CHECK_EQ_INT(wire_mp_consumed(&r), n);
    free(p);
    return rc;
}

static void test_read_uint(void)
{
    uint64_t v = 0;
    CHECK(ru("00", 255, &v) == WIRE_OK && v == 0);
    CHECK(ru("7f", 255, &v) == WIRE_OK && v == 127);
    CHECK(ru("ccff", 255, &v) == WIRE_OK && v == 255);
    CHECK(ru("cd0100", 255, &v) == WIRE_ERANGE);
    CHECK(ru("cdffff", UINT16_MAX, &v) == WIRE_OK && v == 65535);
    CHECK(ru("ce00011170", UINT16_MAX, &v) == WIRE_ERANGE);          /* 70000 */
    CHECK(ru("ceffffffff", UINT32_MAX, &v) == WIRE_OK && v == UINT32_MAX);
    CHECK(ru("cf0000000100000000", UINT32_MAX, &v) == WIRE_ERANGE);  /* 2^32 */
    CHECK(ru("cfffffffffffffffff", UINT64_MAX, &v) == WIRE_OK && v == UINT64_MAX);
    /* signed formats holding non-negative values are fine */
    CHECK(ru("d07f", 255, &v) == WIRE_OK && v == 127);
    CHECK(ru("d100c8", 255, &v) == WIRE_OK && v == 200);
    CHECK(ru("d200010000", UINT32_MAX, &v) == WIRE_OK && v == 65536);
    CHECK(ru("d30000000000000005", 255, &v) == WIRE_OK && v == 5);
    /* negatives into unsigned */
    CHECK(ru("ff", UINT32_MAX, &v) == WIRE_ERANGE);
    CHECK(ru("e0", UINT32_MAX, &v) == WIRE_ERANGE);
    CHECK(ru("d0ff", UINT32_MAX, &v) == WIRE_ERANGE);
    CHECK(ru("d1ff38", UINT32_MAX, &v) == WIRE_ERANGE);
    CHECK(ru("d3ffffffffffffffff", UINT64_MAX, &v) == WIRE_ERANGE);
    /* truncated and wrong kinds */
    CHECK(ru("", 255, &v) == WIRE_ETRUNC);
    CHECK(ru("cc", 255, &v) == WIRE_ETRUNC);
    CHECK(ru("cd01", UINT16_MAX, &v) == WIRE_ETRUNC);
    CHECK(ru("ce000000", UINT32_MAX, &v) == WIRE_ETRUNC);
    CHECK(ru("cf00000000000000", UINT64_MAX, &v) == WIRE_ETRUNC);
    CHECK(ru("d300000000000000", UINT64_MAX, &v) == WIRE_ETRUNC);
    CHECK(ru("c0", 255, &v) == WIRE_EFORMAT);
    CHECK(ru("c3", 255, &v) == WIRE_EFORMAT);
    CHECK(ru("a131", 255, &v) == WIRE_EFORMAT);
    CHECK(ru("ca00000000", 255, &v) == WIRE_EFORMAT);   /* float: never an int field */
}

static void test_read_int(void)
{
    int64_t v = 0;
    CHECK(ri("ff", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == -1);
    CHECK(ri("e0", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == -32);
    CHECK(ri("d080", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == -128);
    CHECK(ri("d18000", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == INT16_MIN);
    CHECK(ri("d280000000", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == INT32_MIN);
    CHECK(ri("d38000000000000000", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == INT64_MIN);
    CHECK(ri("cf7fffffffffffffff", INT64_MIN, INT64_MAX, &v) == WIRE_OK && v == INT64_MAX);
    CHECK(ri("cf8000000000000000", INT64_MIN, INT64_MAX, &v) == WIRE_ERANGE);
    CHECK(ri("cc80", INT64_MIN, 127, &v) == WIRE_ERANGE);
    CHECK(ri("ff", 0, 10, &v) == WIRE_ERANGE);
    CHECK(ri("0a", 0, 10, &v) == WIRE_OK && v == 10);
    CHECK(ri("d1", INT64_MIN, INT64_MAX, &v) == WIRE_ETRUNC);
}

static int one(const char *hex, int (*fn)(wire_mp_reader *, void *), void *out, size_t *consumed)
{
    uint8_t b[64];
    size_t n = unhex(hex, b, sizeof b);
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, b, n);
    wire_mp_reader r;
    wire_mp_reader_init(&r, p, n);
    int rc = fn(&r, out);
    *consumed = wire_mp_consumed(&r);
    free(p);
    return rc;
}

static int f_bool(wire_mp_reader *r, void *o) { return wire_mp_read_bool(r, o); }
static int f_raw(wire_mp_reader *r, void *o) { return wire_mp_read_raw(r, o); }
static int f_map(wire_mp_reader *r, void *o) { return wire_mp_read_map(r, o); }
static int f_arr(wire_mp_reader *r, void *o) { return wire_mp_read_array(r, o); }
static int f_skip(wire_mp_reader *r, void *o) { (void)o; return wire_mp_skip(r); }

static void test_bool_raw_containers(void)
{
    bool b = false;
    size_t c;
    CHECK(one("c3", f_bool, &b, &c) == WIRE_OK && b && c == 1);
    CHECK(one("c2", f_bool, &b, &c) == WIRE_OK && !b);
    CHECK(one("01", f_bool, &b, &c) == WIRE_OK && b);   /* go-msgpack accepts 0/1 */
    CHECK(one("00", f_bool, &b, &c) == WIRE_OK && !b);
    CHECK(one("02", f_bool, &b, &c) == WIRE_EFORMAT && c == 0);
    CHECK(one("a0", f_bool, &b, &c) == WIRE_EFORMAT);
    CHECK(one("", f_bool, &b, &c) == WIRE_ETRUNC);

    wire_bytes v;
    /* (one() frees its input: views are checked for length only) */
    CHECK(one("a26e31", f_raw, &v, &c) == WIRE_OK && v.p && v.n == 2 && c == 3);
    static const uint8_t in[] = { 0xd9, 0x02, 'n', '1', 0x07 };
    wire_mp_reader r;
    wire_mp_reader_init(&r, in, sizeof in);
    CHECK(wire_mp_read_raw(&r, &v) == WIRE_OK && v.p == in + 2 && v.n == 2 && wire_mp_left(&r) == 1);
    CHECK(one("a0", f_raw, &v, &c) == WIRE_OK && v.p && v.n == 0);
    CHECK(one("c0", f_raw, &v, &c) == WIRE_OK && !v.p && v.n == 0 && c == 1);
    CHECK(one("d9026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2 && c == 4);
    CHECK(one("da00026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2 && c == 5);
    CHECK(one("db000000026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2 && c == 7);
    CHECK(one("c4026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2);
    CHECK(one("c500026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2);
    CHECK(one("c6000000026e31", f_raw, &v, &c) == WIRE_OK && v.n == 2);
    CHECK(one("a36e31", f_raw, &v, &c) == WIRE_ETRUNC && c == 0);
    CHECK(one("dbffffffff6e31", f_raw, &v, &c) == WIRE_ETRUNC);
    CHECK(one("c6ffffffff", f_raw, &v, &c) == WIRE_ETRUNC);
    CHECK(one("da00", f_raw, &v, &c) == WIRE_ETRUNC);
    CHECK(one("01", f_raw, &v, &c) == WIRE_EFORMAT);
    CHECK(one("90", f_raw, &v, &c) == WIRE_EFORMAT);

    uint32_t n;
    CHECK(one("80", f_map, &n, &c) == WIRE_OK && n == 0);
    CHECK(one("81a100c0", f_map, &n, &c) == WIRE_OK && n == 1 && c == 1);
    CHECK(one("de0001a100c0", f_map, &n, &c) == WIRE_OK && n == 1 && c == 3);
    CHECK(one("df00000001a100c0", f_map, &n, &c) == WIRE_OK && n == 1 && c == 5);
    /* 4 billion entries declared in 5 bytes: refused before any work */
    CHECK(one("dfffffffff", f_map, &n, &c) == WIRE_ETRUNC && c == 0);
    CHECK(one("ddffffffff", f_arr, &n, &c) == WIRE_ETRUNC && c == 0);
    CHECK(one("82a100c0", f_map, &n, &c) == WIRE_ETRUNC);
    CHECK(one("920101", f_arr, &n, &c) == WIRE_OK && n == 2);
    CHECK(one("93", f_arr, &n, &c) == WIRE_ETRUNC);
    CHECK(one("90", f_map, &n, &c) == WIRE_EFORMAT);
    CHECK(one("de00", f_map, &n, &c) == WIRE_ETRUNC);
}

static void test_skip(void)
{
    size_t c;
    struct { const char *hex; int rc; size_t consumed; } cases[] = {
        { "c0", WIRE_OK, 1 }, { "c2", WIRE_OK, 1 }, { "7f", WIRE_OK, 1 }, { "e0", WIRE_OK, 1 },
        { "cc01", WIRE_OK, 2 }, { "d1ffff", WIRE_OK, 3 }, { "ca3f800000", WIRE_OK, 5 },
        { "cb3ff0000000000000", WIRE_OK, 9 }, { "cb3ff00000000000", WIRE_ETRUNC, 0 },
        { "d40101", WIRE_OK, 3 }, { "d501", WIRE_ETRUNC, 0 }, { "d8" "01" "00112233445566778899aabbccddeeff", WIRE_OK, 18 },
        { "c70201aabb", WIRE_OK, 5 }, { "c70201aa", WIRE_ETRUNC, 0 }, { "c7", WIRE_ETRUNC, 0 },
        { "c8000101ff", WIRE_OK, 5 }, { "c9ffffffff01", WIRE_ETRUNC, 0 },
        { "c1", WIRE_EFORMAT, 0 }, { "9201c1", WIRE_EFORMAT, 0 },
        { "82a161c0a162920102", WIRE_OK, 9 }, { "82a161c0a16292", WIRE_ETRUNC, 0 },
        { "dc000101", WIRE_OK, 4 }, { "a3616263", WIRE_OK, 4 }, { "c403010203", WIRE_OK, 5 },
        { "", WIRE_ETRUNC, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = one(cases[i].hex, f_skip, NULL, &c);
        CHECKF(rc == cases[i].rc && c == cases[i].consumed, "skip %s: rc %d consumed %zu", cases[i].hex, rc, c);
    }

    /* Nesting: exactly WIRE_MP_MAX_DEPTH containers deep is fine, one more
     * is WIRE_EDEPTH, and a 100 000-deep input fails fast without
     * recursing 100 000 times. */
    size_t deep = 100000;
    uint8_t *p = malloc(deep + 1);
    for (int levels = WIRE_MP_MAX_DEPTH; levels <= WIRE_MP_MAX_DEPTH + 1; levels++) {
        memset(p, 0x91, (size_t)levels);
        p[levels] = 0xc0;
        wire_mp_reader r;
        wire_mp_reader_init(&r, p, (size_t)levels + 1);
        int rc = wire_mp_skip(&r);
        CHECK_EQ_INT(rc, levels == WIRE_MP_MAX_DEPTH ? WIRE_OK : WIRE_EDEPTH);
    }
    memset(p, 0x81, deep);   /* maps: key position nests too */
    p[deep] = 0xc0;
    wire_mp_reader r;
    wire_mp_reader_init(&r, p, deep + 1);
    CHECK_EQ_INT(wire_mp_skip(&r), WIRE_EDEPTH);
    CHECK_EQ_INT(wire_mp_consumed(&r), 0);
    free(p);
}

static void expect(wire_buf *b, const char *hex, int line)
{
    uint8_t want[256];
    size_t n = unhex(hex, want, sizeof want);
    CHECKF(b->len == n && !memcmp(b->data, want, n), "line %d: packed bytes differ from %s", line, hex);
    wire_buf_reset(b);
}

static void test_pack(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_mp_writer w;
    struct { uint64_t v; const char *hex; } u[] = {
        { 0, "00" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" }, { 256, "cd0100" },
        { 65535, "cdffff" }, { 65536, "ce00010000" }, { UINT32_MAX, "ceffffffff" },
        { (uint64_t)1 << 32, "cf0000000100000000" },
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        wire_mp_writer_init(&w, &b);
        wire_mp_pack_uint(&w, u[i].v);
        REQUIRE(wire_mp_finish(&w) == WIRE_OK);
        expect(&b, u[i].hex, __LINE__);
    }
    struct { int64_t v; const char *v0, *v2; } s[] = {
        { 0, "00", "00" }, { 127, "7f", "7f" }, { 128, "cc80", "d10080" }, { 200, "ccc8", "d100c8" },
        { 32767, "cd7fff", "d17fff" }, { 32768, "cd8000", "d200008000" },
        { 65536, "ce00010000", "d200010000" }, { INT32_MAX, "ce7fffffff", "d27fffffff" },
        { (int64_t)1 << 31, "ce80000000", "d30000000080000000" },
        { -1, "ff", "ff" }, { -32, "e0", "e0" }, { -33, "d0df", "d0df" }, { -128, "d080", "d080" },
        { -129, "d1ff7f", "d1ff7f" }, { INT16_MIN, "d18000", "d18000" },
        { INT16_MIN - 1, "d2ffff7fff", "d2ffff7fff" }, { INT32_MIN, "d280000000", "d280000000" },
        { (int64_t)INT32_MIN - 1, "d3ffffffff7fffffff", "d3ffffffff7fffffff" },
        { INT64_MIN, "d38000000000000000", "d38000000000000000" },
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        wire_mp_writer_init(&w, &b);
        wire_mp_pack_int(&w, s[i].v, WIRE_INT_GO_MSGPACK_V0);
        REQUIRE(wire_mp_finish(&w) == WIRE_OK);
        expect(&b, s[i].v0, __LINE__);
        wire_mp_writer_init(&w, &b);
        wire_mp_pack_int(&w, s[i].v, WIRE_INT_GO_MSGPACK_V2);
        REQUIRE(wire_mp_finish(&w) == WIRE_OK);
        expect(&b, s[i].v2, __LINE__);
    }
    wire_mp_writer_init(&w, &b);
    wire_mp_pack_bool(&w, true);
    wire_mp_pack_bool(&w, false);
    wire_mp_pack_nil(&w);
    wire_mp_put_byte(&w, 0x07);
    wire_mp_pack_cstr(&w, "ab");
    REQUIRE(wire_mp_finish(&w) == WIRE_OK);
    expect(&b, "c3c2c007a26162", __LINE__);

    /* raw sizes: fixstr to 31, then da (never d9), then db */
    static uint8_t big[70000];
    size_t sizes[] = { 0, 31, 32, 255, 256, 65535, 65536, 70000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        wire_mp_writer_init(&w, &b);
        wire_mp_pack_raw(&w, big, n);
        REQUIRE(wire_mp_finish(&w) == WIRE_OK);
        if (n < 32) {
            CHECK(b.len == 1 + n && b.data[0] == (0xa0 | n));
        } else if (n < 65536) {
            CHECK(b.len == 3 + n && b.data[0] == 0xda && b.data[1] == n >> 8 && b.data[2] == (n & 0xff));
        } else {
            CHECK(b.len == 5 + n && b.data[0] == 0xdb && b.data[1] == 0 && b.data[2] == (n >> 16) &&
                  b.data[3] == ((n >> 8) & 0xff) && b.data[4] == (n & 0xff));
        }
        wire_buf_reset(&b);
    }
    /* bin: c4 up to 255, c5, c6; counted in its map like any item */
    size_t bins[] = { 4, 255, 256, 65536 };
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        size_t n = bins[i];
        wire_mp_container m;
        wire_mp_writer_init(&w, &b);
        wire_mp_map_begin(&w, &m);
        wire_mp_pack_cstr(&w, "A");
        wire_mp_pack_bin(&w, big, n);
        wire_mp_map_end(&w, &m);
        REQUIRE(wire_mp_finish(&w) == WIRE_OK);
        CHECK(b.data[0] == 0x81 && b.data[1] == 0xa1 && b.data[2] == 'A');
        const uint8_t *h = b.data + 3;
        if (n < 256)
            CHECK(b.len == 3 + 2 + n && h[0] == 0xc4 && h[1] == n);
        else if (n < 65536)
            CHECK(b.len == 3 + 3 + n && h[0] == 0xc5 && h[1] == n >> 8 && h[2] == (n & 0xff));
        else
            CHECK(b.len == 3 + 5 + n && h[0] == 0xc6 && h[2] == (n >> 16) && h[4] == (n & 0xff));
        wire_buf_reset(&b);
    }
    wire_mp_writer_init(&w, &b);
    wire_mp_pack_bytes(&w, wire_bytes_of(NULL, 0));
    wire_mp_pack_bytes(&w, wire_bytes_of("", 0));
    wire_mp_pack_string(&w, wire_bytes_of(NULL, 0));
    REQUIRE(wire_mp_finish(&w) == WIRE_OK);
    expect(&b, "c0a0a0", __LINE__);

    /* packing into a capped buffer fails cleanly */
    wire_buf small;
    wire_buf_init(&small, 4);
    wire_mp_writer_init(&w, &small);
    wire_mp_pack_raw(&w, big, 10);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_ELIMIT);
    CHECK_EQ_INT(small.len, 0);
    wire_buf_free(&small);
    wire_buf_free(&b);
}

/* The first error sticks: a capped buffer that overflows in the middle of
 * a map takes nothing more, never grows past its cap, and the pass reports
 * that first error once, at the end, with the buffer as it was before. */
static void test_sticky_error(void)
{
    static const uint8_t value[20];
    wire_buf b;
    wire_buf_init(&b, 16);
    REQUIRE(wire_buf_append(&b, "pre", 3) == WIRE_OK);   /* someone else's bytes, kept */

    wire_mp_writer w;
    wire_mp_container m;
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "key");
    CHECK_EQ_INT(wire_mp_error(&w), WIRE_OK);
    CHECK_EQ_INT(b.len, 3 + 1 + 4);
    wire_mp_pack_raw(&w, value, sizeof value);   /* 21 bytes: past the cap of 16 */
    CHECK_EQ_INT(wire_mp_error(&w), WIRE_ELIMIT);
    CHECK_EQ_INT(b.len, 8);                      /* nothing of the refused item */
    wire_mp_pack_cstr(&w, "k2");                 /* would fit, but the pass has failed */
    wire_mp_pack_uint(&w, 1);
    wire_mp_pack_nil(&w);
    wire_mp_put_byte(&w, 'x');
    wire_mp_container inner;
    wire_mp_array_begin(&w, &inner);
    wire_mp_array_end(&w, &inner);
    wire_mp_map_end(&w, &m);
    CHECK_EQ_INT(b.len, 8);
    CHECK(b.cap <= b.max && b.len <= b.max);
    wire_mp_fail(&w, WIRE_ERANGE);               /* a later error does not replace the first */
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_ELIMIT);
    CHECK_MEM(b.data, b.len, "pre", 3);          /* back to where the pass began */

    /* the error belonged to that pass: the next one starts clean */
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "k");
    wire_mp_pack_nil(&w);
    wire_mp_map_end(&w, &m);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_OK);
    CHECK_MEM(b.data, b.len, "pre\x81\xa1k\xc0", 7);

    wire_buf_free(&b);

    /* a widened header must fit too: 16 one-byte items and the fix form's
     * byte fill a 17-byte cap, and the 2 more bytes of dc 0010 are refused
     * at end */
    wire_buf_init(&b, 17);
    wire_mp_writer_init(&w, &b);
    wire_mp_array_begin(&w, &inner);
    for (int i = 0; i < 16; i++)
        wire_mp_pack_uint(&w, 1);
    CHECK_EQ_INT(wire_mp_error(&w), WIRE_OK);
    CHECK_EQ_INT(b.len, 17);
    wire_mp_array_end(&w, &inner);
    CHECK_EQ_INT(wire_mp_error(&w), WIRE_ELIMIT);
    CHECK(b.cap <= b.max);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_ELIMIT);
    CHECK_EQ_INT(b.len, 0);
    wire_buf_free(&b);
}

/* Misuse of begin/end is an error of the pass, never a wrong header. */
static void test_container_misuse(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_mp_writer w;
    wire_mp_container m, a;

    wire_mp_writer_init(&w, &b);   /* a key without its value */
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "k");
    wire_mp_map_end(&w, &m);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_EFORMAT);
    CHECK_EQ_INT(b.len, 0);

    wire_mp_writer_init(&w, &b);   /* never ended */
    wire_mp_map_begin(&w, &m);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_EFORMAT);

    wire_mp_writer_init(&w, &b);   /* ended out of order */
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "k");
    wire_mp_array_begin(&w, &a);
    wire_mp_map_end(&w, &m);
    wire_mp_array_end(&w, &a);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_EFORMAT);

    wire_mp_writer_init(&w, &b);   /* an array ended as a map */
    wire_mp_array_begin(&w, &a);
    wire_mp_map_end(&w, &a);
    CHECK_EQ_INT(wire_mp_finish(&w), WIRE_EFORMAT);
    CHECK_EQ_INT(b.len, 0);
    wire_buf_free(&b);
}

/* begin/end count what went in and write the smallest header, as
 * go-msgpack would: fix up to 15, 16-bit to 65535, 32-bit beyond. */
static void test_counted(void)
{
    struct { uint32_t n; const char *map, *array; } cases[] = {
        { 0, "80", "90" }, { 1, "81", "91" }, { 15, "8f", "9f" }, { 16, "de0010", "dc0010" },
        { 65535, "deffff", "dcffff" }, { 65536, "df00010000", "dd00010000" },
    };
    wire_buf b;
    wire_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int is_map = 0; is_map <= 1; is_map++) {
            uint32_t n = cases[i].n;
            wire_mp_writer w;
            wire_mp_container c;
            wire_mp_writer_init(&w, &b);
            if (is_map)
                wire_mp_map_begin(&w, &c);
            else
                wire_mp_array_begin(&w, &c);
            for (uint32_t k = 0; k < n; k++) {
                wire_mp_pack_uint(&w, k & 0x7f);   /* one byte each: the body is easy to check */
                if (is_map)
                    wire_mp_pack_nil(&w);
            }
            if (is_map)
                wire_mp_map_end(&w, &c);
            else
                wire_mp_array_end(&w, &c);
            REQUIRE(wire_mp_finish(&w) == WIRE_OK);

            uint8_t want[5];
            size_t hn = unhex(is_map ? cases[i].map : cases[i].array, want, sizeof want);
            size_t per = is_map ? 2 : 1;
            CHECKF(b.len == hn + per * n && memcmp(b.data, want, hn) == 0, "%s of %u: header or size",
                   is_map ? "map" : "array", n);
            bool body_ok = true;
            for (uint32_t k = 0; k < n && body_ok; k++)
                body_ok = b.data[hn + per * k] == (k & 0x7f) && (!is_map || b.data[hn + per * k + 1] == 0xc0);
            CHECKF(body_ok, "%s of %u: entries moved wrong", is_map ? "map" : "array", n);

            /* and the reader agrees */
            wire_mp_reader r;
            uint32_t got = 0;
            wire_mp_reader_init(&r, b.data, b.len);
            CHECK((is_map ? wire_mp_read_map(&r, &got) : wire_mp_read_array(&r, &got)) == WIRE_OK && got == n);
            wire_buf_reset(&b);
        }
    }

    /* Nested: an inner header widened first, then the outer one, each
     * counting the other as one item. */
    wire_mp_writer w;
    wire_mp_container outer, inner, empty;
    wire_mp_writer_init(&w, &b);
    wire_mp_put_byte(&w, 0x02);   /* a type byte before the map, as memberlist sends */
    wire_mp_map_begin(&w, &outer);
    wire_mp_pack_cstr(&w, "a");
    wire_mp_array_begin(&w, &inner);
    for (int k = 0; k < 16; k++)
        wire_mp_pack_uint(&w, (uint64_t)k);
    wire_mp_array_end(&w, &inner);
    wire_mp_pack_cstr(&w, "b");
    wire_mp_map_begin(&w, &empty);
    wire_mp_map_end(&w, &empty);
    for (int k = 0; k < 7; k++) {   /* 9 entries in all: still a fixmap */
        wire_mp_pack_uint(&w, (uint64_t)k);
        wire_mp_pack_bool(&w, true);
    }
    wire_mp_map_end(&w, &outer);
    REQUIRE(wire_mp_finish(&w) == WIRE_OK);
    expect(&b, "02" "89" "a161" "dc0010" "000102030405060708090a0b0c0d0e0f" "a162" "80"
               "00c301c302c303c304c305c306c3", __LINE__);

    wire_mp_writer_init(&w, &b);
    wire_mp_array_begin(&w, &outer);
    wire_mp_array_begin(&w, &inner);
    for (int k = 0; k < 16; k++)
        wire_mp_pack_nil(&w);
    wire_mp_array_end(&w, &inner);
    for (int k = 0; k < 15; k++)
        wire_mp_pack_bool(&w, false);
    wire_mp_array_end(&w, &outer);
    REQUIRE(wire_mp_finish(&w) == WIRE_OK);
    expect(&b, "dc0010" "dc0010" "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
               "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2", __LINE__);
    wire_buf_free(&b);
}

static void test_kind_str_eq(void)
{
    struct { const char *hex; wire_mp_kind kind; } kinds[] = {
        { "", WIRE_MP_END }, { "c0", WIRE_MP_NIL }, { "c2", WIRE_MP_BOOL }, { "c3", WIRE_MP_BOOL },
        { "00", WIRE_MP_UINT }, { "7f", WIRE_MP_UINT }, { "cc", WIRE_MP_UINT }, { "cf", WIRE_MP_UINT },
        { "e0", WIRE_MP_INT }, { "ff", WIRE_MP_INT }, { "d0", WIRE_MP_INT }, { "d3", WIRE_MP_INT },
        { "ca", WIRE_MP_FLOAT }, { "cb", WIRE_MP_FLOAT }, { "a0", WIRE_MP_STR }, { "bf", WIRE_MP_STR },
        { "d9", WIRE_MP_STR }, { "db", WIRE_MP_STR }, { "c4", WIRE_MP_BIN }, { "c6", WIRE_MP_BIN },
        { "90", WIRE_MP_ARRAY }, { "dc", WIRE_MP_ARRAY }, { "dd", WIRE_MP_ARRAY }, { "80", WIRE_MP_MAP },
        { "8f", WIRE_MP_MAP }, { "de", WIRE_MP_MAP }, { "df", WIRE_MP_MAP }, { "c7", WIRE_MP_EXT },
        { "c9", WIRE_MP_EXT }, { "d4", WIRE_MP_EXT }, { "d8", WIRE_MP_EXT }, { "c1", WIRE_MP_BAD },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        uint8_t in[1];
        wire_mp_reader r;
        wire_mp_reader_init(&r, in, unhex(kinds[i].hex, in, sizeof in));
        CHECKF(wire_mp_peek_kind(&r) == kinds[i].kind, "kind of %s", kinds[i].hex);
        CHECK_EQ_INT(wire_mp_consumed(&r), 0);
    }

    /* read_str: strings and bin as views, nil refused without moving */
    static const uint8_t in[] = { 0xc0, 0xa0, 0xa2, 'h', 'i', 0xc4, 0x01, 'b' };
    wire_mp_reader r;
    wire_bytes v;
    wire_mp_reader_init(&r, in, sizeof in);
    CHECK_EQ_INT(wire_mp_read_str(&r, &v), WIRE_EFORMAT);
    CHECK_EQ_INT(wire_mp_consumed(&r), 0);
    CHECK(wire_mp_read_nil(&r));
    CHECK(wire_mp_read_str(&r, &v) == WIRE_OK && v.p == in + 2 && v.n == 0);
    CHECK(wire_mp_eq(v, "") && !wire_mp_eq(v, "x"));
    CHECK(wire_mp_read_str(&r, &v) == WIRE_OK && v.n == 2);
    CHECK(wire_mp_eq(v, "hi") && !wire_mp_eq(v, "h") && !wire_mp_eq(v, "hit"));
    CHECK(wire_mp_read_str(&r, &v) == WIRE_OK && wire_mp_eq(v, "b"));
    CHECK_EQ_INT(wire_mp_read_str(&r, &v), WIRE_ETRUNC);
    CHECK(!wire_mp_eq(wire_bytes_of(NULL, 0), "x") && wire_mp_eq(wire_bytes_of(NULL, 0), ""));
}

int main(void)
{
    test_read_uint();
    test_read_int();
    test_bool_raw_containers();
    test_skip();
    test_pack();
    test_sticky_error();
    test_container_misuse();
    test_counted();
    test_kind_str_eq();
    return check_done("test_mp");
}
