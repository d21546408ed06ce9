/* `moonlist agent` flags: defaults, the three flag forms, repeatable
 * flags, tags to meta, and clear errors for bad values. */
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_opts.h"

#define PARSE(o, ...) ({ char *argv_[] = { __VA_ARGS__ }; \
    daemon_opts_parse((o), (int)(sizeof argv_ / sizeof argv_[0]), argv_, err, sizeof err); })

int main(void)
{
    char err[512];
    daemon_opts o;

    /* defaults: hostname, 0.0.0.0:7946, 127.0.0.1:7373, lan, no tags */
    REQUIRE(daemon_opts_parse(&o, 0, NULL, err, sizeof err) == 0);
    char host[256];
    REQUIRE(gethostname(host, sizeof host) == 0);
    CHECK(strcmp(o.net.swim.name, host) == 0);
    CHECK(strcmp(o.net.bind_host, "0.0.0.0") == 0 && o.net.bind_port == 7946);
    CHECK(o.net.advertise_host[0] == '\0');
    CHECK(strcmp(o.rpc_host, "127.0.0.1") == 0 && o.rpc_port == 7373);
    CHECK(strcmp(o.profile, "lan") == 0);
    CHECK_EQ_INT(o.net.swim.probe_interval, 1000);
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, "\xff\x80", 2);
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    CHECK_MEM(o.net.swim.vsn, 6, vsn, 6);
    CHECK(o.net.frame.compress);
    CHECK_EQ_INT(o.net.keyring.n, 0);
    CHECK_EQ_INT(o.log_level, BASE_LOG_INFO);
    /* serf's agent: no retry-join, 30 s, forever; SIGINT leaves, SIGTERM
     * does not; no tags file, no handlers */
    CHECK(o.nretry_join == 0 && o.retry_interval_ms == 30000 && o.retry_max == 0);
    CHECK(!o.leave_on_terminate && !o.skip_leave_on_interrupt);
    CHECK(o.tags_file[0] == '\0' && o.nevent_handlers == 0);
    /* serf's layer: its defaults (0), no keyring file, no replay */
    CHECK(o.keyring_file[0] == '\0' && !o.replay && !o.disable_name_resolution);
    CHECK(o.reconnect_interval_ms == 0 && o.reconnect_timeout_ms == 0 && o.tombstone_timeout_ms == 0);
    CHECK(o.user_event_size_limit == 0 && o.query_size_limit == 0 && o.query_response_size_limit == 0);
    daemon_opts_free(&o);

    /* serf's layer flags */
    REQUIRE(PARSE(&o, "-keyring-file", "/tmp/kr", "-replay", "-reconnect-interval", "5s", "-reconnect-timeout", "72h",
                  "-tombstone-timeout", "90s", "-user-event-size-limit", "2048", "-query-size-limit", "4096",
                  "-query-response-size-limit", "1500", "-disable-name-resolution") == 0);
    CHECK(strcmp(o.keyring_file, "/tmp/kr") == 0 && o.replay && o.disable_name_resolution);
    CHECK(o.reconnect_interval_ms == 5000 && o.reconnect_timeout_ms == 259200000ull && o.tombstone_timeout_ms == 90000);
    CHECK(o.user_event_size_limit == 2048 && o.query_size_limit == 4096 && o.query_response_size_limit == 1500);
    daemon_opts_free(&o);
    /* serf: "Encryption key not allowed while using a keyring" */
    CHECK(PARSE(&o, "-keyring-file", "/tmp/kr", "-encrypt", "cg8StVXbQJ0gPvMd9o7yrg==") < 0 &&
          strstr(err, "-encrypt cannot be used with -keyring-file"));
    CHECK(PARSE(&o, "-keyring-file", "") < 0 && strstr(err, "-keyring-file"));
    CHECK(PARSE(&o, "-tombstone-timeout", "0s") < 0 && strstr(err, "-tombstone-timeout"));
    CHECK(PARSE(&o, "-tombstone-timeout", "9000h") < 0 && strstr(err, "-tombstone-timeout"));
    CHECK(PARSE(&o, "-reconnect-interval", "soon") < 0 && strstr(err, "-reconnect-interval"));
    /* serf's ceiling on UserEventSizeLimit: 9 KiB */
    CHECK(PARSE(&o, "-user-event-size-limit", "9217") < 0 && strstr(err, "1..9216"));
    CHECK(PARSE(&o, "-query-size-limit", "0") < 0 && strstr(err, "-query-size-limit"));

    /* -allow-cidr: repeatable, none by default, a clear error for a bad one */
    REQUIRE(daemon_opts_parse(&o, 0, NULL, err, sizeof err) == 0);
    CHECK_EQ_INT(o.net.swim.nallow_cidrs, 0);
    daemon_opts_free(&o);
    REQUIRE(PARSE(&o, "-allow-cidr", "10.0.0.0/8", "--allow-cidr=fd00::/8") == 0);
    CHECK_EQ_INT(o.net.swim.nallow_cidrs, 2);
    CHECK(o.net.swim.allow_cidrs[0].bits == 8 && o.net.swim.allow_cidrs[1].ip_len == 16);
    daemon_opts_free(&o);
    CHECK(PARSE(&o, "-allow-cidr", "10.0.0.1") < 0 && strstr(err, "-allow-cidr: '10.0.0.1'"));

    /* serf's agent flags: joins retried, signals, tags file, handlers */
    REQUIRE(PARSE(&o, "-retry-join", "10.0.0.1", "--retry-join=seed.example:7000", "-retry-interval", "1s",
                  "-retry-max=2", "-leave-on-terminate", "-skip-leave-on-interrupt", "-tags-file", "/var/lib/t.json",
                  "-event-handler", "/bin/handle", "-event-handler=member-join,user:deploy=echo a=b") == 0);
    REQUIRE(o.nretry_join == 2);
    CHECK(strcmp(o.retry_join[0], "10.0.0.1") == 0 && strcmp(o.retry_join[1], "seed.example:7000") == 0);
    CHECK_EQ_INT(o.retry_interval_ms, 1000);
    CHECK_EQ_INT(o.retry_max, 2);
    CHECK(o.leave_on_terminate && o.skip_leave_on_interrupt);
    CHECK(strcmp(o.tags_file, "/var/lib/t.json") == 0);
    REQUIRE(o.nevent_handlers == 2);
    CHECK(strcmp(o.event_handlers[1], "member-join,user:deploy=echo a=b") == 0);
    daemon_opts_free(&o);
    REQUIRE(PARSE(&o, "-retry-interval", "2m", "-leave-on-terminate=false", "-retry-max", "0") == 0);
    CHECK(o.retry_interval_ms == 120000 && !o.leave_on_terminate && o.retry_max == 0);
    daemon_opts_free(&o);
    CHECK(PARSE(&o, "-retry-interval", "500ms") == -1 && strstr(err, "-retry-interval: '500ms'"));
    CHECK(PARSE(&o, "-retry-interval", "soon") == -1 && strstr(err, "-retry-interval"));
    CHECK(PARSE(&o, "-retry-max", "-1") == -1 && strstr(err, "-retry-max"));
    CHECK(PARSE(&o, "-retry-max", "many") == -1 && strstr(err, "-retry-max: 'many'"));
    CHECK(PARSE(&o, "-retry-join", "1.2.3.4:99999") == -1 && strstr(err, "-retry-join"));
    CHECK(PARSE(&o, "-event-handler", "member-joined=x") == -1 &&
          strstr(err, "-event-handler 'member-joined=x': unknown event 'member-joined'"));
    CHECK(PARSE(&o, "-event-handler", "echo a=b") == -1 && strstr(err, "unknown event 'echo a'"));
    CHECK(PARSE(&o, "-tags-file", "t.json", "-tag", "a=b") == -1 && strstr(err, "-tag cannot be used with -tags-file"));
    CHECK(PARSE(&o, "-tags-file", "") == -1 && strstr(err, "-tags-file"));

    /* serf's snapshot: a path, and rejoin after a graceful leave */
    REQUIRE(PARSE(&o, "-snapshot", "/var/lib/serf.snap", "-rejoin") == 0);
    CHECK(strcmp(o.snapshot, "/var/lib/serf.snap") == 0 && o.rejoin);
    daemon_opts_free(&o);
    REQUIRE(PARSE(&o, "-node", "n") == 0);
    CHECK(o.snapshot[0] == '\0' && !o.rejoin);
    daemon_opts_free(&o);
    REQUIRE(PARSE(&o, "--snapshot=s.snap", "-rejoin=false") == 0);
    CHECK(strcmp(o.snapshot, "s.snap") == 0 && !o.rejoin);
    daemon_opts_free(&o);
    CHECK(PARSE(&o, "-snapshot", "") == -1 && strstr(err, "-snapshot: the path must be 1..1023 bytes"));
    {
        char longpath[1100];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[sizeof longpath - 1] = '\0';
        CHECK(PARSE(&o, "-snapshot", longpath) == -1 && strstr(err, "-snapshot: the path must be 1..1023 bytes"));
    }
    CHECK(PARSE(&o, "-rejoin=maybe") == -1 && strstr(err, "rejoin"));

    /* every form, repeatable flags */
    REQUIRE(PARSE(&o, "-node", "n1", "-bind=127.0.0.1:17946", "--advertise=127.0.0.2", "--join", "a:1",
                  "-join=b", "-tag", "role=web", "--tag=dc=test", "-profile=local", "-rpc-addr", "127.0.0.1:17373",
                  "-log-level=debug", "-probe-interval", "500ms", "--suspicion-mult=5",
                  "-encrypt", "AAECAwQFBgcICQoLDA0ODw==", "-disable-compression") == 0);
    CHECK(strcmp(o.net.swim.name, "n1") == 0);
    CHECK(strcmp(o.net.bind_host, "127.0.0.1") == 0 && o.net.bind_port == 17946);
    CHECK(strcmp(o.net.advertise_host, "127.0.0.2") == 0 && o.net.advertise_port == 0);
    REQUIRE(o.njoin == 2);
    CHECK(strcmp(o.join[0], "a:1") == 0 && strcmp(o.join[1], "b") == 0);
    static const uint8_t meta[] = { 0xff, 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b',
                                    0xa2, 'd', 'c', 0xa4, 't', 'e', 's', 't' };
    CHECK_MEM(o.net.swim.meta, o.net.swim.meta_len, meta, sizeof meta);
    CHECK(strcmp(o.profile, "local") == 0);
    CHECK_EQ_INT(o.net.swim.tcp_timeout, 1000);     /* local profile */
    CHECK_EQ_INT(o.net.swim.probe_interval, 500);
    CHECK_EQ_INT(o.net.swim.suspicion_mult, 5);
    CHECK(o.rpc_port == 17373);
    CHECK_EQ_INT(o.log_level, BASE_LOG_DEBUG);
    CHECK_EQ_INT(o.net.keyring.n, 1);
    CHECK_EQ_INT(o.net.keyring.keys[0].len, 16);
    CHECK(!o.net.frame.compress);
    daemon_opts_free(&o);

    /* every knob has its flag, from the knob table: a duration, a number
     * or a switch */
    REQUIRE(PARSE(&o, "-profile", "wan", "-gossip-to-the-dead-time", "90s", "-dead-node-reclaim-time=1m",
                  "-udp-buffer-size", "9000", "-suspicion-max-timeout-mult", "3", "-awareness-max-multiplier=2",
                  "-disable-tcp-pings", "-push-pull-interval", "0") == 0);
    CHECK_EQ_INT(o.net.swim.gossip_to_the_dead_time, 90000);
    CHECK_EQ_INT(o.net.swim.dead_node_reclaim_time, 60000);
    CHECK_EQ_INT(o.net.swim.udp_buffer_size, 9000);
    CHECK_EQ_INT(o.net.swim.suspicion_max_timeout_mult, 3);
    CHECK_EQ_INT(o.net.swim.awareness_max_multiplier, 2);
    CHECK(o.net.swim.disable_tcp_pings);
    CHECK_EQ_INT(o.net.swim.push_pull_interval, 0);
    CHECK_EQ_INT(o.net.swim.probe_interval, 5000);      /* wan's */
    daemon_opts_free(&o);
    REQUIRE(PARSE(&o, "-disable-tcp-pings=false") == 0);
    CHECK(!o.net.swim.disable_tcp_pings);
    daemon_opts_free(&o);

    /* IPv6 bind */
    REQUIRE(PARSE(&o, "-bind", "[::1]:7000") == 0);
    CHECK(strcmp(o.net.bind_host, "::1") == 0 && o.net.bind_port == 7000);
    daemon_opts_free(&o);

    /* errors, each with a message naming the problem */
    CHECK(PARSE(&o, "-bogus") == -1 && strstr(err, "bogus"));
    CHECK(PARSE(&o, "-node") == -1);
    CHECK(PARSE(&o, "extra") == -1);
    CHECK(PARSE(&o, "-profile", "fast") == -1 && strstr(err, "profile"));
    CHECK(PARSE(&o, "-bind", "localhost") == -1 && strstr(err, "bind"));
    CHECK(PARSE(&o, "-bind", "1.2.3.4:99999") == -1);
    CHECK(PARSE(&o, "-advertise", "example.com") == -1);
    CHECK(PARSE(&o, "-encrypt", "not base64!") == -1 && strstr(err, "encrypt"));
    CHECK(PARSE(&o, "-encrypt", "AAECAwQFBgcICQoLDA0ODxAREhM=") == -1);   /* 20 bytes */
    CHECK(PARSE(&o, "-tag", "novalue") == -1);
    CHECK(PARSE(&o, "-config", "/nonexistent/moonlist.lua") == -1 && strstr(err, "config"));
    CHECK(PARSE(&o, "-log-level", "loud") == -1);
    CHECK(PARSE(&o, "-probe-interval", "soon") == -1);
    CHECK(PARSE(&o, "-probe-interval", "0") == -1 &&
          strcmp(err, "-probe-interval: '0' is not a duration in 1ms..86400s (e.g. 1s, 200ms)") == 0);
    CHECK(PARSE(&o, "-push-pull-interval", "86401s") == -1 && strstr(err, "-push-pull-interval: '86401s'"));
    CHECK(PARSE(&o, "-probe-interval", "100ms", "-probe-timeout", "200ms") == -1 &&
          strcmp(err, "-probe-timeout (200 ms) must be shorter than -probe-interval (100 ms)") == 0);
    /* the profile's probe timeout against a flag */
    CHECK(PARSE(&o, "-probe-interval", "500ms") == -1 &&
          strcmp(err, "-probe-timeout (500 ms) must be shorter than -probe-interval (500 ms)") == 0);
    CHECK(PARSE(&o, "-probe-interval", "1440m", "-awareness-max-multiplier", "50") == -1 &&
          strstr(err, "-probe-interval (86400000 ms) times -awareness-max-multiplier (50) must stay below"));
    CHECK(PARSE(&o, "-suspicion-mult", "0") == -1 && strcmp(err, "-suspicion-mult: '0' is not a number in 1..1000") == 0);
    CHECK(PARSE(&o, "-udp-buffer-size", "511") == -1 && strstr(err, "'511' is not a number in 512..65536"));
    CHECK(PARSE(&o, "-indirect-checks", "99999999999999999999") == -1);
    CHECK(PARSE(&o, "-disable-tcp-pings=maybe") == -1 && strstr(err, "disable-tcp-pings"));
    CHECK(PARSE(&o, "-node", "") == -1);
    CHECK(PARSE(&o, "-node", "a", "-node", "b") == -1);

    /* tags over 512 bytes of meta */
    static char big[600];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "k=", 2);
    CHECK(PARSE(&o, "-tag", big) == -1 && strstr(err, "512"));

    /* -config with an existing file is accepted and kept */
    char path[] = "/tmp/moonlist-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(PARSE(&o, "-config", path) == 0 && strcmp(o.config_path, path) == 0);
    daemon_opts_free(&o);
    unlink(path);
    return check_done("test_agent_opts");
}
