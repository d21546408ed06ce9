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

/* A hand-rolled code writer following the decoder's width rules, to make
 * streams Go's encoder never writes but its decoder accepts. */
typedef struct packer {
    wire_buf *out;
    uint32_t bits;
    unsigned nbits, width, hi, overflow;
} packer;

static void pk_init(packer *k, wire_buf *out)
{
    packer z = { out, 0, 0, 9, 257, 512 };
    *k = z;
}

static void pk_code(packer *k, uint32_t c)
{
    k->bits |= c << k->nbits;
    k->nbits += k->width;
    while (k->nbits >= 8) {
        wire_buf_append_byte(k->out, (uint8_t)k->bits);
        k->bits >>= 8;
        k->nbits -= 8;
    }
    if (c == 256) {
        k->width = 9;
        k->hi = 257;
        k->overflow = 512;
        return;
    }
    if (c == 257)
        return;
    k->hi++;
    if (k->hi >= k->overflow) {
        if (k->width == 12)
            k->hi--;
        else {
            k->width++;
            k->overflow <<= 1;
        }
    }
}

static void pk_flush(packer *k)
{
    if (k->nbits)
        wire_buf_append_byte(k->out, (uint8_t)k->bits);
}

static void test_decoder_acceptance(void)
{
    wire_buf b, d;
    wire_buf_init(&b, 0);
    wire_buf_init(&d, 0);
    packer k;
    /* no Clear at all, literals until the table is full and beyond (12-bit
     * codes, no new entries), then a code from the full table, then EOF */
    pk_init(&k, &b);
    size_t n = 5000;
    for (size_t i = 0; i < n; i++)
        pk_code(&k, (uint32_t)('a' + i % 26));
    CHECK_EQ_INT(k.width, 12);
    pk_code(&k, 258); /* entry 258 = "ab" */
    pk_code(&k, 257);
    pk_flush(&k);
    CHECK_EQ_INT(wire_lzw_decompress(&d, b.data, b.len, 1 << 20), WIRE_OK);
    CHECK_EQ_INT(d.len, n + 2);
    CHECK(d.len == n + 2 && d.data[n] == 'a' && d.data[n + 1] == 'b' && d.data[4999] == 'a' + 4999 % 26);
    /* Clear in the middle, and KwKwK right after it */
    wire_buf_reset(&b);
    wire_buf_reset(&d);
    pk_init(&k, &b);
    pk_code(&k, 'x');
    pk_code(&k, 'y');
    pk_code(&k, 256);
    pk_code(&k, 'z');
    pk_code(&k, 258); /* KwKwK: "z" + "z" */
    pk_code(&k, 259); /* KwKwK again: "zz" + "z" */
    pk_code(&k, 257);
    pk_flush(&k);
    CHECK_EQ_INT(wire_lzw_decompress(&d, b.data, b.len, 100), WIRE_OK);
    CHECK_MEM(d.data, d.len, "xyzzzzzz", 8);
    /* right after Clear, 258 is not defined yet */
    wire_buf_reset(&b);
    pk_init(&k, &b);
    pk_code(&k, 256);
    pk_code(&k, 258);
    pk_code(&k, 257);
    pk_flush(&k);
    CHECK_EQ_INT(wire_lzw_decompress(&d, b.data, b.len, 100), WIRE_ELZW);
    /* bytes after EOF are ignored, as Go does */
    wire_buf_reset(&b);
    wire_buf_reset(&d);
    CHECK_EQ_INT(wire_lzw_compress(&b, (const uint8_t *)"hello", 5), WIRE_OK);
    wire_buf_append(&b, "junk", 4);
    CHECK_EQ_INT(wire_lzw_decompress(&d, b.data, b.len, 100), WIRE_OK);
    CHECK_MEM(d.data, d.len, "hello", 5);
    wire_buf_free(&b);
    wire_buf_free(&d);
}

int main(void)
{
    test_decoder_acceptance();
    test_vectors();            /* the encoder's table grows with the inputs */
    test_empty();
    test_big_reset();
    test_hostile();
    /* again with the table at its largest, short inputs using its start:
     * the same bytes, whatever the table's size */
    test_vectors();
    return check_done("test_lzw");
}
