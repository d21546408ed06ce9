/* serf intents: our leave intent byte-exact against serf's (serf-plain
 * capture, n2's leave: 00 83 a5"LTime" 03 a4"Node" a2"n2" a5"Prune" c2),
 * and reading LTime from serf's intents. */
#include "check.h"
#include "serf/serf_msg.h"

int main(void)
{
    static const uint8_t serf_leave[] = { 0x00, 0x83, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x03, 0xa4, 'N', 'o', 'd', 'e',
                                          0xa2, 'n', '2', 0xa5, 'P', 'r', 'u', 'n', 'e', 0xc2 };
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_leave_intent(&b, 3, "n2") == 0);
    CHECK_MEM(b.data, b.len, serf_leave, sizeof serf_leave);

    /* large times use the smallest unsigned form, as go-msgpack does */
    wire_buf_reset(&b);
    REQUIRE(serf_leave_intent(&b, 300, "n2") == 0);
    CHECK_EQ_INT(b.data[8], 0xcd);
    CHECK_EQ_INT(b.data[9], 0x01);
    CHECK_EQ_INT(b.data[10], 0x2c);

    uint64_t t = 0;
    CHECK(serf_intent_ltime(serf_leave, sizeof serf_leave, &t) == 0 && t == 3);
    /* n2's join intent from the same capture: 01 82 a5"LTime" 01 a4"Node" a2"n2" */
    static const uint8_t serf_join[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                         0xa2, 'n', '2' };
    CHECK(serf_intent_ltime(serf_join, sizeof serf_join, &t) == 0 && t == 1);
    /* not intents, or malformed */
    static const uint8_t event[] = { 0x03, 0x80 };
    CHECK(serf_intent_ltime(event, sizeof event, &t) == -1);
    CHECK(serf_intent_ltime(serf_join, 6, &t) == -1);
    static const uint8_t no_ltime[] = { 0x00, 0x81, 0xa4, 'N', 'o', 'd', 'e', 0xa0 };
    CHECK(serf_intent_ltime(no_ltime, sizeof no_ltime, &t) == -1);
    static const uint8_t neg[] = { 0x00, 0x81, 0xa5, 'L', 'T', 'i', 'm', 'e', 0xff };
    CHECK(serf_intent_ltime(neg, sizeof neg, &t) == -1);
    /* our join intent, byte-exact against n2's in the capture */
    wire_buf_reset(&b);
    REQUIRE(serf_join_intent(&b, 1, "n2") == 0);
    CHECK_MEM(b.data, b.len, serf_join, sizeof serf_join);

    /* serf's push/pull user state (n1's in the serf-plain capture):
     * 02 {EventLTime:1, Events:[512 nils], LTime:1, LeftMembers:[],
     *     QueryLTime:1, StatusLTimes:{n1:0}}, LTime set to 7 here to tell it
     * apart from the other clocks */
    static uint8_t state[600];
    static const uint8_t head[] = { 0x02, 0x86, 0xaa, 'E', 'v', 'e', 'n', 't', 'L', 'T', 'i', 'm', 'e', 0x01,
                                    0xa6, 'E', 'v', 'e', 'n', 't', 's', 0xdc, 0x02, 0x00 };
    static const uint8_t tail[] = { 0xa5, 'L', 'T', 'i', 'm', 'e', 0x07, 0xab, 'L', 'e', 'f', 't', 'M', 'e', 'm',
                                    'b', 'e', 'r', 's', 0x90, 0xaa, 'Q', 'u', 'e', 'r', 'y', 'L', 'T', 'i', 'm',
                                    'e', 0x01, 0xac, 'S', 't', 'a', 't', 'u', 's', 'L', 'T', 'i', 'm', 'e', 's',
                                    0x81, 0xa2, 'n', '1', 0x00 };
    size_t n = 0;
    memcpy(state, head, sizeof head);
    n += sizeof head;
    memset(state + n, 0xc0, 512);
    n += 512;
    memcpy(state + n, tail, sizeof tail);
    n += sizeof tail;
    t = 0;
    CHECK(serf_state_ltime(state, n, &t) == 0 && t == 7);
    CHECK(serf_state_ltime(state, sizeof head + 100, &t) == -1);   /* cut inside Events */
    CHECK(serf_state_ltime(serf_join, sizeof serf_join, &t) == -1); /* not a push/pull */
    CHECK(serf_intent_ltime(state, n, &t) == -1);

    wire_buf_free(&b);
    return check_done("test_serf");
}
