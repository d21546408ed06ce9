/* agent.config{...}: every setting by name, typed, validated; an error
 * names the script file, the line of the call and the key. */
#include <unistd.h>

#include "check.h"
#include "mlua_harness.h"

static mlua *load(const char *code, char *err, size_t errlen)
{
    mlua *h = mlua_new(NULL);
    REQUIRE(h);
    if (mlua_load_string(h, "=agent.lua", code, err, errlen) < 0) {
        mlua_free(h);
        return NULL;
    }
    return h;
}

static void test_full_config(void)
{
    char err[512];
    mlua *h = load(
        "local agent = require 'moonlist'\n"
        "\n"
        "agent.config {\n"
        "  node = 'web-1', bind = '0.0.0.0:7946', advertise = '[::1]:7000',\n"
        "  join = { '10.0.0.2:7946', 'seed.example.com', '[fe80::1]:7946' },\n"
        "  rpc_addr = '127.0.0.1:7373', profile = 'wan',\n"
        "  keyring = { 'T9jncgl9mbLus+baTTa7q7nPSUrXwbDi2dhbtqir37s=', 'AAAAAAAAAAAAAAAAAAAAAA==' },\n"
        "  tags = { role = 'web', dc = 'eu' }, log_level = 'debug', label = 'prod',\n"
        "  probe_interval = 1.5, probe_timeout = 0.25, gossip_interval = 0.2, push_pull_interval = 0,\n"
        "  tcp_timeout = 10, gossip_to_the_dead_time = 30, dead_node_reclaim_time = 0,\n"
        "  indirect_checks = 0, retransmit_mult = 4, suspicion_mult = 6, suspicion_max_timeout_mult = 6,\n"
        "  awareness_max_multiplier = 8, gossip_nodes = 4, udp_buffer_size = 1400, disable_tcp_pings = true,\n"
        "}\n",
        err, sizeof err);
    CHECKF(h != NULL, "%s", err);
    if (!h)
        return;
    const mlua_setting *v;
    size_t n = mlua_settings(h, &v);
    CHECK_EQ_INT(n, 25);
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(v[i - 1].key, v[i].key) < 0);
    for (size_t i = 0; i < n; i++)
        CHECKF(strcmp(v[i].where, "agent.lua:3") == 0, "%s: %s", v[i].key, v[i].where);
    const mlua_setting *s = mlua_setting_get(h, "probe_interval");
    CHECK(s && s->type == MLUA_SET_DURATION && s->u == 1500);
    s = mlua_setting_get(h, "join");
    CHECK(s && s->type == MLUA_SET_LIST && s->n == 3 && strcmp(s->list[1], "seed.example.com") == 0);
    s = mlua_setting_get(h, "tags");
    CHECK(s && s->type == MLUA_SET_MAP && s->n == 4 && strcmp(s->list[0], "dc") == 0 && strcmp(s->list[3], "web") == 0);
    s = mlua_setting_get(h, "disable_tcp_pings");
    CHECK(s && s->type == MLUA_SET_BOOL && s->b);
    s = mlua_setting_get(h, "node");
    CHECK(s && s->type == MLUA_SET_STRING && strcmp(s->s, "web-1") == 0);
    s = mlua_setting_get(h, "indirect_checks");
    CHECK(s && s->type == MLUA_SET_COUNT && s->u == 0);

    swim_config c;
    memset(&c, 0, sizeof c);
    swim_config_profile(&c, "lan");
    snprintf(c.name, sizeof c.name, "x");
    c.advertise.ip_len = 4;
    c.advertise.port = 7946;
    const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 4 };
    memcpy(c.vsn, vsn, 6);
    CHECKF(mlua_settings_apply_swim(h, &c, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(c.probe_interval, 1500);
    CHECK_EQ_INT(c.probe_timeout, 250);
    CHECK_EQ_INT(c.push_pull_interval, 0);
    CHECK_EQ_INT(c.udp_buffer_size, 1400);
    CHECK_EQ_INT(c.awareness_max_multiplier, 8);
    CHECK(c.disable_tcp_pings);
    /* wan's knobs not given stay wan's */
    swim_config wan;
    memset(&wan, 0, sizeof wan);
    swim_config_profile(&wan, "wan");
    CHECK_EQ_INT(c.gossip_nodes, 4);
    CHECK_EQ_INT(c.dead_node_reclaim_time, 0);
    (void)wan;

    uint8_t meta[512];
    int ml = mlua_settings_meta(h, meta, sizeof meta);
    static const uint8_t want[] = { 0xff, 0x82, 0xa2, 'd', 'c', 0xa2, 'e', 'u', 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b' };
    CHECK_MEM(meta, ml > 0 ? (size_t)ml : 0, want, sizeof want);
    mlua_free(h);
}

static void test_errors(void)
{
    static const struct { const char *cfg, *want; } cases[] = {
        { "probe_intervall = 1", "agent.lua:4: agent.config: unknown key 'probe_intervall'" },
        { "probe_interval = '1s'", "agent.lua:4: agent.config: key 'probe_interval' must be a number of seconds" },
        { "probe_interval = -1", "key 'probe_interval' must be a number of seconds in 0.001..86400" },
        { "probe_interval = 0", "key 'probe_interval' must be a number of seconds in 0.001..86400" },
        { "probe_interval = 0/0", "key 'probe_interval' must be a number of seconds in" },
        { "probe_interval = 1e300", "key 'probe_interval' must be a number of seconds in 0.001..86400" },
        { "push_pull_interval = 86400.001", "key 'push_pull_interval' must be a number of seconds in 0..86400" },
        { "bind = 'not an ip:7946'", "agent.lua:4: agent.config: key 'bind' 'not an ip:7946' is not an IP address" },
        { "bind = '10.0.0.1:99999'", "key 'bind' '10.0.0.1:99999' is not an IP address" },
        { "advertise = 'example.com'", "key 'advertise' 'example.com' is not an IP address" },
        { "rpc_addr = 7373", "key 'rpc_addr' must be a string" },
        { "join = { 'ok.example', 'bad host!' }", "key 'join' 'bad host!' is not host[:port]" },
        { "join = { a = '1.2.3.4' }", "key 'join' must be a list (array) of strings" },
        { "join = 5", "key 'join' must be a list of strings" },
        { "profile = 'lam'", "key 'profile' 'lam' is not lan, wan or local" },
        { "encrypt = 'short'", "key 'encrypt'" },
        { "keyring = {}", "key 'keyring' must hold at least one key" },
        { "keyring = { 'AAAAAAAAAAAAAAAAAAAAAA==', 'x' }", "key 'keyring' key 2:" },
        { "encrypt = 'AAAAAAAAAAAAAAAAAAAAAA==', keyring = { 'AAAAAAAAAAAAAAAAAAAAAA==' }", "cannot be given with 'encrypt'" },
        { "tags = { role = {} }", "key 'tags' must map string keys to string values" },
        { "tags = { big = string.rep('x', 600) }", "key 'tags'" },
        { "tags = 'role=web'", "key 'tags' must be a table" },
        { "log_level = 'loud'", "key 'log_level' 'loud' is not debug, info, warn or error" },
        { "node = ''", "key 'node' must be 1..255 bytes" },
        { "label = string.rep('l', 256)", "key 'label' must be at most 255 bytes" },
        { "indirect_checks = 1.5", "key 'indirect_checks' must be an integer in 0..1000" },
        { "retransmit_mult = 0", "key 'retransmit_mult' must be an integer in 1..1000" },
        { "udp_buffer_size = 100", "key 'udp_buffer_size' must be an integer in 512..65536" },
        { "gossip_nodes = 2^53", "key 'gossip_nodes' must be an integer in 1..1000" },
        { "disable_tcp_pings = 1", "key 'disable_tcp_pings' must be true or false" },
        { "[1] = 'x'", "agent.lua:4: agent.config: keys must be setting names" },
        { "probe_interval = 0.2, probe_timeout = 0.5",
          "agent.lua:4: agent.config: probe_timeout (500 ms) must be shorter than probe_interval (200 ms)" },
        { "probe_interval = 86400, awareness_max_multiplier = 50",
          "agent.lua:4: agent.config: probe_interval (86400000 ms) times awareness_max_multiplier (50) must stay below 2^32 ms" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char code[1024], err[512] = "";
        snprintf(code, sizeof code, "local agent = require 'moonlist'\n-- a comment\n\nagent.config { %s }\n", cases[i].cfg);
        mlua *h = load(code, err, sizeof err);
        CHECKF(!h && strstr(err, cases[i].want), "case %zu (%s): got '%s'", i, cases[i].cfg, err);
        if (h)
            mlua_free(h);
    }
    char err[512] = "";
    mlua *h = load("local agent = require 'moonlist'\nagent.config{}\nagent.config{}\n", err, sizeof err);
    CHECKF(!h && strstr(err, "agent.lua:3: agent.config: called twice"), "%s", err);
    if (h)
        mlua_free(h);
}

static void test_from_file(void)
{
    /* the chunk name of a file is its path: errors say path:line, the line
     * of the bad key inside the agent.config block */
    char path[] = "/tmp/mlua_cfg_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *code = "local agent = require 'moonlist'\nagent.config {\n  gossip_nodes = 'three',\n}\n";
    REQUIRE(write(fd, code, strlen(code)) == (ssize_t)strlen(code));
    close(fd);
    mlua *h = mlua_new(NULL);
    char err[512] = "", want[600];
    CHECK(mlua_load(h, path, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:3: agent.config: key 'gossip_nodes' must be an integer", path);
    CHECKF(strstr(err, want) != NULL, "got '%s'", err);
    mlua_free(h);
    unlink(path);
}

int main(void)
{
    test_full_config();
    test_errors();
    test_from_file();
    return check_done("test_config");
}
