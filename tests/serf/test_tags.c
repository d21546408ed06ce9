/* serf tag meta: byte-exact against serf's encoding (serf-plain capture,
 * node n1: ff 82 a4"role" a3"web" a2"dc" a4"test"), decoding, limits. */
#include "check.h"
#include "serf/serf_tags.h"

int main(void)
{
    char err[160];
    wire_buf b;
    wire_buf_init(&b, 0);

    /* n1 in the serf-plain capture */
    {
        static const uint8_t serf_n1[] = { 0xff, 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b',
                                           0xa2, 'd', 'c', 0xa4, 't', 'e', 's', 't' };
        serf_tags t = { 0 };
        REQUIRE(serf_tags_parse_kv(&t, "role=web", err, sizeof err) == 0);
        REQUIRE(serf_tags_parse_kv(&t, "dc=test", err, sizeof err) == 0);
        REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
        CHECK_MEM(b.data, b.len, serf_n1, sizeof serf_n1);
        serf_tags_free(&t);

        serf_tags d = { 0 };
        REQUIRE(serf_tags_decode(&d, serf_n1, sizeof serf_n1) == 0);
        REQUIRE(d.n == 2);
        CHECK(strcmp(d.v[0].key, "role") == 0 && strcmp(d.v[0].value, "web") == 0);
        CHECK(strcmp(d.v[1].key, "dc") == 0 && strcmp(d.v[1].value, "test") == 0);
        serf_tags_free(&d);
    }
    /* no tags: ff 80, as serf n3 sends */
    {
        static const uint8_t serf_n3[] = { 0xff, 0x80 };
        serf_tags t = { 0 };
        wire_buf_reset(&b);
        REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
        CHECK_MEM(b.data, b.len, serf_n3, sizeof serf_n3);
    }
    /* a key given twice keeps its place, takes the last value (Go map) */
    {
        serf_tags t = { 0 };
        REQUIRE(serf_tags_parse_kv(&t, "role=web", err, sizeof err) == 0);
        REQUIRE(serf_tags_parse_kv(&t, "x=", err, sizeof err) == 0);
        REQUIRE(serf_tags_parse_kv(&t, "role=db", err, sizeof err) == 0);
        static const uint8_t want[] = { 0xff, 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa2, 'd', 'b', 0xa1, 'x', 0xa0 };
        wire_buf_reset(&b);
        REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
        CHECK_MEM(b.data, b.len, want, sizeof want);
        CHECK(serf_tags_parse_kv(&t, "=v", err, sizeof err) == -1);
        CHECK(serf_tags_parse_kv(&t, "novalue", err, sizeof err) == -1);
        serf_tags_free(&t);
    }
    /* 32..255-byte values use da (raw16), never d9 (str8) */
    {
        char kv[64 + 3];
        memset(kv, 'v', sizeof kv);
        kv[0] = 'k';
        kv[1] = '=';
        kv[sizeof kv - 1] = '\0';
        serf_tags t = { 0 };
        REQUIRE(serf_tags_parse_kv(&t, kv, err, sizeof err) == 0);
        wire_buf_reset(&b);
        REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
        CHECK_EQ_INT(b.data[4], 0xda);
        CHECK_EQ_INT(b.data[5], 0);
        CHECK_EQ_INT(b.data[6], 64);
        serf_tags_free(&t);
    }
    /* meta over 512 bytes is an error, not a truncation */
    {
        static char kv[600];
        memset(kv, 'v', sizeof kv);
        kv[0] = 'k';
        kv[1] = '=';
        kv[511] = '\0';   /* value of 509 bytes: 1+1+2+3+509 = 516 */
        serf_tags t = { 0 };
        REQUIRE(serf_tags_parse_kv(&t, kv, err, sizeof err) == 0);
        wire_buf_reset(&b);
        CHECK(serf_tags_encode(&t, &b, err, sizeof err) == -1);
        CHECK(strstr(err, "512") != NULL);
        CHECK_EQ_INT(b.len, 0);
        serf_tags_free(&t);
        kv[505] = '\0';   /* 503-byte value: 510 bytes, fits */
        REQUIRE(serf_tags_parse_kv(&t, kv, err, sizeof err) == 0);
        CHECK(serf_tags_encode(&t, &b, err, sizeof err) == 0);
        CHECK_EQ_INT(b.len, 510);
        serf_tags_free(&t);
    }
    /* legacy meta: the role string; empty: nothing; malformed: error */
    {
        serf_tags d = { 0 };
        REQUIRE(serf_tags_decode(&d, (const uint8_t *)"db", 2) == 0);
        REQUIRE(d.n == 1);
        CHECK(strcmp(d.v[0].key, "role") == 0 && strcmp(d.v[0].value, "db") == 0);
        serf_tags_free(&d);
        CHECK(serf_tags_decode(&d, NULL, 0) == 0 && d.n == 0);
        static const uint8_t trunc[] = { 0xff, 0x81, 0xa4, 'r', 'o' };
        CHECK(serf_tags_decode(&d, trunc, sizeof trunc) == -1);
        serf_tags_free(&d);
        static const uint8_t huge[] = { 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa0, 0xa0 };
        CHECK(serf_tags_decode(&d, huge, sizeof huge) == -1);
        serf_tags_free(&d);
        static const uint8_t notstr[] = { 0xff, 0x81, 0x01, 0xa0 };
        CHECK(serf_tags_decode(&d, notstr, sizeof notstr) == -1);
        serf_tags_free(&d);
        /* str8 and bin forms are accepted on input */
        static const uint8_t str8[] = { 0xff, 0x81, 0xd9, 0x01, 'k', 0xc4, 0x01, 'v' };
        REQUIRE(serf_tags_decode(&d, str8, sizeof str8) == 0);
        CHECK(d.n == 1 && strcmp(d.v[0].key, "k") == 0 && strcmp(d.v[0].value, "v") == 0);
        serf_tags_free(&d);
    }
    /* a peer's tag bytes may hold NUL: kept whole (lengths, not C strings) */
    {
        serf_tags d = { 0 };
        static const uint8_t nul[] = { 0xff, 0x81, 0xa3, 'k', 0, 'y', 0xa3, 'v', 0, 'w' };
        REQUIRE(serf_tags_decode(&d, nul, sizeof nul) == 0);
        REQUIRE(d.n == 1);
        CHECK_MEM(d.v[0].key, d.v[0].klen, "k\0y", 3);
        CHECK_MEM(d.v[0].value, d.v[0].vlen, "v\0w", 3);
        b.len = 0;
        REQUIRE(serf_tags_encode(&d, &b, err, sizeof err) == 0);
        CHECK_MEM(b.data, b.len, nul, sizeof nul);
        serf_tags_free(&d);
    }
    wire_buf_free(&b);
    return check_done("test_tags");
}
