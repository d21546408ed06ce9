/* serf_node's queries one message at a time (the hand-driven bench of
 * serf_node_harness.h): filters, acks, responses deduplicated per node,
 * the relay (byte for byte as serf's, tests/fixtures/serf), timeouts and
 * DONE, size limits, no-broadcast, the conflict vote. */
#include "serf/serf_msg_event.h"
#include "serf/serf_msg_key.h"
#include "serf_node_harness.h"

static size_t count_type(const hn_out *o, int type, bool to_addr)
{
    size_t c = 0;
    for (size_t k = 0; k < o->n; k++)
        c += o->v[k].to_addr == to_addr && o->v[k].len && o->v[k].msg[0] == type;
    return c;
}

/* three nodes; n0 asks n2 (node filter) with an ack */
static void test_node_filter_ack_response(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
    int n1 = hn_add(&b, "n1", hn_addr(2, 7946), NULL, NULL, false);
    int n2 = hn_add(&b, "n2", hn_addr(3, 7946), NULL, NULL, false);
    hn_meet(&b);
    const char *nodes[] = { "n2" };
    serf_node_query_opts o = { .nodes = nodes, .nnodes = 1, .request_ack = true, .timeout_ms = 5000 };
    uint64_t h = 0;
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("deploy", 6), wire_bytes_of("v2", 2), &o,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    CHECK(h != 0);
    /* the asker's own filter does not select it: no event there */
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY), 0);
    hn_pump(&b);
    CHECK_EQ_INT(hn_count(&b.n[n1], SERF_EV_QUERY), 0);
    CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_QUERY), 1);
    /* both gossip it on, once each (n1 though it is not selected) */
    CHECK_EQ_INT(serf_node_get_stats(b.n[n1].sn)->queries_received, 2);
    CHECK_EQ_INT(serf_node_get_stats(b.n[n1].sn)->queries_dup, 1);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_ACK), 1);
    const hn_event *ack = hn_last(&b.n[n0], SERF_EV_QUERY_ACK);
    CHECK(ack && strcmp(ack->from, "n2") == 0 && ack->query_id == h);
    const hn_event *q = hn_last(&b.n[n2], SERF_EV_QUERY);
    REQUIRE(q);
    CHECK(strcmp(q->name, "deploy") == 0 && strcmp(q->from, "n0") == 0);
    CHECK_MEM(q->payload, q->payload_len, "v2", 2);

    /* the answer, once; a second is refused as serf refuses it */
    serf_nq_asking *ask = serf_nq_asking_find(b.n[n2].sn, q->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n2].sn, b.now, ask, wire_bytes_of("ok", 2)), 0);
    CHECK(serf_nq_asking_find(b.n[n2].sn, q->query_id) == NULL);
    hn_out out = hn_take(&b, n2);
    REQUIRE(out.n == 1 && out.v[0].to_addr);
    /* the same response twice reaches n0: one event */
    hn_receive(&b, n0, b.n[n2].addr, out.v[0].msg, out.v[0].len);
    hn_receive(&b, n0, b.n[n2].addr, out.v[0].msg, out.v[0].len);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_RESPONSE), 1);
    const hn_event *r = hn_last(&b.n[n0], SERF_EV_QUERY_RESPONSE);
    REQUIRE(r);
    CHECK(strcmp(r->from, "n2") == 0 && r->query_id == h);
    CHECK_MEM(r->payload, r->payload_len, "ok", 2);

    /* another ID at the same LTime is not ours */
    serf_msg_query_response bad;
    REQUIRE(serf_msg_query_response_decode(out.v[0].msg, out.v[0].len, &bad) == WIRE_OK);
    bad.id ^= 1;
    bad.from = wire_bytes_of("n9", 2);
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_query_response_encode(&w, &bad) == WIRE_OK);
    hn_receive(&b, n0, b.n[n2].addr, w.data, w.len);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_RESPONSE), 1);

    /* DONE at the timeout, once; then answers are for a query not running */
    CHECK_EQ_INT(serf_node_next_deadline(b.n[n0].sn) <= b.now + 5000, 1);
    b.now += 4999;
    serf_nq_tick(b.n[n0].sn, b.now);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_DONE), 0);
    b.now += 1;
    serf_nq_tick(b.n[n0].sn, b.now);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_DONE), 1);
    CHECK(hn_last(&b.n[n0], SERF_EV_QUERY_DONE)->query_id == h);
    bad.id ^= 1;
    wire_buf_reset(&w);
    REQUIRE(serf_msg_query_response_encode(&w, &bad) == WIRE_OK);
    hn_receive(&b, n0, b.n[n2].addr, w.data, w.len);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_RESPONSE), 1);
    serf_nq_tick(b.n[n0].sn, b.now + 100000);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_DONE), 1);
    hn_out_free(&out);
    wire_buf_free(&w);
    hn_free(&b);
}

