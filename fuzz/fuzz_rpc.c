/* libFuzzer target for the control protocol's decoders (daemon/daemon_rpc.h,
 * serf's IPC). The agent decodes whatever a local client writes to
 * -rpc-addr; the client decodes whatever answers there. The input is one
 * connection's bytes, read both ways:
 *   - as the agent reads them: request after request until one is partial
 *     or bad, each request's lists and maps walked, its stream filter and
 *     log level parsed;
 *   - as a client reads them: response headers, each followed by a body,
 *     and a body's "Members" as `moonlist members` decodes and renders
 *     them.
 * Checks: the cursor never leaves the input and always advances, a list
 * yields exactly its count, rendering never fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_members.h"
#include "daemon/daemon_rpc.h"
#include "wire/wire_mp.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)

static void walk_list(daemon_rpc_list l)
{
    uint32_t n = l.n;
    wire_bytes s;
    while (daemon_rpc_list_next(&l, &s)) {
        ASSERT(s.p != NULL);
        n--;
    }
    ASSERT(n == 0);
}

static void walk_map(daemon_rpc_list l)
{
    uint32_t n = l.n;
    wire_bytes k, v;
    while (daemon_rpc_map_next(&l, &k, &v)) {
        ASSERT(k.p != NULL && v.p != NULL);
        n--;
    }
    ASSERT(n == 0);
}

static void as_agent(const uint8_t *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        daemon_rpc_request req;
        size_t used;
        daemon_rpc_parse pr = daemon_rpc_decode_request(p + off, n - off, &req, &used);
        if (pr != DAEMON_RPC_OK)
            break;
        ASSERT(used > 0 && used <= n - off);
        ASSERT((unsigned)req.cmd < DAEMON_RPC_NCMDS);
        walk_list(req.existing);
        walk_list(req.delete_tags);
        walk_list(req.filter_nodes);
        walk_map(req.tags);
        walk_map(req.filter_tags);
        unsigned mask;
        if (daemon_rpc_parse_filter(req.type, &mask) == 0)
            ASSERT(mask != 0 && (mask & ~(unsigned)DAEMON_RPC_EV_ALL) == 0);
        base_log_level level;
        char err[80];
        if (daemon_rpc_parse_log_level(req.log_level, &level, err, sizeof err) == 0)
            ASSERT((unsigned)level < BASE_LOG_LEVELS);
        else
            ASSERT(memchr(err, 0, sizeof err) != NULL);
        off += used;
        if (req.cmd == DAEMON_RPC_CMD_UNKNOWN)   /* the agent stops here */
            break;
    }
}

static void render(wire_bytes body)
{
    wire_mp_reader r;
    uint32_t nk;
    wire_mp_reader_init(&r, body.p, body.n);
    if (wire_mp_read_map(&r, &nk))
        return;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k))
            return;
        if (!wire_mp_eq(k, "Members")) {
            if (wire_mp_skip(&r))
                return;
            continue;
        }
        cli_member *rows;
        size_t nrows;
        if (cli_members_decode(&r, &rows, &nrows) < 0)
            return;
        wire_buf out;
        wire_buf_init(&out, 0);
        ASSERT(cli_members_json(&out, rows, nrows) == 0);
        for (size_t j = 0; j < out.len; j++)
            ASSERT(out.data[j] >= 0x20 || out.data[j] == '\n');
        wire_buf_reset(&out);
        ASSERT(cli_members_text(&out, rows, nrows) == 0);
        wire_buf_free(&out);
        free(rows);
        return;
    }
}

static void as_client(const uint8_t *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        uint64_t seq;
        wire_bytes err;
        size_t used;
        if (daemon_rpc_decode_response_header(p + off, n - off, &seq, &err, &used) != DAEMON_RPC_OK)
            break;
        ASSERT(used > 0 && used <= n - off && err.p != NULL);
        off += used;
        if (daemon_rpc_value_len(p + off, n - off, &used) != DAEMON_RPC_OK)
            break;
        ASSERT(used > 0 && used <= n - off);
        render((wire_bytes){ p + off, used });
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that ASan sees any read past them */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    as_agent(p, size);
    as_client(p, size);
    free(p);
    return 0;
}
