/* agent.config meets the command line: a flag given explicitly wins, the
 * script wins over the defaults; a bad script stops the agent with
 * file:line and key. */
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_script.h"

static char script[64];

static void write_script(const char *code)
{
    snprintf(script, sizeof script, "/tmp/mlua_opts_XXXXXX");
    int fd = mkstemp(script);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, code, strlen(code)) == (ssize_t)strlen(code));
    close(fd);
}

/* parse flags (+ -config script), load, apply */
static int run(daemon_opts *o, mlua **h, char *err, size_t errlen, int argc, const char **argv)
{
    char *av[32];
    int n = 0;
    for (int i = 0; i < argc; i++)
        av[n++] = (char *)argv[i];
    av[n++] = "-config";
    av[n++] = script;
    av[n++] = "-node";
    av[n++] = "flagnode";
    int rc = daemon_opts_parse(o, n, av, err, errlen);
    CHECKF(rc == 0, "flags: %s", err);
    REQUIRE(rc == 0);
    return daemon_script_load(o, h, err, errlen);
}

static const char *full =
    "local agent = require 'moonlist'\n"
    "agent.config {\n"
    "  node = 'scriptnode', bind = '127.0.0.2:8000', advertise = '127.0.0.3:8001', rpc_addr = '127.0.0.1:9000',\n"
    "  join = { '127.0.0.9:7000', 'other.example' }, profile = 'wan', probe_interval = 2, probe_timeout = 0.7,\n"
    "  gossip_nodes = 5, suspicion_max_timeout_mult = 3, tags = { role = 'db' }, log_level = 'warn', label = 'L',\n"
    "  encrypt = 'AAAAAAAAAAAAAAAAAAAAAA==',\n"
    "}\n";

static void test_script_over_defaults(void)
{
    write_script(full);
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "";
    const char *argv[] = { "-log-level", "debug" };
    CHECKF(run(&o, &h, err, sizeof err, 2, argv) == 0, "%s", err);
    REQUIRE(h);
    CHECK(strcmp(o.net.swim.name, "flagnode") == 0);        /* -node given */
    CHECK(strcmp(o.net.bind_host, "127.0.0.2") == 0 && o.net.bind_port == 8000);
    CHECK(strcmp(o.net.advertise_host, "127.0.0.3") == 0 && o.net.advertise_port == 8001);
    CHECK(strcmp(o.rpc_host, "127.0.0.1") == 0 && o.rpc_port == 9000);
    CHECK(o.njoin == 2 && strcmp(o.join[1], "other.example") == 0);
    CHECK(strcmp(o.profile, "wan") == 0);
    CHECK_EQ_INT(o.net.swim.probe_interval, 2000);
    CHECK_EQ_INT(o.net.swim.probe_timeout, 700);
    CHECK_EQ_INT(o.net.swim.gossip_nodes, 5);
    CHECK_EQ_INT(o.net.swim.suspicion_max_timeout_mult, 3);
    CHECK_EQ_INT(o.net.swim.suspicion_mult, 6);              /* wan's */
    static const uint8_t meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa2, 'd', 'b' };
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, meta, sizeof meta);
    CHECK_EQ_INT(o.log_level, BASE_LOG_DEBUG);                /* -log-level given */
    CHECK_EQ_INT(o.net.keyring.n, 1);
    CHECK(o.net.frame.label_len == 1 && o.net.frame.label[0] == 'L');
    daemon_opts_free(&o);
    mlua_free(h);
    unlink(script);
}

static void test_flags_win(void)
{
    write_script(full);
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "";
    const char *argv[] = { "-bind", "127.0.0.5:7777", "-profile", "lan", "-probe-interval", "3s", "-tag", "role=web",
                           "-join", "127.0.0.8", "-rpc-addr", "127.0.0.1:9999" };
    CHECKF(run(&o, &h, err, sizeof err, 12, argv) == 0, "%s", err);
    REQUIRE(h);
    CHECK(strcmp(o.net.bind_host, "127.0.0.5") == 0 && o.net.bind_port == 7777);
    CHECK(strcmp(o.profile, "lan") == 0);
    CHECK_EQ_INT(o.net.swim.probe_interval, 3000);           /* flag */
    CHECK_EQ_INT(o.net.swim.probe_timeout, 700);             /* script, on lan */
    CHECK_EQ_INT(o.net.swim.suspicion_mult, 4);              /* lan's, not wan's */
    CHECK_EQ_INT(o.net.swim.gossip_nodes, 5);                /* script */
    static const uint8_t meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b' };
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, meta, sizeof meta);
    CHECK(o.njoin == 1 && strcmp(o.join[0], "127.0.0.8") == 0);
    CHECK(o.rpc_port == 9999);
    CHECK_EQ_INT(o.log_level, BASE_LOG_WARN);                 /* script */
    daemon_opts_free(&o);
    mlua_free(h);
    unlink(script);
}

