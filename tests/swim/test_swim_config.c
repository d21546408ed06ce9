/* Profiles (§13) and the knob table behind them, config validation (every
 * bound and every rule across fields), a fresh core's own member, and the
 * pure formulas: suspicion timeouts (§10.4), retransmit limits (§11.1),
 * push/pull scaling (§12). */
#include <string.h>

#include "check.h"
#include "swim/swim.h"
#include "swim/swim_internal.h"

static int events_seen;
static swim_event_type last_type;
static char last_name[64];
static void on_event(void *ud, const swim_event *ev)
{
    (void)ud;
    events_seen++;
    last_type = ev->type;
    snprintf(last_name, sizeof last_name, "%s", ev->member.name ? ev->member.name : "");
}

static void base(swim_config *c, const char *name)
{
    memset(c, 0, sizeof *c);
    REQUIRE(swim_config_profile(c, "lan") == 0);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->advertise.ip_len = 4;
    c->advertise.ip[0] = 127;
    c->advertise.ip[3] = 1;
    c->advertise.port = 7946;
}

/* memberlist's DefaultLANConfig, DefaultWANConfig and DefaultLocalConfig
 * (config.go), written out again here so that the table is held to Go's
 * numbers rather than to itself. */
static const struct {
    const char *name;
    uint32_t lan, wan, local;
} memberlist[] = {
    { "probe_interval", 1000, 5000, 1000 },
    { "probe_timeout", 500, 3000, 200 },
    { "gossip_interval", 200, 500, 100 },
    { "push_pull_interval", 30000, 60000, 15000 },
    { "tcp_timeout", 10000, 30000, 1000 },
    { "gossip_to_the_dead_time", 30000, 60000, 15000 },
    { "dead_node_reclaim_time", 0, 0, 0 },
    { "indirect_checks", 3, 3, 1 },
    { "retransmit_mult", 4, 4, 2 },
    { "suspicion_mult", 4, 6, 3 },
    { "suspicion_max_timeout_mult", 6, 6, 6 },
    { "awareness_max_multiplier", 8, 8, 8 },
    { "gossip_nodes", 3, 4, 3 },
    { "udp_buffer_size", 1400, 1400, 1400 },
    { "disable_tcp_pings", 0, 0, 0 },
    /* moonlist's limits, no memberlist field: the stream reader's cap
     * before the knob (40 MiB), and 131,072 members */
    { "max_stream_bytes", 41943040, 41943040, 41943040 },
    { "max_members", 131072, 131072, 131072 },
};
#define NMEMBERLIST (sizeof memberlist / sizeof memberlist[0])

