/* Joining and anti-entropy by push/pull (§4.10, §6.2, §12): state and
 * user-state merging on both sides, the version check (§9.2), the merge
 * veto, remote "dead" merged as suspect, failed seeds. */
#include "harness.h"
#include "sim/sim.h"

typedef struct app {
    char name[16];
    char state[32];
    char merged[64];
    bool merged_join;
    int merges;
    bool veto;
} app;

static void app_local_state(void *ud, bool join, const uint8_t **out, size_t *len)
{
    (void)join;
    app *a = ud;
    snprintf(a->state, sizeof a->state, "state-of-%s", a->name);
    *out = (const uint8_t *)a->state;
    *len = strlen(a->state);
}

static void app_merge(void *ud, const uint8_t *st, size_t len, bool join)
{
    app *a = ud;
    size_t n = len < sizeof a->merged - 1 ? len : sizeof a->merged - 1;
    memcpy(a->merged, st, n);
    a->merged[n] = 0;
    a->merged_join = join;
    a->merges++;
}

static bool app_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    (void)peers;
    (void)n;
    app *a = ud;
    *reason = "vetoed by the test";
    return !a->veto;
}

static int join_count[8];
static int join_events[8];
static void on_ev(void *ud, int node, swim_time now, const swim_event *ev)
{
    (void)ud;
    (void)now;
    if (ev->type == SWIM_EV_JOIN_DONE && node < 8) {
        join_count[node] = ev->count;
        join_events[node]++;
    }
}

static int add(sim *s, const char *name, app *a, const uint8_t *vsn)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c, "lan") == 0);
    snprintf(c.name, sizeof c.name, "%s", name);
    if (vsn)
        memcpy(c.vsn, vsn, 6);
    snprintf(a->name, sizeof a->name, "%s", name);
    swim_delegate d;
    memset(&d, 0, sizeof d);
    d.ud = a;
    d.local_state = app_local_state;
    d.merge_remote_state = app_merge;
    d.allow_merge = app_allow_merge;
    return sim_add(s, &c, &d);
}

static bool knows(sim *s, int i, const char *name)
{
    swim_member m;
    return swim_member_get(sim_core(s, i), name, &m) && m.state == SWIM_ALIVE;
}

static void test_join(void)
{
    app apps[4];
    memset(apps, 0, sizeof apps);
    memset(join_count, -1, sizeof join_count);
    memset(join_events, 0, sizeof join_events);
    sim *s = sim_new(3);
    sim_on_event(s, on_ev, NULL);
    int a = add(s, "a", &apps[0], NULL), b = add(s, "b", &apps[1], NULL), c = add(s, "c", &apps[2], NULL);
    sim_join(s, b, &a, 1);
    sim_run_until(s, 50); /* one round trip, no gossip round yet */
    CHECK_EQ_INT(join_count[b], 1);
    CHECK(knows(s, a, "b"));
    CHECK(knows(s, b, "a"));
    sim_join(s, c, &a, 1);
    sim_run_until(s, 100);
    CHECK_EQ_INT(join_count[c], 1);
    /* c learned a and b from a's table, a learned c from c's */
    CHECK(knows(s, c, "a"));
    CHECK(knows(s, c, "b"));
    CHECK(knows(s, a, "c"));
    CHECK(strcmp(apps[2].merged, "state-of-a") == 0);
    CHECK(apps[2].merged_join);
    CHECK(strcmp(apps[0].merged, "state-of-c") == 0);
    CHECK(apps[0].merged_join);
    /* then gossip brings c to b */
    sim_run_until(s, 3000);
    CHECK(knows(s, b, "c"));
    /* periodic push/pull (Join false) happens within stagger + 30 s */
    int before = apps[1].merges;
    sim_run_until(s, 65000);
    CHECK(apps[1].merges > before);
    CHECK(!apps[1].merged_join);
    /* a join through a dead seed and a live one: 1 of 2 */
    app d_app;
    memset(&d_app, 0, sizeof d_app);
    int d = add(s, "d", &d_app, NULL);
    sim_kill(s, b);
    int seeds[2] = { b, a };
    sim_join(s, d, seeds, 2);
    sim_run_until(s, sim_now(s) + 11000);
    CHECK_EQ_INT(join_events[d], 1);
    CHECK_EQ_INT(join_count[d], 1);
    sim_free(s);
}

