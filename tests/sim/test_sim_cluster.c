/* A 50-node simulated LAN cluster: convergence after joining, a killed
 * node declared dead by every member within the suspicion timeout, a
 * paused node refuting its suspicion, a partition, and determinism: the
 * same seed gives the same run, bit for bit. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

#define N 50

typedef struct watch {
    int joins[N];                /* JOIN events seen by each node */
    int complete;                /* nodes that saw all N */
    const char *victim;
    int victim_dead;             /* nodes that declared the victim dead */
    swim_time last_dead;
    int victim_suspect_dead;     /* nodes that saw the paused one dead */
    int other_leaves;            /* LEAVE events about anyone else */
} watch;

static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    watch *w = ud;
    if (ev->type == SWIM_EV_JOIN && node < N && ++w->joins[node] == N)
        w->complete++;
    if (ev->type == SWIM_EV_LEAVE) {
        if (w->victim && strcmp(ev->member.name, w->victim) == 0) {
            w->victim_dead++;
            w->last_dead = now;
        } else {
            w->other_leaves++;
        }
    }
}

static bool converged(sim *s, void *ud)
{
    (void)s;
    return ((watch *)ud)->complete == N;
}

static bool all_see_victim_dead(sim *s, void *ud)
{
    (void)s;
    return ((watch *)ud)->victim_dead == N - 1;
}

static sim *make_cluster(uint64_t seed, watch *w)
{
    memset(w, 0, sizeof *w);
    sim *s = sim_new(seed);
    REQUIRE(s);
    sim_on_event(s, on_ev, w);
    REQUIRE(sim_add_many(s, N, "node-", "lan") == 0);
    for (int i = 1; i < N; i++) {
        int seed_node = 0;
        sim_join(s, i, &seed_node, 1);
    }
    return s;
}

static void test_failure_detection(void)
{
    watch w;
    sim *s = make_cluster(11, &w);
    CHECK(sim_run_while_not(s, 60000, converged, &w));
    fprintf(stderr, "50 nodes converged at %llu ms\n", (unsigned long long)sim_now(s));
    sim_run_until(s, 60000);
    CHECK_EQ_INT(w.other_leaves, 0);

    w.victim = "node-17";
    sim_kill(s, 17);
    swim_time killed = sim_now(s);
    /* n = 50: min = 4 * log10(50) s = 6792 ms, max = 6 * min = 40752 ms.
     * Someone probes it within a probe interval or two, the probe takes
     * one more, then the suspicion runs at most max; dissemination adds
     * a few gossip rounds. */
    swim_time bound = killed + 2000 + 1000 + 40752 + 2000;
    CHECK(sim_run_while_not(s, bound, all_see_victim_dead, &w));
    fprintf(stderr, "node-17 dead at all 49 others %llu ms after the kill (bound %llu)\n",
            (unsigned long long)(w.last_dead - killed), (unsigned long long)(bound - killed));
    CHECK_EQ_INT(sim_count_seeing(s, "node-17", SWIM_DEAD, false), N - 1);
    CHECK_EQ_INT(w.other_leaves, 0);

    /* pause one for 4 s: it is suspected, then refutes when it wakes */
    sim_run_until(s, sim_now(s) + 5000);
    w.victim = "node-23";
    w.victim_dead = 0;
    sim_pause(s, 23);
    sim_run_until(s, sim_now(s) + 4000);
    size_t suspecting = sim_count_seeing(s, "node-23", SWIM_SUSPECT, false);
    fprintf(stderr, "node-23 suspected by %zu nodes after a 4 s pause\n", suspecting);
    CHECK(suspecting > 0);
    sim_resume(s, 23);
    sim_run_until(s, sim_now(s) + 5000);
    swim_member me;
    REQUIRE(swim_member_get(sim_core(s, 23), "node-23", &me));
    CHECK(me.incarnation >= 2);
    CHECK_EQ_INT(sim_count_seeing(s, "node-23", SWIM_ALIVE, false), N - 2); /* all but itself and the dead */
    CHECK_EQ_INT(w.victim_dead, 0);
    CHECK(swim_get_stats(sim_core(s, 23))->refutations >= 1);
    sim_free(s);
}

static void test_partition(void)
{
    /* 10 nodes cut 6 | 4: each side declares the other dead */
    sim *s = sim_new(5);
    REQUIRE(sim_add_many(s, 10, "n", "lan") == 0);
    for (int i = 1; i < 10; i++) {
        int z = 0;
        sim_join(s, i, &z, 1);
    }
    sim_run_until(s, 10000);
    CHECK_EQ_INT(swim_alive_count(sim_core(s, 9)), 10);
    for (int i = 6; i < 10; i++)
        sim_set_group(s, i, 1);
    sim_run_until(s, 80000);
    CHECK_EQ_INT(sim_count_seeing(s, "n9", SWIM_ALIVE, false), 3);
    CHECK_EQ_INT(swim_alive_count(sim_core(s, 0)), 6);
    CHECK_EQ_INT(swim_alive_count(sim_core(s, 9)), 4);
    sim_free(s);
}

