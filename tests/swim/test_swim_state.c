/* The member state machine (§10.2), refutation (§10.3), the shrinking
 * suspicion timeout (§10.4) to the millisecond, name conflicts and
 * DeadNodeReclaimTime, leave, rejoin. */
#include "harness.h"
#include "swim/swim_internal.h"
#include "wire/wire_compound.h"

static harness H;

static void inject_suspect(harness *h, const char *node, uint32_t inc, const char *from)
{
    size_t len;
    const uint8_t *m = h_suspect(node, inc, from, &len);
    h_inject(h, 0, m, len);
}

static void inject_dead(harness *h, const char *node, uint32_t inc, const char *from)
{
    size_t len;
    const uint8_t *m = h_dead(node, inc, from, &len);
    h_inject(h, 0, m, len);
}

static void inject_alive(harness *h, const char *node, int peer, uint32_t inc, const char *meta)
{
    size_t len;
    const uint8_t *m = h_alive(node, peer, inc, meta, &len);
    h_inject(h, peer, m, len);
}

static void setup_ten(harness *h, swim_config *c)
{
    h_init(h, c);
    h->auto_ack = true;
    h_add_peers(h, 9);
    REQUIRE(swim_member_count(h->core) == 10);
}

/* us, "a" (peer 0) and "b" (peer 1) */
static void setup_three(harness *h, swim_config *c)
{
    h_init(h, c);
    h->auto_ack = true;
    h_add_peer(h, "a", 0, 1);
    h_add_peer(h, "b", 1, 1);
}

static void test_alive_updates(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_ten(&H, &c);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_JOIN, NULL), 10); /* us at creation, then 9 */
    CHECK_EQ_INT(h_state(&H, "p0"), SWIM_ALIVE);
    h_clear(&H);
    inject_alive(&H, "p0", 0, 1, "x"); /* same incarnation: ignored */
    CHECK_EQ_INT(H.nevs, 0);
    inject_alive(&H, "p0", 0, 2, "x");
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_UPDATE, "p0"), 1);
    CHECK_EQ_INT(h_inc(&H, "p0"), 2);
    inject_alive(&H, "p0", 0, 3, "x"); /* newer, same meta: no event */
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_UPDATE, "p0"), 1);
    CHECK_EQ_INT(h_inc(&H, "p0"), 3);
    /* a veto from allow_alive */
    H.veto_name = "evil";
    inject_alive(&H, "evil", 30, 1, NULL);
    swim_member m;
    CHECK(!swim_member_get(H.core, "evil", &m));
    H.veto_name = NULL;
    /* bad protocol versions are ignored (§10.2 step 2) */
    h_free(&H);
}

/* moonlist's max_members: the table fills up to the limit (us included);
 * past it a new name from an alive message is dropped and counted, while
 * known members still take updates. */
static void test_max_members(void)
{
    swim_config c;
    h_config(&c, "me");
    c.max_members = 3;
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peer(&H, "a", 0, 1);
    h_add_peer(&H, "b", 1, 1); /* the third: at the limit, still taken */
    CHECK_EQ_INT(swim_member_count(H.core), 3);
    CHECK_EQ_INT(swim_get_stats(H.core)->members_refused, 0);
    inject_alive(&H, "c", 2, 1, NULL);
    inject_alive(&H, "d", 3, 1, NULL);
    swim_member m;
    CHECK(!swim_member_get(H.core, "c", &m));
    CHECK(!swim_member_get(H.core, "d", &m));
    CHECK_EQ_INT(swim_member_count(H.core), 3);
    CHECK_EQ_INT(swim_get_stats(H.core)->members_refused, 2);
    h_clear(&H);
    inject_alive(&H, "a", 0, 2, "x"); /* an update of a known member passes */
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_UPDATE, "a"), 1);
    CHECK_EQ_INT(h_inc(&H, "a"), 2);
    CHECK_EQ_INT(swim_get_stats(H.core)->members_refused, 2);
    h_free(&H);
}