static void test_version_refusal(void)
{
    app apps[3];
    memset(apps, 0, sizeof apps);
    memset(join_count, -1, sizeof join_count);
    sim *s = sim_new(4);
    sim_on_event(s, on_ev, NULL);
    /* delegate versions 0,0,0: serf's [2,5,5] refuses it (§16) */
    const uint8_t zero_delegate[6] = { 1, 5, 2, 0, 0, 0 };
    int a = add(s, "a", &apps[0], NULL), z = add(s, "z", &apps[1], zero_delegate);
    sim_join(s, z, &a, 1);
    sim_run_until(s, 100);
    CHECK_EQ_INT(join_count[z], 0);
    CHECK(!knows(s, a, "z"));
    CHECK(!knows(s, z, "a"));
    CHECK_EQ_INT(apps[0].merges, 0);
    CHECK_EQ_INT(apps[1].merges, 0);
    sim_free(s);

    /* the merge veto: the joiner refuses the seed's state */
    memset(apps, 0, sizeof apps);
    memset(join_count, -1, sizeof join_count);
    s = sim_new(5);
    sim_on_event(s, on_ev, NULL);
    a = add(s, "a", &apps[0], NULL);
    int v = add(s, "v", &apps[1], NULL);
    apps[1].veto = true;
    sim_join(s, v, &a, 1);
    sim_run_until(s, 100);
    CHECK_EQ_INT(join_count[v], 0);
    CHECK(!knows(s, v, "a"));
    sim_free(s);
}

static void test_remote_dead_is_suspect(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peer(&H, "p0", 0, 1);
    h_add_peer(&H, "p1", 1, 1);
    h_add_peer(&H, "p2", 2, 1);
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header hd = { false, 3, 3 };
    REQUIRE(wire_encode_push_pull_header(&b, &hd, WIRE_INT_GO_MSGPACK_V2) == WIRE_OK);
    const char *names[3] = { "p0", "p1", "p9" };
    int64_t states[3] = { WIRE_STATE_DEAD, WIRE_STATE_LEFT, WIRE_STATE_ALIVE };
    for (int i = 0; i < 3; i++)
        h_node_state(&b, names[i], 2, i == 2 ? 9 : i, 1, states[i], WIRE_INT_GO_MSGPACK_V2);
    REQUIRE(wire_buf_append(&b, "xyz", 3) == WIRE_OK);
    swim_addr from = h_addr(0);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    CHECK(swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply));
    CHECK_EQ_INT(h_state(&H, "p0"), SWIM_SUSPECT);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_LEFT);
    CHECK_EQ_INT(h_state(&H, "p9"), SWIM_ALIVE);
    CHECK_EQ_INT(h_state(&H, "p2"), SWIM_ALIVE);
    /* the reply is our table before the merge, Join echoed */
    REQUIRE(reply.len > 1 && reply.data[0] == WIRE_PUSH_PULL);
    wire_push_pull_header rh;
    size_t used;
    REQUIRE(wire_decode_push_pull_header(reply.data + 1, reply.len - 1, &rh, &used) == WIRE_OK);
    CHECK(!rh.join);
    CHECK_EQ_INT(rh.nodes, 4);
    CHECK_EQ_INT(rh.user_state_len, 0);
    /* truncated or lying headers are refused without a reply */
    wire_buf_reset(&reply);
    CHECK(!swim_handle_stream(H.core, H.now, &from, b.data, b.len - 4, &reply));
    wire_buf_reset(&b);
    wire_push_pull_header huge = { true, 1000000, 0 };
    REQUIRE(wire_encode_push_pull_header(&b, &huge, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    CHECK(!swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply));
    CHECK_EQ_INT(reply.len, 0);
    wire_buf_free(&reply);
    wire_buf_free(&b);
    h_free(&H);
}

/* A merge takes the shortcut for entries that change nothing
 * (swim_alive_is_repeat) only where they do change nothing: an old
 * incarnation at another address is still a conflict, a repeat stays
 * silent. Without the alive filter, which would turn the shortcut off. */
