/* LZW (§8): byte-exact against every payload Go compressed in the vectors,
 * round trips, the 4095-code reset, and hostile streams. */
#include "check.h"
#include "fixture_lines.h"

#include "wire/wire_lzw.h"

static void test_vectors(void)
{
    FILE *f = fopen("frames/lzw.txt", "r");
    REQUIRE(f);
    char *line = NULL;
    size_t cap = 0;
    int count = 0;
    while (getline(&line, &cap, f) > 0) {
        char *fl[3];
        if (line[0] == '#' || fx_fields(line, fl, 3) != 3)
            continue;
        size_t pn, cn;
        uint8_t *plain = fx_unhex(fl[1], &pn), *comp = fx_unhex(fl[2], &cn);
        wire_buf b;
        wire_buf_init(&b, 0);
        CHECK_EQ_INT(wire_lzw_compress(&b, plain, pn), WIRE_OK);
        CHECK_MEM(b.data, b.len, comp, cn);
        wire_buf_reset(&b);
        CHECK_EQ_INT(wire_lzw_decompress(&b, comp, cn, pn), WIRE_OK);
        CHECK_MEM(b.data, b.len, plain, pn);
        /* one byte less room than needed must fail, not truncate silently */
        if (pn > 0) {
            wire_buf_reset(&b);
            CHECK_EQ_INT(wire_lzw_decompress(&b, comp, cn, pn - 1), WIRE_ELIMIT);
        }
        /* every truncation loses the EOF code: always an error */
        for (size_t cut = 0; cut < cn; cut++) {
            wire_buf_reset(&b);
            int rc = wire_lzw_decompress(&b, comp, cut, 1 << 20);
            /* the EOF code may sit entirely in the bytes before the last
             * (the last byte then only holds padding) */
            if (!(cut == cn - 1 && rc == WIRE_OK))
                CHECK_EQ_INT(rc, WIRE_ELZW);
        }
        wire_buf_free(&b);
        free(plain);
        free(comp);
        count++;
    }
    free(line);
    fclose(f);
    CHECK(count >= 30);
    fprintf(stderr, "lzw: %d Go payloads reproduced\n", count);
}

static void test_empty(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_lzw_compress(&b, NULL, 0), WIRE_OK);
    /* Clear (256) then EOF (257), 9 bits each, LSB first: 3 bytes */
    static const uint8_t want[] = { 0x00, 0x03, 0x02 };
    CHECK_MEM(b.data, b.len, want, sizeof want);
    wire_buf out;
    wire_buf_init(&out, 0);
    CHECK_EQ_INT(wire_lzw_decompress(&out, b.data, b.len, 10), WIRE_OK);
    CHECK_EQ_INT(out.len, 0);
    wire_buf_free(&out);
    wire_buf_free(&b);
}

static void roundtrip(const uint8_t *in, size_t n, size_t *clears)
{
    wire_buf c, d;
    wire_buf_init(&c, 0);
    wire_buf_init(&d, 0);
    CHECK_EQ_INT(wire_lzw_compress(&c, in, n), WIRE_OK);
    CHECK_EQ_INT(wire_lzw_decompress(&d, c.data, c.len, n), WIRE_OK);
    CHECK_MEM(d.data, d.len, in, n);
    if (clears) {
        /* count Clear codes by replaying the code widths */
        size_t cl = 0;
        uint32_t bits = 0;
        unsigned nbits = 0, width = 9, hi = 257, last_valid = 0;
        size_t pos = 0;
        for (;;) {
            while (nbits < width && pos < c.len) {
                bits |= (uint32_t)c.data[pos++] << nbits;
                nbits += 8;
            }
            if (nbits < width)
                break;
            uint32_t code = bits & ((1u << width) - 1);
            bits >>= width;
            nbits -= width;
            if (code == 256) {
                cl++;
                width = 9;
                hi = 257;
                last_valid = 0;
                continue;
            }
            if (code == 257)
                break;
            (void)last_valid;
            last_valid = 1;
            hi++;
            if (hi >= (1u << width) && width < 12)
                width++;
        }
        *clears = cl;
    }
    wire_buf_free(&c);
    wire_buf_free(&d);
}

static void test_big_reset(void)
{
    /* 70 KB of low-redundancy text: the table fills, forcing Clear at 4095 */
    size_t n = 70 * 1000;
    uint8_t *in = malloc(n);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)('a' + fx_rand(&s) % 20);
    size_t clears = 0;
    roundtrip(in, n, &clears);
    CHECK(clears >= 2); /* the first Clear plus at least one reset */
    /* highly redundant input: long matches and KwKwK */
    memset(in, 'x', n);
    roundtrip(in, n, NULL);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(fx_rand(&s));
    roundtrip(in, n, NULL);
    for (size_t len = 1; len < 600; len += 7)
        roundtrip(in, len, NULL);
    free(in);
}

static void test_hostile(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    /* a code above the next free one */
    static const uint8_t bad[] = { 0x00, 0xff, 0xff, 0xff };
    CHECK_EQ_INT(wire_lzw_decompress(&b, bad, sizeof bad, 100), WIRE_ELZW);
    CHECK_EQ_INT(wire_lzw_decompress(&b, NULL, 0, 100), WIRE_ELZW);
    /* a stream that expands hugely is stopped at max_out */
    uint8_t z[4096];
    memset(z, 'q', sizeof z);
    wire_buf c;
    wire_buf_init(&c, 0);
    uint8_t *big = calloc(1, 1 << 20);
    CHECK_EQ_INT(wire_lzw_compress(&c, big, 1 << 20), WIRE_OK);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_lzw_decompress(&b, c.data, c.len, 1000), WIRE_ELIMIT);
    CHECK(b.len <= 1000);
    free(big);
    /* random garbage: error or success, never a crash */
    uint64_t s = 42;
    for (int i = 0; i < 2000; i++) {
        for (size_t j = 0; j < sizeof z; j++)
            z[j] = (uint8_t)fx_rand(&s);
        size_t len = fx_rand(&s) % sizeof z;
        wire_buf_reset(&b);
        int rc = wire_lzw_decompress(&b, z, len, 1 << 16);
        CHECK(rc == WIRE_OK || rc == WIRE_ELZW || rc == WIRE_ELIMIT);
    }
    wire_buf_free(&c);
    wire_buf_free(&b);
}

int main(void)
{
    test_vectors();
    test_empty();
    test_big_reset();
    test_hostile();
    return check_done("test_lzw");
}