/* tag filters with regular expressions; no ack asked: acks are dropped */
static void test_tag_filter_no_ack(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), "role=db", NULL, false);
    int n1 = hn_add(&b, "n1", hn_addr(2, 7946), "role=web", NULL, false);
    int n2 = hn_add(&b, "n2", hn_addr(3, 7946), "role=webhook", NULL, false);
    int n3 = hn_add(&b, "n3", hn_addr(4, 7946), NULL, NULL, false);
    hn_meet(&b);
    const char *keys[] = { "role" }, *exprs[] = { "^web$" };
    serf_node_query_opts o = { .tag_keys = keys, .tag_exprs = exprs, .ntags = 1 };
    uint64_t h;
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("q", 1), wire_bytes_of(NULL, 0), &o,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    hn_pump(&b);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY), 0);
    CHECK_EQ_INT(hn_count(&b.n[n1], SERF_EV_QUERY), 1);
    CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_QUERY), 0);
    CHECK_EQ_INT(hn_count(&b.n[n3], SERF_EV_QUERY), 0);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_ACK), 0);
    /* an ack to a query that asked for none is dropped, as serf (no ack
     * channel) */
    serf_msg_query_response ack = { .flags = SERF_QUERY_FLAG_ACK, .from = wire_bytes_of("n1", 2),
                                    .ltime = hn_last(&b.n[n1], SERF_EV_QUERY)->ltime };
    ack.id = b.n[n0].sn->nq.asked.v[0].id;
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_query_response_encode(&w, &ack) == WIRE_OK);
    hn_receive(&b, n0, b.n[n1].addr, w.data, w.len);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_ACK), 0);
    wire_buf_free(&w);

    /* the asker selected by its own filter gets its own query, and its
     * answer to itself comes back as a response (serf sends it to its
     * own address) */
    const char *e2[] = { "^d" };
    o.tag_exprs = e2;
    o.request_ack = true;
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("q2", 2), wire_bytes_of(NULL, 0), &o,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY), 1);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_ACK), 1);
    const hn_event *q = hn_last(&b.n[n0], SERF_EV_QUERY);
    CHECK(q->query_id != h);
    serf_nq_asking *ask = serf_nq_asking_find(b.n[n0].sn, q->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n0].sn, b.now, ask, wire_bytes_of("me", 2)), 0);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_RESPONSE), 1);
    CHECK(strcmp(hn_last(&b.n[n0], SERF_EV_QUERY_RESPONSE)->from, "n0") == 0);
    hn_free(&b);
}