static void test_merge_repeats(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    h_init_with(&H, &c, false);
    H.auto_ack = true;
    h_add_peer(&H, "p0", 0, 3);
    h_add_peer(&H, "p1", 1, 2);
    h_clear(&H);
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header hd = { false, 2, 0 };
    REQUIRE(wire_encode_push_pull_header(&b, &hd, WIRE_INT_GO_MSGPACK_V2) == WIRE_OK);
    const char *names[2] = { "p0", "p1" };
    int peers[2] = { 0, 20 };      /* p1 from another address */
    uint32_t incs[2] = { 3, 1 };   /* both at or below what we hold */
    for (int i = 0; i < 2; i++)
        h_node_state(&b, names[i], 2, peers[i], incs[i], WIRE_STATE_ALIVE, WIRE_INT_GO_MSGPACK_V2);
    swim_addr from = h_addr(0);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    CHECK(swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply));
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "p1"), 1);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "p0"), 0);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_UPDATE, NULL), 0);
    CHECK_EQ_INT(h_inc(&H, "p0"), 3);
    CHECK_EQ_INT(h_inc(&H, "p1"), 2);
    wire_buf_free(&reply);
    wire_buf_free(&b);
    h_free(&H);
}

/* A push/pull's stream gets a fresh TCPTimeout per phase (connect, write,
 * read), as memberlist's sendAndReceiveState: connected by the deadline,
 * then phase_timeout for each of the others. */
static void test_stream_time_limits(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    H.now = 100;
    swim_addr seed = h_addr(0);
    swim_join(H.core, H.now, &seed, 1);
    REQUIRE(H.nstreams == 1);
    CHECK_EQ_INT(H.streams[0].req.kind, SWIM_STREAM_PUSH_PULL);
    CHECK_EQ_INT(H.streams[0].req.phase_timeout, c.tcp_timeout);
    CHECK_EQ_INT(H.streams[0].req.deadline, 100 + (swim_time)c.tcp_timeout);
    h_free(&H);
}

/* A push/pull reply: no node states, 3 bytes of user state, this Join. */
static void reply_with_join(wire_buf *b, bool join)
{
    wire_buf_init(b, 0);
    wire_push_pull_header hd = { join, 0, 3 };
    REQUIRE(wire_encode_push_pull_header(b, &hd, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    REQUIRE(wire_buf_append(b, "xyz", 3) == WIRE_OK);
}

/* memberlist's pushPullNode merges a reply with its own join flag: a
 * join's reply goes through the merge filter and reaches the delegate as
 * a join even if the peer said Join=false; a periodic push/pull's reply
 * does neither even if the peer said Join=true. */
static void test_join_flag_is_ours(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    c.push_pull_interval = 1000;
    h_init(&H, &c);
    swim_addr seed = h_addr(0);
    swim_join(H.core, H.now, &seed, 1);
    REQUIRE(H.nstreams == 1);
    wire_buf b;
    reply_with_join(&b, false);
    swim_stream_done(H.core, H.now, H.streams[0].req.id, b.data, b.len);
    wire_buf_free(&b);
    CHECK_EQ_INT(H.allow_merge_calls, 1);
    CHECK_EQ_INT(H.merges, 1);
    CHECK(H.merge_join);
    const h_ev *e = h_last_event(&H, SWIM_EV_JOIN_DONE, NULL);
    REQUIRE(e);
    CHECK_EQ_INT(e->count, 1);

    /* a periodic one needs an alive peer to go to */
    h_add_peer(&H, "p0", 0, 1);
    h_clear(&H);
    for (int guard = 0; guard < 1000 && H.nstreams == 0; guard++)
        h_run(&H, H.now + 100);
    REQUIRE(H.nstreams == 1 && H.streams[0].req.kind == SWIM_STREAM_PUSH_PULL);
    int calls = H.allow_merge_calls;
    reply_with_join(&b, true);
    swim_stream_done(H.core, H.now, H.streams[0].req.id, b.data, b.len);
    wire_buf_free(&b);
    CHECK_EQ_INT(H.allow_merge_calls, calls); /* not asked: not a join */
    CHECK_EQ_INT(H.merges, 2);
    CHECK(!H.merge_join);
    h_free(&H);
}

/* Joins finish in any order; each JOIN_DONE carries the id its swim_join
 * returned. */
static void test_join_ids(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    swim_addr s0 = h_addr(0), s1[2] = { h_addr(1), h_addr(2) };
    uint64_t a = swim_join(H.core, H.now, &s0, 1);
    uint64_t b = swim_join(H.core, H.now, s1, 2);
    CHECK(a != 0 && b != 0 && a != b);
    REQUIRE(H.nstreams == 3);
    wire_buf ok;
    reply_with_join(&ok, true);
    /* b's seeds answer first: one fails, one joins */
    swim_stream_done(H.core, H.now, H.streams[1].req.id, NULL, 0);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_JOIN_DONE, NULL), 0);
    swim_stream_done(H.core, H.now, H.streams[2].req.id, ok.data, ok.len);
    const h_ev *e = h_last_event(&H, SWIM_EV_JOIN_DONE, NULL);
    REQUIRE(e);
    CHECK_EQ_INT(e->join_id, b);
    CHECK_EQ_INT(e->count, 1);
    /* then a's seed fails */
    H.now += 10000;
    swim_stream_done(H.core, H.now, H.streams[0].req.id, NULL, 0);
    e = h_last_event(&H, SWIM_EV_JOIN_DONE, NULL);
    REQUIRE(e);
    CHECK_EQ_INT(e->join_id, a);
    CHECK_EQ_INT(e->count, 0);
    /* a join with no seed is done inside the call, under the id returned */
    uint64_t z = swim_join(H.core, H.now, NULL, 0);
    e = h_last_event(&H, SWIM_EV_JOIN_DONE, NULL);
    REQUIRE(e);
    CHECK_EQ_INT(e->join_id, z);
    CHECK(z != a && z != b);
    wire_buf_free(&ok);
    h_free(&H);
}

