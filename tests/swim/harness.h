/* A test harness around one swim core: it records every packet, stream
 * and event the core produces, lets a test inject messages from fake
 * peers, and (optionally) acks every ping the core sends, so that the
 * core's own probes do not disturb a test about something else. Header
 * only, included by the swim tests. */
#ifndef MOONLIST_TEST_SWIM_HARNESS_H
#define MOONLIST_TEST_SWIM_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swim/swim.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

#define H_MAX 4096

typedef struct h_pkt {
    swim_addr to;
    uint8_t *data;
    size_t len;
    bool crc;
    swim_time t;
} h_pkt;

typedef struct h_ev {
    swim_event_type type;
    char name[64];
    swim_state state;
    uint32_t incarnation;
    int count;
    uint64_t join_id;
    uint32_t rtt;
    size_t payload_len;
    uint8_t payload[64];
    bool payload_nil;
    swim_time t;
} h_ev;

typedef struct h_stream {
    swim_stream_req req;
    uint8_t *msg;
} h_stream;

typedef struct harness {
    swim *core;
    swim_time now;
    h_pkt pkts[H_MAX];
    size_t npkts;
    h_ev evs[H_MAX];
    size_t nevs;
    h_stream streams[256];
    size_t nstreams;
    bool auto_ack;               /* ack every ping the core sends */
    bool down[64];               /* fake peer i (10.0.0.(i+2)) does not answer */
    const char *ack_payload;
    const char *veto_name;       /* allow_alive refuses this node */
    int allow_merge_calls;       /* the merge filter was asked */
    int merges;                  /* remote user states merged ... */
    bool merge_join;             /* ... the last one with this join flag */
    swim_time deadline;          /* as io->deadline last reported it */
    unsigned ndeadlines;         /* reports so far */
} harness;

static inline swim_addr h_addr(int peer)
{
    swim_addr a;
    memset(&a, 0, sizeof a);
    a.ip_len = 4;
    a.ip[0] = 10;
    a.ip[3] = (uint8_t)(peer + 2);
    a.port = 7946;
    return a;
}

static inline void h_inject(harness *h, int from_peer, const uint8_t *msg, size_t len);

/* split a packet into its messages */
static inline size_t h_parts(const uint8_t *p, size_t len, const uint8_t **parts, size_t *lens, size_t max)
{
    if (len == 0)
        return 0;
    if (p[0] != WIRE_COMPOUND) {
        parts[0] = p;
        lens[0] = len;
        return 1;
    }
    size_t n = p[1], off = 2 + 2 * n, k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        size_t l = ((size_t)p[2 + 2 * i] << 8) | p[3 + 2 * i];
        parts[k] = p + off;
        lens[k++] = l;
        off += l;
    }
    return k;
}

static inline void h_send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    harness *h = ud;
    REQUIRE(h->npkts < H_MAX);
    h_pkt *p = &h->pkts[h->npkts++];
    p->to = *to;
    p->data = malloc(len);
    memcpy(p->data, msg, len);
    p->len = len;
    p->crc = crc;
    p->t = h->now;
}

static inline void h_open_stream(void *ud, const swim_stream_req *req)
{
    harness *h = ud;
    REQUIRE(h->nstreams < 256);
    h_stream *s = &h->streams[h->nstreams++];
    s->req = *req;
    s->msg = malloc(req->len);
    memcpy(s->msg, req->msg, req->len);
    s->req.msg = s->msg;
}

static inline void h_event(void *ud, const swim_event *ev)
{
    harness *h = ud;
    REQUIRE(h->nevs < H_MAX);
    h_ev *e = &h->evs[h->nevs++];
    memset(e, 0, sizeof *e);
    e->type = ev->type;
    snprintf(e->name, sizeof e->name, "%s", ev->member.name ? ev->member.name : "");
    e->state = ev->member.state;
    e->incarnation = ev->member.incarnation;
    e->count = ev->count;
    e->join_id = ev->join_id;
    e->rtt = ev->rtt;
    e->payload_nil = ev->payload.p == NULL;
    e->payload_len = ev->payload.n;
    if (ev->payload.p && ev->payload.n <= sizeof e->payload)
        memcpy(e->payload, ev->payload.p, ev->payload.n);
    e->t = h->now;
}

/* The core reports a deadline only when it moved (swim.h). */
static inline void h_deadline(void *ud, swim_time next)
{
    harness *h = ud;
    CHECKF(next != h->deadline, "deadline %llu reported twice in a row", (unsigned long long)next);
    h->deadline = next;
    h->ndeadlines++;
}

/* Between calls, what the core last reported is its deadline. */
static inline void h_check_deadline(harness *h)
{
    swim_time d = swim_next_deadline(h->core);
    CHECKF(h->deadline == d, "reported deadline %llu, the core's is %llu", (unsigned long long)h->deadline,
           (unsigned long long)d);
}

static inline void h_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    harness *h = ud;
    *out = (const uint8_t *)h->ack_payload;
    *len = h->ack_payload ? strlen(h->ack_payload) : 0;
}