/* NO_BROADCAST: the receivers answer but do not gossip it on */
static void test_no_broadcast(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
    int n1 = hn_add(&b, "n1", hn_addr(2, 7946), NULL, NULL, false);
    hn_add(&b, "n2", hn_addr(3, 7946), NULL, NULL, false);
    hn_meet(&b);
    serf_node_query_opts o = { .no_broadcast = true };
    uint64_t h;
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("q", 1), wire_bytes_of(NULL, 0), &o,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    hn_out out = hn_take(&b, n0);
    CHECK_EQ_INT(count_type(&out, SERF_MSG_QUERY, false), 1);
    hn_receive(&b, n1, b.n[n0].addr, out.v[0].msg, out.v[0].len);
    hn_out_free(&out);
    CHECK_EQ_INT(hn_count(&b.n[n1], SERF_EV_QUERY), 1);
    out = hn_take(&b, n1);
    CHECK_EQ_INT(out.n, 0);
    hn_out_free(&out);
    hn_free(&b);
}

/* the relay: n2 answers n1's query through another member too, in
 * serf's relay message, byte for byte */
static void test_relay(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n1 = hn_add(&b, "n1", hn_addr(1, 17946), NULL, NULL, false);
    int n2 = hn_add(&b, "n2", hn_addr(2, 7946), NULL, NULL, false);
    int n3 = hn_add(&b, "n3", hn_addr(3, 7946), NULL, NULL, false);
    hn_meet(&b);
    static const uint8_t ip[4] = { 127, 0, 0, 1 };
    serf_msg_query q = {
        .addr = wire_bytes_of(ip, 4), .id = 4000000000u, .ltime = 7, .name = wire_bytes_of("uptime", 6),
        .port = 17946, .relay_factor = 1, .source_node = wire_bytes_of("n1", 2),
        .timeout_ns = 10ll * 1000 * 1000 * 1000, .flags = SERF_QUERY_FLAG_ACK,
    };
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_query_encode(&w, &q) == WIRE_OK);
    hn_receive(&b, n2, b.n[n1].addr, w.data, w.len);
    /* the ack: to n1, and relayed through one other member */
    hn_out out = hn_take(&b, n2);
    CHECK_EQ_INT(count_type(&out, SERF_MSG_QUERY_RESPONSE, true), 1);
    CHECK_EQ_INT(count_type(&out, SERF_MSG_RELAY, true), 1);
    CHECK_EQ_INT(count_type(&out, SERF_MSG_QUERY, false), 1);
    hn_out_free(&out);
    const hn_event *ev = hn_last(&b.n[n2], SERF_EV_QUERY);
    REQUIRE(ev);
    serf_nq_asking *ask = serf_nq_asking_find(b.n[n2].sn, ev->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n2].sn, b.now, ask, wire_bytes_of("up 3 days", 9)), 0);
    uint8_t fx[512];
    size_t fxn = hn_fixture("relay-v4", fx, sizeof fx);
    size_t rfxn;
    uint8_t rfx[256];
    rfxn = hn_fixture("response-payload", rfx, sizeof rfx);
    out = hn_take(&b, n2);
    REQUIRE(out.n == 2);
    for (size_t k = 0; k < out.n; k++) {
        serf_node_out *m = &out.v[k];
        REQUIRE(m->to_addr);
        if (m->msg[0] == SERF_MSG_RELAY) {
            CHECK_MEM(m->msg, m->len, fx, fxn);
            CHECK(m->to.port == 17946 || m->to.port == 7946);
            CHECK(!(m->to.port == 7946 && m->to.ip[3] == 2)); /* never through ourselves */
        } else {
            CHECK_MEM(m->msg, m->len, rfx, rfxn);
        }
    }
    /* the relay node forwards the inner message as it is: n1 hears it */
    for (size_t k = 0; k < out.n; k++)
        if (out.v[k].msg[0] == SERF_MSG_RELAY) {
            hn_receive(&b, n3, b.n[n2].addr, out.v[k].msg, out.v[k].len);
            hn_out fwd = hn_take(&b, n3);
            REQUIRE(fwd.n == 1 && fwd.v[0].to_addr && fwd.v[0].to.port == 17946);
            CHECK_MEM(fwd.v[0].msg, fwd.v[0].len, rfx, rfxn);
            hn_out_free(&fwd);
        }
    hn_out_free(&out);
    wire_buf_free(&w);
    hn_free(&b);
}

