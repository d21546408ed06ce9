/* One script, unchanged, on simulated nodes: the Lua host with a backend
 * instead of its thread (events delivered and questions asked
 * synchronously, timers on the simulator's virtual clock). Checks the
 * hooks, timers, broadcasts, members and state, and that the run stays
 * deterministic. */
#include "check.h"
#include "lua/mlua.h"
#include "sim/sim.h"

#define N 3
#define MAX_TIMERS 16

typedef struct node {
    sim *s;
    int idx;
    mlua *h;
    struct { uint64_t id, due; bool on; } timers[MAX_TIMERS];
    mlua_members_reply *reply;   /* the one being answered */
} node;

static node nodes[N];

static bool add_member(void *ud, const swim_member *m)
{
    node *n = ud;
    mlua_members_add(n->h, n->reply, m);
    return true;
}

static void b_members(void *ud, mlua *h, mlua_members_reply *r)
{
    node *n = ud;
    /* at load the node is not in the simulator yet */
    swim *core = (size_t)n->idx < sim_count(n->s) ? sim_core(n->s, n->idx) : NULL;
    n->reply = r;
    if (core)
        swim_members_each(core, add_member, n);
    n->reply = NULL;
    mlua_members_done(h, r, core ? swim_get_config(core)->name : "");
}

static double b_now(void *ud)
{
    node *n = ud;
    return sim_now(n->s) / 1000.0;
}

static void b_timer_start(void *ud, uint64_t id, uint64_t ms)
{
    node *n = ud;
    for (int i = 0; i < MAX_TIMERS; i++)
        if (!n->timers[i].on || n->timers[i].id == id) {
            n->timers[i].id = id;
            n->timers[i].due = sim_now(n->s) + ms;
            n->timers[i].on = true;
            return;
        }
    REQUIRE(!"out of timer slots");
}

static void b_timer_stop(void *ud, uint64_t id)
{
    node *n = ud;
    for (int i = 0; i < MAX_TIMERS; i++)
        if (n->timers[i].on && n->timers[i].id == id)
            n->timers[i].on = false;
}

static void on_event(void *ud, int i, swim_time now, const swim_event *ev)
{
    (void)ud;
    (void)now;
    mlua_post_event(nodes[i].h, ev);
}

static void apply(void *ud, const mlua_cmd *c)
{
    node *n = ud;
    swim *core = sim_core(n->s, n->idx);
    if (core)
        mlua_cmd_apply(n->h, c, core, sim_now(n->s));
}

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

static uint64_t run(uint64_t seed, char states[N][256])
{
    sim *s = sim_new(seed);
    REQUIRE(s);
    sim_on_event(s, on_event, NULL);
    for (int i = 0; i < N; i++) {
        node *n = &nodes[i];
        memset(n, 0, sizeof *n);
        n->s = s;
        n->idx = i;
        n->h = mlua_new(NULL);
        mlua_backend b = { .ud = n, .members = b_members, .now = b_now, .timer_start = b_timer_start,
                           .timer_stop = b_timer_stop };
        REQUIRE(mlua_set_backend(n->h, &b) == 0);
        char err[512];
        int rc = mlua_load_string(n->h, "=sim.lua", script, err, sizeof err);
        CHECKF(rc == 0, "%s", err);
        swim_config cfg;
        memset(&cfg, 0, sizeof cfg);
        swim_config_profile(&cfg, "lan");
        snprintf(cfg.name, sizeof cfg.name, "n%d", i);
        static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
        memcpy(cfg.vsn, vsn, 6);
        cfg.meta[0] = 0xff;
        cfg.meta[1] = 0x80;
        cfg.meta_len = 2;
        swim_delegate d = mlua_delegate(n->h);
        REQUIRE(sim_add(s, &cfg, &d) == i);
    }
    int seed0 = 0;
    for (int i = 1; i < N; i++)
        sim_join(s, i, &seed0, 1);
    /* drive: the simulator in 10 ms steps, the hosts between them */
    for (swim_time t = 0; t <= 30005; t += 10) {
        sim_run_until(s, t);
        for (int i = 0; i < N; i++) {
            node *n = &nodes[i];
            for (int k = 0; k < MAX_TIMERS; k++)
                if (n->timers[k].on && n->timers[k].due <= t) {
                    n->timers[k].on = false;
                    mlua_timer_due(n->h, n->timers[k].id);
                }
            mlua_run_pending(n->h);
            mlua_drain_commands(n->h, apply, n);
        }
    }
    for (int i = 0; i < N; i++) {
        const uint8_t *out;
        size_t len;
        mlua_run_pending(nodes[i].h);
        mlua_local_state(nodes[i].h, false, &out, &len);
        snprintf(states[i], 256, "%.*s", (int)len, (const char *)out);
    }
    /* everyone sees everyone's new tag */
    for (int i = 0; i < N; i++) {
        swim_member m;
        REQUIRE(swim_member_get(sim_core(s, 0), i == 0 ? "n0" : i == 1 ? "n1" : "n2", &m));
        CHECKF(m.meta_len > 2, "n%d's tags did not reach n0", i);
    }
    uint64_t hash = sim_hash(s);
    for (int i = 0; i < N; i++)
        mlua_free(nodes[i].h);   /* before the sim: closing timers calls the backend */
    sim_free(s);
    return hash;
}

int main(void)
{
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