/* Networks as -allow-cidr spells them, and which addresses they hold. */
static void test_cidr_parse(void)
{
    swim_cidr c[2];
    CHECK(swim_cidr_parse("10.1.2.3/16", &c[0]) == 0);
    CHECK_EQ_INT(c[0].ip_len, 4);
    CHECK_EQ_INT(c[0].bits, 16);
    CHECK(c[0].ip[0] == 10 && c[0].ip[1] == 1 && c[0].ip[2] == 0 && c[0].ip[3] == 0); /* host bits cleared */
    CHECK(swim_cidr_parse("fd00::/8", &c[1]) == 0);
    CHECK_EQ_INT(c[1].ip_len, 16);
    static const char *const bad[] = { "10.0.0.1", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x",
                                       "host/8", "/8", "::/129", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(swim_cidr_parse(bad[i], &c[0]) == -1, "%s", bad[i]);
    REQUIRE(swim_cidr_parse("10.1.0.0/16", &c[0]) == 0);
    swim_addr in = { .ip = { 10, 1, 200, 7 }, .ip_len = 4, .port = 1 };
    swim_addr out = { .ip = { 10, 2, 0, 1 }, .ip_len = 4, .port = 1 };
    swim_addr mapped = { .ip = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 9 }, .ip_len = 16 };
    swim_addr v6 = { .ip = { 0xfd, 1 }, .ip_len = 16 };
    CHECK(swim_cidr_allows(c, 1, &in));
    CHECK(!swim_cidr_allows(c, 1, &out));
    CHECK(swim_cidr_allows(c, 1, &mapped));
    CHECK(!swim_cidr_allows(c, 1, &v6));
    CHECK(swim_cidr_allows(c, 2, &v6));
    CHECK(swim_cidr_allows(c, 0, &out)); /* no list: everyone */
    REQUIRE(swim_cidr_parse("0.0.0.0/0", &c[0]) == 0);
    CHECK(swim_cidr_allows(c, 1, &out));
}

/* memberlist's aliveNode with CIDRsAllowed: an alive whose address is
 * outside every network is dropped, new name or known member alike. The
 * harness's peer i is at 10.0.0.(i+2). */
static void test_allow_cidr(void)
{
    swim_config c;
    h_config(&c, "me");
    REQUIRE(swim_cidr_parse("10.0.0.0/30", &c.allow_cidrs[0]) == 0); /* 10.0.0.0..3: peers 0 and 1 */
    c.nallow_cidrs = 1;
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peer(&H, "a", 0, 1);
    inject_alive(&H, "c", 2, 1, NULL);
    swim_member m;
    CHECK(swim_member_get(H.core, "a", &m));
    CHECK(!swim_member_get(H.core, "c", &m));
    /* a known member moving outside is refused too (only a left one could move) */
    inject_dead(&H, "a", 1, "a");
    CHECK_EQ_INT(h_state(&H, "a"), SWIM_LEFT);
    inject_alive(&H, "a", 5, 2, NULL);
    CHECK_EQ_INT(h_state(&H, "a"), SWIM_LEFT);
    inject_alive(&H, "a", 1, 2, NULL); /* back from inside: taken */
    CHECK_EQ_INT(h_state(&H, "a"), SWIM_ALIVE);
    h_free(&H);
}

