/* swim_send_user_addr, memberlist's SendToAddress (serf's query responses
 * and relays): one UDP user message to an address, member or not, alone
 * in its packet (gossip waiting in the queues is not piggy-backed), and
 * CRC-wrapped only when the bare IP names a member speaking protocol 5
 * (rawSendMsgPacket with no Node looks the IP up as a name). */
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

int main(void)
{
    test_send_user_addr();
    wire_buf_free(&h_buf);
    return check_done("test_swim_send_addr");
}