static void test_size_limits(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
    int n1 = hn_add(&b, "n1", hn_addr(2, 7946), NULL, NULL, false);
    hn_meet(&b);
    static uint8_t big[2000];
    uint64_t h;
    /* a query over 1024 bytes encoded */
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("q", 1), wire_bytes_of(big, 1000), NULL,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_ELIMIT);
    CHECK_EQ_INT(b.n[n0].sn->nout, 0);
    CHECK_EQ_INT(b.n[n0].sn->nq.asked.n, 0);
    /* an event over 512 bytes: refused before anything is queued (no core
     * is touched) */
    CHECK_EQ_INT(serf_node_user_event(b.n[n0].sn, NULL, b.now, wire_bytes_of("e", 1), wire_bytes_of(big, 512), false),
                 WIRE_ELIMIT);
    CHECK_EQ_INT(b.n[n0].sn->nout, 0);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 0);
    /* a response over 1024 bytes: refused, the query stays open */
    CHECK_EQ_INT(serf_nq_query_send(b.n[n0].sn, b.now, wire_bytes_of("q", 1), wire_bytes_of(NULL, 0), NULL,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    hn_pump(&b);
    const hn_event *ev = hn_last(&b.n[n1], SERF_EV_QUERY);
    REQUIRE(ev);
    serf_nq_asking *ask = serf_nq_asking_find(b.n[n1].sn, ev->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n1].sn, b.now, ask, wire_bytes_of(big, 1000)), WIRE_ELIMIT);
    ask = serf_nq_asking_find(b.n[n1].sn, ev->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n1].sn, b.now, ask, wire_bytes_of(big, 900)), 0);
    hn_pump(&b);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_QUERY_RESPONSE), 1);
    hn_free(&b);
}

/* a query whose Timeout is not positive is reported but past its
 * deadline at once, as in serf; serf's own bytes of such a query (an
 * internal ping) are taken and gossiped on, answered by nobody */
static void test_expired_query(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n1 = hn_add(&b, "n1", hn_addr(2, 7946), NULL, NULL, false);
    hn_meet(&b);
    static const uint8_t ip[4] = { 127, 0, 0, 1 };
    serf_msg_query q = { .addr = wire_bytes_of(ip, 4), .id = 5, .ltime = 3, .name = wire_bytes_of("neg", 3),
                         .port = 17946, .source_node = wire_bytes_of("n0", 2), .timeout_ns = -1 };
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_query_encode(&w, &q) == WIRE_OK);
    hn_receive(&b, n1, hn_addr(1, 17946), w.data, w.len);
    wire_buf_free(&w);
    const hn_event *ev = hn_last(&b.n[n1], SERF_EV_QUERY);
    REQUIRE(ev);
    serf_nq_asking *ask = serf_nq_asking_find(b.n[n1].sn, ev->query_id);
    REQUIRE(ask);
    CHECK_EQ_INT(serf_nq_respond(b.n[n1].sn, b.now, ask, wire_bytes_of("late", 4)), -1);
    hn_out out = hn_take(&b, n1);
    CHECK_EQ_INT(out.n, 1);   /* the gossip, no answer */
    hn_out_free(&out);

    uint8_t fx[512];
    size_t fxn = hn_fixture("query-empty-filters-negative-timeout", fx, sizeof fx);
    size_t before = b.n[n1].nev;
    hn_receive(&b, n1, hn_addr(1, 17946), fx, fxn);
    out = hn_take(&b, n1);
    REQUIRE(out.n == 1 && !out.v[0].to_addr);
    CHECK_MEM(out.v[0].msg, out.v[0].len, fx, fxn);
    hn_out_free(&out);
    CHECK_EQ_INT(b.n[n1].nev, before);
    hn_free(&b);
}