static void test_suspicion_timeouts(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_ten(&H, &c);
    /* n = 10: min 4 s, max 24 s, k = 2 */
    swim_time t0 = 10000;
    h_run(&H, t0);
    inject_suspect(&H, "p1", 1, "p2");
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_SUSPECT);
    h_run(&H, t0 + 23999);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_SUSPECT);
    h_run(&H, t0 + 24000);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_DEAD);
    const h_ev *e = h_last_event(&H, SWIM_EV_LEAVE, "p1");
    REQUIRE(e);
    CHECK_EQ_INT(e->t, t0 + 24000);
    CHECK_EQ_INT(e->state, SWIM_DEAD);

    /* one confirmation: floor(1000 * (24 - ln2/ln3 * 20)) = 11381 ms */
    swim_time t1 = H.now + 100;
    h_run(&H, t1);
    inject_suspect(&H, "p3", 1, "p2");
    h_run(&H, t1 + 1000);
    inject_suspect(&H, "p3", 1, "p2"); /* the accuser again: not a confirmation */
    inject_suspect(&H, "p3", 1, "p4");
    h_run(&H, t1 + 11380);
    CHECK_EQ_INT(h_state(&H, "p3"), SWIM_SUSPECT);
    h_run(&H, t1 + 11381);
    CHECK_EQ_INT(h_state(&H, "p3"), SWIM_DEAD);
    e = h_last_event(&H, SWIM_EV_LEAVE, "p3");
    REQUIRE(e);
    CHECK_EQ_INT(e->t, t1 + 11381);

    /* two confirmations: down to min, 4 s */
    swim_time t2 = H.now + 100;
    h_run(&H, t2);
    inject_suspect(&H, "p5", 1, "p2");
    h_run(&H, t2 + 100);
    inject_suspect(&H, "p5", 1, "p4");
    h_run(&H, t2 + 200);
    inject_suspect(&H, "p5", 1, "p6");
    inject_suspect(&H, "p5", 1, "p7"); /* past k: ignored */
    h_run(&H, t2 + 3999);
    CHECK_EQ_INT(h_state(&H, "p5"), SWIM_SUSPECT);
    h_run(&H, t2 + 4000);
    CHECK_EQ_INT(h_state(&H, "p5"), SWIM_DEAD);

    /* a confirmation after min has passed: dead at once */
    swim_time t3 = H.now + 100;
    h_run(&H, t3);
    inject_suspect(&H, "p6", 1, "p2");
    h_run(&H, t3 + 5000);
    inject_suspect(&H, "p6", 1, "p4");
    inject_suspect(&H, "p6", 1, "p7");
    h_run(&H, t3 + 5000);
    CHECK_EQ_INT(h_state(&H, "p6"), SWIM_DEAD);
    h_free(&H);
}

static void test_small_cluster_k0(void)
{
    /* n = 3: k = 2 > n - 2, so no confirmations are expected and the
     * timer runs for min = 4 s (the capture in §10.4). */
    swim_config c;
    h_config(&c, "me");
    setup_three(&H, &c);
    h_run(&H, 1000);
    inject_suspect(&H, "b", 1, "a");
    h_run(&H, 4999);
    CHECK_EQ_INT(h_state(&H, "b"), SWIM_SUSPECT);
    h_run(&H, 5000);
    CHECK_EQ_INT(h_state(&H, "b"), SWIM_DEAD);
    h_free(&H);
}

