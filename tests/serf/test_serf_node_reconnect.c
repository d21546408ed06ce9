/* serf_node's reconnects and force-leave on the simulator's virtual clock:
 *   - 10 nodes split in halves long enough that each side marks the other
 *     failed and its core forgets them (GossipToTheDeadTime): after the
 *     heal, serf's reconnect (every ReconnectInterval, a random failed
 *     member) merges them again, all alive everywhere within a bound;
 *     with reconnects pushed out of the run they stay apart;
 *   - force-leave turns a failed member left everywhere (SERF_EV_MEMBER_LEAVE),
 *     force-leave -prune erases it everywhere (SERF_EV_MEMBER_REAP); an
 *     unknown name is refused. */
#include "serf/node_world.h"

/* lan: each side declares the other dead within the suspicion timeout
 * (under 30 s for 10 nodes), and the cores drop the dead after
 * GossipToTheDeadTime (30 s) more */
#define SPLIT_MS 120000

static bool halves_failed(sim *s, void *ud)
{
    (void)s;
    world *w = ud;
    for (int i = 0; i < w->n; i++)
        for (int of = 0; of < w->n; of++)
            if ((i < w->n / 2) != (of < w->n / 2) && status_at(w, i, of) != SERF_MEMBER_FAILED)
                return false;
    return true;
}

/* the core of node i no longer holds the other half */
static bool forgotten(world *w)
{
    for (int i = 0; i < w->n; i++)
        if (swim_member_count(sim_core(w->s, i)) != (size_t)w->n / 2)
            return false;
    return true;
}

/* returns whether the halves merged within the bound after the heal */
static bool split_and_heal(uint64_t seed, uint64_t reconnect_interval_ms, swim_time *merged_after)
{
    serf_node_config tmpl = { .reconnect_interval_ms = reconnect_interval_ms };
    world w;
    make(&w, 10, seed, &tmpl);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    for (int i = 5; i < 10; i++)
        sim_set_group(w.s, i, 1);
    CHECK(sim_run_while_not(w.s, SETTLED_MS + SPLIT_MS, halves_failed, &w));
    sim_run_until(w.s, SETTLED_MS + SPLIT_MS);
    CHECK(forgotten(&w));
    CHECK(halves_failed(w.s, &w));   /* serf still remembers them, failed */
    for (int i = 5; i < 10; i++)
        sim_set_group(w.s, i, 0);
    swim_time healed = sim_now(w.s);
    /* the next reconnect round (probability failed/alive = 1 here: every
     * node tries one), then a push/pull and a few gossip rounds */
    swim_time bound = healed + SERF_RECONNECT_INTERVAL_MS + 10000;
    bool merged = sim_run_while_not(w.s, bound, all_alive, &w);
    *merged_after = sim_now(w.s) - healed;
    if (merged) {
        uint64_t reconnects = 0;
        for (int i = 0; i < w.n; i++)
            reconnects += serf_node_get_stats(sim_serf(w.s, i))->reconnects;
        CHECK(reconnects > 0);
    }
    sim_free(w.s);
    return merged;
}

static void test_reconnect_after_partition(void)
{
    swim_time after;
    CHECK(split_and_heal(21, 0, &after));
    fprintf(stderr, "halves merged %llu ms after the heal\n", (unsigned long long)after);
    /* without a reconnect in the run, nothing brings them together */
    CHECK(!split_and_heal(21, 3600 * 1000, &after));
}

static void test_force_leave(void)
{
    world w;
    make(&w, 5, 22, NULL);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    sim_kill(w.s, 4);
    sim_kill(w.s, 3);
    want f4 = { &w, 4, SERF_MEMBER_FAILED }, f3 = { &w, 3, SERF_MEMBER_FAILED };
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 40000, wanted, &f4));
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 40000, wanted, &f3));

    CHECK_EQ_INT(serf_node_force_leave(sim_serf(w.s, 0), sim_core(w.s, 0), sim_now(w.s), "nobody", false), -1);
    CHECK_EQ_INT(serf_node_force_leave(sim_serf(w.s, 0), sim_core(w.s, 0), sim_now(w.s), "node-4", false), 0);
    CHECK(status_at(&w, 0, 4) == SERF_MEMBER_LEFT);   /* at once on the asker */
    want l4 = { &w, 4, SERF_MEMBER_LEFT };
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 5000, wanted, &l4));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_LEAVE], 1);
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_REAP], 0);
    }

    CHECK_EQ_INT(serf_node_force_leave(sim_serf(w.s, 1), sim_core(w.s, 1), sim_now(w.s), "node-3", true), 0);
    CHECK(status_at(&w, 1, 3) == SERF_MEMBER_NONE);
    want gone3 = { &w, 3, SERF_MEMBER_NONE };
    CHECK(sim_run_while_not(w.s, sim_now(w.s) + 5000, wanted, &gone3));
    /* and it stays gone: push/pulls carry no member back */
    sim_run_until(w.s, sim_now(w.s) + 65000);
    CHECK(all_see(&w, 3, SERF_MEMBER_NONE));
    CHECK(all_see(&w, 4, SERF_MEMBER_LEFT));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_LEAVE], 2);   /* failed -> left, then erased */
        CHECK_EQ_INT(w.ev[i][SERF_EV_MEMBER_REAP], 1);
        CHECK_EQ_INT(serf_node_member_count(sim_serf(w.s, i)), 4);
    }
    sim_free(w.s);
}

int main(void)
{
    test_reconnect_after_partition();
    test_force_leave();
    return check_done("test_serf_node_reconnect");
}
