/* serf's graceful leave (serf/serf_leave.h) on the simulator's virtual
 * clock, 5 nodes each a serf peer (sim_use_serf), node 0's leave driven
 * through its serf_node as the agent drives it (daemon_leave.c):
 *   - node 0's leave intent goes out first; swim_leave follows only once
 *     the core has sent the intent its full retransmit count (serf's way),
 *     or, direct (the default, §12.3), once the intent went to every
 *     member SERF_LEAVE_DIRECT_COPIES times, each copy within a trip of
 *     its share of the wait, and the wait (serf_leave_direct_wait: lan
 *     400 ms, wan 500, local 200) passed, exactly; every other node hears
 *     the intent before the leave, so it sees node 0 "left", not dead
 *     (memberlist) and "left", not failed (serf), and passes it on, one
 *     broadcast's worth; the intent's LTime beats the join intents seen;
 *     direct, everyone has node 0 left within the wait and a trip, under
 *     1 s in each profile;
 *   - a lone node goes straight to swim_leave and is done at once;
 *   - an intent still not fully sent after 5 s holds the leave no longer
 *     (serf's way), after the direct wait (direct);
 *   - the core's LEAVE_DONE comes serf's LeavePropagateDelay (1 s) after
 *     swim_leave's broadcast is out, and DONE with it;
 *   - a LEAVE_DONE that never comes holds it the core's 5 s, the
 *     propagate delay and a grace;
 *   - the states come in order, and the same seed gives the same run.
 * With SERF_LEAVE_LOSS_SEEDS=K (SERF_LEAVE_LOSS_PROFILE, _COPIES) it also
 * counts, at 10 % loss on 100 nodes, how often the leave came first
 * (loss_count): the numbers of serf_leave.h and §12.3. */
#include <string.h>

#include "check.h"
#include "serf/serf_intents.h"
#include "serf/serf_leave.h"
#include "serf/serf_msg.h"
#include "sim/sim.h"

#define N 5
/* The loss count's clusters (SERF_LEAVE_LOSS_SEEDS) are larger. */
#define MAXN 100
#define NOT_YET SWIM_NEVER
/* Joined and converged well before this (5 nodes, lan: a second or two). */
#define SETTLED_MS 10000
/* The driver re-reads the leave's deadline at least this often: the
 * agent's timer follows it at once, 10 ms is as good here. */
#define STEP_MS 10

typedef struct world {
    sim *s;
    int n;
    serf_leave leave;              /* node 0's */
    bool forward_leave_done;       /* false: node 0's LEAVE_DONE is lost */
    uint64_t join_ltime_max;       /* highest LTime of any join intent */
    uint64_t leave_ltime;          /* node 0's leave intent, as received */
    swim_time intent_seen[MAXN];   /* first time node i got 0's leave intent */
    int leave_sent_by[MAXN];       /* copies of 0's leave intent received from node i */
    swim_time from0_at[N][16];     /* when node i got copies from node 0 (the first 16) */
    int nfrom0[N];
    swim_time left_seen[MAXN];     /* when node i's core saw node 0 leave */
    swim_state left_as[MAXN];      /* ... and as what */
    int serf_left[MAXN];           /* node i's SERF_EV_MEMBER_LEAVE about node 0 */
    int serf_failed[MAXN];         /* ... and SERF_EV_MEMBER_FAILED */
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
    if (strncmp(msg, "leaving: gossiping serf's leave intent (LTime ", 46) == 0 ||
        strncmp(msg, "leaving: sending every member serf's leave intent (LTime ", 57) == 0)
        w->said_intent = true;
    if (strcmp(msg, "leaving: gossiping our leave") == 0)
        w->said_leave = true;
}

static bool is_n0(wire_bytes node)
{
    return node.n == 2 && memcmp(node.p, "n0", 2) == 0;
}

static int node_at(world *w, const swim_addr *a)
{
    for (int i = 0; i < w->n; i++) {
        swim_addr b = sim_addr(w->s, i);
        if (a->ip_len == b.ip_len && a->port == b.port && memcmp(a->ip, b.ip, a->ip_len) == 0)
            return i;
    }
    return -1;
}

/* A user message as it reaches node `node`'s serf node (decoded with
 * serf's own codec): the join intents' times, and node 0's leave intent,
 * when and from whom. */