static void test_transitions(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_ten(&H, &c);
    h_run(&H, 5000);
    /* suspect -> alive by the node's refutation (higher incarnation) */
    inject_suspect(&H, "p7", 1, "p2");
    CHECK_EQ_INT(h_state(&H, "p7"), SWIM_SUSPECT);
    inject_alive(&H, "p7", 7, 1, NULL); /* same incarnation: no refutation */
    CHECK_EQ_INT(h_state(&H, "p7"), SWIM_SUSPECT);
    inject_alive(&H, "p7", 7, 2, NULL);
    CHECK_EQ_INT(h_state(&H, "p7"), SWIM_ALIVE);
    h_run(&H, 40000); /* the suspicion timer is gone */
    CHECK_EQ_INT(h_state(&H, "p7"), SWIM_ALIVE);
    /* suspect of an old incarnation: ignored */
    inject_suspect(&H, "p7", 1, "p2");
    CHECK_EQ_INT(h_state(&H, "p7"), SWIM_ALIVE);
    /* alive -> dead directly */
    h_clear(&H);
    inject_dead(&H, "p1", 1, "p2");
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_DEAD);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE, "p1"), 1);
    inject_dead(&H, "p1", 1, "p3"); /* already dead: nothing */
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE, "p1"), 1);
    /* dead -> alive needs a higher incarnation; it is a join */
    inject_alive(&H, "p1", 1, 1, NULL);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_DEAD);
    inject_alive(&H, "p1", 1, 2, NULL);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_ALIVE);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_JOIN, "p1"), 1);
    /* left: dead with From == Node */
    inject_dead(&H, "p8", 1, "p8");
    CHECK_EQ_INT(h_state(&H, "p8"), SWIM_LEFT);
    const h_ev *e = h_last_event(&H, SWIM_EV_LEAVE, "p8");
    REQUIRE(e);
    CHECK_EQ_INT(e->state, SWIM_LEFT);
    /* rejoin after leaving: a higher incarnation */
    inject_alive(&H, "p8", 8, 2, NULL);
    CHECK_EQ_INT(h_state(&H, "p8"), SWIM_ALIVE);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_JOIN, "p8"), 1);
    /* dead of an older incarnation: ignored */
    inject_dead(&H, "p8", 1, "p2");
    CHECK_EQ_INT(h_state(&H, "p8"), SWIM_ALIVE);
    /* left and dead nodes are reaped after GossipToTheDeadTime, at a
     * probe-list wrap */
    inject_dead(&H, "p4", 1, "p4");
    h_run(&H, H.now + 30000 + 12000);
    swim_member m;
    CHECK(!swim_member_get(H.core, "p4", &m));
    CHECK_EQ_INT(swim_member_count(H.core), 9);
    h_free(&H);
}

static uint32_t max_alive_inc_about;
static void find_alive_me(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    (void)ud;
    (void)p;
    wire_msg m;
    if (len && msg[0] == WIRE_ALIVE && wire_decode_msg(msg, len, &m) == WIRE_OK && m.u.alive.node.n == 2 &&
        memcmp(m.u.alive.node.p, "me", 2) == 0 && m.u.alive.incarnation > max_alive_inc_about)
        max_alive_inc_about = m.u.alive.incarnation;
}

static void test_refutation(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_ten(&H, &c);
    h_run(&H, 3000);
    int score0 = swim_health_score(H.core);
    inject_suspect(&H, "me", 1, "p0");
    CHECK_EQ_INT(h_state(&H, "me"), SWIM_ALIVE);
    CHECK_EQ_INT(h_inc(&H, "me"), 2);
    CHECK_EQ_INT(swim_health_score(H.core), score0 + 1);
    /* an accusation far ahead: refute past it */
    inject_suspect(&H, "me", 7, "p0");
    CHECK_EQ_INT(h_inc(&H, "me"), 8);
    inject_dead(&H, "me", 8, "p0");
    CHECK_EQ_INT(h_state(&H, "me"), SWIM_ALIVE);
    CHECK_EQ_INT(h_inc(&H, "me"), 9);
    CHECK_EQ_INT(swim_health_score(H.core), score0 + 3);
    /* an alive about us with a newer incarnation is refuted too */
    inject_alive(&H, "me", -1, 12, NULL);
    CHECK_EQ_INT(h_inc(&H, "me"), 13);
    /* equal incarnation, same meta and versions: nothing to do */
    inject_alive(&H, "me", -1, 13, NULL);
    CHECK_EQ_INT(h_inc(&H, "me"), 13);
    /* equal incarnation but other meta: refuted */
    inject_alive(&H, "me", -1, 13, "other");
    CHECK_EQ_INT(h_inc(&H, "me"), 14);
    CHECK_EQ_INT(swim_get_stats(H.core)->refutations, 5);
    /* the refutation is gossiped */
    h_clear(&H);
    h_run(&H, H.now + 1000);
    max_alive_inc_about = 0;
    h_each_msg(&H, find_alive_me, NULL);
    CHECK_EQ_INT(max_alive_inc_about, 14);
    h_free(&H);
}

