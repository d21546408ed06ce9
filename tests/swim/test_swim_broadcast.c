/* The broadcast queue (§11): retransmit limits, a newer message about a
 * node replacing a queued one, keyed application broadcasts, ordering and
 * packing within the packet budget, piggy-backing; user messages. */
#include "harness.h"

static harness H;

typedef struct counter {
    const char *node;            /* alive messages about it */
    uint32_t inc;                /* 0: any */
    int alive, suspect;
    const char *user;            /* user payloads equal to it */
    int users;
} counter;

static void count_fn(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    counter *c = ud;
    wire_msg m;
    /* the [ping, suspect] a prober sends a suspect is not gossip */
    if (p->data[0] == WIRE_COMPOUND && p->data[1] == 2 && p->data[6] == WIRE_PING)
        return;
    if (!len || wire_decode_msg(msg, len, &m) != WIRE_OK)
        return;
    if (m.type == WIRE_ALIVE && c->node && m.u.alive.node.n == strlen(c->node) &&
        memcmp(m.u.alive.node.p, c->node, m.u.alive.node.n) == 0 && (!c->inc || m.u.alive.incarnation == c->inc))
        c->alive++;
    if (m.type == WIRE_SUSPECT && c->node && m.u.suspect.node.n == strlen(c->node) &&
        memcmp(m.u.suspect.node.p, c->node, m.u.suspect.node.n) == 0)
        c->suspect++;
    if (m.type == WIRE_USER && c->user && m.u.user.n == strlen(c->user) && memcmp(m.u.user.p, c->user, m.u.user.n) == 0)
        c->users++;
}

static void setup(int npeers, uint32_t overhead)
{
    swim_config c;
    h_config(&c, "me");
    c.packet_overhead = overhead;
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peers(&H, npeers);
    h_run(&H, 20000); /* everything queued so far is sent out */
    h_clear(&H);
}

static void test_retransmit_limit(void)
{
    setup(3, 0);
    /* n becomes 5 with x: limit 4 * ceil(log10(6)) = 4 */
    size_t len;
    const uint8_t *m = h_alive("x", 9, 1, NULL, &len);
    h_inject(&H, 9, m, len);
    h_run(&H, H.now + 20000);
    counter c = { .node = "x" };
    h_each_msg(&H, count_fn, &c);
    CHECK_EQ_INT(c.alive, 4);
    h_free(&H);
    /* 10 peers: n = 12 with x, limit 8 */
    setup(10, 0);
    m = h_alive("x", 20, 1, NULL, &len);
    h_inject(&H, 20, m, len);
    h_run(&H, H.now + 20000);
    counter c2 = { .node = "x" };
    h_each_msg(&H, count_fn, &c2);
    CHECK_EQ_INT(c2.alive, 8);
    h_free(&H);
}

static void test_invalidation(void)
{
    setup(3, 0);
    size_t len;
    const uint8_t *m = h_alive("x", 9, 1, NULL, &len);
    h_inject(&H, 9, m, len);
    m = h_alive("x", 9, 2, NULL, &len);
    h_inject(&H, 9, m, len); /* replaces the queued incarnation 1 */
    h_run(&H, H.now + 20000);
    counter c1 = { .node = "x", .inc = 1 }, c2 = { .node = "x", .inc = 2 };
    h_each_msg(&H, count_fn, &c1);
    h_each_msg(&H, count_fn, &c2);
    CHECK_EQ_INT(c1.alive, 0);
    CHECK_EQ_INT(c2.alive, 4);
    /* a suspect replaces a queued alive about the same node */
    h_clear(&H);
    m = h_alive("x", 9, 3, NULL, &len);
    h_inject(&H, 9, m, len);
    m = h_suspect("x", 3, "p0", &len);
    h_inject(&H, 0, m, len);
    h_run(&H, H.now + 3000);
    counter c3 = { .node = "x", .inc = 3 };
    h_each_msg(&H, count_fn, &c3);
    CHECK_EQ_INT(c3.alive, 0);
    CHECK_EQ_INT(c3.suspect, 4);
    h_free(&H);
}

static void test_app_broadcasts(void)
{
    setup(3, 0);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"v1", 2, "k") == 0);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"v2", 2, "k") == 0); /* replaces v1 */
    CHECK(swim_broadcast(H.core, (const uint8_t *)"u1", 2, NULL) == 0);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"u2", 2, "") == 0); /* empty key: no replacing */
    h_run(&H, H.now + 20000);
    counter v1 = { .user = "v1" }, v2 = { .user = "v2" }, u1 = { .user = "u1" }, u2 = { .user = "u2" };
    h_each_msg(&H, count_fn, &v1);
    h_each_msg(&H, count_fn, &v2);
    h_each_msg(&H, count_fn, &u1);
    h_each_msg(&H, count_fn, &u2);
    CHECK_EQ_INT(v1.users, 0);
    CHECK_EQ_INT(v2.users, 4);
    CHECK_EQ_INT(u1.users, 4);
    CHECK_EQ_INT(u2.users, 4);
    /* too large for one packet */
    static uint8_t big[1400];
    CHECK(swim_broadcast(H.core, big, sizeof big, NULL) == -1);
    CHECK(swim_broadcast(H.core, big, 1390, NULL) == 0);
    h_free(&H);
}

