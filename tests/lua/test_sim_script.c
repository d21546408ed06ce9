/* One script, unchanged, on simulated nodes: the Lua host with a backend
 * instead of its thread (events delivered and questions asked
 * synchronously, timers on the simulator's virtual clock). Checks the
 * hooks, timers, broadcasts, members and state, and that the run stays
 * deterministic. */
#include "check.h"
#include "lua/mlua_sim.h"

#define N 3
/* Virtual time to run: the joins settle within the first second on lan
 * and the broadcasts sent at 5 s have 25 s to reach everyone; main()
 * counts agent.every(1) ticks over it. */
#define RUN_MS 30000

static const char *script =
    "local agent = require 'moonlist'\n"
    "local joins, msgs, ticks, alive_asked = 0, 0, 0, 0\n"
    "local got = {}\n"
    "agent.on('join', function(m) joins = joins + 1 end)\n"
    /* a broadcast may arrive more than once: memberlist retransmits it to
     * random nodes; count distinct payloads */
    "agent.on('message', function(p, from) if not got[p] then got[p] = true; msgs = msgs + 1 end end)\n"
    "agent.on('alive', function(m) alive_asked = alive_asked + 1 end)\n"
    "agent.every(1, function() ticks = ticks + 1 end)\n"
    "agent.after(5, function()\n"
    "  agent.broadcast('hello from ' .. agent.self().name, 'hello')\n"
    "  agent.set_tags { started = string.format('%.1f', agent.now()) }\n"
    "end)\n"
    "agent.state { local_state = function()\n"
    "  local list = {}\n"
    "  for p in pairs(got) do list[#list + 1] = p end\n"
    "  table.sort(list)\n"
    "  return string.format('joins=%d msgs=%d ticks=%d members=%d alive_asked=%s [%s]', joins, msgs, ticks,\n"
    "                       #agent.members(), tostring(alive_asked > 0), table.concat(list, ','))\n"
    "end }\n";

/* One run of the script on N nodes: their final states in states[], the
 * simulator's digest returned. */
