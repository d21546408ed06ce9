/* A simulated cluster of serf peers for the event and query tests (header
 * only): every serf event of every node recorded, queries answered from
 * outside the loop (commands may not come from inside the node's
 * callbacks), nodes with tags and keyrings of their own. */
#ifndef MOONLIST_TEST_SERF_QUERY_WORLD_H
#define MOONLIST_TEST_SERF_QUERY_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "serf/serf_node.h"
#include "serf/serf_tags.h"
#include "sim/sim.h"

#define QW_MAX 64
#define QW_PENDING 256

typedef struct qw_event {
    int node;
    serf_node_event_type type;
    char name[64], from[64];
    uint8_t payload[256];
    size_t payload_len;               /* the whole length, even if cut here */
    uint64_t ltime, query_id;
    bool coalesce;
    swim_time at;
} qw_event;

typedef struct qworld {
    sim *s;
    int n;
    qw_event *ev;
    size_t nev, cap;
    /* answer every SERF_EV_QUERY with "<node name>" (padded to
     * respond_len when set) */
    bool respond;
    size_t respond_len;
    struct { int node; uint64_t query_id; } pending[QW_PENDING];
    size_t npending;
    int respond_rc;                   /* the last serf_node_respond's result */
    wire_keyring kr[QW_MAX];
} qworld;

static inline void qw_on_serf(void *ud, int node, swim_time now, const serf_node_event *ev)
{
    qworld *w = ud;
    if (w->nev == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 1024;
        w->ev = realloc(w->ev, w->cap * sizeof *w->ev);
        REQUIRE(w->ev);
    }
    qw_event *e = &w->ev[w->nev++];
    memset(e, 0, sizeof *e);
    e->node = node;
    e->type = ev->type;
    snprintf(e->name, sizeof e->name, "%.*s", (int)ev->name.n, ev->name.p ? (const char *)ev->name.p : "");
    snprintf(e->from, sizeof e->from, "%s", ev->from ? ev->from : "");
    e->payload_len = ev->payload.n;
    if (ev->payload.n)
        memcpy(e->payload, ev->payload.p, ev->payload.n < sizeof e->payload ? ev->payload.n : sizeof e->payload);
    e->ltime = ev->ltime;
    e->query_id = ev->query_id;
    e->coalesce = ev->coalesce;
    e->at = now;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "%8llu node-%d serf event %d %s %s\n", (unsigned long long)now, node, ev->type, e->name,
                ev->member.name ? ev->member.name : "");
    if (ev->type == SERF_EV_QUERY && w->respond) {
        REQUIRE(w->npending < QW_PENDING);
        w->pending[w->npending].node = node;
        w->pending[w->npending++].query_id = ev->query_id;
    }
}

/* n nodes "node-<i>" on memberlist profile `profile` ("lan", "local",
 * "wan"); tags[i] "k=v" or NULL; with_keyring: each node's cfg.keyring is
 * its own w->kr[i], holding `key` (16 bytes). All join node 0. */
static inline void qw_make_profile(qworld *w, int n, uint64_t seed, const char *profile, const serf_node_config *tmpl,
                                   const char *const *tags, const uint8_t *key)
{
    REQUIRE(n <= QW_MAX);
    memset(w, 0, sizeof *w);
    w->n = n;
    /* QW_SEED=k runs the same tests on other seeds */
    if (getenv("QW_SEED"))
        seed += strtoull(getenv("QW_SEED"), NULL, 10) * 1000003u;
    w->s = sim_new(seed);
    REQUIRE(w->s);
    sim_use_serf(w->s, tmpl);
    sim_on_serf_event(w->s, qw_on_serf, w);
    for (int i = 0; i < n; i++) {
        swim_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c, profile) == 0);
        snprintf(c.name, sizeof c.name, "node-%d", i);
        serf_tags t = { 0 };
        if (tags && tags[i]) {
            char err[64];
            REQUIRE(serf_tags_parse_kv(&t, tags[i], err, sizeof err) == 0);
        }
        wire_buf mb;
        wire_buf_init(&mb, 0);
        REQUIRE(serf_tags_encode(&t, &mb, NULL, 0) == 0);
        memcpy(c.meta, mb.data, mb.len);
        c.meta_len = mb.len;
        wire_buf_free(&mb);
        serf_tags_free(&t);
        REQUIRE(sim_add(w->s, &c, NULL) == i);
        if (key) {
            wire_keyring_init(&w->kr[i]);
            REQUIRE(wire_keyring_add(&w->kr[i], key, 16) == WIRE_OK);
            sim_set_serf_keyring(w->s, i, &w->kr[i]);
        }
    }
    for (int i = 1; i < n; i++) {
        int seed_node = 0;
        sim_join(w->s, i, &seed_node, 1);
    }
}

