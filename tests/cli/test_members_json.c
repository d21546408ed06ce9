/* `moonlist members` rendering: JSON shape and escaping, text columns,
 * and the RPC row encoding round trip. */
#include "check.h"
#include "cli/cli_json.h"
#include "cli/cli_members.h"
#include "wire/wire_mp.h"

static void json_is(const char *in, size_t n, const char *want)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_mp_writer w;
    wire_mp_writer_init(&w, &b);
    cli_json_str(&w, in, n);
    REQUIRE(wire_mp_finish(&w) == 0);
    CHECKF(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0, "got %.*s want %s", (int)b.len,
           (const char *)b.data, want);
    wire_buf_free(&b);
}

int main(void)
{
    json_is("plain", 5, "\"plain\"");
    json_is("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    json_is("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    json_is("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    json_is("a\0b", 3, "\"a\\u0000b\"");
    json_is("/\x7f", 2, "\"/\x7f\"");
    json_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate */
    json_is("\x80", 1, "\"\\ufffd\"");
    json_is("\xc3", 1, "\"\\ufffd\"");
    json_is("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
    json_is("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
    json_is("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");

    static const uint8_t meta[] = { 0xff, 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b',
                                    0xa3, 'q', '"', 'x', 0xa2, '\\', '\n' };
    swim_member in[3] = {
        { .name = "n\"1", .addr = { .ip = { 127, 0, 0, 1 }, .ip_len = 4, .port = 7946 }, .state = SWIM_ALIVE,
          .incarnation = 3, .meta = meta, .meta_len = sizeof meta, .vsn = { 1, 5, 2, 2, 5, 5 } },
        { .name = "n2", .addr = { .ip = { [15] = 1 }, .ip_len = 16, .port = 17946 }, .state = SWIM_LEFT,
          .incarnation = 1, .meta = NULL, .meta_len = 0, .vsn = { 1, 5, 2, 2, 5, 5 } },
        { .name = "n3", .addr = { .ip = { 10, 0, 0, 3 }, .ip_len = 4, .port = 7946 }, .state = SWIM_DEAD,
          .incarnation = 9, .meta = (const uint8_t *)"db", .meta_len = 2, .vsn = { 1, 5, 2, 2, 5, 4 } },
    };
    /* round trip through the RPC encoding: moonlist-members' records, and a
     * serf one (no State: its Status is shown); serf_status is always serf's */
    wire_buf rpc;
    wire_buf_init(&rpc, 0);
    wire_mp_writer w;
    wire_mp_container list;
    wire_mp_writer_init(&w, &rpc);
    wire_mp_array_begin(&w, &list);
    daemon_rpc_put_member(&w, &in[0], daemon_rpc_serf_status(in[0].state, false), true);
    daemon_rpc_put_member(&w, &in[1], daemon_rpc_serf_status(in[1].state, false), true);
    daemon_rpc_put_member(&w, &in[2], daemon_rpc_serf_status(in[2].state, false), false);
    wire_mp_array_end(&w, &list);
    REQUIRE(wire_mp_finish(&w) == 0);
    CHECK_EQ_INT(rpc.data[0], 0x93);
    CHECK_EQ_INT(rpc.data[1], 0x8d);   /* serf's 11 keys, Incarnation and State */
    wire_mp_reader r;
    wire_mp_reader_init(&r, rpc.data, rpc.len);
    cli_member *rows;
    size_t n;
    REQUIRE(cli_members_decode(&r, &rows, &n) == 0);
    REQUIRE(n == 3);
    CHECK_EQ_INT(wire_mp_left(&r), 0);

    wire_buf out;
    wire_buf_init(&out, 0);
    REQUIRE(cli_members_json(&out, rows, n) == 0);
    const char *want =
        "{\"members\":["
        "{\"name\":\"n\\\"1\",\"addr\":\"127.0.0.1\",\"port\":7946,\"status\":\"alive\","
        "\"tags\":{\"role\":\"web\",\"q\\\"x\":\"\\\\\\n\"},\"incarnation\":3,"
        "\"protocol\":[1,5,2],\"delegate\":[2,5,5],\"serf_status\":\"alive\"},"
        "{\"name\":\"n2\",\"addr\":\"::1\",\"port\":17946,\"status\":\"left\",\"tags\":{},"
        "\"incarnation\":1,\"protocol\":[1,5,2],\"delegate\":[2,5,5],\"serf_status\":\"left\"},"
        "{\"name\":\"n3\",\"addr\":\"10.0.0.3\",\"port\":7946,\"status\":\"failed\","
        "\"tags\":{\"role\":\"db\"},"
        "\"incarnation\":0,\"protocol\":[1,5,2],\"delegate\":[2,5,4],\"serf_status\":\"failed\"}"
        "]}\n";
    CHECKF(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0, "got %.*s", (int)out.len,
           (const char *)out.data);

    wire_buf_reset(&out);
    REQUIRE(cli_members_text(&out, rows, n) == 0);
    const char *text =
        "n\"1  127.0.0.1:7946  alive   role=web,q\"x=\\?\n"
        "n2   [::1]:17946     left    \n"
        "n3   10.0.0.3:7946   failed  role=db\n";
    CHECKF(out.len == strlen(text) && memcmp(out.data, text, out.len) == 0, "got %.*s", (int)out.len,
           (const char *)out.data);

    /* empty list */
    wire_buf_reset(&out);
    REQUIRE(cli_members_json(&out, rows, 0) == 0);
    CHECK(out.len == 15 && memcmp(out.data, "{\"members\":[]}\n", 15) == 0);

    /* truncated RPC data is rejected */
    wire_mp_reader_init(&r, rpc.data, rpc.len - 3);
    cli_member *bad;
    CHECK(cli_members_decode(&r, &bad, &n) == -1);

    free(rows);
    wire_buf_free(&rpc);
    wire_buf_free(&out);
    return check_done("test_members_json");
}
