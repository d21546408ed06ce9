/* libFuzzer target for serf_node (agent/serf/serf_node.h) inside a small
 * simulated cluster: three serf peers n1, n2, n3 (the names of the serf
 * captures in tests/fixtures/serf) on the simulator's virtual clock, each
 * with its own keyring. n1 (node 0) is fed what a hostile network can hand
 * it, interleaved with the commands of every node and with what happens to
 * the cluster, so that the state machine is explored with real peers
 * answering. The input is a list of operations, each
 * [op][len: 2 bytes, little-endian][len bytes]; the op byte's low nibble
 * is the operation, its high nibble `sel` a selector:
 *   0, 13-15  a memberlist user message to n1 with those bytes (serf's
 *             message of any type), from n2, n3, n1 itself or an address
 *             outside the cluster (sel % 4);
 *   1   a peer's push/pull user state into n1's merge delegate (a join's
 *       when sel is odd);
 *   2   the core's join, leave or update (sel % 3) of a member named by
 *       the bytes (n2 or n3 when sel >= 8), meta: the bytes;
 *   3   time passes (first byte: < 200 tens of ms, else seconds), up to
 *       TIME_MAX_MS in all;
 *   4   a user event from node sel % 3 (coalesce: sel & 4): first byte
 *       the name's length, then name and payload;
 *   5   a query from node sel % 3: first byte the options (ack,
 *       no-broadcast, relay factor, node filter, tag filter, default
 *       timeout, own expression), second its name's length (% 32), then
 *       name and payload, the payload's start its tag expression;
 *   6   node sel % 3 answers a query it was told of (first byte picks it);
 *   7   a key query from node sel % 3: first byte the operation, second
 *       the relay factor, the rest the key (16 bytes, zero padded, when
 *       sel >= 8);
 *   8   n1 force-leaves (prune: sel & 1) n2, n3 or the named one (sel & 2);
 *   9   the core's name conflict about n1 (sel & 1) or about the named one;
 *   10  n1's own push/pull state, which must decode as serf's;
 *   11  the cluster (sel % 6): n3 crashes; n3 restarts and joins; n2 sends
 *       its leave intent and leaves; n2 is cut off or back; n1 takes the
 *       bytes as tags; n1 joins again through n2 (ignoring old events);
 *   12  n1 witnesses clocks (three little-endian u64 from the bytes), as
 *       a snapshot replay does.
 * Nothing may crash, leak or trip an assertion; after every operation
 * serf_node_check holds on every live node (with clocks that never go
 * back), every keyring keeps a primary key, and every view an event
 * handed out is readable while it is handed out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_state.h"
#include "serf/serf_node_internal.h"
#include "sim/sim.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)
#define NODES 3
#define HANDLES 16
#define TIME_MAX_MS 120000

typedef struct ctx {
    uint64_t handles[NODES][HANDLES];   /* queries each node was told of */
    size_t nhandles[NODES];
    volatile uint8_t sink;              /* what the views' bytes add up to */
} ctx;

static void touch(ctx *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= b[i];
    c->sink ^= x;
}

static void on_event(void *ud, int node, swim_time now, const serf_node_event *ev)
{
    ctx *c = ud;
    if (ev->type == SERF_EV_QUERY && node < NODES)
        c->handles[node][c->nhandles[node]++ % HANDLES] = ev->query_id;
    ASSERT(!ev->name.n || ev->name.p);
    ASSERT(!ev->payload.n || ev->payload.p);
    touch(c, ev->name.p, ev->name.n);
    touch(c, ev->payload.p, ev->payload.n);
    if (ev->from)
        touch(c, ev->from, strlen(ev->from));
    if (ev->member.name) {
        touch(c, ev->member.name, strlen(ev->member.name));
        touch(c, ev->member.meta, ev->member.meta_len);
        ASSERT(ev->member.status >= SERF_MEMBER_ALIVE && ev->member.status <= SERF_MEMBER_FAILED);
    }
}

/* a C string of at most cap - 1 bytes, NULs shown as '.' */
static void cstr(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < k; i++)
        out[i] = p[i] ? (char)p[i] : '.';
    out[k] = 0;
}

/* few distinct names, so that they collide with each other and with n2 */
static void fake_name(const uint8_t *p, size_t n, char *out)
{
    size_t k = n < 6 ? n : 6;
    for (size_t i = 0; i < k; i++)
        out[i] = "n23abc"[p[i] % 6];
    out[k] = 0;
    if (k == 0)
        strcpy(out, "x");
}

static uint64_t le64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* serf tags {"role": role}, as serf's agent encodes them */
static size_t tags(uint8_t *out, const char *role)
{
    size_t n = strlen(role);
    out[0] = 0xff;   /* serf's tag magic */
    out[1] = 0x81;
    out[2] = 0xa4;
    memcpy(out + 3, "role", 4);
    out[7] = (uint8_t)(0xa0 | n);
    memcpy(out + 8, role, n);
    return 8 + n;
}

