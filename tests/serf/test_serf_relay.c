/* Reading the node and time out of serf's intents (serf-plain capture).
 * Which intents a serf node relays (the news, never its own, each once)
 * is test_serf_node_intents.c's and test_serf_leave.c's. */
#include <stdio.h>

#include "check.h"
#include "serf/serf_msg.h"

static void test_parse(void)
{
    /* n2's leave and join intents from the serf-plain capture */
    static const uint8_t leave[] = { 0x00, 0x83, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x03, 0xa4, 'N', 'o', 'd', 'e',
                                     0xa2, 'n', '2', 0xa5, 'P', 'r', 'u', 'n', 'e', 0xc2 };
    static const uint8_t join[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                    0xa2, 'n', '2' };
    serf_intent in;
    REQUIRE(serf_intent_parse(leave, sizeof leave, &in) == 0);
    CHECK_EQ_INT(in.type, SERF_MSG_LEAVE);
    CHECK(in.ltime == 3);
    CHECK(strcmp(in.node, "n2") == 0);
    REQUIRE(serf_intent_parse(join, sizeof join, &in) == 0);
    CHECK_EQ_INT(in.type, SERF_MSG_JOIN);
    CHECK(in.ltime == 1);
    CHECK(strcmp(in.node, "n2") == 0);
    /* what we build reads back */
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_leave_intent(&b, 77, "m2") == 0);
    REQUIRE(serf_intent_parse(b.data, b.len, &in) == 0);
    CHECK(in.ltime == 77 && strcmp(in.node, "m2") == 0 && in.type == SERF_MSG_LEAVE);
    wire_buf_free(&b);
    /* truncated anywhere: refused, never read past */
    for (size_t n = 0; n < sizeof leave; n++)
        CHECK(serf_intent_parse(leave, n, &in) == -1);
    /* no Node, empty Node, Node with a NUL, not an intent */
    static const uint8_t no_node[] = { 0x00, 0x81, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x03 };
    static const uint8_t empty_node[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                          0xa0 };
    static const uint8_t nul_node[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                        0xa2, 'n', 0x00 };
    static const uint8_t event[] = { 0x03, 0x81, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'x' };
    CHECK(serf_intent_parse(no_node, sizeof no_node, &in) == -1);
    CHECK(serf_intent_parse(empty_node, sizeof empty_node, &in) == -1);
    CHECK(serf_intent_parse(nul_node, sizeof nul_node, &in) == -1);
    CHECK(serf_intent_parse(event, sizeof event, &in) == -1);
    /* a 256-byte name does not fit memberlist's limit */
    static uint8_t longname[300];
    size_t n = 0;
    static const uint8_t head[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                    0xd9, 0x00 };
    memcpy(longname, head, sizeof head);
    n = sizeof head;
    longname[n - 1] = 255;
    memset(longname + n, 'a', 255);
    CHECK(serf_intent_parse(longname, n + 255, &in) == 0 && strlen(in.node) == 255);
    longname[n - 1] = 0;   /* str8 of length 0 */
    CHECK(serf_intent_parse(longname, n, &in) == -1);
    static uint8_t toolong[300];
    static const uint8_t head2[] = { 0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01, 0xa4, 'N', 'o', 'd', 'e',
                                     0xd9, 0x00 };
    memcpy(toolong, head2, sizeof head2);
    /* str8 caps at 255: a 256-byte name needs str16 */
    toolong[sizeof head2 - 2] = 0xda;
    toolong[sizeof head2 - 1] = 0x01;
    toolong[sizeof head2] = 0x00;
    memset(toolong + sizeof head2 + 1, 'a', 256);
    CHECK(serf_intent_parse(toolong, sizeof head2 + 1 + 256, &in) == -1);
}

int main(void)
{
    test_parse();
    return check_done("test_serf_relay");
}
