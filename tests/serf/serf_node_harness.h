/* A hand-driven bench for the events and queries of serf_node, without a
 * core: nodes are told of each other with the core's JOIN events, their
 * serf messages are handed over from one node's outbox (the work queued
 * for the core) to the others' as the core's USER events, one message at
 * a time, so that a test sees (and may drop) each. Byte-level checks of
 * what one node answers live here; whole clusters run in the simulator. */
#ifndef MOONLIST_TEST_SERF_NODE_HARNESS_H
#define MOONLIST_TEST_SERF_NODE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "serf/serf_node_internal.h"

#define HN_MAX 8
#define HN_EVENTS 256

typedef struct hn_event {
    serf_node_event_type type;
    char name[64], from[64];
    uint8_t payload[2048];
    size_t payload_len;
    uint64_t ltime, query_id;
    bool coalesce;
} hn_event;

typedef struct hn_node {
    serf_node *sn;
    char name[32];
    swim_addr addr;
    uint8_t meta[64];
    size_t meta_len;
    wire_keyring kr;
    hn_event ev[HN_EVENTS];
    size_t nev;
} hn_node;

typedef struct hn_bench {
    hn_node n[HN_MAX];
    size_t count;
    swim_time now;
    /* drop(ud, from, to_index, msg): true to lose the message; to_index is
     * -1 for a message to an address no node has */
    bool (*drop)(void *ud, int from, int to, const uint8_t *msg, size_t len);
    void *ud;
    size_t delivered;
} hn_bench;

static inline void hn_on_event(void *ud, const serf_node_event *ev)
{
    hn_node *n = ud;
    REQUIRE(n->nev < HN_EVENTS);
    hn_event *e = &n->ev[n->nev++];
    memset(e, 0, sizeof *e);
    e->type = ev->type;
    snprintf(e->name, sizeof e->name, "%.*s", (int)ev->name.n, ev->name.p ? (const char *)ev->name.p : "");
    snprintf(e->from, sizeof e->from, "%s", ev->from ? ev->from : "");
    REQUIRE(ev->payload.n <= sizeof e->payload);
    if (ev->payload.n)
        memcpy(e->payload, ev->payload.p, ev->payload.n);
    e->payload_len = ev->payload.n;
    e->ltime = ev->ltime;
    e->query_id = ev->query_id;
    e->coalesce = ev->coalesce;
}

static inline swim_addr hn_addr(uint8_t last, uint16_t port)
{
    swim_addr a;
    memset(&a, 0, sizeof a);
    a.ip[0] = 127;
    a.ip[3] = last;
    a.ip_len = 4;
    a.port = port;
    return a;
}

static inline swim_member hn_member(const hn_node *n)
{
    swim_member m;
    memset(&m, 0, sizeof m);
    m.name = n->name;
    m.addr = n->addr;
    m.state = SWIM_ALIVE;
    m.incarnation = 1;
    m.meta = n->meta;
    m.meta_len = n->meta_len;
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 4 };
    memcpy(m.vsn, vsn, 6);
    return m;
}

/* n's meta: serf's tags from "k=v", or none (NULL) */
static inline void hn_set_tags(hn_node *n, const char *tag)
{
    serf_tags tags = { 0 };
    if (tag) {
        char err[64];
        REQUIRE(serf_tags_parse_kv(&tags, tag, err, sizeof err) == 0);
    }
    wire_buf mb;
    wire_buf_init(&mb, 0);
    REQUIRE(serf_tags_encode(&tags, &mb, NULL, 0) == 0);
    REQUIRE(mb.len <= sizeof n->meta);
    memcpy(n->meta, mb.data, mb.len);
    n->meta_len = mb.len;
    wire_buf_free(&mb);
    serf_tags_free(&tags);
}

/* Add a node (its tags as "k=v" or NULL; with_keyring: cfg.keyring is
 * the node's kr, empty until the test fills it). tmpl may be NULL. */
static inline int hn_add(hn_bench *b, const char *name, swim_addr addr, const char *tag, const serf_node_config *tmpl,
                  bool with_keyring)
{
    REQUIRE(b->count < HN_MAX);
    int i = (int)b->count++;
    hn_node *n = &b->n[i];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->addr = addr;
    hn_set_tags(n, tag);
    wire_keyring_init(&n->kr);
    serf_node_config cfg;
    if (tmpl)
        cfg = *tmpl;
    else
        memset(&cfg, 0, sizeof cfg);
    cfg.name = n->name;
    if (!cfg.gossip_interval_ms)
        cfg.gossip_interval_ms = 200;
    cfg.seed = 1000 + (uint64_t)i;
    cfg.keyring = with_keyring ? &n->kr : NULL;
    serf_node_io io = { .ud = n, .event = hn_on_event };
    n->sn = serf_node_new(&cfg, &io, b->now);
    REQUIRE(n->sn);
    return i;
}

