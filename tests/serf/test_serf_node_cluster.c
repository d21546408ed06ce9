/* serf_node's queries across a simulated cluster, each node a serf peer:
 *   - node and tag filters: only the selected nodes are asked (and ack,
 *     and answer); every node gossips the query on;
 *   - acks only when asked for; DONE once, at the timeout, and nothing
 *     after it;
 *   - the relay factor: with the direct path from the answering nodes to
 *     the asker cut, their answers still arrive through other members
 *     (and without a relay factor they do not);
 *   - an answer over the response size limit is refused;
 *   - key rotation (install, use, remove) over 50 nodes with a keyring
 *     each, under 5 % loss: every keyring ends with the new key alone,
 *     the asker's tally counts the answers, no member is lost;
 *   - the name conflict vote: a second node taking a name the cluster
 *     knows loses and is told to shut down; the first stays. */
#include "serf/serf_keys.h"
#include "query_world.h"

/* memberlist gossips an alive a few times only; a node all of them
 * missed learns of the member at the next push/pull (every 30 s on lan) */
#define SETTLE_MS 65000
/* answers of key queries also through 2 other members: a lost answer
 * needs its direct copy and both relays lost */
#define KEY_RELAY_FACTOR 2

static uint64_t ask(qworld *w, int i, const char *name, const serf_node_query_opts *o)
{
    uint64_t h = 0;
    int rc = serf_node_query(sim_serf(w->s, i), sim_core(w->s, i), sim_now(w->s), wire_bytes_of(name, strlen(name)),
                             wire_bytes_of("?", 1), o, &h);
    CHECK_EQ_INT(rc, WIRE_OK);
    return h;
}

/* how many nodes took the query in as new (and so gossiped it on) */
static int nodes_new(qworld *w, uint64_t before[])
{
    int c = 0;
    for (int i = 0; i < w->n; i++) {
        const serf_node_stats *st = serf_node_get_stats(sim_serf(w->s, i));
        uint64_t fresh = st->queries_received - st->queries_dup;
        c += fresh - before[i] == 1;
        before[i] = fresh;
    }
    return c;
}

static void test_filters_acks_done(void)
{
    const char *tags[10] = { "role=db", "role=web", "role=web", "role=webhook", NULL,
                             "role=web", "role=cache", NULL, "role=db", "role=web" };
    qworld w;
    qw_make(&w, 10, 3, NULL, tags, NULL);
    w.respond = true;
    REQUIRE(qw_settle(&w, SETTLE_MS));
    uint64_t seen[10] = { 0 };
    nodes_new(&w, seen);

    /* tag filter, ack asked */
    const char *keys[] = { "role" }, *exprs[] = { "^web$" };
    serf_node_query_opts o = { .tag_keys = keys, .tag_exprs = exprs, .ntags = 1, .request_ack = true,
                               .timeout_ms = 3000 };
    swim_time t0 = sim_now(w.s);
    uint64_t h = ask(&w, 0, "tagged", &o);
    qw_run(&w, t0 + 2999);
    CHECK_EQ_INT(nodes_new(&w, seen), 10);
    int web[] = { 1, 2, 5, 9 };
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_QUERY, "tagged"), 4);
    for (size_t k = 0; k < 4; k++)
        CHECK_EQ_INT(qw_count(&w, web[k], SERF_EV_QUERY, "tagged"), 1);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_ACK, h), 4);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_RESPONSE, h), 4);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_DONE, h), 0);
    qw_run(&w, t0 + 3000);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_DONE, h), 1);
    for (size_t k = 0; k < w.nev; k++)
        if (w.ev[k].type == SERF_EV_QUERY_RESPONSE && w.ev[k].query_id == h)
            CHECK(strncmp(w.ev[k].from, (const char *)w.ev[k].payload, w.ev[k].payload_len) == 0);

    /* node filter (with ourselves in it: serf handles its own query), no
     * ack asked: none comes */
    const char *nodes[] = { "node-0", "node-4", "node-7" };
    serf_node_query_opts o2 = { .nodes = nodes, .nnodes = 3, .timeout_ms = 2000 };
    t0 = sim_now(w.s);
    h = ask(&w, 0, "named", &o2);
    qw_run(&w, t0 + 5000);
    CHECK_EQ_INT(nodes_new(&w, seen), 10);
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_QUERY, "named"), 3);
    CHECK_EQ_INT(qw_count(&w, 0, SERF_EV_QUERY, "named"), 1);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_ACK, h), 0);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_RESPONSE, h), 3);
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_DONE, h), 1);

    /* both filters: selected by both only */
    const char *n2[] = { "node-1", "node-3", "node-8" };
    const char *e2[] = { "web" };
    serf_node_query_opts o3 = { .nodes = n2, .nnodes = 3, .tag_keys = keys, .tag_exprs = e2, .ntags = 1,
                                .timeout_ms = 2000 };
    h = ask(&w, 6, "both", &o3);
    qw_run(&w, sim_now(w.s) + 5000);
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_QUERY, "both"), 2);
    CHECK_EQ_INT(qw_count(&w, 1, SERF_EV_QUERY, "both"), 1);
    CHECK_EQ_INT(qw_count(&w, 3, SERF_EV_QUERY, "both"), 1);
    CHECK_EQ_INT(qw_count_q(&w, 6, SERF_EV_QUERY_RESPONSE, h), 2);

    /* serf's default timeout: 200 ms x 16 x ceil(log10(11)) = 6.4 s */
    t0 = sim_now(w.s);
    h = ask(&w, 2, "default", NULL);
    qw_run(&w, t0 + 6399);
    CHECK_EQ_INT(qw_count_q(&w, 2, SERF_EV_QUERY_RESPONSE, h), 10);
    CHECK_EQ_INT(qw_count_q(&w, 2, SERF_EV_QUERY_DONE, h), 0);
    qw_run(&w, t0 + 6400);
    CHECK_EQ_INT(qw_count_q(&w, 2, SERF_EV_QUERY_DONE, h), 1);

    /* an answer over the size limit is refused */
    w.respond_len = 1100;
    ask(&w, 0, "big", NULL);
    qw_run(&w, sim_now(w.s) + 100);
    CHECK_EQ_INT(w.respond_rc, WIRE_ELIMIT);
    w.respond = false;
    qw_free(&w);
}

