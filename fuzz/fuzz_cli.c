/* libFuzzer target for what the cli parses from others: node meta from
 * the network (serf tags, sent as a member record's Tags and rendered as
 * JSON and text), the agent's RPC answers (member rows), serf intents and
 * push/pull state (Lamport times), and the msgpack skipper under all of
 * them. The first byte picks the parser, the rest is its input. The JSON
 * rendering of any meta must be plain printable ASCII or UTF-8 with no raw
 * control bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_members.h"
#include "daemon/daemon_rpc.h"
#include "serf/serf_msg.h"
#include "serf/serf_tags.h"
#include "wire/wire_mp.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)

/* The rows' rendering of any decoded member list: JSON with no raw
 * control bytes. */
static void render_rows(const cli_member *rows, size_t n)
{
    wire_buf out;
    wire_buf_init(&out, 0);
    ASSERT(cli_members_json(&out, rows, n) == 0);
    for (size_t i = 0; i < out.len; i++)
        ASSERT(out.data[i] >= 0x20 || out.data[i] == '\n');
    ASSERT(out.len >= 2 && out.data[out.len - 1] == '\n');
    wire_buf_reset(&out);
    ASSERT(cli_members_text(&out, rows, n) == 0);
    wire_buf_free(&out);
}

/* Meta (and a name) from the network, through the agent's member record
 * and the client's decoding, as `moonlist members` shows it. */
static void render_meta(const uint8_t *p, size_t n)
{
    char name[64];
    size_t nl = n < sizeof name - 1 ? n : sizeof name - 1;
    memcpy(name, p, nl);
    name[nl] = '\0';
    swim_member m = { .name = name, .addr = { .ip = { 127, 0, 0, 1 }, .ip_len = 4, .port = 7946 },
                      .state = SWIM_ALIVE, .meta = p, .meta_len = n };
    wire_buf rec;
    wire_mp_writer w;
    wire_mp_container list;
    wire_buf_init(&rec, 0);
    wire_mp_writer_init(&w, &rec);
    wire_mp_array_begin(&w, &list);
    daemon_rpc_put_member(&w, &m, "alive", true);
    wire_mp_array_end(&w, &list);
    ASSERT(wire_mp_finish(&w) == 0);
    wire_mp_reader r;
    wire_mp_reader_init(&r, rec.data, rec.len);
    cli_member *rows;
    size_t nrows;
    ASSERT(cli_members_decode(&r, &rows, &nrows) == 0 && nrows == 1 && wire_mp_left(&r) == 0);
    render_rows(rows, nrows);
    free(rows);
    wire_buf_free(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0: {
        serf_tags t = { 0 };
        (void)serf_tags_decode(&t, p, n);
        for (size_t i = 0; i < t.n; i++)
            ASSERT(t.v[i].key[t.v[i].klen] == '\0' && t.v[i].value[t.v[i].vlen] == '\0');
        serf_tags_free(&t);
        render_meta(p, n);
        break;
    }
    case 1: {
        wire_mp_reader r;
        wire_mp_reader_init(&r, p, n);
        cli_member *rows;
        size_t nrows;
        if (cli_members_decode(&r, &rows, &nrows) == 0) {
            render_rows(rows, nrows);
            free(rows);
        }
        break;
    }
    case 2: {
        uint64_t t;
        (void)serf_intent_ltime(p, n, &t);
        (void)serf_state_ltime(p, n, &t);
        break;
    }
    default: {
        /* the kind peek agrees with the skipper (c1 never skips, input
         * left is never END), and the cursor never leaves its input */
        wire_mp_reader r;
        wire_mp_reader_init(&r, p, n);
        while (wire_mp_left(&r)) {
            wire_mp_kind k = wire_mp_peek_kind(&r);
            ASSERT(k != WIRE_MP_END);
            if (wire_mp_skip(&r) != 0)
                break;
            ASSERT(k != WIRE_MP_BAD);
        }
        ASSERT(wire_mp_consumed(&r) + wire_mp_left(&r) == n);
        break;
    }
    }
    return 0;
}
