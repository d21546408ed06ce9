/* serf_node's members on the simulator's virtual clock, each node a serf
 * peer (sim_use_serf):
 *   - joining gives every member the status time of its join intent, on
 *     every node, and no intent ever reaches the application as an event;
 *   - a graceful leave (serf_leave over serf_node) ends "left" everywhere,
 *     a kill "failed" everywhere; both are kept until reaped (short
 *     timeouts here), then gone with SERF_EV_MEMBER_REAP;
 *   - a message of a type serf does not have is dropped, counted, and
 *     never passed on;
 *   - a leave intent about a live node is refuted by it (a newer join
 *     intent): alive again everywhere;
 *   - new tags reach everyone as SERF_EV_MEMBER_UPDATE;
 *   - a graceful leave still ends "left" on a node that missed the
 *     intent: serf's push/pull carries LeftMembers;
 *   - the same seed gives the same run, serf's events included. */
#include "serf/node_world.h"

/* every node sees every member but node-0 (which joined nobody, so sent
 * no intent) with a status time */
static bool all_timed(sim *s, void *ud)
{
    world *w = ud;
    for (int i = 0; i < w->n; i++)
        for (int of = 1; of < w->n; of++) {
            char name[32];
            snprintf(name, sizeof name, "node-%d", of);
            serf_node_member m;
            if (!serf_node_member_get(sim_serf(s, i), name, &m) || m.status_ltime == 0)
                return false;
        }
    return true;
}

static void test_join_intents(void)
{
    world w;
    make(&w, 5, 1, NULL);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    /* an intent gossiped before its sender knew everyone may miss a node:
     * then serf's push/pull (StatusLTimes, every 30 s on lan) brings it */
    CHECK(sim_run_while_not(w.s, SETTLED_MS + 2 * 30000, all_timed, &w));
    for (int i = 0; i < w.n; i++) {
        serf_node *sn = sim_serf(w.s, i);
        CHECK_EQ_INT(serf_node_member_count(sn), 5);
        for (int of = 1; of < w.n; of++) {   /* node-0 joined nobody: no intent of its own */
            char name[32];
            snprintf(name, sizeof name, "node-%d", of);
            serf_node_member m;
            REQUIRE(serf_node_member_get(sn, name, &m));
            CHECKF(m.status_ltime > 0, "node-%d sees %s with status time 0", i, name);
        }
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_JOIN], 5);
        CHECK_EQ_INT(w.ev[i][SERF_EV_USER], 0);   /* an intent is not an event */
        CHECK(serf_node_get_clocks(sn).member > 1);
    }
    CHECK(serf_node_get_stats(sim_serf(w.s, 0))->intents_received > 0);
    sim_free(w.s);
}

/* node 4 leaves gracefully, node 3 is killed: left and failed everywhere,
 * kept until their timeouts, then reaped */
static void test_leave_kill_reap(void)
{
    serf_node_config tmpl = { .reconnect_timeout_ms = 60000, .tombstone_timeout_ms = 40000 };
    world w;
    make(&w, 5, 2, &tmpl);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    sim_run_until(w.s, SETTLED_MS);

    w.leaver = 4;
    serf_leave_init_node(&w.leave, sim_serf(w.s, 4), (serf_log){ 0 });
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 4), sim_now(w.s)));
    swim_time limit = sim_now(w.s) + 15000;
    while (serf_leave_state(&w.leave) != SERF_LEAVE_DONE && sim_now(w.s) < limit) {
        swim_time next = serf_leave_next_deadline(&w.leave);
        sim_run_until(w.s, next < sim_now(w.s) + 10 ? next : sim_now(w.s) + 10);
        serf_leave_tick(&w.leave, sim_core(w.s, 4), sim_now(w.s));
    }
    CHECK(serf_leave_state(&w.leave) == SERF_LEAVE_DONE);
    swim_time left_at = sim_now(w.s);
    sim_kill(w.s, 4);
    w.leaver = -1;
    want left = { &w, 4, SERF_MEMBER_LEFT };
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 5000, wanted, &left));

    sim_kill(w.s, 3);
    swim_time killed = sim_now(w.s);
    want failed = { &w, 3, SERF_MEMBER_FAILED };
    CHECK(sim_run_while_not(w.s, killed + 30000, wanted, &failed));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_LEAVE], 1);
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_FAILED], 1);
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_REAP], 0);
    }
    /* still there just before its tombstone runs out */
    sim_run_until(w.s, left_at + 40000 - 1000);
    CHECK(all_see(&w, 4, SERF_MEMBER_LEFT));
    CHECK(all_see(&w, 3, SERF_MEMBER_FAILED));
    /* gone by the next reap after it (15 s), the failed one likewise */
    want gone4 = { &w, 4, SERF_MEMBER_NONE };
    CHECK(sim_run_while_not(w.s, left_at + 40000 + SERF_REAP_INTERVAL_MS + 2000, wanted, &gone4));
    CHECK(all_see(&w, 3, SERF_MEMBER_FAILED));
    want gone3 = { &w, 3, SERF_MEMBER_NONE };
    CHECK(sim_run_while_not(w.s, killed + 60000 + SERF_REAP_INTERVAL_MS + 32000, wanted, &gone3));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_REAP], 2);
        CHECK_EQ_INT(serf_node_member_count(sim_serf(w.s, i)), 3);
        CHECK_EQ_INT(serf_node_get_stats(sim_serf(w.s, i))->reaped, 2);
    }
    sim_free(w.s);
}