static void test_profiles(void)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    CHECK(swim_config_profile(&c, "bogus") == -1);
    CHECK(swim_config_profile(&c, NULL) == -1);
    REQUIRE(swim_config_profile(&c, "lan") == 0);
    CHECK_EQ_INT(c.probe_interval, 1000);
    CHECK_EQ_INT(c.probe_timeout, 500);
    CHECK_EQ_INT(c.gossip_interval, 200);
    CHECK_EQ_INT(c.push_pull_interval, 30000);
    CHECK_EQ_INT(c.tcp_timeout, 10000);
    CHECK_EQ_INT(c.gossip_to_the_dead_time, 30000);
    CHECK_EQ_INT(c.indirect_checks, 3);
    CHECK_EQ_INT(c.retransmit_mult, 4);
    CHECK_EQ_INT(c.suspicion_mult, 4);
    CHECK_EQ_INT(c.suspicion_max_timeout_mult, 6);
    CHECK_EQ_INT(c.awareness_max_multiplier, 8);
    CHECK_EQ_INT(c.gossip_nodes, 3);
    CHECK_EQ_INT(c.udp_buffer_size, 1400);
    CHECK_EQ_INT(c.dead_node_reclaim_time, 0);
    CHECK(!c.disable_tcp_pings);
    uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    CHECK_MEM(c.vsn, 6, vsn, 6);
    REQUIRE(swim_config_profile(&c, "wan") == 0);
    CHECK_EQ_INT(c.tcp_timeout, 30000);
    CHECK_EQ_INT(c.suspicion_mult, 6);
    CHECK_EQ_INT(c.push_pull_interval, 60000);
    CHECK_EQ_INT(c.probe_interval, 5000);
    CHECK_EQ_INT(c.probe_timeout, 3000);
    CHECK_EQ_INT(c.gossip_interval, 500);
    CHECK_EQ_INT(c.gossip_nodes, 4);
    CHECK_EQ_INT(c.gossip_to_the_dead_time, 60000);
    CHECK_EQ_INT(c.indirect_checks, 3);
    REQUIRE(swim_config_profile(&c, "local") == 0);
    CHECK_EQ_INT(c.tcp_timeout, 1000);
    CHECK_EQ_INT(c.indirect_checks, 1);
    CHECK_EQ_INT(c.retransmit_mult, 2);
    CHECK_EQ_INT(c.suspicion_mult, 3);
    CHECK_EQ_INT(c.push_pull_interval, 15000);
    CHECK_EQ_INT(c.probe_interval, 1000);
    CHECK_EQ_INT(c.probe_timeout, 200);
    CHECK_EQ_INT(c.gossip_interval, 100);
    CHECK_EQ_INT(c.gossip_to_the_dead_time, 15000);

    /* every knob of every profile, through the table */
    static const char *const profiles[] = { "lan", "wan", "local" };
    REQUIRE(swim_knob_count() == NMEMBERLIST);
    for (size_t p = 0; p < 3; p++) {
        memset(&c, 0xa5, sizeof c);
        REQUIRE(swim_config_profile(&c, profiles[p]) == 0);
        CHECK_EQ_INT(c.packet_overhead, 0);
        for (size_t i = 0; i < NMEMBERLIST; i++) {
            const swim_knob *k = swim_knob_at(i);
            REQUIRE(k);
            CHECKF(strcmp(k->name, memberlist[i].name) == 0, "row %zu is %s", i, k->name);
            uint32_t want = p == 0 ? memberlist[i].lan : p == 1 ? memberlist[i].wan : memberlist[i].local;
            uint32_t row = p == 0 ? k->lan : p == 1 ? k->wan : k->local;
            CHECKF(swim_knob_get(&c, i) == want, "%s %s: %llu, memberlist %u", profiles[p], k->name,
                   (unsigned long long)swim_knob_get(&c, i), want);
            CHECKF(row == want, "%s %s: row %u", profiles[p], k->name, row);
            CHECKF(swim_knob_accepts(k, want), "%s %s: default out of bounds", profiles[p], k->name);
        }
        CHECKF(swim_config_check_knobs(&c, 0, NULL, 0) == NULL, "%s", profiles[p]);
    }
}

/* The table itself: flags are names with '-' for '_', lookups, accessors
 * for each kind, how a value reads. */