/* serf's default timeout: GossipInterval x 16 x ceil(log10(N + 1)) */
static void test_default_timeout(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "n%d", i);
        hn_add(&b, name, hn_addr((uint8_t)(i + 1), 7946), NULL, NULL, false);
    }
    hn_meet(&b);
    uint64_t h;
    CHECK_EQ_INT(serf_nq_query_send(b.n[0].sn, b.now, wire_bytes_of("q", 1), wire_bytes_of(NULL, 0), NULL,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    /* gossiped, and the same bytes straight to n1 and n2 (§16.6) */
    hn_out out = hn_take(&b, 0);
    REQUIRE(out.n == 3);
    CHECK(!out.v[0].to_addr);
    for (size_t k = 1; k < 3; k++) {
        CHECK(out.v[k].to_addr && hn_find_addr(&b, &out.v[k].to) == (int)k);
        CHECK_MEM(out.v[k].msg, out.v[k].len, out.v[0].msg, out.v[0].len);
    }
    serf_msg_query q;
    REQUIRE(serf_msg_query_decode(out.v[0].msg, out.v[0].len, &q) == WIRE_OK);
    CHECK_EQ_INT(q.timeout_ns, 200ll * 16 * 1 * 1000000);
    CHECK_EQ_INT(q.ltime, 0);
    CHECK(q.filters.v == NULL);
    CHECK(q.id < 0x80000000u);
    CHECK(q.addr.n == 4 && q.addr.p[3] == 1 && q.port == 7946);
    CHECK(q.source_node.n == 2 && memcmp(q.source_node.p, "n0", 2) == 0);
    serf_msg_query_free(&q);
    hn_out_free(&out);
    /* the query clock moved past it: the next query is newer */
    CHECK_EQ_INT(serf_node_get_clocks(b.n[0].sn).query, 1);
    hn_free(&b);
}

/* Node `to` hears from its core that a member (named, at 127.0.0.<last>,
 * with tags "k=v" or none) joined or left (its state `st`); no node of the
 * bench stands behind it. */
static void member_event(hn_bench *b, int to, swim_event_type type, const char *name, uint8_t last, swim_state st,
                         const char *tag)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    static hn_node fake; /* its event log is large: not on the stack */
    memset(&fake, 0, sizeof fake);
    snprintf(fake.name, sizeof fake.name, "%s", name);
    fake.addr = hn_addr(last, 7946);
    hn_set_tags(&fake, tag);
    ev.member = hn_member(&fake);
    ev.member.state = st;
    serf_node_on_swim_event(b->n[to].sn, b->now, &ev);
}

/* ask from node 0; the last octets of the direct copies' addresses, in
 * out[] (sorted as queued), and their count */
static size_t ask_direct(hn_bench *b, const serf_node_query_opts *o, uint8_t *lasts, size_t cap)
{
    uint64_t h;
    CHECK_EQ_INT(serf_nq_query_send(b->n[0].sn, b->now, wire_bytes_of("q", 1), wire_bytes_of(NULL, 0), o,
                                    SERF_NQ_FOR_APP, &h),
                 WIRE_OK);
    hn_out out = hn_take(b, 0);
    size_t n = 0;
    CHECK(out.n >= 1 && !out.v[0].to_addr);
    for (size_t k = 1; k < out.n; k++) {
        CHECK(out.v[k].to_addr);
        CHECK_MEM(out.v[k].msg, out.v[k].len, out.v[0].msg, out.v[0].len);
        if (n < cap)
            lasts[n] = out.v[k].to.ip[3];
        n++;
    }
    hn_out_free(&out);
    return n;
}

/* The asker's direct copies (§16.6): to the live members its filters
 * select, never itself, never the failed or left; none at all past 32. */