/* A user message of a type serf does not have, and a malformed intent:
 * dropped and counted, no event. */
static void test_unknown_dropped(void)
{
    world w;
    make(&w, 3, 3, NULL);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    static const uint8_t odd[] = { 42, 0x80 };
    static const uint8_t bad_join[] = { SERF_MSG_JOIN, 0x81 };
    REQUIRE(swim_send_user(sim_core(w.s, 1), sim_now(w.s), "node-0", odd, sizeof odd, false) == 0);
    REQUIRE(swim_send_user(sim_core(w.s, 1), sim_now(w.s), "node-0", bad_join, sizeof bad_join, true) == 0);
    sim_run_until(w.s, sim_now(w.s) + 2000);
    const serf_node_stats *st = serf_node_get_stats(sim_serf(w.s, 0));
    CHECK_EQ_INT(st->unknown_messages, 1);
    for (int i = 0; i < w.n; i++)
        CHECK_EQ_INT(w.ev[i][SERF_EV_USER], 0);
    sim_free(w.s);
}

static void test_refute_leave(void)
{
    world w;
    make(&w, 5, 4, NULL);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    sim_run_until(w.s, SETTLED_MS);
    /* node 0 says node 2 leaves; node 2 is alive and says otherwise */
    CHECK_EQ_INT(serf_node_force_leave(sim_serf(w.s, 0), sim_core(w.s, 0), sim_now(w.s), "node-2", false), 0);
    CHECK(status_at(&w, 0, 2) == SERF_MEMBER_LEAVING);
    uint64_t before = serf_node_get_clocks(sim_serf(w.s, 2)).member;
    want alive = { &w, 2, SERF_MEMBER_ALIVE };
    sim_run_until(w.s, sim_now(w.s) + 100);
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 5000, wanted, &alive));
    serf_node_member m;
    REQUIRE(serf_node_member_get(sim_serf(w.s, 0), "node-2", &m));
    CHECK(m.status_ltime >= before);   /* the refuting join is newer than the leave */
    /* and it stays so */
    sim_run_until(w.s, sim_now(w.s) + 40000);
    CHECK(all_see(&w, 2, SERF_MEMBER_ALIVE));
    for (int i = 0; i < w.n; i++)
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_LEAVE] + w.ev[i][SERF_EV_MEMBER_FAILED], 0);
    sim_free(w.s);
}

static bool tagged(sim *s, void *ud)
{
    world *w = ud;
    for (int i = 0; i < w->n; i++) {
        serf_node_member m;
        if (!serf_node_member_get(sim_serf(s, i), "node-1", &m))
            return false;
        serf_tags t = { 0 };
        bool ok = serf_tags_decode(&t, m.meta, m.meta_len) == 0 && t.n == 1 && strcmp(t.v[0].value, "web") == 0;
        serf_tags_free(&t);
        if (!ok)
            return false;
    }
    return true;
}

