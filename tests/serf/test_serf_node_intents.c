/* serf_node's intents, one node over a real core whose packets go
 * nowhere (serf.go handleNodeJoinIntent, handleNodeLeaveIntent and the
 * recent-intent buffer):
 *   - intents about members not yet known wait for memberlist's alive:
 *     a join gives the status time, a leave makes it "leaving" (and then
 *     "left" on memberlist's leave rather than "failed"); a thousand of
 *     them all land on the right member;
 *   - they are forgotten after RecentIntentTimeout (reaped every
 *     ReapInterval), and then the member comes without a status time;
 *   - news is rebroadcast, old news (same or older LTime) is not;
 *   - the member clock witnesses every intent;
 *   - serf 0.9.4's own intents (tests/fixtures/serf) are understood. */
#include <string.h>

#include "check.h"
#include "serf/serf_msg.h"
#include "serf/serf_node.h"

typedef struct rig {
    swim *core;
    serf_node *sn;
    swim_time now;
} rig;

static void rig_init(rig *r)
{
    memset(r, 0, sizeof *r);
    swim_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c, "lan") == 0);
    snprintf(c.name, sizeof c.name, "me");
    c.advertise.ip_len = 4;
    c.advertise.ip[0] = 127;
    c.advertise.ip[3] = 1;
    c.advertise.port = 7946;
    serf_node_config sc = { .name = "me" };
    r->sn = serf_node_new(&sc, NULL, 0);
    REQUIRE(r->sn);
    swim_io io;
    memset(&io, 0, sizeof io);
    io.delegate = serf_node_swim_delegate(r->sn, NULL);
    r->core = swim_new(&c, &io, 0);
    REQUIRE(r->core);
}

static void rig_free(rig *r)
{
    swim_free(r->core);
    serf_node_free(r->sn);
}

static void intent(rig *r, int type, const char *node, uint64_t ltime)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE((type == SERF_MSG_JOIN ? serf_join_intent(&b, ltime, node) : serf_leave_intent(&b, ltime, node)) == 0);
    swim_event ev = { .type = SWIM_EV_USER, .payload = wire_bytes_of(b.data, b.len) };
    serf_node_on_swim_event(r->sn, r->now, &ev);
    wire_buf_free(&b);
}

static void member_ev(rig *r, swim_event_type type, const char *node)
{
    static const uint8_t meta[] = { 0xff, 0x80 };
    swim_event ev = { .type = type, .member = { .name = node, .meta = meta, .meta_len = 2,
                                                .state = type == SWIM_EV_LEAVE ? SWIM_DEAD : SWIM_ALIVE } };
    serf_node_on_swim_event(r->sn, r->now, &ev);
}

static void tick_to(rig *r, swim_time t)
{
    r->now = t;
    swim_tick(r->core, t);
    serf_node_tick(r->sn, r->core, t);
}

static serf_node_member get(rig *r, const char *name)
{
    serf_node_member m;
    memset(&m, 0, sizeof m);
    if (!serf_node_member_get(r->sn, name, &m))
        m.status = SERF_MEMBER_NONE;
    return m;
}

static void test_before_alive(void)
{
    rig r;
    rig_init(&r);
    intent(&r, SERF_MSG_JOIN, "a", 7);
    intent(&r, SERF_MSG_LEAVE, "b", 9);
    CHECK_EQ_INT(serf_node_get_clocks(r.sn).member, 10);   /* witnessed 9: 10 */
    CHECK(get(&r, "a").status == SERF_MEMBER_NONE);        /* not a member yet */
    member_ev(&r, SWIM_EV_JOIN, "a");
    member_ev(&r, SWIM_EV_JOIN, "b");
    CHECK(get(&r, "a").status == SERF_MEMBER_ALIVE);
    CHECK_EQ_INT(get(&r, "a").status_ltime, 7);
    CHECK(get(&r, "b").status == SERF_MEMBER_LEAVING);
    CHECK_EQ_INT(get(&r, "b").status_ltime, 9);
    member_ev(&r, SWIM_EV_LEAVE, "b");
    member_ev(&r, SWIM_EV_LEAVE, "a");
    CHECK(get(&r, "b").status == SERF_MEMBER_LEFT);
    CHECK(get(&r, "a").status == SERF_MEMBER_FAILED);

    /* a thousand, then their members: each gets its own */
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "m%d", i);
        intent(&r, i % 3 ? SERF_MSG_JOIN : SERF_MSG_LEAVE, name, 100 + (uint64_t)i);
    }
    for (int i = 999; i >= 0; i--) {
        snprintf(name, sizeof name, "m%d", i);
        member_ev(&r, SWIM_EV_JOIN, name);
        serf_node_member m = get(&r, name);
        CHECKF(m.status_ltime == 100 + (uint64_t)i, "%s: %llu", name, (unsigned long long)m.status_ltime);
        CHECK(m.status == (i % 3 ? SERF_MEMBER_ALIVE : SERF_MEMBER_LEAVING));
    }
    CHECK_EQ_INT(serf_node_member_count(r.sn), 1003);
    rig_free(&r);
}

