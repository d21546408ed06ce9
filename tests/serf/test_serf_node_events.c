/* serf_node's user events on the simulator's virtual clock, each node a
 * serf peer:
 *   - an event fired at one node of 20 is delivered exactly once on each,
 *     the sender included, under 5 % packet loss;
 *   - a replay of the same event (the same bytes gossiped again, later)
 *     is delivered nowhere;
 *   - with coalescing on, a burst of events of one name is delivered as
 *     its latest only, on every node; events sent without coalesce pass
 *     at once;
 *   - a node joining later (serf's default, ignore old events) is given
 *     none of the events from before its join, and the later ones once. */
#include "serf/serf_msg_event.h"
#include "query_world.h"

/* memberlist gossips an alive a few times only; a node all of them
 * missed learns of the member at the next push/pull (every 30 s on lan) */
#define SETTLE_MS 65000

static void fire(qworld *w, int i, const char *name, const char *payload, bool cc)
{
    int rc = serf_node_user_event(sim_serf(w->s, i), sim_core(w->s, i), sim_now(w->s),
                                  wire_bytes_of(name, strlen(name)), wire_bytes_of(payload, strlen(payload)), cc);
    CHECK_EQ_INT(rc, WIRE_OK);
}

static void test_once_under_loss(void)
{
    qworld w;
    qw_make(&w, 20, 7, NULL, NULL, NULL);
    REQUIRE(qw_settle(&w, SETTLE_MS));
    sim_set_default_link(w.s, 5, 5, 0.05);
    swim_time t0 = sim_now(w.s);
    fire(&w, 3, "deploy", "v1.2", false);
    /* the sender has it at once, as serf delivers its own event */
    CHECK_EQ_INT(qw_count(&w, 3, SERF_EV_USER, "deploy"), 1);
    /* gossip brings it to most nodes within a second; a node that all the
     * retransmissions missed (each node sends it a few times only, and
     * some are lost) has it from serf's push/pull, at most 30 s later per
     * exchange */
    qw_run(&w, t0 + 120000);
    size_t by_gossip = 0;
    for (int i = 0; i < w.n; i++) {
        CHECKF(qw_count(&w, i, SERF_EV_USER, "deploy") == 1, "node-%d got it %zu times", i,
               qw_count(&w, i, SERF_EV_USER, "deploy"));
        CHECK_EQ_INT(serf_node_get_clocks(sim_serf(w.s, i)).event, 1);
    }
    for (size_t k = 0; k < w.nev; k++)
        if (w.ev[k].type == SERF_EV_USER) {
            CHECK(w.ev[k].ltime == 0 && !w.ev[k].coalesce && w.ev[k].payload_len == 4);
            by_gossip += w.ev[k].at <= t0 + 2000;
        }
    CHECKF(by_gossip >= 15, "%zu of 20 by gossip", by_gossip);
    if (getenv("QW_DEBUG")) {
        swim_time last = 0;
        for (size_t k = 0; k < w.nev; k++)
            if (w.ev[k].type == SERF_EV_USER && w.ev[k].at <= t0 + 2000 && w.ev[k].at - t0 > last)
                last = w.ev[k].at - t0;
        fprintf(stderr, "event: %zu of 20 by gossip, the last of them after %llu ms\n", by_gossip,
                (unsigned long long)last);
    }
    /* the rebroadcasts: everyone got it more than once, and dropped the
     * copies */
    uint64_t dups = 0;
    for (int i = 0; i < w.n; i++)
        dups += serf_node_get_stats(sim_serf(w.s, i))->events_dup;
    CHECK(dups > (uint64_t)w.n);

    /* a replay: the same event's bytes gossiped again by another node */
    serf_msg_user_event m = { .ltime = 0, .name = wire_bytes_of("deploy", 6), .payload = wire_bytes_of("v1.2", 4) };
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_msg_user_event_encode(&b, &m) == WIRE_OK);
    REQUIRE(swim_broadcast(sim_core(w.s, 11), b.data, b.len, NULL) == 0);
    /* and one with another payload at the same time: a new event */
    wire_buf_reset(&b);
    m.payload = wire_bytes_of("v1.3", 4);
    REQUIRE(serf_msg_user_event_encode(&b, &m) == WIRE_OK);
    REQUIRE(swim_broadcast(sim_core(w.s, 12), b.data, b.len, NULL) == 0);
    wire_buf_free(&b);
    qw_run(&w, sim_now(w.s) + 120000);
    /* the replay nowhere; the new one once everywhere (node 12 too: its
     * serf did not see what its core sent, the echoes bring it) */
    for (int i = 0; i < w.n; i++)
        CHECKF(qw_count(&w, i, SERF_EV_USER, "deploy") == 2, "node-%d: %zu", i,
               qw_count(&w, i, SERF_EV_USER, "deploy"));
    qw_free(&w);
}

