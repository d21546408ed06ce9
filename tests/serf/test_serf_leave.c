/* serf's graceful leave (serf/serf_leave.h) on the simulator's virtual
 * clock, 5 nodes each with its serf intents (serf/serf_intents.h):
 *   - node 0's leave intent goes out first; swim_leave follows only once
 *     the core has sent the intent its full retransmit count, and every
 *     other node hears the intent before the leave, so it sees node 0
 *     "left", not dead, and relays it once; the intent's LTime beats the
 *     join intents seen;
 *   - a lone node goes straight to swim_leave and is done at once;
 *   - an intent still not fully sent after 5 s holds the leave no longer;
 *   - the core's LEAVE_DONE comes serf's LeavePropagateDelay (1 s) after
 *     swim_leave's broadcast is out, and DONE with it;
 *   - a LEAVE_DONE that never comes holds it the core's 5 s, the
 *     propagate delay and a grace;
 *   - the states come in order, and the same seed gives the same run. */
#include <string.h>

#include "check.h"
#include "serf/serf_leave.h"
#include "serf/serf_msg.h"
#include "sim/sim.h"

#define N 5
#define NOT_YET SWIM_NEVER
/* Joined and converged well before this (5 nodes, lan: a second or two). */
#define SETTLED_MS 10000
/* The driver flushes relays and re-reads the leave's deadline at least
 * this often: the agent's loop does it at once, 10 ms is as good here. */
#define STEP_MS 10

typedef struct world {
    sim *s;
    serf_intents intents[N];
    serf_leave leave;              /* node 0's */
    bool forward_leave_done;       /* false: node 0's LEAVE_DONE is lost */
    bool flush[N];                 /* relays queued inside the core */
    bool announce_join[N];         /* joined: announce from the driver */
    uint64_t join_ltime_max;       /* highest LTime of any join intent */
    uint64_t leave_ltime;          /* node 0's leave intent, as received */
    swim_time intent_seen[N];      /* first time node i got 0's leave intent */
    int relayed_leave[N];          /* times node i queued it for relaying */
    swim_time left_seen[N];        /* when node i saw node 0 leave */
    swim_state left_as[N];         /* ... and as what */
    swim_time swim_leave_at;       /* node 0's own leave event: swim_leave ran */
    swim_time leave_done_at;       /* node 0's LEAVE_DONE from the core */
    /* node 0's leave, as it logged it */
    char moves[8][32];             /* "a -> b" */
    swim_time moved_at[8];
    int nmoves;
    int warnings;
    bool said_intent, said_leave;  /* the INFO lines the agent prints */
} world;

static void on_leave_log(void *ud, base_log_level level, const char *msg)
{
    world *w = ud;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "%8llu [%s] %s\n", (unsigned long long)sim_now(w->s), base_log_level_tag(level), msg);
    if (strncmp(msg, "leave: ", 7) == 0 && w->nmoves < 8) {
        snprintf(w->moves[w->nmoves], sizeof w->moves[0], "%s", msg + 7);
        w->moved_at[w->nmoves++] = sim_now(w->s);
    }
    if (level == BASE_LOG_WARN)
        w->warnings++;
    if (strncmp(msg, "leaving: gossiping serf's leave intent (LTime ", 46) == 0)
        w->said_intent = true;
    if (strcmp(msg, "leaving: gossiping our leave") == 0)
        w->said_leave = true;
}