static void test_conflict_and_reclaim(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_three(&H, &c);
    h_clear(&H);
    /* another address claims "a" */
    inject_alive(&H, "a", 20, 5, NULL);
    const h_ev *e = h_last_event(&H, SWIM_EV_CONFLICT, "a");
    REQUIRE(e);
    swim_member m;
    REQUIRE(swim_member_get(H.core, "a", &m));
    CHECK_EQ_INT(m.addr.ip[3], 2);
    CHECK_EQ_INT(m.incarnation, 1);
    /* dead: still a conflict (DeadNodeReclaimTime 0 = never) */
    inject_dead(&H, "a", 1, "b");
    inject_alive(&H, "a", 20, 5, NULL);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "a"), 2);
    CHECK_EQ_INT(h_state(&H, "a"), SWIM_DEAD);
    /* left: the new address is taken, even at the same incarnation */
    inject_dead(&H, "b", 1, "b");
    inject_alive(&H, "b", 21, 1, NULL);
    REQUIRE(swim_member_get(H.core, "b", &m));
    CHECK_EQ_INT(m.state, SWIM_ALIVE);
    CHECK_EQ_INT(m.addr.ip[3], 23);
    h_free(&H);

    h_config(&c, "me");
    c.dead_node_reclaim_time = 1000;
    setup_three(&H, &c);
    h_run(&H, 2000);
    inject_dead(&H, "a", 1, "b");
    h_run(&H, 2500);
    inject_alive(&H, "a", 20, 1, NULL);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "a"), 1);
    h_run(&H, 3001);
    inject_alive(&H, "a", 20, 1, NULL);
    REQUIRE(swim_member_get(H.core, "a", &m));
    CHECK_EQ_INT(m.state, SWIM_ALIVE);
    CHECK_EQ_INT(m.addr.ip[3], 22);
    h_free(&H);
}

static void test_leave(void)
{
    swim_config c;
    h_config(&c, "me");
    setup_ten(&H, &c);
    h_run(&H, 2000);
    h_clear(&H);
    swim_leave(H.core, H.now, 0);
    CHECK_EQ_INT(h_state(&H, "me"), SWIM_LEFT);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 0);
    /* alive about us while leaving: ignored, no refutation */
    inject_alive(&H, "me", -1, 9, NULL);
    CHECK_EQ_INT(h_inc(&H, "me"), 1);
    /* LEAVE_DONE once the dead message was sent its retransmit limit
     * (4 * ceil(log10(11)) = 8 times) */
    h_run(&H, H.now + 5000);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_free(&H);
    /* alone: done at once */
    h_config(&c, "me");
    h_init(&H, &c);
    swim_leave(H.core, 0, 1000);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_free(&H);
    /* force-leave of a failed member */
    h_config(&c, "me");
    setup_ten(&H, &c);
    inject_dead(&H, "p2", 1, "p3");
    H.now += 100;
    CHECK(swim_force_leave(H.core, H.now, "p2"));
    CHECK_EQ_INT(h_state(&H, "p2"), SWIM_LEFT);
    swim_member m;
    REQUIRE(swim_member_get(H.core, "p2", &m));
    CHECK_EQ_INT(m.state_change, H.now); /* when it entered "left" */
    CHECK_EQ_INT(m.incarnation, 1);
    CHECK(!swim_force_leave(H.core, H.now, "nobody"));
    h_free(&H);
}

/* swim_alive_is_repeat, the shortcut for alives that change nothing: yes
 * only where swim_alive_node would do nothing. So an old incarnation at
 * another address still raises a conflict, a short Vsn is still dropped
 * and counted, and the alive filter or -allow-cidr turn the shortcut off
 * (each must see every alive). */
