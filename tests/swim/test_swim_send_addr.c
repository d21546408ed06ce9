/* swim_send_user_addr, memberlist's SendToAddress (serf's query responses
 * and relays): one UDP user message to an address, member or not, alone
 * in its packet (gossip waiting in the queues is not piggy-backed), and
 * CRC-wrapped only when the bare IP names a member speaking protocol 5
 * (rawSendMsgPacket with no Node looks the IP up as a name).
 * swim_send_user_all and swim_leave_all (§12.3): one such packet to each
 * member alive or suspect, never to us, the dead or the left; the leave is
 * still gossiped as well, and plain swim_leave sends no direct copy. */
#include "swim/harness.h"

static harness H;

static void test_send_user_addr(void)
{
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peers(&H, 3);
    h_add_peer(&H, "10.0.0.12", 10, 1);   /* named by its IP */
    h_run(&H, 20000);
    h_clear(&H);
    /* gossip waiting: a plain user message would not carry it */
    CHECK(swim_broadcast(H.core, (const uint8_t *)"gossip", 6, "g") == 0);

    swim_addr p1 = h_addr(1);
    CHECK(swim_send_user_addr(H.core, H.now, &p1, (const uint8_t *)"hi", 2) == 0);
    REQUIRE(H.npkts == 1);
    CHECK_MEM(H.pkts[0].data, H.pkts[0].len, "\x08hi", 3);
    CHECK(!H.pkts[0].crc);            /* "10.0.0.3" names nobody */
    CHECK(H.pkts[0].to.port == p1.port && memcmp(H.pkts[0].to.ip, p1.ip, 4) == 0);
    CHECK(swim_broadcast_pending(H.core, "g"));

    /* not a member at all */
    h_clear(&H);
    swim_addr stranger = h_addr(40);
    CHECK(swim_send_user_addr(H.core, H.now, &stranger, (const uint8_t *)"yo", 2) == 0);
    REQUIRE(H.npkts == 1);
    CHECK_MEM(H.pkts[0].data, H.pkts[0].len, "\x08yo", 3);
    CHECK(!H.pkts[0].crc);

    /* a member whose name is its IP, protocol 5: CRC */
    h_clear(&H);
    swim_addr named = h_addr(10);
    CHECK(swim_send_user_addr(H.core, H.now, &named, (const uint8_t *)"x", 1) == 0);
    REQUIRE(H.npkts == 1);
    CHECK(H.pkts[0].crc);
    CHECK_EQ_INT(swim_get_stats(H.core)->sent[WIRE_USER] >= 3, 1);
    h_free(&H);
}

/* peers p0..p3; p3 left: who gets a copy, of what */
static void setup_four(void)
{
    h_setup(&H, 4);
    H.auto_ack = true;
    size_t len;
    const uint8_t *m = h_dead("p3", 1, "p3", &len);   /* p3's own leave */
    h_inject(&H, 3, m, len);
    REQUIRE(h_state(&H, "p3") == SWIM_LEFT);
    h_clear(&H);
}

/* how many of the packets are exactly msg, each to a different peer among
 * p0..p2 */
static int copies_to_p0_p2(const uint8_t *msg, size_t len)
{
    int seen[3] = { 0 }, n = 0;
    for (size_t i = 0; i < H.npkts; i++) {
        if (H.pkts[i].len != len || memcmp(H.pkts[i].data, msg, len) != 0)
            continue;
        int peer = h_peer_of(&H.pkts[i].to);
        REQUIRE(peer >= 0 && peer <= 2);
        CHECK(!seen[peer]);
        seen[peer] = 1;
        n++;
    }
    return n;
}

static void test_send_user_all(void)
{
    setup_four();
    CHECK_EQ_INT(swim_send_user_all(H.core, H.now, (const uint8_t *)"hi", 2), 3);
    CHECK_EQ_INT((int)H.npkts, 3);
    CHECK_EQ_INT(copies_to_p0_p2((const uint8_t *)"\x08hi", 3), 3);
    h_free(&H);
}

static void test_leave_all(void)
{
    size_t len;
    const uint8_t *dead = h_dead("me", 1, "me", &len);
    uint8_t want[64];
    REQUIRE(len <= sizeof want);
    memcpy(want, dead, len);

    /* memberlist's way: only gossip, nothing sent at once */
    setup_four();
    swim_leave(H.core, H.now, 5000);
    CHECK_EQ_INT(copies_to_p0_p2(want, len), 0);
    h_free(&H);

    setup_four();
    swim_leave_all(H.core, H.now, 5000);
    CHECK_EQ_INT(copies_to_p0_p2(want, len), 3);
    /* and gossiped on as well */
    h_run(&H, H.now + 1000);
    size_t gossiped = 0;
    for (size_t i = 0; i < H.npkts; i++) {
        const uint8_t *parts[64];
        size_t lens[64];
        size_t n = h_parts(H.pkts[i].data, H.pkts[i].len, parts, lens, 64);
        for (size_t k = 0; k < n; k++)
            if (H.pkts[i].len != len && lens[k] == len && memcmp(parts[k], want, len) == 0)
                gossiped++;
    }
    CHECK(gossiped >= 1);
    h_free(&H);
}

int main(void)
{
    test_send_user_addr();
    test_send_user_all();
    test_leave_all();
    wire_buf_free(&h_buf);
    return check_done("test_swim_send_addr");
}
