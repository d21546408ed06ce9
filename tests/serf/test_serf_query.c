/* serf's query bookkeeping (serf_query.h): the recent-queries buffer as
 * handleQuery, the default timeout as DefaultQueryTimeout, the filters as
 * shouldProcessQuery, with filters made by serf 0.9.4's own encodeFilter
 * (tests/fixtures/serf/go-serf-0.9.4.hex), and the regular expressions'
 * common subset with Go's regexp. */
#include <string.h>

#include "check.h"
#include "serf/serf_msg_query.h"
#include "serf/serf_query.h"

#define B(s) wire_bytes_of(s, strlen(s))

static void test_buffer(void)
{
    serf_queries q;
    REQUIRE(serf_queries_init(&q, SERF_QUERY_BUFFER) == 0);
    CHECK_EQ_INT(serf_queries_receive(&q, 1, 571267316), SERF_QUERY_NEW);
    CHECK_EQ_INT(serf_queries_receive(&q, 1, 571267316), SERF_QUERY_SEEN);
    CHECK_EQ_INT(serf_queries_receive(&q, 1, 7), SERF_QUERY_NEW);        /* another ID, same LTime */
    CHECK_EQ_INT(serf_clock_time(&q.clock), 2);
    /* slot 0 at LTime 0: never recorded before, so new */
    CHECK_EQ_INT(serf_queries_receive(&q, 0, 0), SERF_QUERY_NEW);
    CHECK_EQ_INT(serf_queries_receive(&q, 0, 0), SERF_QUERY_SEEN);
    /* the slot reused by LTime 513 */
    CHECK_EQ_INT(serf_queries_receive(&q, 513, 571267316), SERF_QUERY_NEW);
    CHECK_EQ_INT(q.slots[1].n, 1);
    CHECK_EQ_INT(serf_queries_receive(&q, 1, 9), SERF_QUERY_TOO_OLD);   /* 1 < 514 - 512 */
    CHECK_EQ_INT(serf_queries_receive(&q, 2, 9), SERF_QUERY_NEW);
    q.min_time = 600;
    CHECK_EQ_INT(serf_queries_receive(&q, 599, 1), SERF_QUERY_BEFORE_MIN);
    CHECK_EQ_INT(serf_clock_time(&q.clock), 600);
    for (uint32_t id = 0; id < 100; id++)   /* many IDs in one slot */
        CHECK_EQ_INT(serf_queries_receive(&q, 700, id), SERF_QUERY_NEW);
    CHECK_EQ_INT(serf_queries_receive(&q, 700, 42), SERF_QUERY_SEEN);
    serf_queries_free(&q);
}

static void test_timeout(void)
{
    /* LAN: GossipInterval 200 ms, mult 16: 3.2 s up to 9 members */
    CHECK_EQ_INT(serf_query_timeout(0, 200, SERF_QUERY_TIMEOUT_MULT), 0);   /* log10(1) = 0 */
    CHECK_EQ_INT(serf_query_timeout(1, 200, 16), 3200);
    CHECK_EQ_INT(serf_query_timeout(3, 200, 16), 3200);
    CHECK_EQ_INT(serf_query_timeout(9, 200, 16), 3200);
    CHECK_EQ_INT(serf_query_timeout(10, 200, 16), 6400);   /* log10(11) */
    CHECK_EQ_INT(serf_query_timeout(99, 200, 16), 6400);
    CHECK_EQ_INT(serf_query_timeout(100, 200, 16), 9600);
    CHECK_EQ_INT(serf_query_timeout(999, 200, 16), 9600);  /* log10(1000) = 3 exactly in Go */
    CHECK_EQ_INT(serf_query_timeout(1000, 200, 16), 12800);
    /* in nanoseconds, as time.Duration */
    CHECK(serf_query_timeout(3, 200000000ull, 16) == 3200000000ull);
    CHECK(serf_query_timeout(UINT64_MAX, 1, 1) == 20);
    CHECK(serf_query_timeout(5, UINT64_MAX, 2) == UINT64_MAX);
}