/* Every knob, through the table: the flag's value where one is given, the
 * script's elsewhere. */
static void test_every_knob(void)
{
    write_script("local agent = require 'moonlist'\n"
                 "agent.config {\n"
                 "  probe_interval = 2, probe_timeout = 0.3, gossip_interval = 0.3, push_pull_interval = 40,\n"
                 "  tcp_timeout = 4, gossip_to_the_dead_time = 50, dead_node_reclaim_time = 6,\n"
                 "  indirect_checks = 7, retransmit_mult = 8, suspicion_mult = 9, suspicion_max_timeout_mult = 10,\n"
                 "  awareness_max_multiplier = 11, gossip_nodes = 12, udp_buffer_size = 1300,\n"
                 "  disable_tcp_pings = false,\n"
                 "}\n");
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "";
    const char *argv[] = { "-probe-timeout", "900ms", "-tcp-timeout", "5s", "-dead-node-reclaim-time", "0",
                           "-retransmit-mult", "2", "-suspicion-max-timeout-mult", "3", "-gossip-nodes", "1",
                           "-disable-tcp-pings" };
    CHECKF(run(&o, &h, err, sizeof err, 13, argv) == 0, "%s", err);
    REQUIRE(h);
    static const uint64_t want[] = { 2000, 900, 300, 40000, 5000, 50000, 0, 7, 2, 9, 3, 11, 1, 1300, 1 };
    REQUIRE(swim_knob_count() == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < swim_knob_count(); i++)
        CHECKF(swim_knob_get(&o.net.swim, i) == want[i], "%s: %llu, want %llu", swim_knob_at(i)->name,
               (unsigned long long)swim_knob_get(&o.net.swim, i), (unsigned long long)want[i]);
    daemon_opts_free(&o);
    mlua_free(h);
    unlink(script);
}

static void test_refuses_bad_script(void)
{
    write_script("local agent = require 'moonlist'\n\nagent.config { bind = '127.0.0.1:7946', gossip_nodez = 3 }\n");
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "", want[256];
    CHECK(run(&o, &h, err, sizeof err, 0, NULL) < 0 && h == NULL);
    snprintf(want, sizeof want, "%s:3: agent.config: unknown key 'gossip_nodez'", script);
    CHECKF(strstr(err, want) != NULL, "%s", err);
    daemon_opts_free(&o);
    unlink(script);

    /* a long config block: the error names the line of the bad key, not of
     * the call; a nested table or a comment with the same name does not
     * mislead it */
    write_script("local agent = require 'moonlist'\n"
                 "agent.config {\n"
                 "  node = 'x', -- probe_interval = 1\n"
                 "  tags = { probe_interval = 'a' },\n"
                 "  bind = '127.0.0.1:7946',\n"
                 "  probe_interval = '1s',\n"
                 "}\n");
    CHECK(run(&o, &h, err, sizeof err, 0, NULL) < 0 && h == NULL);
    snprintf(want, sizeof want, "%s:6: agent.config: key 'probe_interval' must be a number of seconds", script);
    CHECKF(strstr(err, want) != NULL, "%s", err);
    daemon_opts_free(&o);
    unlink(script);

    /* the merged result is checked too: a flag against the script, each
     * named as the operator wrote it */
    write_script("local agent = require 'moonlist'\nagent.config { probe_timeout = 0.9 }\n");
    const char *argv[] = { "-probe-interval", "800ms" };
    CHECK(run(&o, &h, err, sizeof err, 2, argv) < 0);
    snprintf(want, sizeof want, "%s:2: agent.config: probe_timeout (900 ms) must be shorter than -probe-interval (800 ms)",
             script);
    CHECKF(strcmp(err, want) == 0, "%s", err);
    daemon_opts_free(&o);
    unlink(script);
}

int main(void)
{
    test_script_over_defaults();
    test_flags_win();
    test_every_knob();
    test_refuses_bad_script();
    return check_done("test_script_opts");
}
