/* The simulator's serf support (sim_use_serf): which nodes get a
 * serf_node (those added or restarted after the call), none while down, a
 * fresh one after a restart that joins again, serf's timers held while
 * paused and run on resume, and a join through sim_join that sends the
 * join intent (serf_node_joined) once it reached someone. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

static int joins_seen[8];

static void on_serf(void *ud, int node, swim_time now, const serf_node_event *ev)
{
    (void)ud;
    (void)now;
    if (ev->type == SERF_EV_MEMBER_JOIN && node < 8)
        joins_seen[node]++;
}

static bool knows(sim *s, int at, const char *name, serf_member_status st)
{
    serf_node_member m;
    return sim_serf(s, at) && serf_node_member_get(sim_serf(s, at), name, &m) && m.status == st;
}

static void test_which_nodes(void)
{
    sim *s = sim_new(1);
    REQUIRE(s);
    REQUIRE(sim_add_many(s, 1, "n", "lan") == 0);
    CHECK(sim_serf(s, 0) == NULL);                /* before sim_use_serf */
    sim_use_serf(s, NULL);
    sim_on_serf_event(s, on_serf, NULL);
    REQUIRE(sim_add_many(s, 2, "n", "lan") == 1);
    CHECK(sim_serf(s, 0) == NULL);
    CHECK(sim_serf(s, 1) != NULL && sim_serf(s, 2) != NULL);
    CHECK_EQ_INT(serf_node_member_count(sim_serf(s, 1)), 1);   /* itself */
    REQUIRE(sim_restart(s, 0, NULL) == 0);        /* restarted: now with serf */
    CHECK(sim_serf(s, 0) != NULL);
    int seed = 0;
    sim_join(s, 1, &seed, 1);
    sim_join(s, 2, &seed, 1);
    sim_run_until(s, 5000);
    for (int i = 0; i < 3; i++)
        for (int of = 0; of < 3; of++) {
            char name[8];
            snprintf(name, sizeof name, "n%d", of);
            CHECKF(knows(s, i, name, SERF_MEMBER_ALIVE), "n%d does not see %s alive", i, name);
        }
    /* the join intents went out: n1's status time is known to n0 */
    serf_node_member m;
    REQUIRE(serf_node_member_get(sim_serf(s, 0), "n1", &m));
    CHECK(m.status_ltime > 0);

    sim_kill(s, 2);
    CHECK(sim_serf(s, 2) == NULL);
    sim_run_until(s, 40000);
    CHECK(knows(s, 0, "n2", SERF_MEMBER_FAILED));
    REQUIRE(sim_restart(s, 2, NULL) == 0);
    CHECK_EQ_INT(serf_node_member_count(sim_serf(s, 2)), 1);   /* a fresh one */
    sim_join(s, 2, &seed, 1);
    sim_run_until(s, 50000);
    CHECK(knows(s, 0, "n2", SERF_MEMBER_ALIVE));
    CHECK(knows(s, 2, "n1", SERF_MEMBER_ALIVE));
    sim_free(s);
}

/* serf's timers (reap every 15 s) do not run on a paused node: its
 * deadline falls behind; on resume it catches up at once */
static void test_paused(void)
{
    sim *s = sim_new(2);
    REQUIRE(s);
    sim_use_serf(s, NULL);
    REQUIRE(sim_add_many(s, 2, "n", "lan") == 0);
    int seed = 0;
    sim_join(s, 1, &seed, 1);
    sim_run_until(s, 5000);
    sim_pause(s, 0);
    sim_run_until(s, 60000);
    CHECK(serf_node_next_deadline(sim_serf(s, 0)) <= SERF_REAP_INTERVAL_MS);
    CHECK(serf_node_next_deadline(sim_serf(s, 1)) > 45000);
    sim_resume(s, 0);
    sim_run_until(s, 60000 + 100);
    CHECK(serf_node_next_deadline(sim_serf(s, 0)) > 60000);
    sim_free(s);
}

int main(void)
{
    test_which_nodes();
    test_paused();
    return check_done("test_sim_serf");
}