static void test_regex(void)
{
    struct { const char *expr, *value; int want; } cases[] = {
        { "^web$", "web", 1 }, { "^web$", "webserver", 0 }, { "web", "my-web-1", 1 },   /* unanchored */
        { "", "anything", 1 }, { "", "", 1 }, { "^$", "", 1 },
        { "a|b", "xbx", 1 }, { "^(db|cache)[0-9]+$", "db12", 1 }, { "^(db|cache)[0-9]+$", "dbx", 0 },
        { "^v[0-9]{1,3}\\.[0-9]+$", "v42.1", 1 }, { "^v[0-9]{1,3}\\.[0-9]+$", "v4242.1", 0 },
        { "^\\d+$", "12345", 1 }, { "^\\d+$", "12a", 0 }, { "^\\D+$", "abc", 1 },
        { "^\\w+$", "web_1", 1 }, { "^\\w+$", "web-1", 0 }, { "\\W", "web-1", 1 },
        { "^a\\sb$", "a b", 1 }, { "^a\\Sb$", "axb", 1 },
        { "^(?:web|db)$", "db", 1 }, { "(?i)^WEB$", "web", 1 }, { "^WEB$", "web", 0 },
        { "^[[:alpha:]]+$", "abc", 1 }, { "^[^0-9]+$", "abc", 1 }, { "^[]a]+$", "]a", 1 },
        { "a{", "a{", 1 }, { "a{x}", "a{x}", 1 }, { "x*", "", 1 }, { "^a.c$", "abc", 1 },
        /* refused: Go errors, or outside the translated subset */
        { "(", "", -1 }, { "[a", "", -1 }, { "a{1001}", "", -1 }, { "a{3,2}", "", -1 }, { "\\", "", -1 },
        { "(a)\\1", "aa", -1 }, { "\\pL", "a", -1 }, { "\\bweb", "web", -1 }, { "[\\d]", "1", -1 },
        { "(?P<n>a)", "a", -1 }, { "(?s).", "a", -1 }, { "((a{20}){20}){20}", "a", -1 },
        /* repeats: lazy forms as greedy, repeats of repeats refused as in Go */
        { "^a+?$", "aaa", 1 }, { "^ab??$", "a", 1 }, { "^a*?b$", "aab", 1 }, { "^a{1,2}?$", "aa", 1 },
        { "^(a+)+$", "aaaa", 1 }, { "^(ab|cd)*$", "abcdab", 1 }, { "()", "x", 1 },
        { "a**", "", -1 }, { "a++", "", -1 }, { "a+??", "", -1 }, { "a{2}{3}", "", -1 }, { "a{2}*", "", -1 },
        { "*a", "a", -1 }, { "a|*b", "b", -1 }, { "(*a)", "a", -1 }, { ")", "", -1 }, { "(a", "", -1 },
        /* what glibc would blow up, refused before it tries */
        { "((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+", "a", -1 }, { "(a{100}){100}", "a", -1 },
        { "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))", "a", -1 },
        { "a+b+c+d+e+f+g+h+i+j+k+l+", "abcdefghijkl", 1 }, { "(a{30}){30}", "a", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = serf_query_regex_match(B(cases[i].expr), B(cases[i].value));
        CHECKF(got == cases[i].want, "%s on %s: %d, want %d", cases[i].expr, cases[i].value, got, cases[i].want);
    }
    /* values may hold NUL bytes, as Go strings can */
    CHECK_EQ_INT(serf_query_regex_match(B("b$"), wire_bytes_of("a\0b", 3)), 1);
    CHECK_EQ_INT(serf_query_regex_match(B("^a$"), wire_bytes_of("a\0b", 3)), 0);
    CHECK_EQ_INT(serf_query_regex_match(wire_bytes_of("a\0", 2), B("a")), -1);
    CHECK_EQ_INT(serf_query_regex_match(wire_bytes_of(NULL, 0), wire_bytes_of(NULL, 0)), 1);
}

/* filters as serf 0.9.4's encodeFilter writes them */
static const uint8_t node_n1_n2[] = { 0x00, 0x92, 0xa2, 'n', '1', 0xa2, 'n', '2' };
static const uint8_t tag_role_web[] = { 0x01, 0x82, 0xa4, 'E', 'x', 'p', 'r', 0xa5, '^', 'w', 'e', 'b', '$',
                                        0xa3, 'T', 'a', 'g', 0xa4, 'r', 'o', 'l', 'e' };

static bool pass(wire_bytes *fs, size_t n, const char *self, const serf_tags *tags)
{
    serf_raw_list l = { fs, n };
    return serf_query_filters_pass(&l, B(self), tags);
}

static void test_filters(void)
{
    serf_tags web = { 0 }, db = { 0 };
    REQUIRE(serf_tags_set(&web, "role", 4, "web", 3) == 0);
    REQUIRE(serf_tags_set(&db, "role", 4, "db", 2) == 0);
    wire_bytes nodes = wire_bytes_of(node_n1_n2, sizeof node_n1_n2);
    wire_bytes tag = wire_bytes_of(tag_role_web, sizeof tag_role_web);

    /* our encoders write serf's bytes */
    wire_buf out;
    wire_buf_init(&out, 0);
    wire_bytes names[] = { B("n1"), B("n2") };
    serf_raw_list nl = { names, 2 };
    REQUIRE(serf_filter_nodes_encode(&out, &nl) == WIRE_OK);
    CHECK_MEM(out.data, out.len, node_n1_n2, sizeof node_n1_n2);
    wire_buf_reset(&out);
    REQUIRE(serf_filter_tag_encode(&out, B("role"), B("^web$")) == WIRE_OK);
    CHECK_MEM(out.data, out.len, tag_role_web, sizeof tag_role_web);
    wire_buf_free(&out);

    /* no filters: everyone; nil list the same */
    CHECK(pass(NULL, 0, "n3", NULL));
    CHECK(pass(&nodes, 1, "n1", NULL));
    CHECK(pass(&nodes, 1, "n2", NULL));
    CHECK(!pass(&nodes, 1, "n3", NULL));
    CHECK(!pass(&nodes, 1, "n", NULL));
    CHECK(pass(&tag, 1, "n3", &web));
    CHECK(!pass(&tag, 1, "n3", &db));
    CHECK(!pass(&tag, 1, "n3", NULL));   /* no tag: "" does not match ^web$ */
    wire_bytes both[] = { nodes, tag };  /* every filter must pass */
    CHECK(pass(both, 2, "n1", &web));
    CHECK(!pass(both, 2, "n1", &db));
    CHECK(!pass(both, 2, "n3", &web));
    /* a tag filter on a missing tag that matches "" passes */
    uint8_t any_env[] = { 0x01, 0x82, 0xa4, 'E', 'x', 'p', 'r', 0xa2, '^', '$', 0xa3, 'T', 'a', 'g', 0xa3, 'e',
                          'n', 'v' };
    wire_bytes any = wire_bytes_of(any_env, sizeof any_env);
    CHECK(pass(&any, 1, "n1", &web));
    /* broken filters fail: empty, unknown type, undecodable, bad regexp */
    uint8_t unknown[] = { 0x02, 0x90 }, short_nodes[] = { 0x00, 0x92, 0xa2, 'n' }, not_list[] = { 0x00, 0x80 };
    uint8_t bad_re[] = { 0x01, 0x82, 0xa4, 'E', 'x', 'p', 'r', 0xa1, '(', 0xa3, 'T', 'a', 'g', 0xa0 };
    wire_bytes broken[] = { wire_bytes_of("", 0), wire_bytes_of(unknown, 2), wire_bytes_of(short_nodes, 4),
                            wire_bytes_of(not_list, 2), wire_bytes_of(bad_re, sizeof bad_re) };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        CHECKF(!pass(&broken[i], 1, "n1", &web), "broken filter %zu passed", i);

    /* a decoded query's Filters feed it directly */
    static const uint8_t query_hdr[] = { 0x04, 0x81, 0xa7, 'F', 'i', 'l', 't', 'e', 'r', 's', 0x92, 0xa8 };
    uint8_t q[64];
    size_t n = 0;
    memcpy(q, query_hdr, sizeof query_hdr);
    n += sizeof query_hdr;
    memcpy(q + n, node_n1_n2, sizeof node_n1_n2);
    n += sizeof node_n1_n2;
    q[n++] = (uint8_t)(0xa0 | sizeof tag_role_web);
    memcpy(q + n, tag_role_web, sizeof tag_role_web);
    n += sizeof tag_role_web;
    serf_msg_query m;
    REQUIRE(serf_msg_query_decode(q, n, &m) == WIRE_OK);
    CHECK_EQ_INT(m.filters.n, 2);
    CHECK(serf_query_filters_pass(&m.filters, B("n2"), &web));
    CHECK(!serf_query_filters_pass(&m.filters, B("n2"), &db));
    serf_msg_query_free(&m);
    serf_tags_free(&web);
    serf_tags_free(&db);
}

int main(void)
{
    test_buffer();
    test_timeout();
    test_regex();
    test_filters();
    return check_done("test_serf_query");
}