/* swim_broadcast_pending: true exactly until the keyed broadcast has been
 * sent its full retransmit count (4 here), whoever the sends went to. */
static void test_broadcast_pending(void)
{
    setup(3, 0);
    CHECK(!swim_broadcast_pending(H.core, "k"));
    CHECK(!swim_broadcast_pending(H.core, NULL));
    CHECK(!swim_broadcast_pending(H.core, ""));
    CHECK(swim_broadcast(H.core, (const uint8_t *)"w1", 2, "k") == 0);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"w2", 2, "k") == 0); /* replaces w1: still pending */
    CHECK(swim_broadcast(H.core, (const uint8_t *)"o1", 2, "other") == 0);
    CHECK(swim_broadcast_pending(H.core, "k"));
    CHECK(!swim_broadcast_pending(H.core, "kk"));
    int seen_pending_after = 0, steps = 0;
    bool done = false;
    while (!done && steps++ < 1000) {
        swim_time d = swim_next_deadline(H.core);
        REQUIRE(d != SWIM_NEVER);
        h_run(&H, d);
        counter w2 = { .user = "w2" };
        h_each_msg(&H, count_fn, &w2);
        bool pending = swim_broadcast_pending(H.core, "k");
        /* never pending once all 4 are out, never done before */
        CHECK_EQ_INT(pending, w2.users < 4);
        if (pending && w2.users > 0)
            seen_pending_after++;
        done = !pending;
    }
    CHECK(done);
    CHECK(seen_pending_after > 0); /* some sends out, more to come: still pending */
    counter w2 = { .user = "w2" };
    h_each_msg(&H, count_fn, &w2);
    CHECK_EQ_INT(w2.users, 4);
    /* nothing more is sent for it */
    h_run(&H, H.now + 20000);
    counter w2b = { .user = "w2" };
    h_each_msg(&H, count_fn, &w2b);
    CHECK_EQ_INT(w2b.users, 4);
    CHECK(!swim_broadcast_pending(H.core, "other"));
    /* the key can be used again */
    CHECK(swim_broadcast(H.core, (const uint8_t *)"w3", 2, "k") == 0);
    CHECK(swim_broadcast_pending(H.core, "k"));
    h_free(&H);
}

static void test_packing(void)
{
    setup(3, 29); /* as with encryption */
    /* sizes 10, 500, 300: largest first within the same transmit tier */
    static uint8_t a[10], b[500], c[300];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    memset(c, 'c', sizeof c);
    CHECK(swim_broadcast(H.core, a, sizeof a, NULL) == 0);
    CHECK(swim_broadcast(H.core, b, sizeof b, NULL) == 0);
    CHECK(swim_broadcast(H.core, c, sizeof c, NULL) == 0);
    h_run(&H, H.now + 200);
    REQUIRE(H.npkts >= 1);
    const uint8_t *parts[16];
    size_t lens[16];
    size_t n = h_parts(H.pkts[0].data, H.pkts[0].len, parts, lens, 16);
    REQUIRE(n == 3);
    CHECK_EQ_INT(lens[0], 501);
    CHECK_EQ_INT(lens[1], 301);
    CHECK_EQ_INT(lens[2], 11);
    /* many: every packet stays within UDPBufferSize - overhead */
    static uint8_t m[100];
    for (int i = 0; i < 100; i++) {
        memset(m, i, sizeof m);
        CHECK(swim_broadcast(H.core, m, sizeof m, NULL) == 0);
    }
    h_clear(&H);
    h_run(&H, H.now + 2000);
    size_t maxlen = 0;
    for (size_t i = 0; i < H.npkts; i++)
        if (H.pkts[i].len > maxlen)
            maxlen = H.pkts[i].len;
    CHECK(maxlen <= 1400 - 29);
    CHECK(maxlen > 1400 - 29 - 110); /* and they are packed full */
    h_free(&H);
}