/* Every node hears of every node (itself first), as the core tells it. */
static inline void hn_meet(hn_bench *b)
{
    for (size_t i = 0; i < b->count; i++) {
        swim_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SWIM_EV_JOIN;
        ev.member = hn_member(&b->n[i]);
        serf_node_on_swim_event(b->n[i].sn, b->now, &ev);
        for (size_t j = 0; j < b->count; j++) {
            if (j == i)
                continue;
            ev.member = hn_member(&b->n[j]);
            serf_node_on_swim_event(b->n[i].sn, b->now, &ev);
        }
        b->n[i].nev = 0;
    }
}

static inline void hn_free(hn_bench *b)
{
    for (size_t i = 0; i < b->count; i++)
        serf_node_free(b->n[i].sn);
}

/* A serf message arriving at node `to` from `from_addr`. */
static inline void hn_receive(hn_bench *b, int to, swim_addr from_addr, const uint8_t *msg, size_t len)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_USER;
    ev.payload = wire_bytes_of(msg, len);
    ev.from = from_addr;
    serf_node_on_swim_event(b->n[to].sn, b->now, &ev);
}

/* What node i queued for the core, taken out (the caller frees with
 * hn_out_free). */
typedef struct hn_out {
    serf_node_out *v;
    size_t n;
} hn_out;

static inline hn_out hn_take(hn_bench *b, int i)
{
    serf_node *sn = b->n[i].sn;
    hn_out o = { sn->out, sn->nout };
    sn->out = NULL;
    sn->nout = sn->out_cap = 0;
    return o;
}

static inline void hn_out_free(hn_out *o)
{
    for (size_t k = 0; k < o->n; k++)
        free(o->v[k].msg);
    free(o->v);
    o->v = NULL;
    o->n = 0;
}

static inline int hn_find_addr(const hn_bench *b, const swim_addr *a)
{
    for (size_t i = 0; i < b->count; i++)
        if (b->n[i].addr.port == a->port && b->n[i].addr.ip_len == a->ip_len &&
            memcmp(b->n[i].addr.ip, a->ip, a->ip_len) == 0)
            return (int)i;
    return -1;
}

/* Hand every queued message over (broadcasts to every other node, the
 * others to their address) until nothing is queued. */
static inline void hn_pump(hn_bench *b)
{
    for (int round = 0; round < 100; round++) {
        bool any = false;
        for (size_t i = 0; i < b->count; i++) {
            hn_out o = hn_take(b, (int)i);
            for (size_t k = 0; k < o.n; k++) {
                any = true;
                serf_node_out *m = &o.v[k];
                if (m->to_addr) {
                    int to = hn_find_addr(b, &m->to);
                    if (b->drop && b->drop(b->ud, (int)i, to, m->msg, m->len))
                        continue;
                    if (to >= 0) {
                        hn_receive(b, to, b->n[i].addr, m->msg, m->len);
                        b->delivered++;
                    }
                    continue;
                }
                for (size_t j = 0; j < b->count; j++) {
                    if (j == i || (b->drop && b->drop(b->ud, (int)i, (int)j, m->msg, m->len)))
                        continue;
                    hn_receive(b, (int)j, b->n[i].addr, m->msg, m->len);
                    b->delivered++;
                }
            }
            hn_out_free(&o);
        }
        if (!any)
            return;
    }
    REQUIRE(!"the bench did not settle");
}

static inline size_t hn_count(const hn_node *n, serf_node_event_type type)
{
    size_t c = 0;
    for (size_t k = 0; k < n->nev; k++)
        c += n->ev[k].type == type;
    return c;
}

static inline const hn_event *hn_last(const hn_node *n, serf_node_event_type type)
{
    for (size_t k = n->nev; k-- > 0;)
        if (n->ev[k].type == type)
            return &n->ev[k];
    return NULL;
}

/* ---- fixtures ---- */

static inline int hn_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The bytes of row `name` of tests/fixtures/serf/go-serf-0.9.4.tsv
 * (column 5, hex). Returns the length; REQUIREs the row. */
static inline size_t hn_fixture(const char *name, uint8_t *out, size_t cap)
{
    FILE *f = fopen("serf/go-serf-0.9.4.tsv", "r");
    REQUIRE(f);
    char line[16384];
    size_t n = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *cols[6] = { 0 };
        char *p = line;
        for (int c = 0; c < 6 && p; c++) {
            cols[c] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = 0;
        }
        if (!cols[1] || strcmp(cols[1], name) != 0 || !cols[4])
            continue;
        for (const char *h = cols[4]; hn_hex(h[0]) >= 0 && hn_hex(h[1]) >= 0; h += 2) {
            REQUIRE(n < cap);
            out[n++] = (uint8_t)(hn_hex(h[0]) << 4 | hn_hex(h[1]));
        }
        found = true;
    }
    fclose(f);
    REQUIRE(found);
    return n;
}

#endif