static bool repeat(const char *name, uint32_t inc, wire_bytes ip, uint16_t port, const wire_vsn *v)
{
    swim *s = H.core;
    uint32_t h = swim_members_prefetch(&s->members, name, strlen(name));
    return swim_alive_is_repeat(s, wire_bytes_of(name, strlen(name)), h, inc, ip, port, v);
}

/* a message as the one part of a compound: a compound's parts are what
 * the core looks up with the hash its prefetch computed, the path the
 * shortcut is on */
static void inject_in_compound(int peer, const uint8_t *msg, size_t len)
{
    wire_bytes part = wire_bytes_of(msg, len);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(wire_compound_build(&b, &part, 1) == WIRE_OK);
    h_inject(&H, peer, b.data, b.len);
    wire_buf_free(&b);
}

static void inject_alive_compound(const char *node, int peer, uint32_t inc, const char *meta)
{
    size_t len;
    const uint8_t *m = h_alive(node, peer, inc, meta, &len);
    inject_in_compound(peer, m, len);
}

static void test_alive_repeats(void)
{
    swim_config c;
    h_config(&c, "me");
    h_init_with(&H, &c, false);
    H.auto_ack = true;
    h_add_peer(&H, "a", 0, 3);
    h_add_peer(&H, "b", 1, 1);
    h_clear(&H);
    swim_addr a0 = h_addr(0), a5 = h_addr(5);
    uint8_t ip16[16] = { 0 }, ip3[3] = { 10, 0, 0 };
    memcpy(ip16, a0.ip, 4);
    wire_bytes ip = wire_bytes_of(a0.ip, 4);
    wire_vsn v = { { 1, 5, 2, 2, 5, 5 }, 6 }, none = { { 0 }, 0 }, shortv = { { 1, 5, 2 }, 3 },
             badv = { { 5, 1, 2, 2, 5, 5 }, 6 };
    CHECK(repeat("a", 3, ip, 7946, &v));                       /* the same */
    CHECK(repeat("a", 2, ip, 7946, &v));                       /* older */
    CHECK(repeat("a", 3, ip, 0, &v));                          /* port 0: ours, 7946 */
    CHECK(repeat("a", 3, ip, 7946, &none));                    /* no Vsn: taken */
    CHECK(!repeat("a", 4, ip, 7946, &v));                      /* newer */
    CHECK(!repeat("a", 3, ip, 7947, &v));                      /* another port */
    CHECK(!repeat("a", 3, wire_bytes_of(a5.ip, 4), 7946, &v)); /* another address */
    CHECK(!repeat("a", 3, wire_bytes_of(ip16, 16), 7946, &v));
    CHECK(!repeat("a", 3, wire_bytes_of(ip3, 3), 7946, &v));
    CHECK(!repeat("a", 3, ip, 7946, &shortv));
    CHECK(!repeat("a", 3, ip, 7946, &badv));
    CHECK(!repeat("me", 0, wire_bytes_of(c.advertise.ip, 4), 7946, &v)); /* about us */
    CHECK(!repeat("zz", 1, ip, 7946, &v));                               /* unknown */

    /* through a packet: an old incarnation from another address is a conflict */
    inject_alive_compound("a", 20, 3, NULL);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "a"), 1);
    inject_alive_compound("a", 20, 1, NULL);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_CONFLICT, "a"), 2);
    /* a repeat with a 3-byte Vsn is dropped and counted */
    wire_alive m;
    memset(&m, 0, sizeof m);
    m.addr = ip;
    m.incarnation = 3;
    m.node = wire_bytes_of("a", 1);
    m.port = 7946;
    m.vsn = v;
    size_t len;
    const uint8_t *enc = h_buf_encoded(wire_encode_alive(h_buf_fresh(), &m), &len);
    /* we always send 6 bytes of Vsn, the last field: cut it to 3 */
    uint8_t pkt[256];
    REQUIRE(len < sizeof pkt && len > 7 && enc[len - 7] == 0xa6);
    memcpy(pkt, enc, len);
    pkt[len - 7] = 0xa3;
    len -= 3;
    uint64_t dropped = swim_get_stats(H.core)->dropped;
    inject_in_compound(0, pkt, len);
    CHECK_EQ_INT((int)(swim_get_stats(H.core)->dropped - dropped), 1);
    /* and a real repeat changes nothing */
    h_clear(&H);
    inject_alive_compound("a", 0, 3, "x");
    CHECK_EQ_INT(H.nevs, 0);
    CHECK_EQ_INT(h_inc(&H, "a"), 3);
    h_free(&H);

    /* the alive filter sees every alive */
    h_config(&c, "me");
    h_init_with(&H, &c, true);
    h_add_peer(&H, "a", 0, 3);
    CHECK(!repeat("a", 3, ip, 7946, &v));
    h_free(&H);
    /* and -allow-cidr is asked of every one */
    h_config(&c, "me");
    REQUIRE(swim_cidr_parse("10.0.0.0/8", &c.allow_cidrs[0]) == 0);
    c.nallow_cidrs = 1;
    h_init_with(&H, &c, false);
    h_add_peer(&H, "a", 0, 3);
    CHECK(!repeat("a", 3, ip, 7946, &v));
    h_free(&H);
}

