/* Profiles (§13), config validation, a fresh core's own member, and the
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
    test_check();
    test_new_core();
    test_formulas();
    return check_done("test_swim_config");
}