static void relay(int relay_factor, size_t expect_responses)
{
    const char *tags[12] = { NULL };
    tags[10] = tags[11] = "answer=yes";
    qworld w;
    qw_make(&w, 12, 21, NULL, tags, NULL);
    w.respond = true;
    REQUIRE(qw_settle(&w, SETTLE_MS));
    /* the answering nodes cannot reach the asker directly (its probes of
     * them still go through others, and it does not take long enough to
     * matter) */
    uint32_t delay, jitter;
    double loss;
    sim_get_default_link(w.s, &delay, &jitter, &loss);
    sim_set_link(w.s, 10, 0, delay, jitter, 1.0);
    sim_set_link(w.s, 11, 0, delay, jitter, 1.0);
    const char *keys[] = { "answer" }, *exprs[] = { "yes" };
    serf_node_query_opts o = { .tag_keys = keys, .tag_exprs = exprs, .ntags = 1, .request_ack = true,
                               .relay_factor = (uint8_t)relay_factor, .timeout_ms = 3000 };
    uint64_t h = ask(&w, 0, "relayed", &o);
    qw_run(&w, sim_now(w.s) + 4000);
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_QUERY, "relayed"), 2);
    CHECKF(qw_count_q(&w, 0, SERF_EV_QUERY_RESPONSE, h) == expect_responses, "relay factor %d: %zu responses",
           relay_factor, qw_count_q(&w, 0, SERF_EV_QUERY_RESPONSE, h));
    CHECK_EQ_INT(qw_count_q(&w, 0, SERF_EV_QUERY_ACK, h), expect_responses);
    qw_free(&w);
}

static void test_relay(void)
{
    relay(0, 0);
    relay(3, 2);
}

/* ---- key rotation ---- */

typedef struct tally_ctx {
    qworld *w;
    uint64_t h;
    serf_keys_tally t;
    size_t seen;                      /* events of w looked at */
    bool done;
} tally_ctx;

static bool tally_hook(sim *s, void *ud)
{
    (void)s;
    tally_ctx *c = ud;
    for (; c->seen < c->w->nev; c->seen++) {
        const qw_event *e = &c->w->ev[c->seen];
        if (e->node != 0 || e->query_id != c->h)
            continue;
        if (e->type == SERF_EV_QUERY_DONE)
            c->done = true;
        /* (the record keeps 256 bytes of a payload: a key answer with
         * one or two keys fits) */
        if (e->type == SERF_EV_QUERY_RESPONSE)
            serf_keys_add(&c->t, e->from, wire_bytes_of(e->payload, e->payload_len));
    }
    return c->done;
}

/* One key operation as an operator runs `serf keys`: again while some
 * node did not answer (a query is gossip: under loss a node may miss it,
 * or its answer may be lost; serf then says "49/50 nodes reported
 * success"). Every answer must be a success. Returns the attempts. */