static void test_piggyback_and_user(void)
{
    setup(3, 0);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"gossip", 6, NULL) == 0);
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.seq_no = 5;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, 0, b.data, b.len);
    REQUIRE(H.npkts == 1);
    const uint8_t *parts[8];
    size_t lens[8];
    REQUIRE(h_parts(H.pkts[0].data, H.pkts[0].len, parts, lens, 8) == 2);
    CHECK_EQ_INT(parts[0][0], WIRE_ACK);
    CHECK_MEM(parts[1], lens[1], "\x08gossip", 7);
    /* UDP user message in: an event with the source address */
    h_clear(&H);
    h_inject(&H, 1, (const uint8_t *)"\x08hello-udp", 10);
    const h_ev *e = h_last_event(&H, SWIM_EV_USER, NULL);
    REQUIRE(e);
    CHECK_MEM(e->payload, e->payload_len, "hello-udp", 9);
    /* stream user message in */
    wire_buf_reset(&b);
    REQUIRE(wire_encode_user_tcp(&b, (const uint8_t *)"hello-tcp", 9, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    swim_addr from = h_addr(1);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    CHECK(!swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply));
    CHECK_EQ_INT(reply.len, 0);
    e = h_last_event(&H, SWIM_EV_USER, NULL);
    REQUIRE(e);
    CHECK_MEM(e->payload, e->payload_len, "hello-tcp", 9);
    /* a truncated one is refused */
    CHECK(!swim_handle_stream(H.core, H.now, &from, b.data, b.len - 1, &reply));
    /* sending: best effort is one raw packet, reliable a stream */
    h_clear(&H);
    CHECK(swim_send_user(H.core, H.now, "p1", (const uint8_t *)"hi", 2, false) == 0);
    REQUIRE(H.npkts == 1);
    CHECK_MEM(H.pkts[0].data, H.pkts[0].len, "\x08hi", 3);
    /* SendBestEffort names the node: CRC-wrapped, p1 speaks protocol 5 */
    CHECK(H.pkts[0].crc);
    CHECK(swim_send_user(H.core, H.now, "p1", (const uint8_t *)"hi", 2, true) == 0);
    REQUIRE(H.nstreams == 1);
    CHECK_EQ_INT(H.streams[0].req.kind, SWIM_STREAM_USER);
    CHECK(!H.streams[0].req.want_reply);
    /* sendUserMsg: TCPTimeout to connect, then (ours) one to write */
    CHECK_EQ_INT(H.streams[0].req.phase_timeout, swim_get_config(H.core)->tcp_timeout);
    CHECK_EQ_INT(H.streams[0].req.deadline, H.now + (swim_time)swim_get_config(H.core)->tcp_timeout);
    CHECK_EQ_INT(H.streams[0].msg[0], WIRE_USER);
    CHECK(swim_send_user(H.core, H.now, "nobody", (const uint8_t *)"hi", 2, true) == -1);
    /* a member speaking up to protocol 4 gets it without CRC */
    static const uint8_t v4[6] = { 1, 4, 2, 2, 5, 5 };
    size_t olen;
    const uint8_t *old = h_alive_ex("old", 3, 9, 1, NULL, v4, &olen);
    h_inject(&H, 9, old, olen);
    h_clear(&H);
    CHECK(swim_send_user(H.core, H.now, "old", (const uint8_t *)"hi", 2, false) == 0);
    REQUIRE(H.npkts == 1);
    CHECK(!H.pkts[0].crc);
    /* malformed input is counted, not fatal */
    swim_stats before = *swim_get_stats(H.core);
    h_inject(&H, 1, (const uint8_t *)"\x04\x85", 2);
    h_inject(&H, 1, (const uint8_t *)"\x07\x05\x00", 3);
    h_inject(&H, 1, (const uint8_t *)"", 0);
    const swim_stats *after = swim_get_stats(H.core);
    CHECK_EQ_INT(after->dropped, before.dropped + 3);
    CHECK_EQ_INT(after->dropped_by_type[WIRE_ALIVE], before.dropped_by_type[WIRE_ALIVE] + 1);
    CHECK_EQ_INT(after->dropped_by_type[WIRE_COMPOUND], before.dropped_by_type[WIRE_COMPOUND] + 1);
    wire_buf_free(&reply);
    wire_buf_free(&b);
    h_free(&H);
}

/* The application queue holds at most 4096 (serf's MaxQueueDepth): a flood
 * of distinct keys drops the oldest instead of growing without bound. */
static void test_app_queue_bounded(void)
{
    setup(3, 0);
    char key[32];
    for (int i = 0; i < 4096 + 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(swim_broadcast(H.core, (const uint8_t *)key, strlen(key), key) == 0);
    }
    CHECK_EQ_INT(swim_get_stats(H.core)->broadcasts_dropped, 10);
    /* none sent yet: the smallest go first, then the oldest (k0..k9) */
    CHECK(!swim_broadcast_pending(H.core, "k0"));
    CHECK(!swim_broadcast_pending(H.core, "k9"));
    CHECK(swim_broadcast_pending(H.core, "k10"));
    CHECK(swim_broadcast_pending(H.core, "k4105"));
    h_free(&H);
}

int main(void)
{
    test_retransmit_limit();
    test_invalidation();
    test_app_broadcasts();
    test_broadcast_pending();
    test_app_queue_bounded();
    test_packing();
    test_piggyback_and_user();
    wire_buf_free(&h_buf);
    return check_done("test_swim_broadcast");
}
