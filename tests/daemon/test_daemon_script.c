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
                 "  disable_tcp_pings = false, max_stream_bytes = 100000, max_members = 600,\n"
                 "  allow_cidrs = { '10.0.0.0/8', 'fd00::/8' },\n"
                 "}\n");
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "";
    const char *argv[] = { "-probe-timeout", "900ms", "-tcp-timeout", "5s", "-dead-node-reclaim-time", "0",
                           "-retransmit-mult", "2", "-suspicion-max-timeout-mult", "3", "-gossip-nodes", "1",
                           "-disable-tcp-pings", "-max-members", "500" };
    CHECKF(run(&o, &h, err, sizeof err, 15, argv) == 0, "%s", err);
    REQUIRE(h);
    static const uint64_t want[] = { 2000, 900, 300, 40000, 5000, 50000, 0, 7, 2, 9, 3, 11, 1, 1300, 1, 100000, 500 };
    REQUIRE(swim_knob_count() == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < swim_knob_count(); i++)
        CHECKF(swim_knob_get(&o.net.swim, i) == want[i], "%s: %llu, want %llu", swim_knob_at(i)->name,
               (unsigned long long)swim_knob_get(&o.net.swim, i), (unsigned long long)want[i]);
    CHECK_EQ_INT(o.net.swim.nallow_cidrs, 2); /* the script's, no -allow-cidr given */
    CHECK(o.net.swim.allow_cidrs[0].bits == 8 && o.net.swim.allow_cidrs[1].ip_len == 16);
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

    write_script("local agent = require 'moonlist'\nagent.config { allow_cidrs = { '10.0.0.0/8', '10.0.0.1' } }\n");
    CHECK(run(&o, &h, err, sizeof err, 0, NULL) < 0 && h == NULL);
    CHECKF(strstr(err, "'10.0.0.1' is not a network") != NULL, "%s", err);
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

/* serf's agent keys: the script's, each flag over its key, the handlers'
 * filters checked, the tags file read (and refused beside tags). */