static void test_table(void)
{
    CHECK(swim_knob_at(swim_knob_count()) == NULL);
    for (size_t i = 0; i < swim_knob_count(); i++) {
        const swim_knob *k = swim_knob_at(i);
        char flag[64];
        snprintf(flag, sizeof flag, "%s", k->name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        CHECKF(strcmp(k->flag, flag) == 0, "%s: flag %s", k->name, k->flag);
        CHECKF(swim_knob_find(k->name) == (int)i, "%s", k->name);
        CHECKF(k->min <= k->max && k->help && k->help[0], "%s", k->name);
        CHECKF(k->kind != SWIM_KNOB_KIND_BOOL || (k->min == 0 && k->max == 1), "%s", k->name);
    }
    CHECK(swim_knob_find("probe-interval") == -1);
    CHECK(swim_knob_find("seed") == -1);
    CHECK_EQ_INT(swim_knob_find("probe_timeout"), SWIM_KNOB_ID(probe_timeout));

    swim_config c;
    memset(&c, 0, sizeof c);
    swim_knob_set(&c, SWIM_KNOB_ID(gossip_nodes), 7);
    CHECK_EQ_INT(c.gossip_nodes, 7);
    swim_knob_set(&c, SWIM_KNOB_ID(disable_tcp_pings), 5);
    CHECK(c.disable_tcp_pings);
    CHECK_EQ_INT(swim_knob_get(&c, SWIM_KNOB_ID(disable_tcp_pings)), 1);
    c.tcp_timeout = 1234;
    CHECK_EQ_INT(swim_knob_get(&c, SWIM_KNOB_ID(tcp_timeout)), 1234);
    /* the neighbours of a bool are untouched */
    CHECK_EQ_INT(c.udp_buffer_size, 0);

    char buf[32];
    swim_knob_format(swim_knob_at(SWIM_KNOB_ID(probe_interval)), 800, buf, sizeof buf);
    CHECK(strcmp(buf, "800 ms") == 0);
    swim_knob_format(swim_knob_at(SWIM_KNOB_ID(gossip_nodes)), 3, buf, sizeof buf);
    CHECK(strcmp(buf, "3") == 0);
    swim_knob_format(swim_knob_at(SWIM_KNOB_ID(disable_tcp_pings)), 1, buf, sizeof buf);
    CHECK(strcmp(buf, "true") == 0);
}

/* Every bound and every rule across knobs refuses, naming the knob: in
 * swim_config_check's static sentence, and with the values, spelled as
 * keys or flags, in swim_config_check_knobs's. */
static void test_knob_rules(void)
{
    swim_config c;
    base(&c, "n1");
    char buf[256];
    CHECK(swim_config_check_knobs(&c, 0, buf, sizeof buf) == NULL);

    for (size_t i = 0; i < swim_knob_count(); i++) {
        const swim_knob *k = swim_knob_at(i);
        if (k->kind == SWIM_KNOB_KIND_BOOL)
            continue;                       /* a bool holds nothing but 0 and 1 */
        uint64_t bad[2] = { (uint64_t)k->max + 1, k->min ? k->min - 1 : k->max + 1 };
        for (size_t j = 0; j < 2; j++) {
            swim_config b = c;
            swim_knob_set(&b, i, bad[j]);
            const char *why = swim_config_check(&b);
            CHECKF(why && strstr(why, k->name) && strstr(why, " must be in "), "%s: %s", k->name, why);
            why = swim_config_check_knobs(&b, SWIM_KNOB_BIT(i), buf, sizeof buf);
            char want[128];
            snprintf(want, sizeof want, "-%s (", k->flag);
            CHECKF(why && strncmp(buf, want, strlen(want)) == 0 && strstr(buf, "must be in"), "%s: %s", k->name,
                   buf);
        }
    }
    swim_config b = c;
    b.probe_interval = 0;
    CHECK(swim_config_check_knobs(&b, 0, buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "probe_interval (0 ms) must be in 1..86400000 ms") == 0);
    b = c;
    b.udp_buffer_size = 511;
    CHECK(swim_config_check_knobs(&b, 0, buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "udp_buffer_size (511) must be in 512..65536") == 0);

    /* the ack is due before the next probe */
    b = c;
    b.probe_timeout = b.probe_interval;
    CHECK(strcmp(swim_config_check(&b), "probe_timeout must be shorter than probe_interval") == 0);
    CHECK(swim_config_check_knobs(&b, 0, buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "probe_timeout (1000 ms) must be shorter than probe_interval (1000 ms)") == 0);
    CHECK(swim_config_check_knobs(&b, UINT64_MAX, buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "-probe-timeout (1000 ms) must be shorter than -probe-interval (1000 ms)") == 0);
    CHECK(swim_config_check_knobs(&b, SWIM_KNOB_BIT(SWIM_KNOB_ID(probe_interval)), buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "probe_timeout (1000 ms) must be shorter than -probe-interval (1000 ms)") == 0);
    b.probe_timeout = b.probe_interval - 1;
    CHECK(swim_config_check(&b) == NULL);

    /* the interval stretched by awareness stays in 32 bits */
    b = c;
    b.probe_interval = SWIM_KNOB_DAY_MS;
    b.awareness_max_multiplier = 49;       /* 4.23e9 ms */
    CHECK(swim_config_check(&b) == NULL);
    b.awareness_max_multiplier = 50;       /* 4.32e9 ms */
    CHECK(strcmp(swim_config_check(&b), "probe_interval times awareness_max_multiplier must stay below 2^32 ms") == 0);
    CHECK(swim_config_check_knobs(&b, 0, buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "probe_interval (86400000 ms) times awareness_max_multiplier (50) must stay below 2^32 ms") == 0);

    /* a knob against the I/O side's framing */
    b = c;
    b.packet_overhead = b.udp_buffer_size - 63;
    CHECK(strcmp(swim_config_check(&b), "udp_buffer_size must leave 64 bytes beyond packet_overhead") == 0);
    CHECK(swim_config_check_knobs(&b, 0, NULL, 0) == NULL);   /* not a knob rule */
    b.packet_overhead = b.udp_buffer_size - 64;
    CHECK(swim_config_check(&b) == NULL);
}

static void test_check(void)
{
    swim_config c;
    base(&c, "n1");
    CHECK(swim_config_check(&c) == NULL);
    swim_config bad = c;
    bad.name[0] = 0;
    CHECK(swim_config_check(&bad) != NULL);
    bad = c;
    bad.advertise.ip_len = 5;
    CHECK(swim_config_check(&bad) != NULL);
    bad = c;
    bad.probe_interval = 0;
    CHECK(swim_config_check(&bad) != NULL);
    bad = c;
    bad.vsn[0] = 0;
    CHECK(swim_config_check(&bad) != NULL);
    bad = c;
    bad.meta_len = 513;
    CHECK(swim_config_check(&bad) != NULL);
    swim_io io;
    memset(&io, 0, sizeof io);
    CHECK(swim_new(&bad, &io, 0) == NULL);
    bad = c;
    bad.probe_timeout = 2000;
    CHECK(swim_new(&bad, &io, 0) == NULL);
}

static void test_new_core(void)
{
    swim_config c;
    base(&c, "n1");
    memcpy(c.meta, "m", 1);
    c.meta_len = 1;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.event = on_event;
    swim *s = swim_new(&c, &io, 1000);
    REQUIRE(s);
    /* memberlist notifies a join for the local node too */
    CHECK_EQ_INT(events_seen, 1);
    CHECK_EQ_INT(last_type, SWIM_EV_JOIN);
    CHECK(strcmp(last_name, "n1") == 0);
    swim_member m;
    REQUIRE(swim_member_get(s, "n1", &m));
    CHECK_EQ_INT(m.state, SWIM_ALIVE);
    CHECK_EQ_INT(m.incarnation, 1);
    CHECK_EQ_INT(m.meta_len, 1);
    CHECK_EQ_INT(m.state_change, 1000);
    CHECK_EQ_INT(swim_member_count(s), 1);
    CHECK_EQ_INT(swim_alive_count(s), 1);
    CHECK_EQ_INT(swim_health_score(s), 0);
    CHECK(!swim_member_get(s, "nope", &m));
    /* the first probe comes after a random stagger and one interval */
    swim_time d = swim_next_deadline(s);
    CHECK(d > 1000 && d <= 1000 + 2 * 200);
    CHECK_EQ_INT(strcmp(swim_state_name(SWIM_SUSPECT), "suspect"), 0);
    /* meta update: incarnation + 1, an update event */
    CHECK(swim_set_meta(s, 1500, (const uint8_t *)"xy", 2) == 0);
    REQUIRE(swim_member_get(s, "n1", &m));
    CHECK_EQ_INT(m.incarnation, 2);
    CHECK_EQ_INT(last_type, SWIM_EV_UPDATE);
    uint8_t big[513] = { 0 };
    CHECK(swim_set_meta(s, 1500, big, sizeof big) == -1);
    swim_free(s);
}

static void test_formulas(void)
{
    /* §10.4 LAN examples */
    swim_time min10 = swim_suspicion_min_timeout(4, 10, 1000);
    CHECK_EQ_INT(min10, 4000);
    CHECK_EQ_INT(swim_suspicion_min_timeout(4, 3, 1000), 4000);
    CHECK_EQ_INT(swim_suspicion_min_timeout(4, 100, 1000), 8000);
    CHECK_EQ_INT(swim_suspicion_min_timeout(4, 1, 1000), 4000);
    CHECK_EQ_INT(swim_suspicion_min_timeout(4, 50, 1000), 6792); /* 4 * trunc(1000*log10 50) ms */
    CHECK_EQ_INT(swim_suspicion_timeout(0, 2, 4000, 24000), 24000);
    CHECK_EQ_INT(swim_suspicion_timeout(1, 2, 4000, 24000), 11381);
    CHECK_EQ_INT(swim_suspicion_timeout(2, 2, 4000, 24000), 4000);
    /* §11.1 */
    CHECK_EQ_INT(swim_retransmit_limit(4, 1), 4);
    CHECK_EQ_INT(swim_retransmit_limit(4, 9), 4);
    CHECK_EQ_INT(swim_retransmit_limit(4, 10), 8);
    CHECK_EQ_INT(swim_retransmit_limit(4, 99), 8);
    CHECK_EQ_INT(swim_retransmit_limit(4, 999), 12);
    /* §12 */
    CHECK_EQ_INT(swim_push_pull_scale(30000, 32), 30000);
    CHECK_EQ_INT(swim_push_pull_scale(30000, 33), 60000);
    CHECK_EQ_INT(swim_push_pull_scale(30000, 64), 60000);
    CHECK_EQ_INT(swim_push_pull_scale(30000, 65), 90000);
    CHECK_EQ_INT(swim_push_pull_scale(30000, 256), 120000);
}

int main(void)
{
    test_profiles();
    test_table();
    test_knob_rules();
    test_check();
    test_new_core();
    test_formulas();
    return check_done("test_swim_config");
}