static int add_node(sim *s, const char *name, const char *role)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    if (swim_config_profile(&c, "lan") != 0)
        return -1;
    snprintf(c.name, sizeof c.name, "%s", name);
    c.meta_len = tags(c.meta, role);
    return sim_add(s, &c, NULL);
}

/* the application's own state inside serf's push/pull */
static void app_local(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    static const uint8_t st[] = { 0x81, 0xa1, 'k', 0x01 };
    *out = st;
    *len = sizeof st;
}

static void app_merge(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    touch(ud, state, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t k0[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    static const char *const names[NODES] = { "n1", "n2", "n3" };
    static const char *const roles[NODES] = { "web", "db", "web" };
    ctx cx;
    memset(&cx, 0, sizeof cx);
    wire_keyring kr[NODES];
    serf_node_config tmpl = { .reconnect_timeout_ms = 10000, .tombstone_timeout_ms = 10000,
                              .reconnect_interval_ms = 5000, .coalesce_period_ms = (size & 1) ? 500 : 0,
                              .quiescent_period_ms = 200 };
    sim *s = sim_new(0x5e4f);
    if (!s)
        return 0;
    sim_use_serf(s, &tmpl);
    sim_on_serf_event(s, on_event, &cx);
    for (int i = 0; i < NODES; i++) {
        wire_keyring_init(&kr[i]);
        wire_keyring_add(&kr[i], k0, sizeof k0);
        if (add_node(s, names[i], roles[i]) != i) {
            sim_free(s);
            return 0;
        }
        sim_set_serf_keyring(s, i, &kr[i]);
    }
    serf_node_state_delegate app = { .ud = &cx, .local_state = app_local, .merge_state = app_merge };
    sim_set_serf_state(s, 0, &app);
    sim_set_serf_state(s, 1, &app);
    static const int seed0[] = { 0 };
    sim_join(s, 1, seed0, 1);
    sim_join(s, 2, seed0, 1);
    sim_run_until(s, 300);

    serf_node_clocks seen[NODES];
    memset(seen, 0, sizeof seen);
    bool cut = false;
    while (size >= 3) {
        uint8_t op = data[0] & 15, sel = data[0] >> 4;
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
        char name[16];
        fake_name(p, len, name);
        int at = sel % NODES;   /* the node a command runs on */
        serf_node *sn = sim_serf(s, 0), *sa = sim_serf(s, at);
        swim *core = sim_core(s, 0), *ca = sim_core(s, at);
        swim_time now = sim_now(s);
        swim_event ev;
        memset(&ev, 0, sizeof ev);
        if (op >= 13)
            op = 0;
        switch (op) {
        case 0:
            ev.type = SWIM_EV_USER;
            ev.payload = wire_bytes_of(p, len);
            ev.from = sim_addr(s, sel % 4 < NODES ? (sel % 4 + 1) % NODES : 0);
            if (sel % 4 == 3)
                ev.from.ip[0] = 127;   /* no one in the cluster */
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 1: {
            swim_delegate keep = sn->app, d = serf_node_swim_delegate(sn, &keep);
            d.merge_remote_state(d.ud, p, len, sel & 1);
            break;
        }
        case 2:
            ev.type = sel % 3 == 0 ? SWIM_EV_JOIN : sel % 3 == 1 ? SWIM_EV_LEAVE : SWIM_EV_UPDATE;
            ev.member.name = sel >= 8 ? names[1 + (sel & 1)] : name;
            ev.member.addr = sim_addr(s, 1 + (sel & 1));
            ev.member.meta = p;
            ev.member.meta_len = len < 512 ? len : 512;
            ev.member.state = ev.type == SWIM_EV_LEAVE ? SWIM_DEAD : SWIM_ALIVE;
            ev.member.vsn[1] = 5;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 3:
            /* a virtual second costs about a millisecond: at most
             * TIME_MAX_MS per input, enough for reaps and reconnects */
            if (now < TIME_MAX_MS)
                sim_run_until(s, now + (b0 < 200 ? (swim_time)b0 * 10 + 1 : (swim_time)(b0 - 199) * 1000));
            break;
        case 4:
            if (sa) {
                size_t nlen = b0 < rlen ? b0 : rlen;
                (void)serf_node_user_event(sa, ca, now, wire_bytes_of(rest, nlen),
                                           wire_bytes_of(rest + nlen, rlen - nlen), sel & 4);
            }
            break;
        case 5:
            if (sa && len >= 2) {
                /* [options][name length][name][payload], the payload's
                 * start also the tag expression */
                const uint8_t *q = p + 2;
                size_t qlen = len - 2, nlen = b1 % 32 < qlen ? b1 % 32 : qlen;
                char qname[32], expr[24];
                cstr(q, nlen, qname, sizeof qname);
                cstr(q + nlen, qlen - nlen, expr, sizeof expr);
                const char *nodes[] = { names[(b0 >> 6) % NODES], names[(b0 >> 7) + 1] };
                const char *keys[] = { "role" }, *exprs[] = { (b0 & 64) ? expr : "^web$" };
                serf_node_query_opts o = {
                    .nodes = nodes, .nnodes = (b0 & 8) ? 2 : 0, .tag_keys = keys, .tag_exprs = exprs,
                    .ntags = (b0 & 16) ? 1 : 0, .request_ack = b0 & 1, .no_broadcast = b0 & 2,
                    .relay_factor = (uint8_t)((b0 >> 2) & 1), .timeout_ms = (b0 & 32) ? 0 : 1000,
                };
                uint64_t h;
                (void)serf_node_query(sa, ca, now, wire_bytes_of(qname, strlen(qname)),
                                      wire_bytes_of(q + nlen, qlen - nlen), &o, &h);
            }
            break;
        case 6:
            if (sa && cx.nhandles[at]) {
                size_t n = cx.nhandles[at] < HANDLES ? cx.nhandles[at] : HANDLES;
                (void)serf_node_respond(sa, ca, now, cx.handles[at][b0 % n], wire_bytes_of(rest, rlen));
            }
            break;
        case 7:
            if (sa) {
                uint64_t h;
                size_t nn;
                uint8_t key[16] = { 0 };
                const uint8_t *k = len > 2 ? p + 2 : p;
                size_t klen = len > 2 ? len - 2 : 0;
                if (sel >= 8) {
                    memcpy(key, k, klen < 16 ? klen : 16);
                    k = key;
                    klen = 16;
                }
                (void)serf_node_key_query(sa, ca, now, (serf_key_op)(b0 % 4), k, klen, (uint8_t)(b1 % 3), &h, &nn);
            }
            break;
        case 8:
            (void)serf_node_force_leave(sn, core, now, (sel & 2) ? name : names[1 + (b0 & 1)], sel & 1);
            break;
        case 9:
            ev.type = SWIM_EV_CONFLICT;
            ev.member.name = (sel & 1) ? names[0] : name;
            ev.member.addr = sim_addr(s, 0);
            ev.other = sim_addr(s, 1);
            ev.other.ip[3] ^= 0x40;
            serf_node_on_swim_event(sn, now, &ev);
            break;
        case 10: {
            swim_delegate keep = sn->app, d = serf_node_swim_delegate(sn, &keep);
            const uint8_t *st = NULL;
            size_t n = 0;
            d.local_state(d.ud, sel & 1, &st, &n);
            serf_msg_push_pull pp;
            ASSERT(st && serf_msg_push_pull_decode(st, n, &pp) == WIRE_OK);
            ASSERT(pp.status_ltimes.n == serf_node_member_count(sn));
            ASSERT(pp.app_state.n == 4);
            serf_msg_push_pull_free(&pp);
            break;
        }
        case 11:
            switch (sel % 6) {
            case 0:
                sim_kill(s, 2);
                break;
            case 1:
                if (!sim_is_up(s, 2) && sim_restart(s, 2, NULL) == 0) {
                    memset(&seen[2], 0, sizeof seen[2]);   /* a new node */
                    static const int seed[] = { 0 };
                    sim_join(s, 2, seed, 1);
                }
                break;
            case 2:
                if (sim_serf(s, 1)) {
                    /* both ways: the intent (and the leave) to every member at once, or gossiped only */
                    bool direct = (now / 50) % 2 == 0;
                    (void)serf_node_leave_intent(sim_serf(s, 1), sim_core(s, 1), now, direct);
                    sim_run_until(s, now + 50);
                    if (sim_core(s, 1)) {
                        if (direct)
                            swim_leave_all(sim_core(s, 1), sim_now(s), 500);
                        else
                            swim_leave(sim_core(s, 1), sim_now(s), 500);
                    }
                }
                break;
            case 3:
                cut = !cut;
                sim_set_group(s, 1, cut ? 1 : 0);
                break;
            case 4:
                (void)serf_node_set_meta(sn, core, now, p, len < 512 ? len : 512);
                break;
            case 5: {
                static const int seed[] = { 1 };
                sim_join(s, 0, seed, 1);
                break;
            }
            }
            break;
        case 12: {
            serf_node_clocks c = { le64(p, len), len > 8 ? le64(p + 8, len - 8) : 0,
                                   len > 16 ? le64(p + 16, len - 16) : 0 };
            serf_node_witness_clocks(sn, &c);
            break;
        }
        }
        /* what the commands and messages queued goes to the cores now */
        sim_run_until(s, sim_now(s));
        for (int i = 0; i < NODES; i++) {
            ASSERT(kr[i].n >= 1);
            if (sim_serf(s, i))
                serf_node_check(sim_serf(s, i), &seen[i]);
        }
        ASSERT(sim_serf(s, 0));
    }
    sim_run_until(s, sim_now(s) + 1000);
    for (int i = 0; i < NODES; i++)
        if (sim_serf(s, i))
            serf_node_check(sim_serf(s, i), &seen[i]);
    sim_free(s);
    return 0;
}