static void on_user(world *w, int node, swim_time now, const swim_event *ev)
{
    const uint8_t *p = ev->payload.p;
    size_t n = ev->payload.n;
    if (n && p[0] == SERF_MSG_JOIN) {
        serf_msg_join j;
        if (serf_msg_join_decode(p, n, &j) == WIRE_OK && j.ltime > w->join_ltime_max)
            w->join_ltime_max = j.ltime;
        return;
    }
    serf_msg_leave l;
    if (!n || p[0] != SERF_MSG_LEAVE || serf_msg_leave_decode(p, n, &l) != WIRE_OK || !is_n0(l.node))
        return;
    int from = node_at(w, &ev->from);
    REQUIRE(from >= 0);
    w->leave_sent_by[from]++;
    if (from == 0 && node < N && w->nfrom0[node] < 16)
        w->from0_at[node][w->nfrom0[node]++] = now;
    if (w->intent_seen[node] == NOT_YET) {
        w->intent_seen[node] = now;
        w->leave_ltime = l.ltime;
    }
}

static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    world *w = ud;
    switch (ev->type) {
    case SWIM_EV_USER:
        on_user(w, node, now, ev);
        break;
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

static void on_serf(void *ud, int node, swim_time now, const serf_node_event *ev)
{
    world *w = ud;
    (void)now;
    if (!ev->member.name || strcmp(ev->member.name, "n0") != 0)
        return;
    if (ev->type == SERF_EV_MEMBER_LEAVE)
        w->serf_left[node]++;
    if (ev->type == SERF_EV_MEMBER_FAILED)
        w->serf_failed[node]++;
}

/* n serf nodes "n0".."n<n-1>" with `profile`'s defaults; node 0's config
 * tweaked by `tweak` (may be NULL). Not joined yet. */
static void world_init_profile(world *w, uint64_t seed, int n, const char *profile, void (*tweak)(swim_config *c))
{
    REQUIRE(n <= MAXN);
    memset(w, 0, sizeof *w);
    w->n = n;
    w->forward_leave_done = true;
    for (int i = 0; i < MAXN; i++)
        w->intent_seen[i] = w->left_seen[i] = NOT_YET;
    w->swim_leave_at = w->leave_done_at = NOT_YET;
    w->s = sim_new(seed);
    REQUIRE(w->s);
    sim_use_serf(w->s, NULL);
    sim_on_event(w->s, on_ev, w);
    sim_on_serf_event(w->s, on_serf, w);
    for (int i = 0; i < n; i++) {
        swim_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c, profile) == 0);
        snprintf(c.name, sizeof c.name, "n%d", i);
        if (i == 0 && tweak)
            tweak(&c);
        REQUIRE(sim_add(w->s, &c, NULL) == i);
        REQUIRE(sim_serf(w->s, i) != NULL);
    }
    serf_leave_init_node(&w->leave, sim_serf(w->s, 0), (serf_log){ .fn = on_leave_log, .ud = w });
}