static int loss_leaves;
static void count_leaves(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)ud;
    (void)node;
    (void)now;
    if (ev->type == SWIM_EV_LEAVE)
        loss_leaves++;
}

/* N lan nodes joined, then 10 % loss on every link for 120 s; returns the
 * refutations counted, with the dead declarations in loss_leaves. */
static uint64_t lossy_cluster(uint64_t seed, bool tcp_pings)
{
    sim *s = sim_new(seed);
    REQUIRE(s);
    loss_leaves = 0;
    sim_on_event(s, count_leaves, NULL);
    for (int i = 0; i < N; i++) {
        swim_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c, "lan") == 0);
        c.disable_tcp_pings = !tcp_pings;
        snprintf(c.name, sizeof c.name, "n%d", i);
        REQUIRE(sim_add(s, &c, NULL) == i);
    }
    for (int i = 1; i < N; i++) {
        int z = 0;
        sim_join(s, i, &z, 1);
    }
    sim_run_until(s, 10000);
    sim_set_default_link(s, 1, 1, 0.10);
    sim_run_until(s, 130000);
    uint64_t refutations = 0;
    for (int i = 0; i < N; i++)
        refutations += swim_get_stats(sim_core(s, i))->refutations;
    /* whatever was suspected or declared, every node sees every node
     * alive at the end */
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(swim_alive_count(sim_core(s, i)), N);
    sim_free(s);
    return refutations;
}

static void test_lossy_network(void)
{
    /* 10 % UDP loss as agents run (the TCP fallback ping on; simulated
     * streams are reliable, as TCP is over a lossy link): nobody alive is
     * declared dead, by anyone, over 120 s, for any of these seeds. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        uint64_t refutations = lossy_cluster(seed, true);
        fprintf(stderr, "seed %llu, 10%% loss, TCP fallback: %llu refutations, %d declared dead\n",
                (unsigned long long)seed, (unsigned long long)refutations, loss_leaves);
        CHECK_EQ_INT(loss_leaves, 0);
    }
}

static void test_lossy_network_lifeguard_only(void)
{
    /* The same without the TCP fallback: UDP probes alone fail often
     * enough that suspicions happen and are refuted (Lifeguard). A
     * refutation can still miss the one node whose suspicion times out
     * first: in about 4 runs of 10 (seeds 1..10 measured), one node
     * declares one healthy node dead on its own, the rest of the cluster
     * holds the refutation's newer incarnation, and that node sees it alive
     * again at the next push/pull. So what holds here is: suspicions are
     * refuted, a false death never spreads to the cluster, and the cluster
     * heals; zero local false deaths is asserted with the fallback on,
     * above. (The false-failure record on real agents is bench/faults.sh.) */
    uint64_t refutations = lossy_cluster(7, false);
    fprintf(stderr, "seed 7, 10%% loss, no TCP fallback: %llu refutations, %d declared dead\n",
            (unsigned long long)refutations, loss_leaves);
    CHECK(refutations > 0);
    /* never more than a couple of nodes of 50 acting on a false death */
    CHECK(loss_leaves <= 2);
}

typedef struct run_result {
    uint64_t hash;
    sim_stats st;
} run_result;

static run_result lossy_run(uint64_t seed)
{
    sim *s = sim_new(seed);
    REQUIRE(s);
    REQUIRE(sim_add_many(s, 20, "n", "lan") == 0);
    sim_set_default_link(s, 2, 5, 0.05);
    for (int i = 1; i < 20; i++) {
        int z = i / 2;
        sim_join(s, i, &z, 1);
    }
    sim_run_until(s, 20000);
    sim_kill(s, 5);
    sim_pause(s, 7);
    sim_run_until(s, 25000);
    sim_resume(s, 7);
    sim_run_until(s, 60000);
    run_result r = { sim_hash(s), *sim_get_stats(s) };
    sim_free(s);
    return r;
}

static void test_determinism(void)
{
    run_result a = lossy_run(99), b = lossy_run(99), c = lossy_run(100);
    CHECK(a.hash == b.hash);
    CHECK_EQ_INT(a.st.packets_sent, b.st.packets_sent);
    CHECK_EQ_INT(a.st.packets_dropped, b.st.packets_dropped);
    CHECK_EQ_INT(a.st.steps, b.st.steps);
    CHECK(a.hash != c.hash);
    CHECK(a.st.packets_dropped > 0);
}

int main(void)
{
    test_failure_detection();
    test_partition();
    test_lossy_network();
    test_lossy_network_lifeguard_only();
    test_determinism();
    return check_done("test_sim_cluster");
}