static void test_direct_copies(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    hn_add(&b, "n0", hn_addr(1, 7946), "role=web", NULL, false);
    hn_meet(&b);
    member_event(&b, 0, SWIM_EV_JOIN, "web1", 2, SWIM_ALIVE, "role=web");
    member_event(&b, 0, SWIM_EV_JOIN, "db1", 3, SWIM_ALIVE, "role=db");
    member_event(&b, 0, SWIM_EV_JOIN, "web2", 4, SWIM_ALIVE, "role=web");
    member_event(&b, 0, SWIM_EV_JOIN, "web3", 5, SWIM_ALIVE, "role=web");
    member_event(&b, 0, SWIM_EV_LEAVE, "web3", 5, SWIM_DEAD, "role=web");
    uint8_t lasts[64];

    /* no filter: every live member but us */
    CHECK_EQ_INT(ask_direct(&b, NULL, lasts, 64), 3);
    CHECK(lasts[0] == 2 && lasts[1] == 3 && lasts[2] == 4);

    /* a node filter: the named, live ones (us, the failed and the unknown
     * named too) */
    const char *nodes[] = { "n0", "db1", "web3", "nobody" };
    serf_node_query_opts o = { .nodes = nodes, .nnodes = 4 };
    CHECK_EQ_INT(ask_direct(&b, &o, lasts, 64), 1);
    CHECK_EQ_INT(lasts[0], 3);

    /* a tag filter, judged on the tags we know */
    const char *keys[] = { "role" }, *exprs[] = { "^web" };
    serf_node_query_opts ot = { .tag_keys = keys, .tag_exprs = exprs, .ntags = 1 };
    CHECK_EQ_INT(ask_direct(&b, &ot, lasts, 64), 2);
    CHECK(lasts[0] == 2 && lasts[1] == 4);

    /* 32 selected: 32 copies; 33: gossip alone */
    for (int i = 0; i < 29; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", i);
        member_event(&b, 0, SWIM_EV_JOIN, name, (uint8_t)(10 + i), SWIM_ALIVE, NULL);
    }
    CHECK_EQ_INT(ask_direct(&b, NULL, lasts, 64), 32);
    member_event(&b, 0, SWIM_EV_JOIN, "m29", 39, SWIM_ALIVE, NULL);
    CHECK_EQ_INT(ask_direct(&b, NULL, lasts, 64), 0);
    /* still 2 when the filter selects 2 of the 34 */
    CHECK_EQ_INT(ask_direct(&b, &ot, lasts, 64), 2);
    hn_free(&b);
}

/* user events as they arrive: delivered once, gossiped on once, the
 * bytes as they came */
static void test_user_event_receive(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
    hn_meet(&b);
    uint8_t fx[512];
    size_t fxn = hn_fixture("event-empty-payload", fx, sizeof fx); /* CC, LTime 2, "e" */
    hn_receive(&b, n0, hn_addr(9, 7946), fx, fxn);
    hn_receive(&b, n0, hn_addr(9, 7946), fx, fxn);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 1);
    const hn_event *e = hn_last(&b.n[n0], SERF_EV_USER);
    CHECK(strcmp(e->name, "e") == 0 && e->ltime == 2 && e->coalesce);
    hn_out out = hn_take(&b, n0);
    REQUIRE(out.n == 1);
    CHECK_MEM(out.v[0].msg, out.v[0].len, fx, fxn);
    hn_out_free(&out);
    CHECK_EQ_INT(serf_node_get_clocks(b.n[n0].sn).event, 3);
    CHECK_EQ_INT(serf_node_get_stats(b.n[n0].sn)->events_received, 2);
    CHECK_EQ_INT(serf_node_get_stats(b.n[n0].sn)->events_dup, 1);
    /* one that does not decode: logged, dropped */
    hn_receive(&b, n0, hn_addr(9, 7946), (const uint8_t *)"\x03\x81", 2);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 1);
    hn_free(&b);
}

static void put_event(hn_bench *b, int to, const char *name, const char *payload, uint64_t ltime, bool cc)
{
    serf_msg_user_event m = { .cc = cc, .ltime = ltime, .name = wire_bytes_of(name, strlen(name)),
                              .payload = wire_bytes_of(payload, strlen(payload)) };
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_user_event_encode(&w, &m) == WIRE_OK);
    hn_receive(b, to, hn_addr(9, 7946), w.data, w.len);
    wire_buf_free(&w);
}

