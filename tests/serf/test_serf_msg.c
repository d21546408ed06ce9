/* serf intents: our leave intent byte-exact against serf's (serf-plain
 * capture, n2's leave: 00 83 a5"LTime" 03 a4"Node" a2"n2" a5"Prune" c2),
 * and reading LTime from serf's intents. */
#include "check.h"
#include "serf/serf_msg.h"
#include "serf/serf_msg_event.h"
#include "serf/serf_msg_key.h"
#include "serf/serf_msg_query.h"
#include "serf/serf_msg_state.h"

#define B(s) wire_bytes_of(s, strlen(s))

/* go-msgpack's decoding rules, on the new codecs (the vectors test does
 * serf's own bytes; these are the inputs serf would also take) */
static void test_decoding_rules(void)
{
    /* keys in any order, unknown keys skipped (whatever their value),
     * integers in any form, strings as bin or str8 */
    static const uint8_t any_order[] = { 0x03, 0x86, 0xa4, 'N', 'a', 'm', 'e', 0xc4, 0x01, 'x',
                                         0xa5, 'E', 'x', 't', 'r', 'a', 0x92, 0x81, 0xa1, 'k', 0x01, 0xc0,
                                         0xa5, 'L', 'T', 'i', 'm', 'e', 0xd2, 0x00, 0x00, 0x01, 0x00,
                                         0xa2, 'C', 'C', 0x01,
                                         0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xd9, 0x01, 'p',
                                         0xa2, 'c', 'c', 0xc3 };
    serf_msg_user_event e;
    CHECK_EQ_INT(serf_msg_user_event_decode(any_order, sizeof any_order, &e), WIRE_OK);
    CHECK(e.ltime == 256 && e.cc && e.name.n == 1 && e.name.p[0] == 'x' && e.payload.n == 1);
    /* a repeated key: last wins (and the first list is not leaked) */
    static const uint8_t twice[] = { 0x02, 0x82, 0xab, 'L', 'e', 'f', 't', 'M', 'e', 'm', 'b', 'e', 'r', 's',
                                     0x91, 0xa1, 'a', 0xab, 'L', 'e', 'f', 't', 'M', 'e', 'm', 'b', 'e', 'r',
                                     's', 0x92, 0xa1, 'b', 0xa1, 'c' };
    serf_msg_push_pull pp;
    CHECK_EQ_INT(serf_msg_push_pull_decode(twice, sizeof twice, &pp), WIRE_OK);
    CHECK(pp.left_members.n == 2 && pp.left_members.v[0].p[0] == 'b');
    serf_msg_push_pull_free(&pp);
    CHECK(pp.left_members.v == NULL);
    /* nil and empty lists stay apart; missing keys are zero */
    static const uint8_t nil_empty[] = { 0x02, 0x82, 0xab, 'L', 'e', 'f', 't', 'M', 'e', 'm', 'b', 'e', 'r',
                                         's', 0xc0, 0xac, 'S', 't', 'a', 't', 'u', 's', 'L', 'T', 'i', 'm', 'e',
                                         's', 0x80 };
    CHECK_EQ_INT(serf_msg_push_pull_decode(nil_empty, sizeof nil_empty, &pp), WIRE_OK);
    CHECK(pp.left_members.v == NULL && pp.status_ltimes.v != NULL && pp.status_ltimes.n == 0);
    CHECK(pp.events.v == NULL && pp.ltime == 0);
    serf_msg_push_pull_free(&pp);
    /* a nil body is the zero struct, as Go decodes it */
    static const uint8_t nil_body[] = { 0x01, 0xc0 };
    serf_msg_join j;
    CHECK_EQ_INT(serf_msg_join_decode(nil_body, sizeof nil_body, &j), WIRE_OK);
    CHECK(j.ltime == 0 && j.node.n == 0);
    /* errors: another type, not a map, out of range, negative, truncated */
    CHECK_EQ_INT(serf_msg_join_decode(any_order, sizeof any_order, &j), WIRE_ETYPE);
    static const uint8_t array_body[] = { 0x01, 0x92, 0x01, 0xa1, 'n' };
    CHECK_EQ_INT(serf_msg_join_decode(array_body, sizeof array_body, &j), WIRE_EFORMAT);
    static const uint8_t big_port[] = { 0x04, 0x81, 0xa4, 'P', 'o', 'r', 't', 0xce, 0x00, 0x01, 0x00, 0x00 };
    serf_msg_query q;
    CHECK_EQ_INT(serf_msg_query_decode(big_port, sizeof big_port, &q), WIRE_ERANGE);
    static const uint8_t neg_relay[] = { 0x04, 0x81, 0xab, 'R', 'e', 'l', 'a', 'y', 'F', 'a', 'c', 't', 'o',
                                         'r', 0xff };
    CHECK_EQ_INT(serf_msg_query_decode(neg_relay, sizeof neg_relay, &q), WIRE_ERANGE);
    static const uint8_t neg_timeout[] = { 0x04, 0x81, 0xa7, 'T', 'i', 'm', 'e', 'o', 'u', 't', 0xff };
    CHECK_EQ_INT(serf_msg_query_decode(neg_timeout, sizeof neg_timeout, &q), WIRE_OK);
    CHECK_EQ_INT(q.timeout_ns, -1);
    serf_msg_query_free(&q);
    /* a hostile count costs nothing: 4 billion filters in 6 bytes */
    static const uint8_t huge[] = { 0x04, 0x81, 0xa7, 'F', 'i', 'l', 't', 'e', 'r', 's', 0xdd, 0xff, 0xff,
                                    0xff, 0xff };
    CHECK_EQ_INT(serf_msg_query_decode(huge, sizeof huge, &q), WIRE_ETRUNC);
    CHECK(q.filters.v == NULL);
    /* an error half way frees what came before */
    static const uint8_t half[] = { 0x04, 0x82, 0xa7, 'F', 'i', 'l', 't', 'e', 'r', 's', 0x91, 0xa1, 'x',
                                    0xa2, 'I', 'D', 0xc2 };
    CHECK_EQ_INT(serf_msg_query_decode(half, sizeof half, &q), WIRE_EFORMAT);
    CHECK(q.filters.v == NULL);
    CHECK_EQ_INT(serf_msg_user_event_decode(NULL, 0, &e), WIRE_ETRUNC);
    CHECK_EQ_INT(strcmp(serf_msg_type_name(SERF_MSG_RELAY), "relay"), 0);
    CHECK_EQ_INT(strcmp(serf_msg_type_name(10), "unknown"), 0);
}