static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    world *w = ud;
    serf_intent in;
    switch (ev->type) {
    case SWIM_EV_USER: {
        bool relay = serf_intents_observe(&w->intents[node], ev->payload.p, ev->payload.n);
        if (relay)
            w->flush[node] = true;
        if (serf_intent_parse(ev->payload.p, ev->payload.n, &in) != 0)
            break;
        if (relay && in.type == SERF_MSG_LEAVE && strcmp(in.node, "n0") == 0)
            w->relayed_leave[node]++;
        if (in.type == SERF_MSG_JOIN && in.ltime > w->join_ltime_max)
            w->join_ltime_max = in.ltime;
        if (in.type == SERF_MSG_LEAVE && strcmp(in.node, "n0") == 0 && w->intent_seen[node] == NOT_YET) {
            w->intent_seen[node] = now;
            w->leave_ltime = in.ltime;
        }
        break;
    }
    case SWIM_EV_LEAVE:
        if (strcmp(ev->member.name, "n0") != 0)
            break;
        if (node == 0) {
            w->swim_leave_at = now;
        } else if (w->left_seen[node] == NOT_YET) {
            w->left_seen[node] = now;
            w->left_as[node] = ev->member.state;
        }
        break;
    case SWIM_EV_JOIN_DONE:
        if (ev->count > 0)
            w->announce_join[node] = true;   /* not from inside the core */
        break;
    case SWIM_EV_LEAVE_DONE:
        if (node != 0)
            break;
        w->leave_done_at = now;
        if (w->forward_leave_done)
            (void)serf_leave_on_event(&w->leave, ev);
        break;
    default:
        break;
    }
}

/* n nodes "n0".."n<n-1>"; node 0's config tweaked by `tweak` (may be
 * NULL). Not joined yet. */
static void world_init(world *w, uint64_t seed, int n, void (*tweak)(swim_config *c))
{
    memset(w, 0, sizeof *w);
    w->forward_leave_done = true;
    for (int i = 0; i < N; i++)
        w->intent_seen[i] = w->left_seen[i] = NOT_YET;
    w->swim_leave_at = w->leave_done_at = NOT_YET;
    w->s = sim_new(seed);
    REQUIRE(w->s);
    sim_on_event(w->s, on_ev, w);
    for (int i = 0; i < n; i++) {
        swim_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c, "lan") == 0);
        snprintf(c.name, sizeof c.name, "n%d", i);
        if (i == 0 && tweak)
            tweak(&c);
        REQUIRE(sim_add(w->s, &c, NULL) == i);
        REQUIRE(serf_intents_init(&w->intents[i], c.name, (serf_log){ 0 }) == 0);
    }
    serf_leave_init(&w->leave, &w->intents[0], (serf_log){ .fn = on_leave_log, .ud = w });
}

static void world_free(world *w)
{
    for (size_t i = 0; i < sim_count(w->s); i++)
        serf_intents_free(&w->intents[i]);
    sim_free(w->s);
}

/* What the agent's loop does between the core's steps: announce join
 * intents after a join, flush the relays. */
static void loop_chores(world *w)
{
    for (size_t i = 0; i < sim_count(w->s); i++) {
        swim *core = sim_core(w->s, (int)i);
        if (w->announce_join[i] && !(i == 0 && serf_leave_active(&w->leave)))
            CHECK(serf_intents_announce(&w->intents[i], core, SERF_MSG_JOIN, NULL) == 0);
        w->announce_join[i] = false;
        if (w->flush[i])
            serf_intents_flush(&w->intents[i], core);
        w->flush[i] = false;
    }
}

/* Run until `until`, ticking node 0's leave at its deadlines as the
 * agent's timer does. Records whether the intent was still pending when
 * the leave moved on to swim_leave. */
static void run(world *w, swim_time until, bool *pending_at_swim_leave)
{
    char key[SERF_INTENTS_KEY_MAX];
    serf_intents_key(key, sizeof key, "n0");
    while (sim_now(w->s) < until) {
        swim_time t = sim_now(w->s) + STEP_MS;
        swim_time d = serf_leave_next_deadline(&w->leave);
        if (d < t)
            t = d > sim_now(w->s) ? d : sim_now(w->s);
        if (t > until)
            t = until;
        sim_run_until(w->s, t);
        loop_chores(w);
        if (serf_leave_next_deadline(&w->leave) > sim_now(w->s))
            continue;
        swim *core = sim_core(w->s, 0);
        bool was_out = serf_leave_state(&w->leave) == SERF_LEAVE_INTENT_OUT;
        bool pending = swim_broadcast_pending(core, key);
        serf_leave_tick(&w->leave, core, sim_now(w->s));
        if (was_out && serf_leave_state(&w->leave) == SERF_LEAVE_SWIM_LEAVING && pending_at_swim_leave)
            *pending_at_swim_leave = pending;
    }
}