static inline bool h_allow_alive(void *ud, const swim_member *m)
{
    harness *h = ud;
    return !h->veto_name || strcmp(m->name, h->veto_name) != 0;
}

static inline bool h_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    (void)peers;
    (void)n;
    (void)reason;
    harness *h = ud;
    h->allow_merge_calls++;
    return true;
}

static inline void h_merge_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    (void)state;
    (void)len;
    harness *h = ud;
    h->merges++;
    h->merge_join = is_join;
}

static inline void h_config(swim_config *c, const char *name)
{
    memset(c, 0, sizeof *c);
    REQUIRE(swim_config_profile(c, "lan") == 0);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->advertise.ip_len = 4;
    c->advertise.ip[0] = 10;
    c->advertise.ip[3] = 1;
    c->advertise.port = 7946;
    c->push_pull_interval = 0;
    c->seed = 7;
}

/* A core with the harness's delegates; alive_filter: with the alive
 * filter (memberlist's Alive delegate: veto_name), which changes how an
 * alive without a Vsn is taken. */
static inline void h_init_with(harness *h, const swim_config *cfg, bool alive_filter)
{
    memset(h, 0, sizeof *h);
    h->deadline = SWIM_NEVER;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.ud = h;
    io.send_packet = h_send_packet;
    io.open_stream = h_open_stream;
    io.event = h_event;
    io.deadline = h_deadline;
    io.delegate.ud = h;
    io.delegate.ack_payload = h_ack_payload;
    io.delegate.allow_alive = alive_filter ? h_allow_alive : NULL;
    io.delegate.allow_merge = h_allow_merge;
    io.delegate.merge_remote_state = h_merge_state;
    h->core = swim_new(cfg, &io, 0);
    REQUIRE(h->core);
    h_check_deadline(h);
}

static inline void h_init(harness *h, const swim_config *cfg)
{
    h_init_with(h, cfg, true);
}

static inline void h_clear(harness *h)
{
    for (size_t i = 0; i < h->npkts; i++)
        free(h->pkts[i].data);
    h->npkts = 0;
    h->nevs = 0;
    for (size_t i = 0; i < h->nstreams; i++)
        free(h->streams[i].msg);
    h->nstreams = 0;
}

static inline void h_free(harness *h)
{
    h_clear(h);
    swim_free(h->core);
}

static inline int h_peer_of(const swim_addr *a)
{
    if (a->ip_len != 4 || a->ip[0] != 10 || a->ip[3] < 2)
        return -1;
    return a->ip[3] - 2;
}

/* Answer pings to live fake peers, in the same instant. */
static inline void h_autoack(harness *h, size_t from)
{
    for (size_t i = from; i < h->npkts && h->auto_ack; i++) {
        const uint8_t *parts[64];
        size_t lens[64];
        size_t n = h_parts(h->pkts[i].data, h->pkts[i].len, parts, lens, 64);
        int peer = h_peer_of(&h->pkts[i].to);
        if (peer < 0 || peer >= 64 || h->down[peer])
            continue;
        for (size_t k = 0; k < n; k++) {
            if (lens[k] == 0 || parts[k][0] != WIRE_PING)
                continue;
            wire_ping p;
            if (wire_decode_ping(parts[k] + 1, lens[k] - 1, &p, NULL) != WIRE_OK)
                continue;
            wire_buf b;
            wire_buf_init(&b, 0);
            wire_ack a = { wire_bytes_of(NULL, 0), p.seq_no };
            REQUIRE(wire_encode_ack(&b, &a) == WIRE_OK);
            h_inject(h, peer, b.data, b.len);
            wire_buf_free(&b);
        }
    }
}

static inline void h_inject(harness *h, int from_peer, const uint8_t *msg, size_t len)
{
    size_t before = h->npkts;
    swim_addr from = h_addr(from_peer);
    swim_handle_packet(h->core, h->now, &from, msg, len);
    h_check_deadline(h);
    h_autoack(h, before);
}

/* Advance to t, ticking at every deadline on the way. */
static inline void h_run(harness *h, swim_time t)
{
    for (;;) {
        h_check_deadline(h);
        swim_time d = h->deadline;
        if (d > t)
            break;
        if (d > h->now)
            h->now = d;
        size_t before = h->npkts;
        swim_tick(h->core, h->now);
        h_autoack(h, before);
    }
    if (t > h->now)
        h->now = t;
}

/* ---- message builders (into a static buffer) ---- */
static wire_buf h_buf;

/* h_buf emptied for the next message. */
static inline wire_buf *h_buf_fresh(void)
{
    wire_buf_free(&h_buf);
    wire_buf_init(&h_buf, 0);
    return &h_buf;
}

/* The message just encoded into h_buf; rc is its encoder's result. */
static inline const uint8_t *h_buf_encoded(int rc, size_t *len)
{
    REQUIRE(rc == WIRE_OK);
    *len = h_buf.len;
    return h_buf.data;
}