static void test_coalesce(void)
{
    serf_node_config tmpl = { .coalesce_period_ms = 5000, .quiescent_period_ms = 2000 };
    qworld w;
    qw_make(&w, 8, 11, &tmpl, NULL, NULL);
    REQUIRE(qw_settle(&w, SETTLE_MS));
    swim_time t0 = sim_now(w.s);
    fire(&w, 2, "deploy", "v1", true);
    fire(&w, 2, "deploy", "v2", true);
    fire(&w, 2, "deploy", "v3", true);
    fire(&w, 2, "restart", "r", true);
    fire(&w, 2, "plain", "p", false);
    /* the sender too holds them back */
    CHECK_EQ_INT(qw_count(&w, 2, SERF_EV_USER, "deploy"), 0);
    CHECK_EQ_INT(qw_count(&w, 2, SERF_EV_USER, "plain"), 1);
    qw_run(&w, t0 + 100000);
    /* every node has the latest "deploy" once; through the coalescer
     * (held at least the quiescent period) it is the only one. A node
     * that the gossip missed has them from a push/pull, which serf hands
     * over uncoalesced (CC false): then all three, once each. */
    size_t coalesced = 0;
    for (int i = 0; i < w.n; i++) {
        size_t cc = 0, plain = 0, v3 = 0;
        for (size_t k = 0; k < w.nev; k++) {
            const qw_event *e = &w.ev[k];
            if (e->node != i || e->type != SERF_EV_USER || strcmp(e->name, "deploy") != 0)
                continue;
            if (e->coalesce) {
                cc++;
                CHECK(e->ltime == 2 && e->at >= t0 + 2000);
                CHECK_MEM(e->payload, e->payload_len, "v3", 2);
            } else {
                plain++;
            }
            v3 += e->payload_len == 2 && memcmp(e->payload, "v3", 2) == 0;
        }
        CHECKF(v3 == 1 && ((cc == 1 && plain == 0) || (cc == 0 && plain == 3)), "node-%d: %zu coalesced, %zu not", i,
               cc, plain);
        coalesced += cc;
        CHECK_EQ_INT(qw_count(&w, i, SERF_EV_USER, "restart"), 1);
        CHECK_EQ_INT(qw_count(&w, i, SERF_EV_USER, "plain"), 1);
    }
    CHECK_EQ_INT(qw_count(&w, 2, SERF_EV_USER, "deploy"), 1);
    CHECKF(coalesced >= 6, "%zu of 8 nodes coalesced", coalesced);
    qw_free(&w);
}

static void test_ignore_old_on_join(void)
{
    qworld w;
    qw_make(&w, 5, 5, NULL, NULL, NULL);
    REQUIRE(qw_settle(&w, SETTLE_MS));
    fire(&w, 1, "before", "1", false);
    fire(&w, 2, "before", "2", false);
    qw_run(&w, sim_now(w.s) + 100000);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(qw_count(&w, i, SERF_EV_USER, "before"), 2);
    /* node 5 comes and joins: serf's Join with ignoreOld (the sim's) */
    swim_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c, "lan") == 0);
    snprintf(c.name, sizeof c.name, "node-5");
    REQUIRE(sim_add(w.s, &c, NULL) == 5);
    w.n = 6;
    int seed_node = 0;
    sim_join(w.s, 5, &seed_node, 1);
    REQUIRE(qw_settle(&w, sim_now(w.s) + SETTLE_MS));
    /* past push/pulls: the old events stay old */
    qw_run(&w, sim_now(w.s) + 100000);
    CHECK_EQ_INT(qw_count(&w, 5, SERF_EV_USER, "before"), 0);
    CHECK_EQ_INT(serf_node_get_clocks(sim_serf(w.s, 5)).event, 1);
    fire(&w, 4, "after", "", false);
    qw_run(&w, sim_now(w.s) + 100000);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(qw_count(&w, i, SERF_EV_USER, "after"), 1);
    qw_free(&w);
}

int main(void)
{
    test_once_under_loss();
    test_coalesce();
    test_ignore_old_on_join();
    return check_done("test_serf_node_events");
}
