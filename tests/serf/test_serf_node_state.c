/* serf_node's push/pull state (serf's type 2):
 *   - a real serf 0.9.4 state (tests/fixtures/serf) merges: clocks
 *     witnessed, StatusLTimes kept for members not yet known; a state
 *     that is not serf's is logged and ignored;
 *   - our state with the application's under MoonlistState decodes as
 *     serf's (the extra key skipped by a decoder that does not know it),
 *     and without it our encoding is serf's byte for byte;
 *   - on the simulator the application's state rides along: two nodes
 *     with a state delegate get each other's, a node without one sends
 *     nothing and its peers' merge_state is not called for it. */
#include <stdlib.h>

#include "serf/node_world.h"
#include "serf/serf_msg_state.h"

/* ---- fixtures ---- */

typedef struct fixture {
    uint8_t b[4096];
    size_t n;
} fixture;

/* the hex of the line of `file` whose 2nd column is `kind` and whose
 * rendering (6th) starts with `start` */
static bool load(const char *file, const char *kind, const char *start, fixture *out)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return false;
    static char line[65536];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *col[6] = { 0 };
        char *p = line;
        for (int i = 0; i < 6 && p; i++) {
            col[i] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = 0;
        }
        if (!col[5] || strcmp(col[1], kind) != 0 || strncmp(col[5], start, strlen(start)) != 0)
            continue;
        size_t hl = strlen(col[4]);
        if (hl / 2 > sizeof out->b)
            continue;
        out->n = hl / 2;
        for (size_t i = 0; i < out->n; i++) {
            unsigned v;
            sscanf(col[4] + 2 * i, "%2x", &v);
            out->b[i] = (uint8_t)v;
        }
        found = true;
    }
    fclose(f);
    return found;
}

typedef struct logs {
    int errors;
} logs;

static void count_log(void *ud, base_log_level level, const char *msg)
{
    (void)msg;
    if (level == BASE_LOG_ERROR)
        ((logs *)ud)->errors++;
}

static swim_member member_named(const char *name)
{
    static const uint8_t meta[] = { 0xff, 0x80 };
    swim_member m = { .name = name, .state = SWIM_ALIVE, .incarnation = 1, .meta = meta, .meta_len = 2,
                      .vsn = { 1, 5, 2, 2, 5, 4 } };
    m.addr.ip_len = 4;
    m.addr.ip[0] = 127;
    m.addr.ip[3] = 1;
    m.addr.port = 7946;
    return m;
}

static void test_serf_state_merges(void)
{
    fixture fx;
    REQUIRE(load("serf/serf-plain.tsv", "state", "EventLTime=1 Events=[nil*512] LTime=2", &fx));
    logs lg = { 0 };
    serf_node_config cfg = { .name = "n9" };
    serf_node_io io = { .ud = &lg, .log = count_log };
    serf_node *sn = serf_node_new(&cfg, &io, 0);
    REQUIRE(sn);
    swim_delegate d = serf_node_swim_delegate(sn, NULL);
    d.merge_remote_state(d.ud, fx.b, fx.n, false);
    CHECK_EQ_INT(lg.errors, 0);
    CHECK_EQ_INT(serf_node_get_clocks(sn).member, 2);   /* witnessed LTime - 1 */
    /* n2's status time (1) waits for memberlist's alive about it */
    swim_event ev = { .type = SWIM_EV_JOIN, .member = member_named("n2") };
    serf_node_on_swim_event(sn, 0, &ev);
    serf_node_member m;
    REQUIRE(serf_node_member_get(sn, "n2", &m));
    CHECK_EQ_INT(m.status_ltime, 1);
    CHECK(m.status == SERF_MEMBER_ALIVE);

    /* not serf's: logged, nothing else */
    d.merge_remote_state(d.ud, (const uint8_t *)"\x05junk", 5, false);
    CHECK_EQ_INT(lg.errors, 1);
    d.merge_remote_state(d.ud, (const uint8_t *)"\x02\x81", 2, false);   /* truncated */
    CHECK_EQ_INT(lg.errors, 2);
    CHECK_EQ_INT(serf_node_get_clocks(sn).member, 2);

    /* our own state: serf's keys, our member table */
    const uint8_t *st;
    size_t n;
    d.local_state(d.ud, false, &st, &n);
    serf_msg_push_pull pp;
    REQUIRE(serf_msg_push_pull_decode(st, n, &pp) == WIRE_OK);
    CHECK_EQ_INT(pp.ltime, 2);
    CHECK_EQ_INT(pp.status_ltimes.n, 2);   /* n9, n2 */
    CHECK(pp.left_members.v != NULL && pp.left_members.n == 0);   /* [] as serf, not nil */
    CHECK(pp.app_state.p == NULL);
    serf_msg_push_pull_free(&pp);
    serf_node_free(sn);
}