/* A record holds names and metas of up to SWIM_NODE_FIELD_MAX bytes (the
 * lengths are 16 bits): an alive with a longer one, which only a push/pull
 * could carry, is refused whole, for a new member and for an update. */
static void test_field_limits(void)
{
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peer(&H, "a", 0, 1);
    h_clear(&H);
    size_t big = (size_t)SWIM_NODE_FIELD_MAX + 1;
    char *name = malloc(big);
    uint8_t *meta = calloc(1, big);
    REQUIRE(name && meta);
    memset(name, 'n', big);
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    swim_alive_in a = { .node = name, .nlen = big, .addr = h_addr(7), .incarnation = 1, .vsn = vsn, .vsn_len = 6 };
    swim_alive_node(H.core, &a, false);
    CHECK_EQ_INT(swim_member_count(H.core), 2);
    a.nlen = big - 1; /* at the limit: held */
    swim_alive_node(H.core, &a, false);
    CHECK_EQ_INT(swim_member_count(H.core), 3);
    swim_node *n = swim_members_find(&H.core->members, name, big - 1);
    REQUIRE(n != NULL);
    CHECK_EQ_INT(n->name_len, SWIM_NODE_FIELD_MAX);
    /* a meta over the limit: the update is refused, the old meta kept */
    swim_alive_in u = { .node = "a", .nlen = 1, .addr = h_addr(0), .incarnation = 2, .meta = meta,
                        .meta_len = big, .vsn = vsn, .vsn_len = 6 };
    swim_alive_node(H.core, &u, false);
    CHECK_EQ_INT(h_inc(&H, "a"), 1);
    u.meta_len = big - 1;
    swim_alive_node(H.core, &u, false);
    CHECK_EQ_INT(h_inc(&H, "a"), 2);
    n = swim_members_find(&H.core->members, "a", 1);
    REQUIRE(n != NULL);
    CHECK_EQ_INT(n->meta_len, SWIM_NODE_FIELD_MAX);
    swim_check(H.core);
    free(name);
    free(meta);
    h_free(&H);
}

int main(void)
{
    test_max_members();
    test_cidr_parse();
    test_allow_cidr();
    test_alive_updates();
    test_alive_repeats();
    test_field_limits();
    test_suspicion_timeouts();
    test_small_cluster_k0();
    test_transitions();
    test_refutation();
    test_conflict_and_reclaim();
    test_leave();
    wire_buf_free(&h_buf);
    return check_done("test_swim_state");
}
