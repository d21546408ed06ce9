/* `moonlist info -format json`: the agent's sections as serf's
 * MarshalIndent lays them out, strings escaped, integers as numbers, an
 * empty section as {}, a value of another kind as null; a body of the
 * wrong shape refused with the buffer untouched. */
#include "check.h"
#include "cli/cli_info_json.h"
#include "wire/wire_mp.h"

static void test_shape(void)
{
    wire_buf in, out;
    wire_buf_init(&in, 0);
    wire_buf_init(&out, 0);
    wire_mp_writer w;
    wire_mp_container top, sec;
    wire_mp_writer_init(&w, &in);
    wire_mp_map_begin(&w, &top);
    wire_mp_pack_cstr(&w, "agent");
    wire_mp_map_begin(&w, &sec);
    wire_mp_pack_cstr(&w, "name");
    wire_mp_pack_cstr(&w, "n\"1\x01");
    wire_mp_pack_cstr(&w, "members");
    wire_mp_pack_uint(&w, 18446744073709551615ull);
    wire_mp_map_end(&w, &sec);
    wire_mp_pack_cstr(&w, "event_handlers");
    wire_mp_map_begin(&w, &sec);
    wire_mp_map_end(&w, &sec);
    wire_mp_pack_cstr(&w, "lua");
    wire_mp_map_begin(&w, &sec);
    wire_mp_pack_cstr(&w, "hook_errors");
    wire_mp_pack_uint(&w, 3);
    wire_mp_pack_cstr(&w, "later");
    wire_mp_pack_bool(&w, true);
    wire_mp_map_end(&w, &sec);
    wire_mp_map_end(&w, &top);
    REQUIRE(wire_mp_finish(&w) == WIRE_OK);

    wire_bytes body = { in.data, in.len };
    REQUIRE(cli_info_json(&out, body) == 0);
    static const char want[] = "{\n"
                               "  \"agent\": {\n"
                               "    \"name\": \"n\\\"1\\u0001\",\n"
                               "    \"members\": 18446744073709551615\n"
                               "  },\n"
                               "  \"event_handlers\": {},\n"
                               "  \"lua\": {\n"
                               "    \"hook_errors\": 3,\n"
                               "    \"later\": null\n"
                               "  }\n"
                               "}\n";
    CHECKF(out.len == sizeof want - 1 && memcmp(out.data, want, out.len) == 0, "%.*s", (int)out.len,
           (const char *)out.data);

    /* cut anywhere: refused, nothing written */
    for (size_t n = 0; n < in.len; n++) {
        wire_buf part;
        wire_buf_init(&part, 0);
        REQUIRE(wire_buf_append(&part, "x", 1) == 0);
        wire_bytes cut = { in.data, n };
        CHECKF(cli_info_json(&part, cut) == -1 && part.len == 1, "cut at %zu", n);
        wire_buf_free(&part);
    }
    wire_buf_free(&in);
    wire_buf_free(&out);
}

static void test_empty(void)
{
    wire_buf out;
    wire_buf_init(&out, 0);
    static const uint8_t empty_map[] = { 0x80 };
    wire_bytes body = { empty_map, 1 };
    REQUIRE(cli_info_json(&out, body) == 0);
    CHECK_MEM(out.data, out.len, "{}\n", 3);
    /* not a map of maps */
    static const uint8_t not_map[] = { 0x81, 0xa1, 'a', 0x01 };
    wire_bytes bad = { not_map, sizeof not_map };
    wire_buf_reset(&out);
    CHECK(cli_info_json(&out, bad) == -1 && out.len == 0);
    wire_buf_free(&out);
}

int main(void)
{
    test_shape();
    test_empty();
    return check_done("test_info_json");
}