static bool contains(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return true;
    return false;
}

static void test_codec_extra_key(void)
{
    fixture fx;
    REQUIRE(load("serf/go-serf-0.9.4.tsv", "pushpull-zero", "EventLTime=0", &fx));
    serf_msg_push_pull pp;
    REQUIRE(serf_msg_push_pull_decode(fx.b, fx.n, &pp) == WIRE_OK);
    CHECK(pp.app_state.p == NULL);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_msg_push_pull_encode(&b, &pp) == WIRE_OK);
    CHECK_MEM(b.data, b.len, fx.b, fx.n);   /* serf's bytes exactly */
    serf_msg_push_pull_free(&pp);

    REQUIRE(load("serf/go-serf-0.9.4.tsv", "pushpull-events", "EventLTime=8", &fx));
    REQUIRE(serf_msg_push_pull_decode(fx.b, fx.n, &pp) == WIRE_OK);
    CHECK_EQ_INT(pp.event_ltime, 8);
    CHECK(pp.app_state.p == NULL);
    /* with our key: placed between LeftMembers and QueryLTime, and the
     * rest reads back */
    pp.app_state = wire_bytes_of("hello", 5);
    wire_buf_reset(&b);
    REQUIRE(serf_msg_push_pull_encode(&b, &pp) == WIRE_OK);
    serf_msg_push_pull back;
    REQUIRE(serf_msg_push_pull_decode(b.data, b.len, &back) == WIRE_OK);
    CHECK_MEM(back.app_state.p, back.app_state.n, "hello", 5);
    CHECK_EQ_INT(back.event_ltime, 8);
    CHECK_EQ_INT(back.events.n, pp.events.n);
    CHECK(contains(b.data, b.len, "MoonlistState"));
    serf_msg_push_pull_free(&back);
    pp.app_state = (wire_bytes){ 0 };
    serf_msg_push_pull_free(&pp);
    wire_buf_free(&b);
}

/* ---- the application's state on the simulator ---- */

typedef struct app {
    char mine[32];
    char got[8][32];             /* what merge_state received, by sender's text */
    int ngot;
} app;

static void app_local(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    (void)is_join;
    app *a = ud;
    *out = (const uint8_t *)a->mine;
    *len = strlen(a->mine);
}

static void app_merge(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    (void)is_join;
    app *a = ud;
    if (a->ngot < 8 && len < 32) {
        memcpy(a->got[a->ngot], state, len);
        a->got[a->ngot++][len] = 0;
    }
}

static int count_got(const app *a, const char *what)
{
    int c = 0;
    for (int i = 0; i < a->ngot; i++)
        c += strcmp(a->got[i], what) == 0;
    return c;
}

static void test_app_state_rides(void)
{
    world w;
    memset(&w, 0, sizeof w);
    w.n = 3;
    w.leaver = -1;
    w.s = sim_new(31);
    REQUIRE(w.s);
    sim_use_serf(w.s, NULL);
    sim_on_serf_event(w.s, on_serf, &w);
    REQUIRE(sim_add_many(w.s, 3, "node-", "lan") == 0);
    app a0 = { .mine = "state-of-0" }, a1 = { .mine = "state-of-1" };
    serf_node_state_delegate d0 = { &a0, app_local, app_merge }, d1 = { &a1, app_local, app_merge };
    sim_set_serf_state(w.s, 0, &d0);
    sim_set_serf_state(w.s, 1, &d1);
    int seed_node = 0;
    sim_join(w.s, 1, &seed_node, 1);
    sim_join(w.s, 2, &seed_node, 1);
    CHECK(sim_run_while_not(w.s, SETTLED_MS, all_alive, &w));
    /* the joins' push/pulls: node 1's with node 0 carried both ways */
    CHECK(count_got(&a0, "state-of-1") >= 1);
    CHECK(count_got(&a1, "state-of-0") >= 1);
    CHECK_EQ_INT(count_got(&a0, "state-of-0"), 0);
    /* node 2 carries nothing: nothing merged from it */
    CHECK_EQ_INT(a0.ngot, count_got(&a0, "state-of-1"));
    /* and periodically (push/pull every 30 s on lan, to a random peer) */
    int before = a0.ngot + a1.ngot;
    sim_run_until(w.s, sim_now(w.s) + 120000);
    CHECK(a0.ngot + a1.ngot > before);
    sim_free(w.s);
}

int main(void)
{
    test_serf_state_merges();
    test_codec_extra_key();
    test_app_state_rides();
    return check_done("test_serf_node_state");
}