/* serf's versions, what every fake peer speaks unless a test says */
static const uint8_t h_vsn[6] = { 1, 5, 2, 2, 5, 5 };

/* An alive from fake peer `peer`'s address: a name of nlen bytes (any
 * bytes), meta NULL for none, a 6-byte Vsn. */
static inline const uint8_t *h_alive_ex(const char *node, size_t nlen, int peer, uint32_t inc, const char *meta,
                                        const uint8_t *vsn, size_t *len)
{
    swim_addr a = h_addr(peer);
    wire_alive m;
    memset(&m, 0, sizeof m);
    m.addr = wire_bytes_of(a.ip, 4);
    m.incarnation = inc;
    m.meta = meta ? wire_bytes_of(meta, strlen(meta)) : wire_bytes_of(NULL, 0);
    m.node = wire_bytes_of(node, nlen);
    m.port = 7946;
    memcpy(m.vsn.v, vsn, 6);
    m.vsn.len = 6;
    return h_buf_encoded(wire_encode_alive(h_buf_fresh(), &m), len);
}

/* Append a push/pull node state to b: fake peer `peer`'s address and
 * port, a name of nlen bytes (any bytes), serf's versions. */
static inline void h_node_state(wire_buf *b, const char *name, size_t nlen, int peer, uint32_t inc, int64_t state,
                                wire_int_style style)
{
    swim_addr a = h_addr(peer);
    wire_push_node_state ns;
    memset(&ns, 0, sizeof ns);
    ns.addr = wire_bytes_of(a.ip, 4);
    ns.incarnation = inc;
    ns.name = wire_bytes_of(name, nlen);
    ns.port = 7946;
    ns.state = state;
    memcpy(ns.vsn.v, h_vsn, 6);
    ns.vsn.len = 6;
    REQUIRE(wire_encode_push_node_state(b, &ns, style) == WIRE_OK);
}

static inline const uint8_t *h_alive(const char *node, int peer, uint32_t inc, const char *meta, size_t *len)
{
    return h_alive_ex(node, strlen(node), peer, inc, meta, h_vsn, len);
}

static inline const uint8_t *h_suspect(const char *node, uint32_t inc, const char *from, size_t *len)
{
    wire_suspect m = { wire_bytes_of(from, strlen(from)), inc, wire_bytes_of(node, strlen(node)) };
    return h_buf_encoded(wire_encode_suspect(h_buf_fresh(), &m), len);
}

static inline const uint8_t *h_dead(const char *node, uint32_t inc, const char *from, size_t *len)
{
    wire_dead m = { wire_bytes_of(from, strlen(from)), inc, wire_bytes_of(node, strlen(node)) };
    return h_buf_encoded(wire_encode_dead(h_buf_fresh(), &m), len);
}

static inline void h_add_peer(harness *h, const char *name, int peer, uint32_t inc)
{
    size_t len;
    const uint8_t *m = h_alive(name, peer, inc, NULL, &len);
    h_inject(h, peer, m, len);
}

/* Fake peers 0 .. n-1, alive at incarnation 1, named "p0" .. "p<n-1>". */
static inline void h_add_peers(harness *h, int n)
{
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "p%d", i);
        h_add_peer(h, name, i, 1);
    }
}

/* The usual start: a core named "me" (lan, no periodic push/pull) knowing
 * fake peers p0 .. p<npeers-1>, with what that sent cleared. */
static inline void h_setup(harness *h, int npeers)
{
    swim_config c;
    h_config(&c, "me");
    h_init(h, &c);
    h_add_peers(h, npeers);
    h_clear(h);
}

static inline swim_state h_state(harness *h, const char *name)
{
    swim_member m;
    REQUIRE(swim_member_get(h->core, name, &m));
    return m.state;
}

static inline uint32_t h_inc(harness *h, const char *name)
{
    swim_member m;
    REQUIRE(swim_member_get(h->core, name, &m));
    return m.incarnation;
}

static inline int h_count_events(harness *h, swim_event_type type, const char *name)
{
    int c = 0;
    for (size_t i = 0; i < h->nevs; i++)
        c += h->evs[i].type == type && (!name || strcmp(h->evs[i].name, name) == 0);
    return c;
}

static inline const h_ev *h_last_event(harness *h, swim_event_type type, const char *name)
{
    for (size_t i = h->nevs; i-- > 0;)
        if (h->evs[i].type == type && (!name || strcmp(h->evs[i].name, name) == 0))
            return &h->evs[i];
    return NULL;
}

/* Visit every sent message (compound parts included). */
typedef void (*h_msg_fn)(void *ud, const h_pkt *p, const uint8_t *msg, size_t len);
static inline void h_each_msg(harness *h, h_msg_fn fn, void *ud)
{
    for (size_t i = 0; i < h->npkts; i++) {
        const uint8_t *parts[300];
        size_t lens[300];
        size_t n = h_parts(h->pkts[i].data, h->pkts[i].len, parts, lens, 300);
        for (size_t k = 0; k < n; k++)
            fn(ud, &h->pkts[i], parts[k], lens[k]);
    }
}

#endif