/* qw_make_profile on "lan", serf's default */
static inline void qw_make(qworld *w, int n, uint64_t seed, const serf_node_config *tmpl, const char *const *tags,
                           const uint8_t *key)
{
    qw_make_profile(w, n, seed, "lan", tmpl, tags, key);
}

static inline void qw_free(qworld *w)
{
    sim_free(w->s);
    free(w->ev);
    w->ev = NULL;
}

/* every node sees every node alive */
static inline bool qw_all_alive(sim *s, void *ud)
{
    qworld *w = ud;
    for (int i = 0; i < w->n; i++) {
        serf_node *sn = sim_serf(s, i);
        if (!sn)
            continue;
        for (int of = 0; of < w->n; of++) {
            char name[32];
            snprintf(name, sizeof name, "node-%d", of);
            serf_node_member m;
            if (sim_serf(s, of) && (!serf_node_member_get(sn, name, &m) || m.status != SERF_MEMBER_ALIVE))
                return false;
        }
    }
    return true;
}

/* run until every node sees every node alive (by `limit`); false, with
 * what is missing printed, if not */
static inline bool qw_settle(qworld *w, swim_time limit)
{
    if (sim_run_while_not(w->s, limit, qw_all_alive, w))
        return true;
    for (int i = 0; i < w->n; i++) {
        serf_node *sn = sim_serf(w->s, i);
        for (int of = 0; sn && of < w->n; of++) {
            char name[32];
            snprintf(name, sizeof name, "node-%d", of);
            serf_node_member m;
            bool known = serf_node_member_get(sn, name, &m);
            if (sim_serf(w->s, of) && (!known || m.status != SERF_MEMBER_ALIVE))
                fprintf(stderr, "at %llu node-%d sees %s %s (core: %zu members)\n",
                        (unsigned long long)sim_now(w->s), i, name,
                        known ? serf_member_status_name(m.status) : "unknown", swim_member_count(sim_core(w->s, i)));
        }
    }
    return false;
}

/* answer what was asked (outside the loop's callbacks) */
static inline void qw_answer(qworld *w)
{
    for (size_t k = 0; k < w->npending; k++) {
        int i = w->pending[k].node;
        serf_node *sn = sim_serf(w->s, i);
        if (!sn)
            continue;
        char buf[4096];
        int len = snprintf(buf, sizeof buf, "node-%d", i);
        size_t n = (size_t)len;
        if (w->respond_len > n && w->respond_len <= sizeof buf) {
            memset(buf + n, '.', w->respond_len - n);
            n = w->respond_len;
        }
        w->respond_rc = serf_node_respond(sn, sim_core(w->s, i), sim_now(w->s), w->pending[k].query_id,
                                          wire_bytes_of(buf, n));
    }
    w->npending = 0;
}

static inline bool qw_answer_hook(sim *s, void *ud)
{
    (void)s;
    qw_answer(ud);
    return false;
}

/* run to virtual time t, answering queries as they come */
static inline void qw_run(qworld *w, swim_time t)
{
    sim_run_while_not(w->s, t, qw_answer_hook, w);
}

static inline size_t qw_count(const qworld *w, int node, serf_node_event_type type, const char *name)
{
    size_t c = 0;
    for (size_t k = 0; k < w->nev; k++) {
        const qw_event *e = &w->ev[k];
        if ((node < 0 || e->node == node) && e->type == type && (!name || strcmp(e->name, name) == 0))
            c++;
    }
    return c;
}

/* events of one of our queries */
static inline size_t qw_count_q(const qworld *w, int node, serf_node_event_type type, uint64_t query_id)
{
    size_t c = 0;
    for (size_t k = 0; k < w->nev; k++) {
        const qw_event *e = &w->ev[k];
        if (e->node == node && e->type == type && e->query_id == query_id)
            c++;
    }
    return c;
}

#endif