/* building messages from our own arrays, as the agent will */
static void test_encoding(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    /* a conflict response for an unknown name is 06 c0; with a member,
     * the 11 fields sorted */
    serf_member none = { 0 };
    REQUIRE(serf_msg_conflict_response_encode(&b, &none) == WIRE_OK);
    CHECK(b.len == 2 && b.data[0] == 0x06 && b.data[1] == 0xc0);
    serf_member back;
    CHECK_EQ_INT(serf_msg_conflict_response_decode(b.data, b.len, &back), WIRE_OK);
    CHECK(!back.present);
    wire_buf_reset(&b);
    serf_str_pair tags[] = { { B("role"), B("web") } };
    serf_member m = { .present = true, .addr = wire_bytes_of("\x7f\0\0\1", 4), .name = B("n1"), .port = 7946,
                      .status = SERF_STATUS_ALIVE, .tags = { tags, 1 } };
    REQUIRE(serf_msg_conflict_response_encode(&b, &m) == WIRE_OK);
    CHECK(b.data[1] == 0x8b);
    CHECK_EQ_INT(serf_msg_conflict_response_decode(b.data, b.len, &back), WIRE_OK);
    CHECK(back.present && back.port == 7946 && back.tags.n == 1 && back.tags.v[0].value.n == 3);
    serf_member_free(&back);
    wire_buf_reset(&b);

    /* a relayed response: header, then the response as it is */
    serf_msg_query_response r = { .flags = SERF_QUERY_FLAG_ACK, .from = B("n2"), .id = 9, .ltime = 3 };
    wire_buf inner;
    wire_buf_init(&inner, 0);
    REQUIRE(serf_msg_query_response_encode(&inner, &r) == WIRE_OK);
    serf_msg_relay rel = { .dest_addr = { .ip = wire_bytes_of("\x7f\0\0\1", 4), .port = 17946 },
                           .dest_name = B("n1"), .inner = wire_bytes_of(inner.data, inner.len) };
    REQUIRE(serf_msg_relay_encode(&b, &rel) == WIRE_OK);
    serf_msg_relay got;
    REQUIRE(serf_msg_relay_decode(b.data, b.len, &got) == WIRE_OK);
    CHECK_MEM(got.inner.p, got.inner.n, inner.data, inner.len);
    CHECK(got.dest_addr.port == 17946 && got.dest_addr.zone.n == 0);
    serf_msg_query_response r2;
    CHECK_EQ_INT(serf_msg_query_response_decode(got.inner.p, got.inner.n, &r2), WIRE_OK);
    CHECK(r2.id == 9 && r2.payload.p == NULL);
    /* a relay with nothing inside decodes, with an empty inner message */
    size_t header_only = b.len - inner.len;
    REQUIRE(serf_msg_relay_decode(b.data, header_only, &got) == WIRE_OK);
    CHECK_EQ_INT(got.inner.n, 0);
    wire_buf_free(&inner);
    wire_buf_reset(&b);

    /* a list with elements but no array is refused, nothing written */
    serf_msg_key_response kr = { .keys = { NULL, 2 }, .result = true };
    CHECK_EQ_INT(serf_msg_key_response_encode(&b, &kr), WIRE_EFORMAT);
    CHECK_EQ_INT(b.len, 0);
    /* key request with a 16-byte key; a nil key is c0 */
    serf_msg_key_request kq = { .key = wire_bytes_of(NULL, 0) };
    REQUIRE(serf_msg_key_request_encode(&b, &kq) == WIRE_OK);
    CHECK(b.data[b.len - 1] == 0xc0);
    wire_buf_free(&b);
}

int main(void)
{
    test_decoding_rules();
    test_encoding();

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