static int rotate_step(qworld *w, serf_key_op op, const uint8_t *key, const char *what)
{
    for (int attempt = 1; attempt <= 4; attempt++) {
        tally_ctx c = { .w = w, .seen = w->nev };
        size_t num_nodes = 0;
        int rc = serf_node_key_query(sim_serf(w->s, 0), sim_core(w->s, 0), sim_now(w->s), op, key, 16,
                                     KEY_RELAY_FACTOR, &c.h, &num_nodes);
        CHECK_EQ_INT(rc, WIRE_OK);
        serf_keys_init(&c.t, num_nodes);
        /* answers already in (ours, to ourselves) */
        tally_hook(w->s, &c);
        CHECK(sim_run_while_not(w->s, sim_now(w->s) + 20000, tally_hook, &c));
        CHECK_EQ_INT(c.t.num_nodes, 50);
        char err[64] = "";
        int outcome = serf_keys_outcome(&c.t, err, sizeof err);
        if (getenv("QW_DEBUG"))
            fprintf(stderr, "%s attempt %d: %zu answers, %zu errors: %s\n", what, attempt, c.t.num_resp, c.t.num_err,
                    outcome ? err : "ok");
        CHECKF(c.t.num_err == 0, "%s: %zu errors", what, c.t.num_err);
        bool all = c.t.num_resp == c.t.num_nodes;
        if (op == SERF_KEY_LIST) {
            /* every answer names k2 alone, as the primary */
            char b64[WIRE_KEY_B64_MAX];
            wire_key_to_base64(key, 16, b64);
            CHECK(c.t.keys.n == 1 && strcmp(c.t.keys.v[0].name, b64) == 0 && c.t.keys.v[0].count == c.t.num_resp);
            CHECK(c.t.primary.n == 1 && strcmp(c.t.primary.v[0].name, b64) == 0);
        }
        serf_keys_free(&c.t);
        if (all)
            return attempt;
    }
    CHECKF(0, "%s: not every node answered in 4 attempts", what);
    return 0;
}

static void test_key_rotation(void)
{
    uint8_t k1[16], k2[16];
    memset(k1, 0x11, 16);
    memset(k2, 0x22, 16);
    qworld w;
    qw_make(&w, 50, 9, NULL, NULL, k1);
    REQUIRE(qw_settle(&w, 2 * SETTLE_MS));
    sim_set_default_link(w.s, 5, 5, 0.05);
    size_t failed_before = qw_count(&w, -1, SERF_EV_MEMBER_FAILED, NULL);

    int attempts = rotate_step(&w, SERF_KEY_INSTALL, k2, "install");
    for (int i = 0; i < w.n; i++) {
        CHECKF(w.kr[i].n == 2, "node-%d holds %zu keys", i, w.kr[i].n);
        CHECK(memcmp(w.kr[i].keys[0].bytes, k1, 16) == 0);
    }
    attempts += rotate_step(&w, SERF_KEY_USE, k2, "use");
    for (int i = 0; i < w.n; i++)
        CHECKF(w.kr[i].n == 2 && memcmp(w.kr[i].keys[0].bytes, k2, 16) == 0, "node-%d: k2 not primary", i);
    attempts += rotate_step(&w, SERF_KEY_REMOVE, k1, "remove");
    /* most operations take one attempt */
    CHECKF(attempts <= 5, "%d attempts for 3 operations", attempts);
    for (int i = 0; i < w.n; i++)
        CHECKF(w.kr[i].n == 1 && memcmp(w.kr[i].keys[0].bytes, k2, 16) == 0, "node-%d: %zu keys", i, w.kr[i].n);
    /* every node told its driver to persist the keyring after each
     * change (again when an operation was run again) */
    for (int i = 0; i < w.n; i++)
        CHECK(qw_count(&w, i, SERF_EV_KEYRING, NULL) >= 3);
    rotate_step(&w, SERF_KEY_LIST, k2, "list");  /* (k2: what the answers must hold) */

    /* nobody was lost while the keys changed (the sim does not encrypt:
     * this is the serf side's own traffic and timing) */
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_MEMBER_FAILED, NULL), failed_before);
    CHECK(qw_all_alive(w.s, &w));
    qw_free(&w);
}

/* ---- the conflict vote ---- */

static void test_conflict_vote(void)
{
    qworld w;
    qw_make(&w, 6, 13, NULL, NULL, NULL);
    REQUIRE(qw_settle(&w, SETTLE_MS));
    /* a seventh node takes node-3's name at another address */
    swim_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c, "lan") == 0);
    snprintf(c.name, sizeof c.name, "node-3");
    int dup = sim_add(w.s, &c, NULL);
    REQUIRE(dup == 6);
    int seed_node = 0;
    sim_join(w.s, dup, &seed_node, 1);
    qw_run(&w, sim_now(w.s) + 30000);
    CHECK_EQ_INT(qw_count(&w, dup, SERF_EV_SHUTDOWN, NULL), 1);
    CHECK_EQ_INT(qw_count(&w, 3, SERF_EV_SHUTDOWN, NULL), 0);
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_SHUTDOWN, NULL), 1);
    /* the vote's query is internal: nobody reports it */
    CHECK_EQ_INT(qw_count(&w, -1, SERF_EV_QUERY, NULL), 0);
    qw_free(&w);
}

int main(void)
{
    test_filters_acks_done();
    test_relay();
    test_key_rotation();
    test_conflict_vote();
    return check_done("test_serf_node_cluster");
}