static void world_init(world *w, uint64_t seed, int n, void (*tweak)(swim_config *c))
{
    world_init_profile(w, seed, n, "lan", tweak);
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

/* Nodes 1.. join node 0 (sim_join: serf's join intent once it reached
 * someone), and everyone sees everyone alive, in the core and in serf, at
 * `settled`. */
static void join_all_by(world *w, swim_time settled)
{
    int seed = 0;
    for (int i = 1; i < w->n; i++)
        sim_join(w->s, i, &seed, 1);
    run(w, settled, NULL);
    for (int i = 0; i < w->n; i++) {
        REQUIRE(swim_alive_count(sim_core(w->s, i)) == (size_t)w->n);
        REQUIRE(serf_node_member_count(sim_serf(w->s, i)) == (size_t)w->n);
    }
}

static void join_all(world *w)
{
    join_all_by(w, SETTLED_MS);
}

static serf_member_status serf_status_of_n0(world *w, int at)
{
    serf_node_member m;
    return serf_node_member_get(sim_serf(w->s, at), "n0", &m) ? m.status : SERF_MEMBER_NONE;
}

/* memberlist's retransmitLimit: how often the core sends one broadcast,
 * RetransmitMult * ceil(log10(members + 1)) */
static int retransmit_limit(world *w, int node)
{
    int scale = 0;
    for (size_t v = 1; v < swim_alive_count(sim_core(w->s, node)) + 1; v *= 10)
        scale++;
    return (int)swim_get_config(sim_core(w->s, node))->retransmit_mult * scale;
}

static void check_moves(const world *w, const char *const *want, int n)
{
    CHECK_EQ_INT(w->nmoves, n);
    for (int i = 0; i < n && i < w->nmoves; i++)
        CHECKF(strcmp(w->moves[i], want[i]) == 0, "move %d: \"%s\", want \"%s\"", i, w->moves[i], want[i]);
}

static const char *const all_moves[] = { "running -> intent_out", "intent_out -> swim_leaving", "swim_leaving -> done" };

/* Every other node has node 0 "left" in the core and in serf. Direct
 * (`overtake_ok` false), each heard the intent before the leave, so serf
 * never showed it failed. serf's own way guarantees less: the intent was
 * *sent* its full count before the leave, but a node none of those sends
 * reached can get the leave first (gossip to random targets); serf then
 * shows node 0 failed, and left (serf's "forced" leave) once the intent
 * arrives. That is what serf 0.9.4 agents show too (docs/cluster-bench.md:
 * leavers seen failed); it is allowed there, and only there. Returns how
 * many nodes got the leave first. */
static int check_left_everywhere(world *w, bool overtake_ok)
{
    int overtaken = 0;
    for (int i = 1; i < w->n; i++) {
        bool first = w->intent_seen[i] < w->left_seen[i];
        if (!first)
            overtaken++;
        CHECKF(first || overtake_ok, "n%d: intent at %llu, leave at %llu", i,
               (unsigned long long)w->intent_seen[i], (unsigned long long)w->left_seen[i]);
        CHECKF(w->intent_seen[i] != NOT_YET, "n%d never got the intent", i);
        CHECKF(w->left_as[i] == SWIM_LEFT, "n%d saw n0 %s", i, swim_state_name(w->left_as[i]));
        CHECKF(serf_status_of_n0(w, i) == SERF_MEMBER_LEFT, "serf on n%d has n0 %s", i,
               serf_member_status_name(serf_status_of_n0(w, i)));
        CHECK_EQ_INT(w->serf_left[i], 1);
        CHECK_EQ_INT(w->serf_failed[i], first ? 0 : 1);
    }
    CHECK_EQ_INT(sim_count_seeing(w->s, "n0", SWIM_LEFT, false), w->n - 1);
    CHECK_EQ_INT(sim_count_seeing(w->s, "n0", SWIM_DEAD, false), 0);
    return overtaken;
}

/* The leave of a member of a settled 5-node cluster, direct or serf's
 * way, with `profile`'s defaults; returns the digest of the run. */
static uint64_t test_leave(uint64_t seed, bool direct, const char *profile)
{
    world w;
    world_init_profile(&w, seed, N, profile, NULL);
    serf_leave_set_direct(&w.leave, direct);
    join_all(&w);
    /* every node announced its join intent, and node 0 witnessed them */
    CHECK(w.join_ltime_max >= 1);
    CHECK(serf_node_get_clocks(sim_serf(w.s, 0)).member >= w.join_ltime_max);
    int limit = retransmit_limit(&w, 0);

    swim_time begin = sim_now(w.s);
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_RUNNING);
    CHECK(!serf_leave_active(&w.leave));
    CHECK(serf_leave_next_deadline(&w.leave) == SWIM_NEVER);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
    CHECK(!serf_leave_begin(&w.leave, sim_core(w.s, 0), begin)); /* once */
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_INTENT_OUT);
    CHECK(serf_leave_active(&w.leave));
    const swim_config *cfg = swim_get_config(sim_core(w.s, 0));
    swim_time wait = serf_leave_direct_wait(&w.leave, cfg);
    /* lan 400 ms, local 200, wan 500: under the 1 s asked of a leave */
    CHECK(wait <= (swim_time)SERF_LEAVE_DIRECT_ROUNDS * cfg->gossip_interval);
    CHECK(wait <= SERF_LEAVE_DIRECT_WAIT_MAX_MS);
    CHECK(wait == (swim_time)SERF_LEAVE_DIRECT_ROUNDS * cfg->gossip_interval || wait == SERF_LEAVE_DIRECT_WAIT_MAX_MS);
    /* direct: the next is the intent's second copy, a share of the wait */
    CHECK(serf_leave_next_deadline(&w.leave) ==
          begin + (direct ? wait / SERF_LEAVE_DIRECT_COPIES : SERF_LEAVE_POLL_MS));
    /* serf marks us leaving in our own table at once */
    CHECK(serf_status_of_n0(&w, 0) == SERF_MEMBER_LEAVING);

    bool pending = true;
    run(&w, begin + 10000, &pending);
    check_moves(&w, all_moves, 3);
    CHECK_EQ_INT(serf_leave_state(&w.leave), SERF_LEAVE_DONE);
    CHECK(serf_leave_active(&w.leave));
    CHECK(serf_leave_next_deadline(&w.leave) == SWIM_NEVER);
    CHECK(w.said_intent && w.said_leave);
    CHECK_EQ_INT(w.warnings, 0);

    /* the intent first: swim_leave only once the core had sent it its
     * full retransmit count, which takes some gossip rounds, not 5 s;
     * direct, exactly the wait */
    if (!direct)
        CHECK(!pending);
    CHECK(w.swim_leave_at != NOT_YET && w.swim_leave_at > begin);
    CHECK(w.swim_leave_at < begin + SERF_LEAVE_INTENT_TIMEOUT_MS);
    if (direct) {
        uint32_t delay, jitter;
        double loss;
        sim_get_default_link(w.s, &delay, &jitter, &loss);
        swim_time trip = (swim_time)delay + jitter;   /* one way, at most */
        CHECK(w.swim_leave_at == begin + wait);
        /* everyone had the intent within a round trip of the begin, and
         * node 0 left within one after swim_leave: under 1 s after the
         * begin in every profile */
        for (int i = 1; i < N; i++) {
            CHECKF(w.intent_seen[i] <= begin + trip, "n%d got the intent %llu ms after the begin", i,
                   (unsigned long long)(w.intent_seen[i] - begin));
            CHECKF(w.left_seen[i] <= w.swim_leave_at + trip, "n%d had n0 left %llu ms after swim_leave",
                   i, (unsigned long long)(w.left_seen[i] - w.swim_leave_at));
            CHECKF(w.left_seen[i] < begin + 1000, "%s: n%d had n0 left %llu ms after the begin", profile, i,
                   (unsigned long long)(w.left_seen[i] - begin));
            /* and node 0's copy k within a trip of k/K of the wait */
            for (int k = 0; k < SERF_LEAVE_DIRECT_COPIES; k++) {
                swim_time at = begin + wait * (swim_time)k / SERF_LEAVE_DIRECT_COPIES;
                bool got = false;
                for (int j = 0; j < w.nfrom0[i]; j++)
                    got = got || (w.from0_at[i][j] >= at && w.from0_at[i][j] <= at + trip);
                CHECKF(got, "%s: n%d got no copy of the intent from n0 within %llu ms of +%llu ms", profile, i,
                       (unsigned long long)trip, (unsigned long long)(at - begin));
            }
        }
    }
    CHECK(w.moved_at[1] == w.swim_leave_at);
    CHECK(w.leave_done_at != NOT_YET && w.moved_at[2] == w.leave_done_at);
    /* the leave had its propagate delay before DONE */
    CHECK(w.leave_done_at >= w.swim_leave_at + SWIM_LEAVE_PROPAGATE_DELAY_MS);
    fprintf(stderr, "%s seed %llu: intent out at %llu ms, swim_leave +%llu ms, done +%llu ms\n", profile,
            (unsigned long long)seed, (unsigned long long)begin, (unsigned long long)(w.swim_leave_at - begin),
            (unsigned long long)(w.leave_done_at - begin));
    /* newer than every join intent: serf takes it */
    CHECK(w.leave_ltime > w.join_ltime_max);
    /* every node sent it on, as serf agents do, each one broadcast's
     * worth at most (it is news once): node 0 its own (and, direct,
     * SERF_LEAVE_DIRECT_COPIES copies to each of the others, all of which
     * arrive on this lossless network), never again when relays bring it
     * back, the others theirs */
    if (direct)
        CHECKF(w.leave_sent_by[0] >= SERF_LEAVE_DIRECT_COPIES * (N - 1), "n0's intent came from n0 %d times",
               w.leave_sent_by[0]);
    for (int i = 0; i < N; i++) {
        int most = limit + (i == 0 && direct ? SERF_LEAVE_DIRECT_COPIES * (N - 1) : 0);
        CHECKF(w.leave_sent_by[i] >= 1 && w.leave_sent_by[i] <= most, "n0's intent came from n%d %d times (most %d)",
               i, w.leave_sent_by[i], most);
    }
    int overtaken = check_left_everywhere(&w, !direct);
    if (overtaken)
        fprintf(stderr, "seed %llu, serf's way: the leave overtook the intent at %d node(s)\n",
                (unsigned long long)seed, overtaken);
    uint64_t h = sim_hash(w.s) ^ w.swim_leave_at ^ (w.leave_done_at << 20);
    sim_free(w.s);
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
    sim_free(w.s);
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