static void test_forgotten(void)
{
    rig r;
    rig_init(&r);
    intent(&r, SERF_MSG_JOIN, "early", 5);
    tick_to(&r, 60000);
    intent(&r, SERF_MSG_JOIN, "late", 6);
    /* early's intent is older than RecentIntentTimeout at the first reap
     * past 5 min; late's not yet */
    tick_to(&r, SERF_RECENT_INTENT_TIMEOUT_MS + SERF_REAP_INTERVAL_MS + 1);
    tick_to(&r, SERF_RECENT_INTENT_TIMEOUT_MS + 2 * SERF_REAP_INTERVAL_MS + 2);
    member_ev(&r, SWIM_EV_JOIN, "early");
    member_ev(&r, SWIM_EV_JOIN, "late");
    CHECK_EQ_INT(get(&r, "early").status_ltime, 0);
    CHECK_EQ_INT(get(&r, "late").status_ltime, 6);
    rig_free(&r);
}

static void test_news_only(void)
{
    rig r;
    rig_init(&r);
    member_ev(&r, SWIM_EV_JOIN, "a");
    intent(&r, SERF_MSG_JOIN, "a", 4);
    CHECK_EQ_INT(serf_node_next_deadline(r.sn), r.now);    /* a rebroadcast waits */
    tick_to(&r, 10);
    CHECK(serf_node_next_deadline(r.sn) > 10);
    intent(&r, SERF_MSG_JOIN, "a", 4);                      /* old news */
    intent(&r, SERF_MSG_JOIN, "a", 3);
    CHECK(serf_node_next_deadline(r.sn) > 10);
    CHECK_EQ_INT(get(&r, "a").status_ltime, 4);
    intent(&r, SERF_MSG_LEAVE, "a", 5);                     /* news: leaving */
    CHECK_EQ_INT(serf_node_next_deadline(r.sn), r.now);
    CHECK(get(&r, "a").status == SERF_MEMBER_LEAVING);
    intent(&r, SERF_MSG_JOIN, "a", 6);                      /* a newer join: alive again */
    CHECK(get(&r, "a").status == SERF_MEMBER_ALIVE);
    CHECK_EQ_INT(serf_node_get_stats(r.sn)->intents_received, 5);
    rig_free(&r);
}

/* the bytes of the first line of `file` with these columns 2-4 */
static size_t fixture(const char *file, const char *kind, const char *type, const char *prefix, uint8_t *out,
                      size_t cap)
{
    FILE *f = fopen(file, "r");
    REQUIRE(f);
    static char line[8192];
    size_t n = 0;
    while (!n && fgets(line, sizeof line, f)) {
        char *col[6] = { 0 };
        char *p = line;
        for (int i = 0; i < 6 && p; i++) {
            col[i] = p;
            if ((p = strchr(p, '\t')))
                *p++ = 0;
        }
        if (!col[5] || strcmp(col[1], kind) || strcmp(col[2], type) || strncmp(col[5], prefix, strlen(prefix)))
            continue;
        for (size_t i = 0; col[4][2 * i] && col[4][2 * i + 1] && i < cap; i++) {
            unsigned v;
            sscanf(col[4] + 2 * i, "%2x", &v);
            out[n++] = (uint8_t)v;
        }
    }
    fclose(f);
    return n;
}

static void test_serf_bytes(void)
{
    rig r;
    rig_init(&r);
    uint8_t join[256], leave[256];
    size_t jn = fixture("serf/serf-plain.tsv", "user", "1", "LTime=1 Node=x:6e32", join, sizeof join);
    size_t ln = fixture("serf/serf-plain.tsv", "user", "0", "LTime=3 Node=x:6e32", leave, sizeof leave);
    REQUIRE(jn && ln);
    member_ev(&r, SWIM_EV_JOIN, "n2");
    swim_event ev = { .type = SWIM_EV_USER, .payload = wire_bytes_of(join, jn) };
    serf_node_on_swim_event(r.sn, 0, &ev);
    CHECK_EQ_INT(get(&r, "n2").status_ltime, 1);
    ev.payload = wire_bytes_of(leave, ln);
    serf_node_on_swim_event(r.sn, 0, &ev);
    CHECK(get(&r, "n2").status == SERF_MEMBER_LEAVING);
    CHECK_EQ_INT(get(&r, "n2").status_ltime, 3);
    CHECK_EQ_INT(serf_node_get_clocks(r.sn).member, 4);
    CHECK_EQ_INT(serf_node_get_stats(r.sn)->intents_received, 2);
    rig_free(&r);
}

int main(void)
{
    test_serf_bytes();
    test_before_alive();
    test_forgotten();
    test_news_only();
    return check_done("test_serf_node_intents");
}
