/* Scripts on serf nodes of the simulator (mlua_sim with .serf): a
 * script's agent.event reaches every node's event hook once, its
 * broadcast every other node's message hook once (never its own), its
 * send only the node named, its query gets every ack, the answers of the
 * first hook returning a string, then done; the state rides in serf's
 * push/pull; the run is deterministic. The C side of what
 * spec/serf_events_spec.lua checks, here also under the sanitizers. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "lua/mlua_sim.h"

#define N 5
/* Joins settle within a second on lan; the script acts at 5 s; serf's
 * default query timeout for 5 nodes is 200 ms x 16 x 1 = 3.2 s, and the
 * first push/pull round comes within 30 s. */
#define RUN_MS 40000

static const char *script =
    "local agent = require 'moonlist'\n"
    "local me = os.getenv('ME')\n"
    "local n = {}\n"
    "local function bump(k) n[k] = (n[k] or 0) + 1 end\n"
    "agent.on('event', function(ev) bump('event:' .. ev.name .. '=' .. ev.payload) end)\n"
    "agent.on('message', function(p, from) bump('message:' .. p .. '<' .. tostring(from.name)) end)\n"
    "agent.on('query', function(q) bump('query:' .. q.name .. '<' .. q.from) end)\n"
    /* answers, except on n4: there the next hook runs */
    "agent.on('query', function(q) if me ~= 'n4' then return 'it is ' .. me end end)\n"
    "agent.on('query', function(q) bump('next-hook') end)\n"
    "agent.after(5, function()\n"
    "  if me ~= 'n1' then return end\n"
    "  agent.event('deploy', 'v1')\n"
    "  agent.broadcast('hi', 'k')\n"
    "  agent.send('n3', 'psst')\n"
    "  agent.query('who', '', { ack = true }, function(a)\n"
    "    bump('answer:' .. a.type .. ':' .. tostring(a.from) .. ':' .. tostring(a.payload))\n"
    "  end)\n"
    "end)\n"
    "agent.state {\n"
    "  local_state = function() return 'st-' .. me end,\n"
    "  merge_remote_state = function(b) n['merged:' .. b] = 1 end,\n"
    "}\n"
    "agent.after(39, function()\n"
    "  local list = {}\n"
    "  for k, v in pairs(n) do list[#list + 1] = k .. '#' .. v end\n"
    "  table.sort(list)\n"
    "  agent.log.info('REPORT ' .. table.concat(list, ' ') .. ' END')\n"
    "end)\n";

/* What node i's script should have counted (its sorted REPORT line). */
static void expected(int i, char *buf, size_t len)
{
    const char *v[32];
    int k = 0;
    char tmp[32][64];
    v[k++] = "event:deploy=v1#1";   /* serf delivers an event to its sender too */
    if (i != 1)
        v[k++] = "message:hi<nil#1";   /* a broadcast never reaches its sender */
    if (i == 3)
        v[k++] = "message:psst<n1#1";
    v[k++] = "query:who<n1#1";
    if (i == 4)
        v[k++] = "next-hook#1";
    if (i == 1) {
        for (int j = 0; j < N; j++) {
            snprintf(tmp[k], sizeof tmp[k], "answer:ack:n%d:nil#1", j);
            v[k] = tmp[k];
            k++;
            if (j != 4) {
                snprintf(tmp[k], sizeof tmp[k], "answer:response:n%d:it is n%d#1", j, j);
                v[k] = tmp[k];
                k++;
            }
        }
        v[k++] = "answer:done:nil:nil#1";
    }
    /* the join push/pulls: everyone with n0 */
    for (int j = 0; j < N; j++)
        if (j != i && (i == 0 || j == 0)) {
            snprintf(tmp[k], sizeof tmp[k], "merged:st-n%d#1", j);
            v[k] = tmp[k];
            k++;
        }
    /* sorted as Lua's table.sort sorts them: byte order */
    for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && strcmp(v[b - 1], v[b]) > 0; b--) {
            const char *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    size_t at = (size_t)snprintf(buf, len, "REPORT");
    for (int a = 0; a < k && at < len; a++)
        at += (size_t)snprintf(buf + at, len - at, " %s", v[a]);
    if (at < len)
        snprintf(buf + at, len - at, " END");
}

/* One run on N nodes: the simulator's digest; every node's report checked. */
static uint64_t run(uint64_t seed)
{
    static const char *names[N] = { "n0", "n1", "n2", "n3", "n4" };
    const char *env[N][3];
    mlua_sim_node_spec specs[N];
    for (int i = 0; i < N; i++) {
        env[i][0] = "ME";
        env[i][1] = names[i];
        env[i][2] = NULL;
        specs[i] = (mlua_sim_node_spec){ .name = names[i], .code = script, .env = env[i] };
    }
    mlua_sim_options o = { .seed = seed, .profile = "lan", .nodes = specs, .count = N, .serf = true };
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
    for (int i = 0; i < N; i++) {
        mlua_stats st;
        mlua_get_stats(mlua_sim_host(ms, i), &st);
        size_t loglen;
        const char *log = mlua_sim_log(ms, i, &loglen);
        CHECKF(st.hook_errors == 0 && st.timer_errors == 0, "n%d: errors; its log:\n%.*s", i, (int)loglen, log);
        char want[2048];
        expected(i, want, sizeof want);
        CHECKF(strstr(log, want) != NULL, "n%d: expected\n%s\nits log:\n%.*s", i, want, (int)loglen, log);
    }
    uint64_t hash = sim_hash(s);
    mlua_sim_free(ms);
    return hash;
}

int main(void)
{
    uint64_t h1 = run(3), h2 = run(3);
    CHECKF(h1 == h2, "same seed, different runs: %llx vs %llx", (unsigned long long)h1, (unsigned long long)h2);
    return check_done("test_serf_script");
}