static void test_intent_never_drains(bool direct)
{
    world w;
    world_init(&w, 4, N, slow_drain);
    serf_leave_set_direct(&w.leave, direct);
    join_all(&w);
    swim_time begin = sim_now(w.s);
    REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
    bool pending = false;
    run(&w, begin + 20000, &pending);
    check_moves(&w, all_moves, 3);
    /* held exactly the bound, then on without it, warned (serf's way);
     * direct: the rounds, then on, as planned: no warning */
    swim_time held = direct ? serf_leave_direct_wait(&w.leave, swim_get_config(sim_core(w.s, 0)))
                            : SERF_LEAVE_INTENT_TIMEOUT_MS;
    CHECK(pending);
    CHECK(w.moved_at[1] == begin + held);
    CHECK(w.swim_leave_at == begin + held);
    /* nor does its own leave drain: the core gives up after its timeout
     * and reports LEAVE_DONE */
    CHECK(w.moved_at[2] == w.swim_leave_at + SERF_LEAVE_SWIM_TIMEOUT_MS);
    CHECK_EQ_INT(w.warnings, direct ? 0 : 1);
    /* both were sent all along, the intent first: still "left" */
    (void)check_left_everywhere(&w, !direct);
    sim_free(w.s);
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
    sim_free(w.s);
}

