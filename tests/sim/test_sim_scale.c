/* Scale check and benchmark. As a test (no argument) it runs 200 nodes:
 * all join, converge, one is killed and declared dead everywhere. Given a
 * node count (`test_sim_scale 1000`) it is the benchmark: it prints the
 * virtual time to converge and to detect, and the wall time taken.
 *
 * Convergence means every node sees every other alive. Gossip alone can
 * miss a pair now and then (each broadcast reaches each node ~16 times on
 * average at 1000 nodes, so about one pair in 10^6 is never covered);
 * memberlist relies on push/pull to fix those, which at 1000 nodes runs
 * every pushPullScale(30 s, 1000) = 180 s. Hence the generous limit. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sim/sim.h"

typedef struct watch {
    int n;
    int *joins;
    int complete;
    int dead;
    int false_dead;              /* LEAVE events about live nodes */
    swim_time last_dead;
} watch;

static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    watch *w = ud;
    if (ev->type == SWIM_EV_JOIN && ++w->joins[node] == w->n)
        w->complete++;
    if (ev->type == SWIM_EV_LEAVE && strcmp(ev->member.name, "node-1") == 0) {
        w->dead++;
        w->last_dead = now;
    } else if (ev->type == SWIM_EV_LEAVE) {
        if (w->false_dead++ < 5)
            fprintf(stderr, "t=%llu node-%d sees %s %s\n", (unsigned long long)now, node, ev->member.name,
                    swim_state_name(ev->member.state));
    }
}

/* Every node sees every node alive. Checked between steps of a second,
 * as it is O(n^2). */
static bool converged(sim *s, void *ud)
{
    watch *w = ud;
    for (int i = 0; i < w->n; i++)
        if (swim_alive_count(sim_core(s, i)) != (size_t)w->n)
            return false;
    return true;
}

static bool never(sim *s, void *ud)
{
    (void)s;
    (void)ud;
    return false;
}

static bool detected(sim *s, void *ud)
{
    (void)s;
    watch *w = ud;
    return w->dead == w->n - 1;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    REQUIRE(n >= 3);
    watch w;
    memset(&w, 0, sizeof w);
    w.n = n;
    w.joins = calloc((size_t)n, sizeof *w.joins);
    REQUIRE(w.joins);
    double t0 = wall();
    sim *s = sim_new(2026);
    sim_on_event(s, on_ev, &w);
    REQUIRE(sim_add_many(s, (size_t)n, "node-", "lan") == 0);
    /* everyone joins through node 0, spread over the first second */
    for (int i = 1; i < n; i++) {
        sim_run_until(s, (swim_time)(1000 * (int64_t)i / n));
        int z = 0;
        sim_join(s, i, &z, 1);
    }
    swim_time limit = 400000;
    for (swim_time t = 2000; !converged(s, &w) && t <= limit; t += 1000) {
        sim_run_while_not(s, t, never, NULL);
        if (getenv("SIM_PROGRESS") && t % 10000 == 0) {
            int full = 0;
            for (int i = 0; i < n; i++)
                full += swim_alive_count(sim_core(s, i)) == (size_t)n;
            fprintf(stderr, "t=%llu: %d of %d nodes see all alive (wall %.1f s)\n", (unsigned long long)t, full, n,
                    wall() - t0);
        }
    }
    CHECK(converged(s, &w));
    for (int i = 0, shown = 0; i < n && shown < 5; i++) {
        size_t a = swim_alive_count(sim_core(s, i));
        if (a != (size_t)n) {
            fprintf(stderr, "node-%d sees %zu alive of %zu members\n", i, a, swim_member_count(sim_core(s, i)));
            for (int j = 0; j < n; j++) {
                char nm[32];
                snprintf(nm, sizeof nm, "node-%d", j);
                swim_member m;
                if (!swim_member_get(sim_core(s, i), nm, &m) || m.state != SWIM_ALIVE)
                    fprintf(stderr, "  misses %s\n", nm);
            }
            shown++;
        }
    }
    swim_time conv = sim_now(s);
    double t1 = wall();
    sim_kill(s, 1);
    swim_time killed = sim_now(s);
    CHECK(sim_run_while_not(s, killed + 120000, detected, &w));
    double t2 = wall();
    const sim_stats *st = sim_get_stats(s);
    fprintf(stderr,
            "%d nodes: converged at %llu ms virtual (%.2f s wall); node-1 dead at all others %llu ms after the "
            "kill (%.2f s wall); %llu packets, %llu steps\n",
            n, (unsigned long long)conv, t1 - t0, (unsigned long long)(w.last_dead - killed), t2 - t1,
            (unsigned long long)st->packets_sent, (unsigned long long)st->steps);
    sim_free(s);
    free(w.joins);
    return check_done("test_sim_scale");
}