static uint64_t run(uint64_t seed, char states[N][256])
{
    mlua_sim_node_spec specs[N];
    for (int i = 0; i < N; i++)
        specs[i] = (mlua_sim_node_spec){ .code = script };   /* named n0, n1, n2 */
    mlua_sim_options o = { .seed = seed, .profile = "lan", .nodes = specs, .count = N };
    mlua_sim *ms;
    char err[512];
    int rc = mlua_sim_new(&o, &ms, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(rc == 0);
    sim *s = mlua_sim_sim(ms);
    int seed0 = 0;
    for (int i = 1; i < N; i++)
        sim_join(s, i, &seed0, 1);
    mlua_sim_run_until(ms, RUN_MS);
    CHECK_EQ_INT(sim_now(s), RUN_MS);
    for (int i = 0; i < N; i++) {
        mlua *h = mlua_sim_host(ms, i);
        const uint8_t *out;
        size_t len;
        mlua_run_pending(h);
        mlua_local_state(h, false, &out, &len);
        snprintf(states[i], 256, "%.*s", (int)len, (const char *)out);
        /* every hook and timer callback ran without an error */
        mlua_stats st;
        mlua_get_stats(h, &st);
        size_t loglen;
        const char *log = mlua_sim_log(ms, i, &loglen);
        CHECKF(st.hook_errors == 0, "n%d: %llu hook errors; its log:\n%.*s", i,
               (unsigned long long)st.hook_errors, (int)loglen, log);
    }
    /* everyone sees everyone's new tag */
    for (int i = 0; i < N; i++) {
        swim_member m;
        REQUIRE(swim_member_get(mlua_sim_core(ms, 0), i == 0 ? "n0" : i == 1 ? "n1" : "n2", &m));
        CHECKF(m.meta_len > 2, "n%d's tags did not reach n0", i);
    }
    uint64_t hash = sim_hash(s);
    mlua_sim_free(ms);
    return hash;
}

/* A script that does not load is the caller's error, named with its node;
 * what is wrong with the options is another kind; neither leaves a
 * simulation behind. */
static void check_errors(void)
{
    mlua_sim_node_spec specs[2] = { { .code = script }, { .name = "bad", .code = "local x = \n" } };
    mlua_sim_options o = { .seed = 1, .nodes = specs, .count = 2 };
    mlua_sim *ms = (mlua_sim *)&o;   /* must be reset */
    char err[512] = "";
    CHECK_EQ_INT(mlua_sim_new(&o, &ms, err, sizeof err), MLUA_SIM_ESCRIPT);
    CHECK(ms == NULL);
    CHECKF(strncmp(err, "node 1: sim.lua:", 16) == 0, "%s", err);
    o.profile = "nope";
    CHECK_EQ_INT(mlua_sim_new(&o, &ms, err, sizeof err), MLUA_SIM_EOTHER);
    CHECKF(strcmp(err, "unknown profile 'nope'") == 0, "%s", err);
}

/* A node's own environment reaches its script's os.getenv before the
 * process's; its meta replaces its script's tags; luv is refused with a
 * sentence (a luv loop would run on real time). */
static void check_node_options(void)
{
    static const char *const env[] = { "ROLE", "web", "PATH", "/node/bin", NULL };
    static const uint8_t meta[] = { 0xff, 0x81, 0xa2, 'd', 'c', 0xa2, 'e', 'u' };   /* {dc = "eu"} */
    const char *code = "local agent = require 'moonlist'\n"
                       "agent.config { tags = { role = 'script' } }\n"
                       "agent.log.info('ROLE=' .. tostring(os.getenv('ROLE')), 'PATH=' .. os.getenv('PATH'))\n"
                       "local ok, err = pcall(require, 'luv')\n"
                       "agent.log.info('luv', ok, err)\n";
    mlua_sim_node_spec specs[2] = { { .code = code, .env = env, .meta = meta, .meta_len = sizeof meta },
                                    { .code = code } };
    mlua_sim_options o = { .seed = 1, .nodes = specs, .count = 2 };
    mlua_sim *ms;
    char err[512];
    int rc = mlua_sim_new(&o, &ms, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(rc == 0);
    size_t len;
    const char *log0 = mlua_sim_log(ms, 0, &len);
    CHECKF(strstr(log0, "ROLE=web PATH=/node/bin"), "%s", log0);
    CHECKF(strstr(log0, "luv false luv is not available on the simulator (virtual time)"), "%s", log0);
    const char *log1 = mlua_sim_log(ms, 1, &len);
    char want[1024];
    snprintf(want, sizeof want, "ROLE=nil PATH=%s", getenv("PATH") ? getenv("PATH") : "");
    CHECKF(strstr(log1, want), "%s", log1);
    swim_member m;
    REQUIRE(swim_member_get(mlua_sim_core(ms, 0), "n0", &m));
    CHECK_MEM(m.meta, m.meta_len, meta, sizeof meta);
    static const uint8_t script_meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa6, 's', 'c', 'r', 'i', 'p', 't' };
    REQUIRE(swim_member_get(mlua_sim_core(ms, 1), "n1", &m));
    CHECK_MEM(m.meta, m.meta_len, script_meta, sizeof script_meta);   /* its script's tags */
    mlua_sim_free(ms);
}

int main(void)
{
    check_errors();
    check_node_options();
    char a[N][256], b[N][256];
    uint64_t h1 = run(42, a);
    for (int i = 0; i < N; i++) {
        char want[256];
        /* ticks: every 1 s over 30 s of virtual time, exactly */
        snprintf(want, sizeof want, "joins=3 msgs=2 ticks=30 members=3 alive_asked=true [");
        CHECKF(strncmp(a[i], want, strlen(want)) == 0, "n%d: %s", i, a[i]);
        CHECKF(strstr(a[i], "hello from n") != NULL, "n%d: %s", i, a[i]);
        fprintf(stderr, "n%d: %s\n", i, a[i]);
    }
    uint64_t h2 = run(42, b);
    CHECKF(h1 == h2, "same seed, different runs: %llx vs %llx", (unsigned long long)h1, (unsigned long long)h2);
    for (int i = 0; i < N; i++)
        CHECK(strcmp(a[i], b[i]) == 0);
    return check_done("test_sim_script");
}