/* Not a check: with SERF_LEAVE_LOSS_SEEDS=K set, count over K seeds how
 * often node 0's leave reached a member before any copy of its intent, in
 * a settled cluster of `n` serf nodes at 10 % loss on every link, with
 * `copies` direct copies and a wait of at most `wait_max` ms. The numbers
 * in docs/protocol.md §12.3 and serf_leave.h. */
static void loss_count(const char *profile, int n, int copies, uint32_t wait_max, int seeds)
{
    int overtaken = 0, never = 0, members = 0;
    swim_time wait = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        world w;
        world_init_profile(&w, (uint64_t)seed, n, profile, NULL);
        serf_leave_set_direct_timing(&w.leave, copies, wait_max);
        wait = serf_leave_direct_wait(&w.leave, swim_get_config(sim_core(w.s, 0)));
        join_all_by(&w, 30000);
        uint32_t delay, jitter;
        double loss;
        sim_get_default_link(w.s, &delay, &jitter, &loss);
        sim_set_default_link(w.s, delay, jitter, 0.10);
        swim_time begin = sim_now(w.s);
        REQUIRE(serf_leave_begin(&w.leave, sim_core(w.s, 0), begin));
        run(&w, begin + 20000, NULL);
        for (int i = 1; i < n; i++) {
            members++;
            if (w.intent_seen[i] == NOT_YET)
                never++;
            if (w.left_seen[i] != NOT_YET && !(w.intent_seen[i] < w.left_seen[i]))
                overtaken++;
        }
        sim_free(w.s);
    }
    fprintf(stderr, "loss 0.10, %s, %d nodes, %d seeds, %d copies, wait %llu ms: leave before intent at %d of %d "
            "members (%.2e), intent never at %d\n", profile, n, seeds, copies,
            (unsigned long long)wait, overtaken, members,
            (double)overtaken / members, never);
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
    static const char *const profiles[] = { "lan", "wan", "local" };
    for (int direct = 0; direct <= 1; direct++) {
        uint64_t h1 = test_leave(1, direct, "lan");
        CHECK(test_leave(1, direct, "lan") == h1);   /* same seed, same run */
        /* serf's way on local (2 sends of a broadcast at 5 nodes) can
         * miss a node altogether, as serf agents do (docs/cluster-bench.md):
         * the direct leave in every profile, serf's on lan */
        for (int p = 0; p < (direct ? 3 : 1); p++)
            for (uint64_t seed = 2; seed <= 6; seed++)
                (void)test_leave(seed, direct, profiles[p]);
        test_intent_never_drains(direct);
    }
    test_alone();
    test_leave_done_lost();
    const char *lossy = getenv("SERF_LEAVE_LOSS_SEEDS");
    if (lossy) {
        int seeds = atoi(lossy);
        const char *only = getenv("SERF_LEAVE_LOSS_PROFILE");
        for (int p = 0; p < 3; p++) {
            if (only && strcmp(only, profiles[p]) != 0)
                continue;
            loss_count(profiles[p], MAXN, 1, SERF_LEAVE_INTENT_TIMEOUT_MS, seeds);   /* before: 1 copy, 2 rounds */
            const char *copies = getenv("SERF_LEAVE_LOSS_COPIES");
            loss_count(profiles[p], MAXN, copies ? atoi(copies) : SERF_LEAVE_DIRECT_COPIES,
                       SERF_LEAVE_DIRECT_WAIT_MAX_MS, seeds);
        }
    }
    return check_done("test_serf_leave");
}