static void join_all(world *w)
{
    int seed = 0;
    for (size_t i = 1; i < sim_count(w->s); i++)
        sim_join(w->s, (int)i, &seed, 1);
    run(w, SETTLED_MS, NULL);
    for (size_t i = 0; i < sim_count(w->s); i++)
        REQUIRE(swim_alive_count(sim_core(w->s, (int)i)) == sim_count(w->s));
}

static void check_moves(const world *w, const char *const *want, int n)
{
    CHECK_EQ_INT(w->nmoves, n);
    for (int i = 0; i < n && i < w->nmoves; i++)
        CHECKF(strcmp(w->moves[i], want[i]) == 0, "move %d: \"%s\", want \"%s\"", i, w->moves[i], want[i]);
}

static const char *const all_moves[] = { "running -> intent_out", "intent_out -> swim_leaving", "swim_leaving -> done" };

/* The leave of a member of a settled 5-node cluster; returns the digest
 * of the run. */
static uint64_t test_leave(uint64_t seed)
{
    world w;
    world_init(&w, seed, N, NULL);
    join_all(&w);
    /* every node announced its join intent, and node 0 witnessed them */
    CHECK(w.join_ltime_max >= 1);
    CHECK(w.intents[0].ltime >= w.join_ltime_max);

    swim_time begin = sim_now(w.s);
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_RUNNING);
    CHECK(serf_leave_next_deadline(&w.leave) == SWIM_NEVER);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
    CHECK(!serf_leave_begin(&w.leave, sim_core(w.s, 0), begin)); /* once */
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_INTENT_OUT);
    CHECK(serf_leave_active(&w.leave));
    CHECK(serf_leave_next_deadline(&w.leave) == begin + SERF_LEAVE_POLL_MS);

    bool pending = true;
    run(&w, begin + 10000, &pending);
    check_moves(&w, all_moves, 3);
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_DONE);
    CHECK(serf_leave_next_deadline(&w.leave) == SWIM_NEVER);
    CHECK(w.said_intent && w.said_leave);
    CHECK_EQ_INT(w.warnings, 0);

    /* the intent first: swim_leave only once the core had sent it its
     * full retransmit count, which takes some gossip rounds, not 5 s */
    CHECK(!pending);
    CHECK(w.swim_leave_at != NOT_YET && w.swim_leave_at > begin);
    CHECK(w.swim_leave_at < begin + SERF_LEAVE_INTENT_TIMEOUT_MS);
    CHECK(w.moved_at[1] == w.swim_leave_at);
    CHECK(w.leave_done_at != NOT_YET && w.moved_at[2] == w.leave_done_at);
    /* the leave had its propagate delay before DONE */
    CHECK(w.leave_done_at >= w.swim_leave_at + SWIM_LEAVE_PROPAGATE_DELAY_MS);
    fprintf(stderr, "seed %llu: intent out at %llu ms, swim_leave +%llu ms, done +%llu ms\n",
            (unsigned long long)seed, (unsigned long long)begin, (unsigned long long)(w.swim_leave_at - begin),
            (unsigned long long)(w.leave_done_at - begin));
    /* newer than every join intent: serf takes it */
    CHECK(w.leave_ltime > w.join_ltime_max);
    /* every other node heard the intent before the leave: serf shows
     * node 0 "left"; and passed it on once, as serf agents do */
    CHECK_EQ_INT(w.relayed_leave[0], 0);
    for (int i = 1; i < N; i++) {
        CHECK_EQ_INT(w.relayed_leave[i], 1);
        CHECKF(w.intent_seen[i] < w.left_seen[i], "n%d: intent at %llu, leave at %llu", i,
               (unsigned long long)w.intent_seen[i], (unsigned long long)w.left_seen[i]);
        CHECKF(w.left_as[i] == SWIM_LEFT, "n%d saw n0 %s", i, swim_state_name(w.left_as[i]));
    }
    CHECK_EQ_INT(sim_count_seeing(w.s, "n0", SWIM_LEFT, false), N - 1);
    CHECK_EQ_INT(sim_count_seeing(w.s, "n0", SWIM_DEAD, false), 0);
    uint64_t h = sim_hash(w.s) ^ w.swim_leave_at ^ (w.leave_done_at << 20);
    world_free(&w);
    return h;
}

