/* A small simulated cluster: join by push/pull, convergence, a crash
 * detected as dead everywhere. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

static int join_done_count = -1;
static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)ud;
    (void)now;
    if (ev->type == SWIM_EV_JOIN_DONE && node == 1)
        join_done_count = ev->count;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "%8llu n%d %d %s %s inc=%u\n", (unsigned long long)now, node, ev->type,
                ev->member.name ? ev->member.name : "-", swim_state_name(ev->member.state), ev->member.incarnation);
}

int main(void)
{
    sim *s = sim_new(1);
    REQUIRE(s);
    sim_on_event(s, on_ev, NULL);
    REQUIRE(sim_add_many(s, 5, "n", "lan") == 0);
    int seed = 0;
    for (int i = 1; i < 5; i++)
        sim_join(s, i, &seed, 1);
    sim_run_until(s, 10000);
    CHECK_EQ_INT(join_done_count, 1);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(swim_alive_count(sim_core(s, i)), 5);
    }
    sim_kill(s, 3);
    swim_time killed = sim_now(s);
    sim_run_until(s, killed + 30000);
    CHECK_EQ_INT(sim_count_seeing(s, "n3", SWIM_DEAD, false), 4);
    const sim_stats *st = sim_get_stats(s);
    fprintf(stderr, "packets %llu dropped %llu streams %llu\n", (unsigned long long)st->packets_sent,
            (unsigned long long)st->packets_dropped, (unsigned long long)st->streams_opened);
    sim_free(s);
    return check_done("test_sim_basic");
}
