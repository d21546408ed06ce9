/* sim_set_slow: a slow node reads everything late, as a CPU-starved
 * process does. Its acks come back late by the delay it was given (the
 * round trips of its probes and of probes of it, measured from the cores'
 * PING events); with a delay past the probe interval its probes fail on
 * acks that are on their way, and Lifeguard's local health score rises
 * (the slow prober of the paper); back to (0, 0) it probes fine again and
 * its score falls to 0. On lan: probe timeout 500 ms, interval 1 s. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

#define N 5
#define SLOW 2
/* The default link: 1 ms + [0, 1] ms each way. */
#define LINK_MAX_RTT 4

typedef struct rtts {
    int slow;                    /* the slow node's index */
    uint32_t min_slow, max_slow; /* probes from or of the slow node */
    uint32_t max_other;          /* probes between the others */
    int nslow, nother;
} rtts;

static void on_event(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)now;
    rtts *r = ud;
    if (ev->type != SWIM_EV_PING)
        return;
    char name[16];
    snprintf(name, sizeof name, "n%d", r->slow);
    if (node == r->slow || strcmp(ev->member.name, name) == 0) {
        r->nslow++;
        if (ev->rtt < r->min_slow)
            r->min_slow = ev->rtt;
        if (ev->rtt > r->max_slow)
            r->max_slow = ev->rtt;
    } else {
        r->nother++;
        if (ev->rtt > r->max_other)
            r->max_other = ev->rtt;
    }
}

static sim *cluster(uint64_t seed, rtts *r)
{
    sim *s = sim_new(seed);
    REQUIRE(s);
    REQUIRE(sim_add_many(s, N, "n", "lan") == 0);
    sim_join_all(s, 0);
    REQUIRE(sim_run_while_not(s, 30000, sim_all_alive, NULL));
    memset(r, 0, sizeof *r);
    r->slow = SLOW;
    r->min_slow = UINT32_MAX;
    sim_on_event(s, on_event, r);
    return s;
}

/* A delay below the probe timeout: every ack to or from the slow node is
 * late by it, and still in time. */
static void acks_late(uint32_t delay, uint32_t jitter)
{
    rtts r;
    sim *s = cluster(1, &r);
    sim_set_slow(s, SLOW, delay, jitter);
    sim_run_until(s, sim_now(s) + 60000);
    /* a probe of the slow node waits for the ping to be read, a probe by
     * it for the ack: one delay either way */
    CHECKF(r.nslow >= 30, "%d probes acked from or of the slow node", r.nslow);
    CHECKF(r.min_slow >= delay && r.max_slow <= delay + jitter + LINK_MAX_RTT, "slow %u..%u ms, delay %u jitter %u",
           r.min_slow, r.max_slow, delay, jitter);
    if (jitter >= 100)
        CHECKF(r.max_slow - r.min_slow >= jitter / 2, "slow %u..%u ms: jitter %u not drawn", r.min_slow, r.max_slow,
               jitter);
    CHECKF(r.nother >= 100 && r.max_other <= LINK_MAX_RTT, "%d others, max %u ms", r.nother, r.max_other);
    CHECK(sim_all_alive(s, NULL));
    sim_free(s);
}

static uint64_t failures(sim *s, int i) { return swim_get_stats(sim_core(s, i))->probe_failures; }

/* A delay past the probe interval: the slow node's probes fail, its score
 * rises; then it recovers. */
static void probes_fail_then_recover(void)
{
    rtts r;
    sim *s = cluster(2, &r);
    CHECK_EQ_INT(swim_health_score(sim_core(s, SLOW)), 0);
    uint64_t f0 = failures(s, SLOW);
    sim_set_slow(s, SLOW, 1500, 0);
    int score_max = 0;
    swim_time until = sim_now(s) + 30000;
    while (sim_now(s) < until) {
        sim_run_until(s, sim_now(s) + 100);
        int h = swim_health_score(sim_core(s, SLOW));
        if (h > score_max)
            score_max = h;
    }
    uint64_t f1 = failures(s, SLOW);
    CHECKF(f1 - f0 >= 3, "%llu probes of the slow node failed", (unsigned long long)(f1 - f0));
    CHECKF(score_max >= 1, "health score at most %d", score_max);
    /* its false suspicions are refuted in time: nobody healthy is dead */
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        if (i != SLOW)
            CHECKF(sim_count_seeing(s, name, SWIM_DEAD, false) == 0, "%s dead for %zu", name,
                   sim_count_seeing(s, name, SWIM_DEAD, false));
    }

    sim_set_slow(s, SLOW, 0, 0);
    /* what is in flight lands, a few probes succeed: the score goes back
     * down one per successful probe (at most awareness_max_multiplier - 1) */
    swim_time deadline = sim_now(s) + 60000;
    while (sim_now(s) < deadline && (swim_health_score(sim_core(s, SLOW)) > 0 || !sim_all_alive(s, NULL)))
        sim_run_until(s, sim_now(s) + 100);
    CHECKF(swim_health_score(sim_core(s, SLOW)) == 0, "score %d", swim_health_score(sim_core(s, SLOW)));
    CHECK(sim_all_alive(s, NULL));
    /* and it stays healthy: a minute without a failed probe */
    uint64_t f2 = failures(s, SLOW);
    r.nslow = 0;
    r.min_slow = UINT32_MAX;
    r.max_slow = 0;
    sim_run_until(s, sim_now(s) + 60000);
    CHECK_EQ_INT(failures(s, SLOW) - f2, 0);
    CHECKF(r.nslow >= 30 && r.max_slow <= LINK_MAX_RTT, "%d acked, max %u ms", r.nslow, r.max_slow);
    sim_free(s);
}

int main(void)
{
    acks_late(300, 0);
    acks_late(200, 200);
    probes_fail_then_recover();
    return check_done("test_sim_slow");
}
