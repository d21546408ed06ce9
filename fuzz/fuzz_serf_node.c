/* libFuzzer target for serf_node (agent/serf/serf_node.h) over a real swim
 * core whose packets go nowhere: what the network can hand it, in any
 * order. The input is a list of operations, each [op][len: 2 bytes,
 * little-endian][len bytes]:
 *   0 a user message (SWIM_EV_USER) with those bytes;
 *   1 a peer's push/pull state (merge_remote_state), join or not;
 *   2, 3, 4 the core's join, leave, update of a member named by the bytes
 *     (meta: the same bytes);
 *   5 time passes (first byte: seconds) and the node ticks;
 *   6 our own state, which must decode as serf's;
 *   7 force-leave (prune: the low bit of the first byte) of the named one.
 * Nothing may crash or leak, and the member table must stay consistent
 * with what serf_node_member_get finds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_state.h"
#include "serf/serf_node.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)

static void name_of(const uint8_t *p, size_t n, char *out)
{
    size_t k = n < 12 ? n : 12;
    for (size_t i = 0; i < k; i++)
        out[i] = (char)('a' + p[i] % 8);   /* few distinct names: collisions matter */
    out[k] = 0;
    if (k == 0)
        strcpy(out, "x");
}

static bool check_one(void *ud, const serf_node_member *m)
{
    serf_node *sn = ud;
    serf_node_member again;
    ASSERT(serf_node_member_get(sn, m->name, &again));
    ASSERT(again.status == m->status && again.status >= SERF_MEMBER_ALIVE && again.status <= SERF_MEMBER_FAILED);
    return true;
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
    serf_node_config sc = { .name = "me", .gossip_interval_ms = 200, .reconnect_timeout_ms = 5000,
                            .tombstone_timeout_ms = 5000 };
    serf_node *sn = serf_node_new(&sc, NULL, 0);
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
    swim_addr from = c.advertise;
    from.ip[3] = 2;
    while (size >= 3) {
        uint8_t op = data[0] % 8;
        size_t len = data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        const uint8_t *p = data;
        data += len;
        size -= len;
        char name[16];
        name_of(p, len, name);
        swim_event ev;
        memset(&ev, 0, sizeof ev);
        switch (op) {
        case 0:
            ev.type = SWIM_EV_USER;
            ev.payload = wire_bytes_of(p, len);
            ev.from = from;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 1:
            io.delegate.merge_remote_state(io.delegate.ud, p, len, len & 1);
            break;
        case 2:
        case 3:
        case 4:
            ev.type = op == 2 ? SWIM_EV_JOIN : op == 3 ? SWIM_EV_LEAVE : SWIM_EV_UPDATE;
            ev.member.name = name;
            ev.member.addr = from;
            ev.member.meta = p;
            ev.member.meta_len = len;
            ev.member.state = op == 3 ? SWIM_DEAD : SWIM_ALIVE;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 5:
            now += len ? (swim_time)p[0] * 1000 : 1;
            swim_tick(core, now);
            serf_node_tick(sn, core, now);
            break;
        case 6: {
            const uint8_t *st;
            size_t n;
            io.delegate.local_state(io.delegate.ud, len & 1, &st, &n);
            serf_msg_push_pull pp;
            ASSERT(st && serf_msg_push_pull_decode(st, n, &pp) == WIRE_OK);
            ASSERT(pp.status_ltimes.n == serf_node_member_count(sn));
            serf_msg_push_pull_free(&pp);
            break;
        }
        case 7:
            (void)serf_node_force_leave(sn, core, now, name, len && (p[0] & 1));
            break;
        }
        serf_node_members_each(sn, check_one, sn);
        serf_node_member self;
        ASSERT(serf_node_member_get(sn, "me", &self));
    }
    serf_node_tick(sn, core, now + 1);
    swim_free(core);
    serf_node_free(sn);
    return 0;
}
