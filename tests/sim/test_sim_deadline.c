/* The simulator follows each core's deadline through io->deadline, so a
 * test (or the Lua binding) that calls a core it got from sim_core()
 * between steps needs nothing else: a leave's own timeout fires at the
 * millisecond it is due, not at whatever tick was scheduled before. */
#include "check.h"
#include "sim/sim.h"

static swim_time leave_done_at;

static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)ud;
    if (ev->type == SWIM_EV_LEAVE_DONE && node == 2)
        leave_done_at = now;
}

int main(void)
{
    sim *s = sim_new(3);
    REQUIRE(s);
    sim_on_event(s, on_ev, NULL);
    REQUIRE(sim_add_many(s, 3, "n", "lan") == 0);
    int seed = 0;
    for (int i = 1; i < 3; i++)
        sim_join(s, i, &seed, 1);
    sim_run_until(s, 5000);
    REQUIRE(swim_alive_count(sim_core(s, 2)) == 3);

    /* cut off, n2 still sees the others alive, so its leave waits for a
     * broadcast nobody can hear, until its timeout: 37 ms, off every
     * probe and gossip period */
    sim_set_group(s, 2, 1);
    sim_run_until(s, 5003);
    swim_time t0 = sim_now(s);
    swim_leave(sim_core(s, 2), t0, 37);
    sim_run_until(s, t0 + 1000);
    CHECK_EQ_INT(leave_done_at, t0 + 37);

    /* a restarted core reports its own first deadline: it probes again */
    sim_set_group(s, 2, 0);
    REQUIRE(sim_restart(s, 2, NULL) == 0);
    sim_join(s, 2, &seed, 1);
    sim_run_until(s, sim_now(s) + 5000);
    CHECK_EQ_INT(swim_alive_count(sim_core(s, 2)), 3);
    CHECK(swim_get_stats(sim_core(s, 2))->probes > 0);
    sim_free(s);
    return check_done("test_sim_deadline");
}
