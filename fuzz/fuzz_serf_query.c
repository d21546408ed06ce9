/* libFuzzer target for serf_node's events and queries (the commands as
 * well as what the network hands in), over a real swim core whose packets
 * go nowhere. The input is a list of operations, each [op][len: 2 bytes,
 * little-endian][len bytes]:
 *   0 a user message with those bytes, from a peer;
 *   1 our query: first byte the options (ack, no-broadcast, relay factor,
 *     node filter, tag filter), the rest its name, payload and tag
 *     expression;
 *   2 an answer (the rest) to a query we were asked (first byte picks it);
 *   3 a key query (first byte the operation, second the relay factor,
 *     the rest the key);
 *   4 the core's name conflict about us, or about another;
 *   5 time passes (first byte: tenths of seconds) and the node ticks;
 *   6 our user event (first byte: coalesce; the rest name and payload);
 *   7 a member joins (named by the bytes), for relays and conflicts;
 *   8 a peer's push/pull state (merge_remote_state; a join's if len is
 *     odd);
 *   9 the core's leave (first byte odd) or update of a member named by
 *     the rest, meta: the rest;
 *   10 force-leave (prune: the first byte's low bit) of the named one;
 *   11 our own push/pull state, which must decode as serf's;
 *   12-15 as 0.
 * The op is the first byte's low nibble. Nothing may crash or leak; the
 * keyring keeps a primary; serf_node_check holds after every operation
 * (every query we were told of and may still answer within its bound,
 * clocks never going back). fuzz_serf_node does the same with real peers
 * in a simulated cluster, slower. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_state.h"
#include "serf/serf_node_internal.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)
#define HANDLES 64

typedef struct ctx {
    uint64_t handles[HANDLES];
    size_t nhandles;
} ctx;

static void on_event(void *ud, const serf_node_event *ev)
{
    ctx *c = ud;
    if (ev->type == SERF_EV_QUERY)
        c->handles[c->nhandles++ % HANDLES] = ev->query_id;
    if (ev->name.n)
        ASSERT(ev->name.p);
}

static void cstr(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < k; i++)
        out[i] = p[i] ? (char)p[i] : '.';
    out[k] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    if (swim_config_profile(&c, "lan") != 0)
        return 0;
    snprintf(c.name, sizeof c.name, "me");
    c.advertise.ip_len = 4;
    c.advertise.ip[0] = 127;
    c.advertise.ip[3] = 1;
    c.advertise.port = 7946;
    c.meta[0] = 0xff;
    c.meta[1] = 0x80;
    c.meta_len = 2;
    static const uint8_t k0[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    wire_keyring kr;
    wire_keyring_init(&kr);
    wire_keyring_add(&kr, k0, 16);
    ctx cx = { 0 };
    serf_node_config sc = { .name = "me", .gossip_interval_ms = 200, .keyring = &kr,
                            .coalesce_period_ms = (size & 1) ? 500 : 0, .quiescent_period_ms = 200 };
    serf_node_io sio = { .ud = &cx, .event = on_event };
    serf_node *sn = serf_node_new(&sc, &sio, 0);
    if (!sn)
        return 0;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.delegate = serf_node_swim_delegate(sn, NULL);
    swim *core = swim_new(&c, &io, 0);
    if (!core) {
        serf_node_free(sn);
        return 0;
    }
    swim_time now = 0;
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_JOIN;
    ev.member.name = "me";
    ev.member.addr = c.advertise;
    ev.member.state = SWIM_ALIVE;
    ev.member.meta = c.meta;
    ev.member.meta_len = c.meta_len;
    ev.member.vsn[1] = 5;
    serf_node_on_swim_event(sn, now, &ev);
    swim_addr from = c.advertise;
    from.ip[3] = 2;
    serf_node_clocks seen = { 0 };
    while (size >= 3) {
        uint8_t op = data[0] & 15;
        size_t len = data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        const uint8_t *p = data;
        data += len;
        size -= len;
        uint8_t b0 = len ? p[0] : 0, b1 = len > 1 ? p[1] : 0;
        const uint8_t *rest = len > 1 ? p + 1 : p;
        size_t rlen = len > 1 ? len - 1 : 0;
        char name[32];
        cstr(rest, rlen, name, 12);
        memset(&ev, 0, sizeof ev);
        if (op >= 12)
            op = 0;
        switch (op) {
        case 0:
            ev.type = SWIM_EV_USER;
            ev.payload = wire_bytes_of(p, len);
            ev.from = from;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 1: {
            char expr[24];
            cstr(rest, rlen, expr, sizeof expr);
            const char *nodes[] = { "me", name };
            const char *keys[] = { "role" }, *exprs[] = { expr };
            serf_node_query_opts o = {
                .nodes = nodes, .nnodes = (b0 & 8) ? 2 : 0, .tag_keys = keys, .tag_exprs = exprs,
                .ntags = (b0 & 16) ? 1 : 0, .request_ack = b0 & 1, .no_broadcast = b0 & 2,
                .relay_factor = (uint8_t)((b0 >> 2) & 1), .timeout_ms = (b0 & 32) ? 0 : 1000,
            };
            uint64_t h;
            (void)serf_node_query(sn, core, now, wire_bytes_of(name, strlen(name)), wire_bytes_of(rest, rlen), &o,
                                  &h);
            break;
        }
        case 2:
            if (cx.nhandles) {
                size_t n = cx.nhandles < HANDLES ? cx.nhandles : HANDLES;
                (void)serf_node_respond(sn, core, now, cx.handles[b0 % n], wire_bytes_of(rest, rlen));
            }
            break;
        case 3: {
            uint64_t h;
            size_t nn;
            const uint8_t *key = len > 2 ? p + 2 : p;
            (void)serf_node_key_query(sn, core, now, (serf_key_op)(b0 % 4), key, len > 2 ? len - 2 : 0,
                                      (uint8_t)(b1 % 3), &h, &nn);
            break;
        }
        case 4:
            ev.type = SWIM_EV_CONFLICT;
            ev.member.name = (b0 & 1) ? "me" : name;
            ev.member.addr = c.advertise;
            ev.other = from;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 5:
            now += len ? (swim_time)b0 * 100 : 1;
            swim_tick(core, now);
            serf_node_tick(sn, core, now);
            break;
        case 6: {
            size_t split = rlen / 2;
            (void)serf_node_user_event(sn, core, now, wire_bytes_of(rest, split),
                                       wire_bytes_of(rest + split, rlen - split), b0 & 1);
            break;
        }
        case 7:
            ev.type = SWIM_EV_JOIN;
            ev.member.name = name[0] ? name : "x";
            ev.member.addr = from;
            ev.member.addr.ip[3] = (uint8_t)(b0 | 2);
            ev.member.state = SWIM_ALIVE;
            ev.member.vsn[1] = 5;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 8:
            io.delegate.merge_remote_state(io.delegate.ud, p, len, len & 1);
            break;
        case 9:
            ev.type = (b0 & 1) ? SWIM_EV_LEAVE : SWIM_EV_UPDATE;
            ev.member.name = name[0] ? name : "x";
            ev.member.addr = from;
            ev.member.meta = rest;
            ev.member.meta_len = rlen < 512 ? rlen : 512;
            ev.member.state = (b0 & 1) ? SWIM_DEAD : SWIM_ALIVE;
            ev.member.vsn[1] = 5;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 10:
            (void)serf_node_force_leave(sn, core, now, name[0] ? name : "x", b0 & 1);
            break;
        case 11: {
            const uint8_t *st = NULL;
            size_t n = 0;
            io.delegate.local_state(io.delegate.ud, b0 & 1, &st, &n);
            serf_msg_push_pull pp;
            ASSERT(st && serf_msg_push_pull_decode(st, n, &pp) == WIRE_OK);
            ASSERT(pp.status_ltimes.n == serf_node_member_count(sn));
            serf_msg_push_pull_free(&pp);
            break;
        }
        }
        ASSERT(kr.n >= 1);
        serf_node_flush(sn, core, now);
        serf_node_check(sn, &seen);
    }
    serf_node_tick(sn, core, now + 1000000);
    swim_free(core);
    serf_node_free(sn);
    return 0;
}