/* coalescing keeps the latest LTime of each name; not-CC events pass */
static void test_coalesce(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    serf_node_config cfg = { .coalesce_period_ms = 1000, .quiescent_period_ms = 300 };
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, &cfg, false);
    hn_meet(&b);
    put_event(&b, n0, "deploy", "v1", 1, true);
    put_event(&b, n0, "deploy", "v3", 3, true);
    put_event(&b, n0, "deploy", "v2", 2, true);
    put_event(&b, n0, "other", "x", 2, true);
    put_event(&b, n0, "plain", "p", 4, false);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 1);
    CHECK(strcmp(hn_last(&b.n[n0], SERF_EV_USER)->name, "plain") == 0);
    CHECK_EQ_INT(serf_node_next_deadline(b.n[n0].sn), b.now);  /* the rebroadcasts wait */
    hn_out out = hn_take(&b, n0);
    CHECK_EQ_INT(out.n, 5);
    hn_out_free(&out);
    serf_node_update_deadline(b.n[n0].sn);
    CHECK_EQ_INT(serf_node_next_deadline(b.n[n0].sn), b.now + 300);
    b.now += 299;
    serf_nq_tick(b.n[n0].sn, b.now);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 1);
    b.now += 1;
    serf_nq_tick(b.n[n0].sn, b.now);
    CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), 3);
    size_t deploy = 0, other = 0;
    for (size_t k = 0; k < b.n[n0].nev; k++) {
        const hn_event *e = &b.n[n0].ev[k];
        if (e->type != SERF_EV_USER)
            continue;
        if (strcmp(e->name, "deploy") == 0) {
            deploy++;
            CHECK(e->ltime == 3 && e->coalesce);
            CHECK_MEM(e->payload, e->payload_len, "v3", 2);
        }
        other += strcmp(e->name, "other") == 0;
    }
    CHECK_EQ_INT(deploy, 1);
    CHECK_EQ_INT(other, 1);
    hn_free(&b);
}

/* push/pull: ignore-old on join raises the minimum event time */
static void test_merge_ignore_old(void)
{
    for (int ignore = 0; ignore < 2; ignore++) {
        static hn_bench b;
    memset(&b, 0, sizeof b);
        int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
        hn_meet(&b);
        serf_user_event ev = { wire_bytes_of("old", 3), wire_bytes_of("o", 1) };
        serf_user_events slots[4] = { 0 };
        slots[3].present = true;
        slots[3].ltime = 3;
        slots[3].events.v = &ev;
        slots[3].events.n = 1;
        serf_msg_push_pull pp = { .event_ltime = 5, .query_ltime = 9 };
        pp.events.v = slots;
        pp.events.n = 4;
        serf_nq_merge_state(b.n[n0].sn, &pp, true, ignore);
        CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), ignore ? 0 : 1);
        if (!ignore)
            CHECK(!hn_last(&b.n[n0], SERF_EV_USER)->coalesce);
        CHECK_EQ_INT(serf_node_get_clocks(b.n[n0].sn).event, 5);
        CHECK_EQ_INT(serf_node_get_clocks(b.n[n0].sn).query, 9);
        /* after the join, an event older than the cluster's time stays
         * old; a newer one is delivered */
        put_event(&b, n0, "late", "", 4, false);
        CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), ignore ? 0 : 2);
        put_event(&b, n0, "new", "", 6, false);
        CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), ignore ? 1 : 3);
        /* a push/pull that is not a join delivers what it brings */
        slots[3].ltime = 7;
        ev.name = wire_bytes_of("fresh", 5);
        pp.event_ltime = 8;
        serf_nq_merge_state(b.n[n0].sn, &pp, false, ignore);
        CHECK_EQ_INT(hn_count(&b.n[n0], SERF_EV_USER), ignore ? 2 : 4);
        /* our own push/pull carries the buffer and the clocks */
        serf_msg_push_pull mine = { 0 };
        serf_nq_local_state(b.n[n0].sn, &mine);
        CHECK_EQ_INT(mine.event_ltime, 8);
        CHECK_EQ_INT(mine.events.n, SERF_EVENT_BUFFER);
        CHECK(mine.events.v[7].present && mine.events.v[7].events.n == 1);
        CHECK_EQ_INT(mine.query_ltime, 9);
        hn_free(&b);
    }
}