static void test_serf_agent_keys(void)
{
    char tags[] = "/tmp/mlua_tags_XXXXXX";
    int fd = mkstemp(tags);
    REQUIRE(fd >= 0);
    const char *json = "{\"role\": \"db\"}";
    REQUIRE(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
    close(fd);
    char code[1024];
    snprintf(code, sizeof code,
             "local agent = require 'moonlist'\n"
             "agent.config {\n"
             "  retry_join = { '10.0.0.1', 'seed.example' }, retry_interval = 2.5, retry_max = 3,\n"
             "  leave_on_terminate = true, skip_leave_on_interrupt = true, tags_file = '%s',\n"
             "  event_handlers = { 'member-join=a.sh', 'b.sh' }, rpc_auth = 'from-script',\n"
             "  snapshot_path = '/var/lib/script.snap', rejoin_after_leave = true,\n"
             "}\n",
             tags);
    write_script(code);
    daemon_opts o;
    mlua *h = NULL;
    char err[512] = "", want[600];
    CHECKF(run(&o, &h, err, sizeof err, 0, NULL) == 0, "%s", err);
    REQUIRE(h);
    CHECK(o.nretry_join == 2 && strcmp(o.retry_join[1], "seed.example") == 0);
    CHECK_EQ_INT(o.retry_interval_ms, 2500);
    CHECK_EQ_INT(o.retry_max, 3);
    CHECK(o.leave_on_terminate && o.skip_leave_on_interrupt);
    CHECK(strcmp(o.tags_file, tags) == 0);
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, "\xff\x81\xa4role\xa2" "db", 10);   /* from the file */
    CHECK(o.nevent_handlers == 2 && strcmp(o.event_handlers[0], "member-join=a.sh") == 0);
    CHECK(strcmp(o.rpc_auth, "from-script") == 0);
    CHECK(strcmp(o.snapshot, "/var/lib/script.snap") == 0 && o.rejoin);
    daemon_opts_free(&o);
    mlua_free(h);

    /* flags win, key by key */
    const char *argv[] = { "-retry-join", "10.0.0.9", "-retry-interval", "7s", "-retry-max", "0",
                           "-leave-on-terminate=false", "-skip-leave-on-interrupt=false", "-event-handler", "c.sh",
                           "-tags-file", "/nonexistent/t.json", "-rpc-auth", "from-flag", "-snapshot", "flag.snap",
                           "-rejoin=false" };
    CHECKF(run(&o, &h, err, sizeof err, 17, argv) == 0, "%s", err);
    REQUIRE(h);
    CHECK(o.nretry_join == 1 && strcmp(o.retry_join[0], "10.0.0.9") == 0);
    CHECK(o.retry_interval_ms == 7000 && o.retry_max == 0);
    CHECK(!o.leave_on_terminate && !o.skip_leave_on_interrupt);
    CHECK(o.nevent_handlers == 1 && strcmp(o.event_handlers[0], "c.sh") == 0);
    CHECK(strcmp(o.tags_file, "/nonexistent/t.json") == 0);
    CHECK(strcmp(o.rpc_auth, "from-flag") == 0);
    CHECK(strcmp(o.snapshot, "flag.snap") == 0 && !o.rejoin);
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, "\xff\x80", 2);   /* a missing file: no tags */
    daemon_opts_free(&o);
    mlua_free(h);
    /* serf refuses tags beside a tags file: -tag with the script's file */
    const char *tag[] = { "-tag", "a=b" };
    CHECK(run(&o, &h, err, sizeof err, 2, tag) < 0 && strstr(err, "tags (-tag) cannot be used with a tags file (key 'tags_file')"));
    daemon_opts_free(&o);
    unlink(script);

    /* the script's tags with -tags-file; an empty tags table is no tags */
    write_script("local agent = require 'moonlist'\nagent.config { tags = { role = 'web' } }\n");
    const char *tf[] = { "-tags-file", tags };
    CHECK(run(&o, &h, err, sizeof err, 2, tf) < 0 && strstr(err, "tags (key 'tags') cannot be used with a tags file (-tags-file)"));
    daemon_opts_free(&o);
    unlink(script);
    write_script("local agent = require 'moonlist'\nagent.config { tags = {} }\n");
    CHECKF(run(&o, &h, err, sizeof err, 2, tf) == 0, "%s", err);
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, "\xff\x81\xa4role\xa2" "db", 10);
    daemon_opts_free(&o);
    mlua_free(h);
    unlink(script);

    /* a bad filter names the script, the line and the key; bad values too */
    write_script("local agent = require 'moonlist'\n\nagent.config { event_handlers = 'member-joined=x' }\n");
    CHECK(run(&o, &h, err, sizeof err, 0, NULL) < 0);
    snprintf(want, sizeof want, "%s:3: agent.config: key 'event_handlers': 'member-joined=x': unknown event 'member-joined'", script);
    CHECKF(strstr(err, want) != NULL, "%s", err);
    daemon_opts_free(&o);
    unlink(script);
    static const struct { const char *code, *why; } bad[] = {
        { "retry_interval = 0.5", "key 'retry_interval' must be a number of seconds in 1..86400" },
        { "retry_interval = '30s'", "key 'retry_interval' must be a number of seconds in 1..86400" },
        { "retry_max = 1.5", "key 'retry_max' must be an integer in 0..1000000" },
        { "retry_max = -1", "key 'retry_max' must be an integer in 0..1000000" },
        { "retry_join = { 'a b' }", "key 'retry_join' 'a b' is not host[:port]" },
        { "leave_on_terminate = 'yes'", "key 'leave_on_terminate' must be true or false" },
        { "skip_leave_on_interrupt = 1", "key 'skip_leave_on_interrupt' must be true or false" },
        { "tags_file = ''", "key 'tags_file' must be a file path" },
        { "tags_file = 3", "key 'tags_file' must be a string" },
        { "snapshot_path = ''", "key 'snapshot_path' must be a file path" },
        { "rejoin_after_leave = 'yes'", "key 'rejoin_after_leave' must be true or false" },
        { "event_handlers = { 'a.sh', '' }", "key 'event_handlers' must not hold an empty string" },
        { "event_handlers = { x = 'a.sh' }", "key 'event_handlers' must be a list (array) of strings" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(code, sizeof code, "local agent = require 'moonlist'\nagent.config { %s }\n", bad[i].code);
        write_script(code);
        CHECKF(run(&o, &h, err, sizeof err, 0, NULL) < 0 && strstr(err, bad[i].why), "%s: %s", bad[i].code, err);
        daemon_opts_free(&o);
        unlink(script);
    }
    unlink(tags);
}

int main(void)
{
    test_script_over_defaults();
    test_flags_win();
    test_every_knob();
    test_refuses_bad_script();
    test_serf_agent_keys();
    return check_done("test_script_opts");
}