static void test_set_meta(void)
{
    world w;
    make(&w, 4, 5, NULL);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    serf_tags t = { 0 };
    REQUIRE(serf_tags_set(&t, "role", 4, "web", 3) == 0);
    wire_buf b;
    wire_buf_init(&b, 0);
    char err[128];
    REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
    CHECK_EQ_INT(serf_node_set_meta(sim_serf(w.s, 1), sim_core(w.s, 1), sim_now(w.s), b.data, b.len), 0);
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 5000, tagged, &w));
    serf_node_member me;   /* our own entry too */
    REQUIRE(serf_node_member_get(sim_serf(w.s, 1), "node-1", &me));
    CHECK_MEM(me.meta, me.meta_len, b.data, b.len);
    for (int i = 0; i < w.n; i++)
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_UPDATE], 1);
    serf_tags_free(&t);
    wire_buf_free(&b);
    sim_free(w.s);
}

static void leave_gracefully(world *w, int who)
{
    w->leaver = who;
    serf_leave_init_node(&w->leave, sim_serf(w->s, who), (serf_log){ 0 });
    REQUIRE(serf_leave_begin(&w->leave, sim_core(w->s, who), sim_now(w->s)));
    swim_time limit = sim_now(w->s) + 15000;
    while (serf_leave_state(&w->leave) != SERF_LEAVE_DONE && sim_now(w->s) < limit) {
        swim_time next = serf_leave_next_deadline(&w->leave);
        sim_run_until(w->s, next < sim_now(w->s) + 10 ? next : sim_now(w->s) + 10);
        serf_leave_tick(&w->leave, sim_core(w->s, who), sim_now(w->s));
    }
    CHECK(serf_leave_state(&w->leave) == SERF_LEAVE_DONE);
    sim_kill(w->s, who);
    w->leaver = -1;
}

/* node 8 hears nothing while node 9 leaves: it misses the intent and
 * memberlist's leave, and learns both later from push/pulls */
static void test_leave_missed(void)
{
    world w;
    make(&w, 10, 6, NULL);
    CHECK(sim_run_while_not(w.s, 2 * SETTLED_MS, all_alive, &w));
    sim_run_until(w.s, sim_now(w.s) + SETTLED_MS);
    for (int i = 0; i < 10; i++)
        if (i != 8)
            sim_set_link(w.s, i, 8, 1, 2, 1.0);
    leave_gracefully(&w, 9);
    swim_time left = sim_now(w.s);
    CHECK(status_at(&w, 8, 9) == SERF_MEMBER_ALIVE);   /* heard nothing */
    for (int i = 0; i < 10; i++)
        if (i != 8)
            sim_set_link(w.s, i, 8, 1, 2, 0.0);
    want l9 = { &w, 9, SERF_MEMBER_LEFT };
    /* memberlist's dead reaches node 8 by gossip or push/pull; serf's
     * LeftMembers by the next push/pull after (30 s on lan) */
    CHECK(sim_run_while_not(w.s, left + 3 * 30000, wanted, &l9));
    /* either order ends left: a push/pull's LeftMembers first makes it
     * leaving, memberlist's dead then left; memberlist first makes it
     * failed, LeftMembers then left */
    CHECK_EQ_INT(w.ev[8][SERF_EV_MEMBER_LEAVE], 1);
    fprintf(stderr, "node 8 saw node 9 left %llu ms after the leave\n", (unsigned long long)(sim_now(w.s) - left));
    sim_free(w.s);
}

static uint64_t run_hash(uint64_t seed)
{
    world w;
    make(&w, 5, seed, NULL);
    sim_run_until(w.s, 20000);
    sim_kill(w.s, 3);
    sim_run_until(w.s, 60000);
    uint64_t h = sim_hash(w.s);
    sim_free(w.s);
    return h;
}

static void test_determinism(void)
{
    CHECK(run_hash(7) == run_hash(7));
    CHECK(run_hash(7) != run_hash(8));
}

int main(void)
{
    test_refute_leave();
    test_leave_missed();
    test_set_meta();
    test_determinism();
    test_join_intents();
    test_leave_kill_reap();
    test_unknown_dropped();
    return check_done("test_serf_node_members");
}