/* the name conflict vote: our name claimed by another address; we ask
 * the cluster whom it knows under our name */
static void vote(int matching, int others, bool expect_shutdown)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int me = hn_add(&b, "dup", hn_addr(1, 7946), NULL, NULL, false);
    hn_meet(&b);
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_CONFLICT;
    ev.member = hn_member(&b.n[me]);
    ev.other = hn_addr(99, 7946);
    serf_node_on_swim_event(b.n[me].sn, b.now, &ev);
    /* a second conflict while the vote runs starts no second vote */
    serf_node_on_swim_event(b.n[me].sn, b.now, &ev);
    hn_out out = hn_take(&b, me);
    REQUIRE(out.n == 1);
    serf_msg_query q;
    REQUIRE(serf_msg_query_decode(out.v[0].msg, out.v[0].len, &q) == WIRE_OK);
    CHECK(q.name.n == 14 && memcmp(q.name.p, "_serf_conflict", 14) == 0);
    CHECK(q.payload.n == 3 && memcmp(q.payload.p, "dup", 3) == 0);
    for (int i = 0; i < matching + others; i++) {
        serf_member m = { .present = true, .name = wire_bytes_of("dup", 3), .status = 1 };
        swim_addr a = i < matching ? b.n[me].addr : hn_addr(99, 7946);
        m.addr = wire_bytes_of(a.ip, 4);
        m.port = a.port;
        wire_buf p, w;
        wire_buf_init(&p, 0);
        wire_buf_init(&w, 0);
        REQUIRE(serf_msg_conflict_response_encode(&p, &m) == WIRE_OK);
        char from[8];
        snprintf(from, sizeof from, "v%d", i);
        serf_msg_query_response r = { .from = wire_bytes_of(from, strlen(from)), .id = q.id, .ltime = q.ltime,
                                      .payload = wire_bytes_of(p.data, p.len) };
        REQUIRE(serf_msg_query_response_encode(&w, &r) == WIRE_OK);
        hn_receive(&b, me, hn_addr(50, 7946), w.data, w.len);
        hn_receive(&b, me, hn_addr(50, 7946), w.data, w.len); /* counted once */
        wire_buf_free(&p);
        wire_buf_free(&w);
    }
    serf_msg_query_free(&q);
    hn_out_free(&out);
    /* votes are never shown to the application */
    CHECK_EQ_INT(hn_count(&b.n[me], SERF_EV_QUERY_RESPONSE), 0);
    serf_nq_tick(b.n[me].sn, b.now + 100000);
    CHECK_EQ_INT(hn_count(&b.n[me], SERF_EV_QUERY_DONE), 0);
    CHECK_EQ_INT(hn_count(&b.n[me], SERF_EV_SHUTDOWN), expect_shutdown ? 1 : 0);
    hn_free(&b);
}

static void test_conflict_vote(void)
{
    vote(3, 1, false);
    vote(2, 2, true);   /* a tie is no majority */
    vote(1, 3, true);
    vote(0, 0, true);   /* nobody answered: serf gives up its name too */
}

int main(void)
{
    test_node_filter_ack_response();
    test_tag_filter_no_ack();
    test_no_broadcast();
    test_relay();
    test_size_limits();
    test_default_timeout();
    test_direct_copies();
    test_expired_query();
    test_user_event_receive();
    test_coalesce();
    test_merge_ignore_old();
    test_conflict_vote();
    return check_done("test_serf_node_query");
}
