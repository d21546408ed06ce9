/* A small simulated cluster end to end: join by push/pull, convergence, a
 * crash detected as dead everywhere, the crashed node restarting and
 * rejoining (refuting its death with a higher incarnation), a graceful
 * leave seen as "left", and LEAVE_DONE. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

static int join_done_count = -1;
static int leave_done;
static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)ud;
    if (ev->type == SWIM_EV_JOIN_DONE && node == 1)
        join_done_count = ev->count;
    if (ev->type == SWIM_EV_LEAVE_DONE && node == 4)
        leave_done++;
    if (getenv("SIM_TRACE") && ev->type != SWIM_EV_PING)
        fprintf(stderr, "%8llu n%d %d %s %s inc=%u\n", (unsigned long long)now, node, ev->type,
                ev->member.name ? ev->member.name : "-", swim_state_name(ev->member.state), ev->member.incarnation);
}

int main(void)
{
    sim *s = sim_new(1);
    REQUIRE(s);
    sim_on_event(s, on_ev, NULL);
    REQUIRE(sim_add_many(s, 5, "n", "lan") == 0);
    CHECK_EQ_INT(sim_count(s), 5);
    int seed = 0;
    for (int i = 1; i < 5; i++)
        sim_join(s, i, &seed, 1);
    sim_run_until(s, 10000);
    CHECK_EQ_INT(join_done_count, 1);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(swim_alive_count(sim_core(s, i)), 5);

    /* crash: dead at the 4 others */
    sim_kill(s, 3);
    CHECK(!sim_is_up(s, 3));
    CHECK(sim_core(s, 3) == NULL);
    sim_run_until(s, sim_now(s) + 30000);
    CHECK_EQ_INT(sim_count_seeing(s, "n3", SWIM_DEAD, false), 4);

    /* restart with incarnation 1: the others' "dead at 1" reaches it by
     * push/pull, it refutes with 2, and everyone takes it back */
    REQUIRE(sim_restart(s, 3, NULL) == 0);
    sim_join(s, 3, &seed, 1);
    sim_run_until(s, sim_now(s) + 5000);
    CHECK_EQ_INT(sim_count_seeing(s, "n3", SWIM_ALIVE, false), 4);
    swim_member m;
    REQUIRE(swim_member_get(sim_core(s, 0), "n3", &m));
    CHECK(m.incarnation >= 2);
    CHECK_EQ_INT(swim_alive_count(sim_core(s, 3)), 5);

    /* graceful leave */
    swim_leave(sim_core(s, 4), sim_now(s), 5000);
    sim_run_until(s, sim_now(s) + 3000);
    CHECK_EQ_INT(leave_done, 1);
    CHECK_EQ_INT(sim_count_seeing(s, "n4", SWIM_LEFT, false), 4);
    CHECK_EQ_INT(sim_count_seeing(s, "n4", SWIM_LEFT, true), 5);

    const sim_stats *st = sim_get_stats(s);
    CHECK(st->packets_sent > 0 && st->streams_opened >= 5);
    sim_free(s);
    return check_done("test_sim_basic");
}
