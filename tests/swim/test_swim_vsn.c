/* Short version vectors (§9.1, §9.2), as memberlist HEAD takes them where
 * that cannot hurt serf 0.9.4's memberlist 0.2.2:
 *   - an alive with a 1- to 5-byte Vsn is refused (counted dropped): 0.2.2
 *     panics on one, so it must not be gossiped on as it came, and padded
 *     with zeros it would tell every Go peer DMax 0;
 *   - an alive with an empty Vsn is taken, the versions held are kept (a
 *     new node's are zero), and it is gossiped on with them, 6 bytes;
 *     with an alive filter it is ignored;
 *   - in a push/pull, a remote entry shorter than 5 bytes stays out of the
 *     version bounds and one shorter than 6 counts as PCur/DCur 0: the
 *     merge is refused, as memberlist's verifyProtocol does. */
#include "harness.h"

static harness H;

static void inject_alive_vsn(const char *node, int peer, uint32_t inc, const uint8_t *vsn, uint8_t vlen)
{
    size_t n;
    const uint8_t *m = h_alive_ex(node, strlen(node), peer, inc, NULL, h_vsn, &n);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(wire_buf_append(&b, m, n) == WIRE_OK);
    /* the encoder writes 6 bytes of Vsn whatever len says: patch its
     * trailing "a3 Vsn a6 xx*6" into "a3 Vsn" + raw(vlen), or nil */
    REQUIRE(b.len > 7 && b.data[b.len - 7] == 0xa6);
    b.len -= 7;
    if (vlen == 0) {
        REQUIRE(wire_buf_append_byte(&b, 0xc0) == WIRE_OK);
    } else {
        REQUIRE(wire_buf_append_byte(&b, (uint8_t)(0xa0 | vlen)) == WIRE_OK);
        REQUIRE(wire_buf_append(&b, vsn, vlen) == WIRE_OK);
    }
    h_inject(&H, peer, b.data, b.len);
    wire_buf_free(&b);
}

typedef struct vsn_of {
    const char *node;
    wire_vsn v;
} vsn_of;

static void note_vsn(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    (void)p;
    vsn_of *o = ud;
    wire_msg m;
    if (len && msg[0] == WIRE_ALIVE && wire_decode_msg(msg, len, &m) == WIRE_OK &&
        m.u.alive.node.n == strlen(o->node) && memcmp(m.u.alive.node.p, o->node, m.u.alive.node.n) == 0)
        o->v = m.u.alive.vsn;
}

/* The Vsn of the last alive about `node` we gossiped, or len 0xff. */
static wire_vsn gossiped_vsn(const char *node)
{
    vsn_of o = { node, { { 0 }, 0xff } };
    h_each_msg(&H, note_vsn, &o);
    return o.v;
}

static void setup_with(bool alive_filter)
{
    swim_config c;
    h_config(&c, "me");
    h_init_with(&H, &c, alive_filter);
    H.auto_ack = true;
    h_add_peer(&H, "p0", 0, 1);
    h_add_peer(&H, "p1", 1, 1);
}

static void setup(void)
{
    setup_with(false);
}

static void test_short_refused(void)
{
    setup();
    for (uint8_t len = 1; len <= 5; len++) {
        uint64_t dropped = swim_get_stats(H.core)->dropped_by_type[WIRE_ALIVE];
        /* new node: not added */
        inject_alive_vsn("short", 5, 1, h_vsn, len);
        swim_member m;
        CHECKF(!swim_member_get(H.core, "short", &m), "a %u-byte Vsn was taken", len);
        /* known node: not refreshed */
        inject_alive_vsn("p0", 0, 10 + len, h_vsn, len);
        CHECK_EQ_INT(h_inc(&H, "p0"), 1);
        CHECK_EQ_INT(swim_get_stats(H.core)->dropped_by_type[WIRE_ALIVE], dropped + 2);
    }
    /* never gossiped on: nothing about them in what we sent since */
    h_run(&H, H.now + 3000);
    CHECK_EQ_INT(gossiped_vsn("short").len, 0xff);
    h_free(&H);
}

static void test_empty_taken(void)
{
    setup();
    h_clear(&H);
    /* a known node: refreshed, its versions kept, gossiped on with them */
    inject_alive_vsn("p0", 0, 2, NULL, 0);
    CHECK_EQ_INT(h_inc(&H, "p0"), 2);
    swim_member m;
    REQUIRE(swim_member_get(H.core, "p0", &m));
    CHECK(memcmp(m.vsn, h_vsn, 6) == 0);
    h_run(&H, H.now + 1000);
    wire_vsn v = gossiped_vsn("p0");
    CHECK_EQ_INT(v.len, 6);
    CHECK(memcmp(v.v, h_vsn, 6) == 0);
    /* a new node: taken with zero versions, as memberlist does */
    inject_alive_vsn("bare", 6, 1, NULL, 0);
    REQUIRE(swim_member_get(H.core, "bare", &m));
    static const uint8_t zero[6] = { 0 };
    CHECK(memcmp(m.vsn, zero, 6) == 0);
    h_free(&H);

    /* with an alive filter, memberlist ignores an alive without a whole
     * Vsn (it has none to show the filter) */
    setup_with(true);
    inject_alive_vsn("p0", 0, 2, NULL, 0);
    CHECK_EQ_INT(h_inc(&H, "p0"), 1);
    h_free(&H);
}

/* A push/pull (from p1) with one entry whose Vsn has `vlen` bytes. */
static bool push_pull_with_vsn(uint8_t vlen, const uint8_t *vsn)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header hd = { false, 2, 0 };
    REQUIRE(wire_encode_push_pull_header(&b, &hd, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    for (int i = 0; i < 2; i++) {
        h_node_state(&b, i ? "q" : "p1", i ? 1 : 2, i ? 7 : 1, 1, WIRE_STATE_ALIVE, WIRE_INT_GO_MSGPACK_V0);
        if (i) {
            /* rewrite the last entry's Vsn ("a3 Vsn a6 ..." ends it) */
            REQUIRE(b.data[b.len - 7] == 0xa6);
            b.len -= 7;
            REQUIRE(wire_buf_append_byte(&b, (uint8_t)(0xa0 | vlen)) == WIRE_OK);
            REQUIRE(wire_buf_append(&b, vsn, vlen) == WIRE_OK);
        }
    }
    swim_addr from = h_addr(1);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply);
    wire_buf_free(&reply);
    wire_buf_free(&b);
    swim_member m;
    return swim_member_get(H.core, "q", &m);
}

static void test_push_pull_refused(void)
{
    /* a 5-byte Vsn [1 5 2 2 5]: counts in the bounds, PCur read as 0 */
    setup();
    CHECK(!push_pull_with_vsn(5, h_vsn));
    h_free(&H);
    /* 3 bytes [1 5 2]: PCur 2 was read from it; memberlist reads 0 */
    setup();
    CHECK(!push_pull_with_vsn(3, h_vsn));
    h_free(&H);
    /* the whole 6 is merged */
    setup();
    CHECK(push_pull_with_vsn(6, h_vsn));
    h_free(&H);
}

int main(void)
{
    test_short_refused();
    test_empty_taken();
    test_push_pull_refused();
    wire_buf_free(&h_buf);
    return check_done("test_swim_vsn");
}
