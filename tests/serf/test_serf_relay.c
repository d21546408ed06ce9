/* Which serf intents an agent relays: those newer (LTime) than what it
 * knew about the node, never its own, each once; the table stays within
 * its cap, forgetting the node seen least recently. Also reading the node
 * and time out of serf's intents (serf-plain capture). */
#include <stdio.h>

#include "check.h"
#include "serf/serf_msg.h"
#include "serf/serf_relay.h"

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

static void test_decision(void)
{
    serf_relay *r = serf_relay_new(8);
    REQUIRE(r != NULL);
    /* new node: relay; the same intent again (gossip duplicates): not */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 5), 1);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 5), 0);
    /* older or equal: not; newer (its leave after its join): relay once */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 4), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 9), 1);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 9), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s1", 6), 0);
    /* nodes are independent */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s2", 1), 1);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "s2", 1), 0);
    /* about ourselves: never relayed, but recorded (our own send) */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "me", 3), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "me", 4), 0);
    CHECK_EQ_INT((int)serf_relay_count(r), 3);
    /* LTime 0 is a valid time for a node never seen */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "z", 0), 1);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "z", 0), 0);
    serf_relay_free(r);
}

static void test_lru_cap(void)
{
    serf_relay *r = serf_relay_new(4);
    REQUIRE(r != NULL);
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "n%d", i);
        CHECK_EQ_INT(serf_relay_observe(r, "me", name, 10), 1);
    }
    /* touch n0 (a duplicate), so n1 is now the least recently seen */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n0", 10), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n4", 10), 1);
    CHECK_EQ_INT((int)serf_relay_count(r), 4);
    /* n0, n2, n3 remembered; n1 forgotten (its old intent is news again) */
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n0", 10), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n2", 10), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n3", 10), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n4", 10), 0);
    CHECK_EQ_INT(serf_relay_observe(r, "me", "n1", 10), 1);
    /* many more nodes than the cap: the table never grows past it */
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "x%d", i);
        CHECK_EQ_INT(serf_relay_observe(r, "me", name, (uint64_t)i), 1);
    }
    CHECK_EQ_INT((int)serf_relay_count(r), 4);
    serf_relay_free(r);
    CHECK(serf_relay_new(0) == NULL);
}

int main(void)
{
    test_parse();
    test_decision();
    test_lru_cap();
    return check_done("test_serf_relay");
}