/* Alone, nobody needs the intent: swim_leave at once, and the core has
 * nobody to tell, so DONE before begin returns. */
static void test_alone(void)
{
    world w;
    world_init(&w, 3, 1, NULL);
    run(&w, 1000, NULL);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), sim_now(w.s)));
    check_moves(&w, all_moves, 3);
    for (int i = 0; i < w.nmoves; i++)
        CHECK(w.moved_at[i] == 1000);
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_DONE);
    CHECK(w.leave_done_at == 1000);
    CHECK(serf_leave_next_deadline(&w.leave) == SWIM_NEVER);
    CHECK_EQ_INT(w.warnings, 0);
    world_free(&w);
}

/* A node that must send each broadcast far more often than 5 s of gossip
 * and probes allow (memberlist's retransmit count is RetransmitMult *
 * log10(n+1)): its intent is still pending at the bound. (Cutting its
 * links would not do: the core counts what it sent, not what arrived, so
 * an intent gossiped into a partition drains as fast.) */
static void slow_drain(swim_config *c)
{
    c->retransmit_mult = 1000;
}

static void test_intent_never_drains(void)
{
    world w;
    world_init(&w, 4, N, slow_drain);
    join_all(&w);
    swim_time begin = sim_now(w.s);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
    bool pending = false;
    run(&w, begin + 20000, &pending);
    check_moves(&w, all_moves, 3);
    /* held exactly the bound, then on without it, warned */
    CHECK(pending);
    CHECK(w.moved_at[1] == begin + SERF_LEAVE_INTENT_TIMEOUT_MS);
    CHECK(w.swim_leave_at == begin + SERF_LEAVE_INTENT_TIMEOUT_MS);
    /* nor does its own leave drain: the core gives up after its timeout
     * and reports LEAVE_DONE */
    CHECK(w.moved_at[2] == w.swim_leave_at + SERF_LEAVE_SWIM_TIMEOUT_MS);
    CHECK_EQ_INT(w.warnings, 1);
    /* both were sent all along, the intent first: still "left" */
    for (int i = 1; i < N; i++)
        CHECK(w.intent_seen[i] < w.left_seen[i] && w.left_as[i] == SWIM_LEFT);
    world_free(&w);
}

/* The core's LEAVE_DONE lost: DONE at the hard deadline all the same. */
static void test_leave_done_lost(void)
{
    world w;
    world_init(&w, 5, N, NULL);
    w.forward_leave_done = false;
    join_all(&w);
    swim_time begin = sim_now(w.s);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
    run(&w, begin + 20000, NULL);
    check_moves(&w, all_moves, 3);
    CHECK(w.leave_done_at != NOT_YET);   /* it came, we did not listen */
    CHECK(w.moved_at[2] ==
          w.swim_leave_at + SERF_LEAVE_SWIM_TIMEOUT_MS + SWIM_LEAVE_PROPAGATE_DELAY_MS + SERF_LEAVE_GRACE_MS);
    CHECK_EQ_INT(w.warnings, 1);
    world_free(&w);
}

static void test_names(void)
{
    CHECK(strcmp(serf_leave_phase_name(SERF_LEAVE_RUNNING), "running") == 0);
    CHECK(strcmp(serf_leave_phase_name(SERF_LEAVE_INTENT_OUT), "intent_out") == 0);
    CHECK(strcmp(serf_leave_phase_name(SERF_LEAVE_SWIM_LEAVING), "swim_leaving") == 0);
    CHECK(strcmp(serf_leave_phase_name(SERF_LEAVE_DONE), "done") == 0);
}

int main(void)
{
    test_names();
    uint64_t h1 = test_leave(1);
    CHECK(test_leave(1) == h1);   /* same seed, same run */
    for (uint64_t seed = 2; seed <= 6; seed++)
        (void)test_leave(seed);
    test_alone();
    test_intent_never_drains();
    test_leave_done_lost();
    return check_done("test_serf_leave");
}