/* §12.2: a join that reached its seed pushes/pulls with it once more
 * SWIM_JOIN_FOLLOWUP_MS later (not a join: no merge filter), and only
 * once; a failed join does not, nor does a node that is leaving by then. */
static void join_reply(harness *H, size_t stream)
{
    wire_buf b;
    reply_with_join(&b, true);
    swim_stream_done(H->core, H->now, H->streams[stream].req.id, b.data, b.len);
    wire_buf_free(&b);
}

static void test_join_followup(void)
{
    harness H;
    swim_config c;
    h_config(&c, "me");
    REQUIRE(c.push_pull_interval == 0);   /* no periodic one to mistake for it */
    h_init(&H, &c);
    H.auto_ack = true;
    H.now = 100;
    swim_addr seed = h_addr(1);
    swim_join(H.core, H.now, &seed, 1);
    REQUIRE(H.nstreams == 1);
    H.now = 150;
    join_reply(&H, 0);
    CHECK_EQ_INT(H.allow_merge_calls, 1);
    h_run(&H, 150 + SWIM_JOIN_FOLLOWUP_MS - 1);
    CHECK_EQ_INT((int)H.nstreams, 1);
    h_run(&H, 150 + SWIM_JOIN_FOLLOWUP_MS);
    REQUIRE(H.nstreams == 2);
    CHECK_EQ_INT(H.streams[1].req.kind, SWIM_STREAM_PUSH_PULL);
    CHECK(H.streams[1].req.to.port == seed.port && memcmp(H.streams[1].req.to.ip, seed.ip, 4) == 0);
    join_reply(&H, 1);
    CHECK_EQ_INT(H.allow_merge_calls, 1);   /* not a join */
    CHECK_EQ_INT(H.merges, 2);
    CHECK(!H.merge_join);
    h_run(&H, H.now + 60000);
    CHECK_EQ_INT((int)H.nstreams, 2);       /* once */
    h_free(&H);

    /* a join that failed: nothing more */
    h_init(&H, &c);
    swim_join(H.core, H.now, &seed, 1);
    REQUIRE(H.nstreams == 1);
    swim_stream_done(H.core, H.now, H.streams[0].req.id, NULL, 0);
    h_run(&H, H.now + 60000);
    CHECK_EQ_INT((int)H.nstreams, 1);
    h_free(&H);

    /* leaving before it is due: nothing more */
    h_init(&H, &c);
    H.auto_ack = true;
    swim_join(H.core, H.now, &seed, 1);
    REQUIRE(H.nstreams == 1);
    join_reply(&H, 0);
    h_add_peer(&H, "p1", 1, 1);
    swim_leave(H.core, H.now, 5000);
    h_run(&H, H.now + 60000);
    CHECK_EQ_INT((int)H.nstreams, 1);
    h_free(&H);
}

int main(void)
{
    test_join_followup();
    test_join();
    test_stream_time_limits();
    test_join_flag_is_ours();
    test_join_ids();
    test_version_refusal();
    test_remote_dead_is_suspect();
    test_merge_repeats();
    wire_buf_free(&h_buf);
    return check_done("test_swim_pushpull");
}
