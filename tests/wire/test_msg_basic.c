/* wire_msg by hand: every message round-trips, encodings match the bytes
 * the protocol document quotes from captures (§4), and the decoder's
 * acceptance rules (§3) hold. Vector-driven tests are in test_msg_vectors.c. */
#include <string.h>

#include "check.h"
#include "wire/wire_msg.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1] && n < cap) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

static wire_bytes S(const char *s)
{
    return wire_bytes_of(s, strlen(s));
}

static bool same(wire_bytes a, wire_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void expect_bytes(const wire_buf *b, const char *hex, int line)
{
    uint8_t want[4096];
    size_t n = unhex(hex, want, sizeof want);
    CHECKF(b->len == n && memcmp(b->data, want, n) == 0, "line %d: encoding differs", line);
}

static const uint8_t ip4[4] = { 127, 0, 0, 1 };

static void test_ping(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ping m = { S("n2"), 1, wire_bytes_of(ip4, 4), S("n1"), 17946 };
    REQUIRE(wire_encode_ping(&b, &m) == WIRE_OK);
    /* serf-plain frame 20, quoted in §4.1 */
    expect_bytes(&b, "0085a44e6f6465a26e32a55365714e6f01aa536f7572636541646472a47f000001"
                     "aa536f757263654e6f6465a26e31aa536f75726365506f7274cd461a", __LINE__);
    wire_msg d;
    REQUIRE(wire_decode_msg(b.data, b.len, &d) == WIRE_OK);
    CHECK_EQ_INT(d.type, WIRE_PING);
    CHECK(same(d.u.ping.node, m.node));
    CHECK_EQ_INT(d.u.ping.seq_no, 1);
    CHECK(same(d.u.ping.source_addr, m.source_addr));
    CHECK(same(d.u.ping.source_node, m.source_node));
    CHECK_EQ_INT(d.u.ping.source_port, 17946);

    /* omitempty: no Source* keys at all */
    wire_buf_reset(&b);
    wire_ping bare = { S("x"), 300, { NULL, 0 }, { NULL, 0 }, 0 };
    REQUIRE(wire_encode_ping(&b, &bare) == WIRE_OK);
    expect_bytes(&b, "0082a44e6f6465a178a55365714e6fcd012c", __LINE__);
    wire_buf_free(&b);
}

static void test_indirect_ping(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_indirect_ping m = { true, S("n3"), 17948, 0x11, wire_bytes_of(ip4, 4), S("n2"), 17947,
                             wire_bytes_of(ip4, 4) };
    REQUIRE(wire_encode_indirect_ping(&b, &m) == WIRE_OK);
    /* serf-plain frame 176, §4.2 */
    expect_bytes(&b, "0188a44e61636bc3a44e6f6465a26e33a4506f7274cd461ca55365714e6f11"
                     "aa536f7572636541646472a47f000001aa536f757263654e6f6465a26e32"
                     "aa536f75726365506f7274cd461ba6546172676574a47f000001", __LINE__);
    wire_indirect_ping d;
    size_t used = 0;
    REQUIRE(wire_decode_indirect_ping(b.data + 1, b.len - 1, &d, &used) == WIRE_OK);
    CHECK_EQ_INT(used, b.len - 1);
    CHECK(d.nack);
    CHECK_EQ_INT(d.port, 17948);
    CHECK_EQ_INT(d.seq_no, 0x11);
    CHECK_EQ_INT(d.source_port, 17947);
    CHECK(same(d.target, m.target));
    wire_buf_free(&b);
}

static void test_ack_nack_suspect_dead(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ack a = { { NULL, 0 }, 1 };
    REQUIRE(wire_encode_ack(&b, &a) == WIRE_OK);
    expect_bytes(&b, "0282a75061796c6f6164c0a55365714e6f01", __LINE__);
    wire_ack ad;
    REQUIRE(wire_decode_ack(b.data + 1, b.len - 1, &ad, NULL) == WIRE_OK);
    CHECK(ad.payload.p == NULL);
    CHECK_EQ_INT(ad.seq_no, 1);

    /* empty non-nil payload is a0, not c0 */
    wire_buf_reset(&b);
    a.payload = wire_bytes_of("", 0);
    REQUIRE(wire_encode_ack(&b, &a) == WIRE_OK);
    expect_bytes(&b, "0282a75061796c6f6164a0a55365714e6f01", __LINE__);
    REQUIRE(wire_decode_ack(b.data + 1, b.len - 1, &ad, NULL) == WIRE_OK);
    CHECK(ad.payload.p != NULL && ad.payload.n == 0);

    wire_buf_reset(&b);
    wire_nack n = { 0x11 };
    REQUIRE(wire_encode_nack(&b, &n) == WIRE_OK);
    expect_bytes(&b, "0b81a55365714e6f11", __LINE__);

    wire_buf_reset(&b);
    wire_suspect s = { S("n2"), 1, S("n3") };
    REQUIRE(wire_encode_suspect(&b, &s) == WIRE_OK);
    expect_bytes(&b, "0383a446726f6da26e32ab496e6361726e6174696f6e01a44e6f6465a26e33", __LINE__);

    wire_buf_reset(&b);
    wire_dead dd = { S("n2"), 2, S("n2") };
    REQUIRE(wire_encode_dead(&b, &dd) == WIRE_OK);
    expect_bytes(&b, "0583a446726f6da26e32ab496e6361726e6174696f6e02a44e6f6465a26e32", __LINE__);
    wire_msg m;
    REQUIRE(wire_decode_msg(b.data, b.len, &m) == WIRE_OK);
    CHECK_EQ_INT(m.type, WIRE_DEAD);
    CHECK(same(m.u.dead.from, S("n2")));
    CHECK_EQ_INT(m.u.dead.incarnation, 2);
    wire_buf_free(&b);
}

static void test_alive(void)
{
    static const uint8_t meta[] = { 0xff, 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b',
                                    0xa2, 'd', 'c', 0xa4, 't', 'e', 's', 't' };
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_alive m = { wire_bytes_of(ip4, 4), 1, wire_bytes_of(meta, sizeof meta), S("n1"), 17946,
                     { { 1, 5, 2, 2, 5, 5 }, 6 } };
    REQUIRE(wire_encode_alive(&b, &m) == WIRE_OK);
    /* serf-plain frame 11, §4.6 */
    expect_bytes(&b, "0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461b3ff82a4726f6c65"
                     "a3776562a26463a474657374a44e6f6465a26e31a4506f7274cd461aa356736ea6010502020505",
                 __LINE__);
    CHECK_EQ_INT(b.len, 77);
    wire_alive d;
    REQUIRE(wire_decode_alive(b.data + 1, b.len - 1, &d, NULL) == WIRE_OK);
    CHECK_EQ_INT(d.vsn.len, 6);
    CHECK(memcmp(d.vsn.v, m.vsn.v, 6) == 0);
    CHECK(same(d.meta, m.meta));

    /* nil Meta is c0 */
    wire_buf_reset(&b);
    m.meta = wire_bytes_of(NULL, 0);
    REQUIRE(wire_encode_alive(&b, &m) == WIRE_OK);
    REQUIRE(wire_decode_alive(b.data + 1, b.len - 1, &d, NULL) == WIRE_OK);
    CHECK(d.meta.p == NULL);
    wire_buf_free(&b);
}

static void test_push_pull_and_user(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header h = { true, 1, 20 };
    wire_push_node_state s = { wire_bytes_of(ip4, 4), 1, S("meta:node-b"), S("node-b"), 7002, 0,
                               { { 1, 5, 2, 0, 0, 0 }, 6 } };
    REQUIRE(wire_encode_push_pull_header(&b, &h, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    REQUIRE(wire_encode_push_node_state(&b, &s, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    REQUIRE(wire_buf_append(&b, "user-state-of-node-b", 20) == WIRE_OK);
    /* vectorgen-0.2.2-plain seq 1, §4.10 */
    expect_bytes(&b, "0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e1487a441646472a47f000001"
                     "ab496e6361726e6174696f6e01a44d657461ab6d6574613a6e6f64652d62a44e616d65a66e6f6465"
                     "2d62a4506f7274cd1b5aa5537461746500a356736ea6010502000000757365722d73746174652d6f"
                     "662d6e6f64652d62", __LINE__);
    size_t used = 0, off = 1;
    wire_push_pull_header hd;
    wire_push_node_state sd;
    REQUIRE(wire_decode_push_pull_header(b.data + off, b.len - off, &hd, &used) == WIRE_OK);
    off += used;
    CHECK(hd.join);
    CHECK_EQ_INT(hd.nodes, 1);
    CHECK_EQ_INT(hd.user_state_len, 20);
    REQUIRE(wire_decode_push_node_state(b.data + off, b.len - off, &sd, &used) == WIRE_OK);
    off += used;
    CHECK(same(sd.name, S("node-b")));
    CHECK_EQ_INT(sd.port, 7002);
    CHECK_EQ_INT(b.len - off, 20);

    /* UserStateLen 200: cc c8 (go-msgpack 0.5) vs d1 00 c8 (v2) */
    h.user_state_len = 200;
    wire_buf_reset(&b);
    REQUIRE(wire_encode_push_pull_header(&b, &h, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    expect_bytes(&b, "0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656eccc8", __LINE__);
    wire_buf_reset(&b);
    REQUIRE(wire_encode_push_pull_header(&b, &h, WIRE_INT_GO_MSGPACK_V2) == WIRE_OK);
    expect_bytes(&b, "0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656ed100c8", __LINE__);
    REQUIRE(wire_decode_push_pull_header(b.data + 1, b.len - 1, &hd, NULL) == WIRE_OK);
    CHECK_EQ_INT(hd.user_state_len, 200);

    /* §4.8 */
    wire_buf_reset(&b);
    REQUIRE(wire_encode_user_tcp(&b, (const uint8_t *)"hello-tcp", 9, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    expect_bytes(&b, "0881aa557365724d73674c656e0968656c6c6f2d746370", __LINE__);
    wire_user_msg_header uh;
    REQUIRE(wire_decode_user_msg_header(b.data + 1, b.len - 1, &uh, &used) == WIRE_OK);
    CHECK_EQ_INT(uh.user_msg_len, 9);
    CHECK_EQ_INT(used, 13);
    wire_buf_reset(&b);
    REQUIRE(wire_encode_user_udp(&b, (const uint8_t *)"hello-udp", 9) == WIRE_OK);
    expect_bytes(&b, "0868656c6c6f2d756470", __LINE__);
    wire_msg m;
    REQUIRE(wire_decode_msg(b.data, b.len, &m) == WIRE_OK);
    CHECK(same(m.u.user, S("hello-udp")));
    wire_buf_free(&b);
}

static void test_err_compress(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_errmsg e = { S("remote state is not encrypted") };
    REQUIRE(wire_encode_err(&b, &e) == WIRE_OK);
    wire_msg m;
    REQUIRE(wire_decode_msg(b.data, b.len, &m) == WIRE_OK);
    CHECK_EQ_INT(m.type, WIRE_ERR);
    CHECK(same(m.u.err.error, e.error));

    wire_buf_reset(&b);
    uint8_t big[40];
    memset(big, 0x5a, sizeof big);
    wire_compress c = { 0, wire_bytes_of(big, sizeof big) };
    REQUIRE(wire_encode_compress(&b, &c) == WIRE_OK);
    /* 40 bytes: da 00 28, never d9 28 (§3.3) */
    CHECK(b.len == 1 + 1 + 5 + 1 + 4 + 3 + 40);
    CHECK(b.data[12] == 0xda && b.data[13] == 0 && b.data[14] == 40);
    REQUIRE(wire_decode_msg(b.data, b.len, &m) == WIRE_OK);
    CHECK(same(m.u.compress.buf, c.buf));
    c.algo = 256;
    size_t before = b.len;
    CHECK_EQ_INT(wire_encode_compress(&b, &c), WIRE_ERANGE);
    CHECK_EQ_INT(b.len, before);
    wire_buf_free(&b);
}

static void test_containers_refused(void)
{
    static const uint8_t types[] = { WIRE_PUSH_PULL, WIRE_COMPOUND, WIRE_ENCRYPT, WIRE_HAS_CRC,
                                     WIRE_HAS_LABEL, 14, 200 };
    for (size_t i = 0; i < sizeof types; i++) {
        uint8_t msg[2] = { types[i], 0x80 };
        wire_msg m;
        CHECK_EQ_INT(wire_decode_msg(msg, sizeof msg, &m), WIRE_ETYPE);
    }
    wire_msg m;
    CHECK_EQ_INT(wire_decode_msg(NULL, 0, &m), WIRE_ETRUNC);
}

static void test_buffer_limit_restores(void)
{
    wire_buf b;
    wire_buf_init(&b, 10);
    wire_alive a = { wire_bytes_of(ip4, 4), 1, { NULL, 0 }, S("n1"), 1, { { 1, 5, 2, 2, 5, 5 }, 6 } };
    CHECK_EQ_INT(wire_encode_alive(&b, &a), WIRE_ELIMIT);
    CHECK_EQ_INT(b.len, 0);
    wire_buf_free(&b);
}

int main(void)
{
    test_ping();
    test_indirect_ping();
    test_ack_nack_suspect_dead();
    test_alive();
    test_push_pull_and_user();
    test_err_compress();
    test_containers_refused();
    test_buffer_limit_restores();
    return check_done("test_msg_basic");
}
