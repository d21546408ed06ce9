/* A reload an operator can trust (mlua_reload in mlua.h): the old script's
 * handles are closed, their close callbacks run, before the new script
 * loads, so it can listen on the same port; the old script hands its state
 * over (agent.handoff -> agent.inherited); the new one sees the member
 * table while it loads; events that arrive meanwhile reach the new one in
 * order; a script that fails leaves the previous one running, or, failing
 * that too, none. */
#include <unistd.h>

#include "check.h"
#include "lua/mlua_sim.h"
#include "mlua_harness.h"

static char path[] = "/tmp/mlua_reload_XXXXXX";

static void write_script(const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("local agent = require 'moonlist'\n", f);
    fputs(text, f);
    fclose(f);
}

static void start_from_file(harness *t, const char *text)
{
    write_script(text);
    h_init(t);
    mlua_options o = { .log = h_log, .log_ud = t };
    t->h = mlua_new(&o);
    char err[512];
    CHECKF(mlua_load(t->h, path, err, sizeof err) == 0, "%s", err);
    REQUIRE(h_start(t) == 0);
}

static mlua_stats stats(harness *t)
{
    mlua_stats st;
    mlua_get_stats(t->h, &st);
    return st;
}

static bool reloads_ok_at_least(harness *t, const void *n)
{
    return stats(t).reload_ok >= *(const uint64_t *)n;
}

/* Wait until the host counted n successful reloads: it counts one after
 * the new script ran, so after what the script broadcast while loading. */
static bool wait_reloads_ok(harness *t, uint64_t n, unsigned timeout_ms)
{
    return h_wait_until(t, reloads_ok_at_least, &n, timeout_ms);
}

/* Where needle first is in the log, or -1. */
static long log_pos(harness *t, const char *needle)
{
    uv_mutex_lock(&t->logmu);
    const char *p = strstr(t->log, needle);
    long pos = p ? (long)(p - t->log) : -1;
    uv_mutex_unlock(&t->logmu);
    return pos;
}

static uint16_t free_port(void)
{
    uv_loop_t loop;
    uv_tcp_t tcp;
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &tcp);
    uv_ip4_addr("127.0.0.1", 0, &a);
    REQUIRE(uv_tcp_bind(&tcp, (const struct sockaddr *)&a, 0) == 0);
    REQUIRE(uv_tcp_getsockname(&tcp, (struct sockaddr *)&got, &len) == 0);
    uint16_t port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return port;
}

/* A server on a port: the next script listens on the same one; the old
 * one's close callback and its timers are done before the new one runs. */
static void test_port_and_timers_closed_first(void)
{
    static const char server[] =
        "local uv = require 'luv'\n"
        "local s = uv.new_tcp()\n"
        "assert(s:bind('127.0.0.1', %u))\n"
        "assert(s:listen(8, function() end))\n"
        "agent.log.info('%s listening')\n"
        "agent.every(0.005, function() agent.log.info('%s tick') end)\n"
        "local t = uv.new_timer()\n"
        "t:start(1000000, 0, function() end)\n"
        /* a request in flight when the script is closed: its callback runs
         * in the old state, before the next script loads */
        "agent.handoff(function()\n"
        "  uv.fs_stat('/', function() agent.log.info('%s request done') end)\n"
        "  agent.log.info('%s hands over')\n"
        "end)\n";
    uint16_t port = free_port();
    char v1[1024], v2[1024];
    snprintf(v1, sizeof v1, server, port, "v1", "v1", "v1", "v1");
    snprintf(v2, sizeof v2, server, port, "v2", "v2", "v2", "v2");
    harness t;
    start_from_file(&t, v1);
    CHECK(h_wait_log(&t, "v1 tick", 5000));
    write_script(v2);
    mlua_reload(t.h);
    CHECK(h_wait_log(&t, "reloaded", 5000));
    CHECK(h_wait_log(&t, "v2 tick", 5000));
    CHECK_EQ_INT(stats(&t).reload_ok, 1);
    CHECK_EQ_INT(stats(&t).reload_failed, 0);
    CHECKF(log_pos(&t, "EADDRINUSE") < 0, "%s", t.log);
    long handed = log_pos(&t, "v1 hands over"), done = log_pos(&t, "v1 request done");
    long listening = log_pos(&t, "v2 listening");
    CHECKF(handed >= 0 && done > handed && listening > done, "%s", t.log);
    /* once v2 loaded, v1's timer never ran again */
    uv_mutex_lock(&t.logmu);
    const char *last_v1 = NULL;
    for (const char *p = t.log; (p = strstr(p, "v1 tick")); p++)
        last_v1 = p;
    CHECKF(last_v1 && last_v1 - t.log < listening, "v1 ticked after v2 loaded");
    uv_mutex_unlock(&t.logmu);
    h_finish(&t);
}

/* The old script's state reaches the new one; the new one sees the member
 * table at load; events posted during the reload reach the new one, in order. */
static void test_handoff_members_and_events(void)
{
    harness t;
    start_from_file(&t,
        "local st = agent.inherited or { clock = 0, seen = {} }\n"
        "agent.on('join', function(m) st.clock = st.clock + 1; st.seen[m.name] = st.clock end)\n"
        "agent.handoff(function()\n"
        "  return { clock = st.clock, seen = st.seen, deep = { { 1.5, 'x', true, false } }, [7] = 'seven' }\n"
        "end)\n");
    t.members[0] = h_member("me", 7000, SWIM_ALIVE, NULL, 0);
    t.members[1] = h_member("b", 7001, SWIM_ALIVE, NULL, 0);
    t.nmembers = 2;
    h_post(&t, SWIM_EV_JOIN, &t.members[0]);
    h_post(&t, SWIM_EV_JOIN, &t.members[1]);
    write_script(
        "local i = agent.inherited\n"
        "local d = i.deep[1]\n"
        "agent.broadcast(string.format('v2 clock=%d me=%d b=%d deep=%s,%s,%s,%s seven=%s', i.clock, i.seen.me,\n"
        "  i.seen.b, d[1], d[2], tostring(d[3]), tostring(d[4]), i[7]))\n"
        "agent.broadcast('v2 members=' .. #agent.members() .. ' self=' .. agent.self().name)\n"
        "agent.on('join', function(m) agent.broadcast('v2 join ' .. m.name) end)\n"
        "agent.handoff(function() return 'from v2' end)\n");
    mlua_reload(t.h);
    swim_member c = h_member("c", 7002, SWIM_ALIVE, NULL, 0), d = h_member("d", 7003, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &c);
    h_post(&t, SWIM_EV_JOIN, &d);
    CHECK(h_wait_cmds(&t, 4, 5000));
    static const char *want[] = {
        "broadcast  v2 clock=2 me=1 b=2 deep=1.5,x,true,false seven=seven",
        "broadcast  v2 members=2 self=me",
        "broadcast  v2 join c",
        "broadcast  v2 join d",
    };
    for (size_t i = 0; i < 4 && i < t.ncmds; i++)
        CHECKF(strcmp(t.cmds[i], want[i]) == 0, "cmd %zu: got '%s' want '%s'", i, t.cmds[i], want[i]);
    write_script("agent.broadcast('v3 got ' .. tostring(agent.inherited))\n");
    mlua_reload(t.h);
    CHECK(h_wait_cmds(&t, 5, 5000));
    CHECK(t.ncmds == 5 && strcmp(t.cmds[4], "broadcast  v3 got from v2") == 0);
    CHECK(wait_reloads_ok(&t, 2, 5000));
    CHECK_EQ_INT(stats(&t).reload_ok, 2);
    h_finish(&t);
}

/* A handoff that raises, or whose value cannot cross, or a file that does
 * not compile: the running script stays as it was. */
static void test_failures_keep_the_running_script(void)
{
    static const struct {
        const char *handoff, *next, *want;
    } cases[] = {
        { "return { ok = 1, f = function() end }", "agent.broadcast('must not run')",
          "agent.handoff: the value.f is a function: only nil, booleans, numbers, strings and tables" },
        { "local t = {}; t.self = t; return { t = t }", "agent.broadcast('must not run')",
          "agent.handoff: the value.t.self: the table contains itself" },
        { "error('no state for you')", "agent.broadcast('must not run')",
          "agent.handoff failed: " },
        { "return 1", "agent.broadcast('must not run'", "')' expected near" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char v1[512];
        snprintf(v1, sizeof v1,
                 "agent.on('join', function(m) agent.broadcast('v1 ' .. m.name) end)\n"
                 "agent.handoff(function() %s end)\n", cases[i].handoff);
        harness t;
        start_from_file(&t, v1);
        write_script(cases[i].next);
        mlua_reload(t.h);
        CHECKF(h_wait_log(&t, "failed, keeping the running script", 5000), "case %zu: %s", i, t.log);
        CHECKF(log_pos(&t, cases[i].want) >= 0, "case %zu: %s", i, t.log);
        swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
        h_post(&t, SWIM_EV_JOIN, &a);
        CHECK(h_wait_cmds(&t, 1, 5000));
        CHECKF(t.ncmds == 1 && strcmp(t.cmds[0], "broadcast  v1 a") == 0, "case %zu", i);
        CHECK_EQ_INT(stats(&t).reload_failed, 1);
        h_finish(&t);
    }
}

/* The new script fails while it runs (after taking the port): it is
 * closed, and the previous one runs again with the same inherited value;
 * if that fails too, no script runs, until a reload succeeds. */
static void test_failed_run_falls_back(void)
{
    uint16_t port = free_port();
    char v1[1024], broken[512];
    snprintf(v1, sizeof v1,
             "local uv = require 'luv'\n"
             "local i = agent.inherited\n"
             "if i and i.refuse then error('v1 refuses to start again') end\n"
             "local s = uv.new_tcp()\n"
             "assert(s:bind('127.0.0.1', %u))\n"
             "assert(s:listen(8, function() end))\n"
             "agent.broadcast('v1 up, inherited ' .. (i and i.n or 'nothing'))\n"
             "local n = i and i.n + 1 or 1\n"
             "agent.handoff(function() return { n = n, refuse = %s } end)\n"
             "agent.on('join', function(m) agent.broadcast('v1 ' .. m.name) end)\n",
             port, "n >= 2");
    snprintf(broken, sizeof broken,
             "local uv = require 'luv'\n"
             "local s = uv.new_tcp()\n"
             "assert(s:bind('127.0.0.1', %u))\n"
             "assert(s:listen(8, function() end))\n"
             "agent.every(0.001, function() agent.broadcast('broken tick') end)\n"
             "error('v2 broken')\n", port);
    harness t;
    start_from_file(&t, v1);
    CHECK(h_wait_cmds(&t, 1, 5000));
    write_script(broken);
    mlua_reload(t.h);
    /* the previous script, given n = 1: listens on its port again */
    CHECK(h_wait_cmds(&t, 2, 5000));
    CHECKF(t.ncmds >= 2 && strcmp(t.cmds[1], "broadcast  v1 up, inherited 1") == 0, "%s",
           t.ncmds >= 2 ? t.cmds[1] : "");
    /* logged once the rerun succeeded, so it may trail the rerun's first broadcast */
    CHECKF(h_wait_log(&t, "v2 broken; the previous script runs again", 5000), "%s", t.log);
    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 3, 5000));
    CHECK(t.ncmds >= 3 && strcmp(t.cmds[2], "broadcast  v1 a") == 0);
    CHECK_EQ_INT(stats(&t).reload_failed, 1);

    /* again: now v1 itself refuses the value it is given: no script */
    mlua_reload(t.h);
    CHECK(h_wait_log(&t, "running with NO script", 5000));
    CHECKF(log_pos(&t, "the previous script failed too when run again: ") >= 0, "%s", t.log);
    CHECK_EQ_INT(stats(&t).reload_failed, 2);
    h_post(&t, SWIM_EV_JOIN, &a);
    /* a file that works again brings hooks back; nothing was handed over */
    write_script("agent.broadcast('v3 inherited ' .. tostring(agent.inherited))\n"
                 "agent.on('join', function(m) agent.broadcast('v3 ' .. m.name) end)\n");
    mlua_reload(t.h);
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 5, 5000));
    CHECKF(t.ncmds == 5 && strcmp(t.cmds[3], "broadcast  v3 inherited nil") == 0 &&
           strcmp(t.cmds[4], "broadcast  v3 a") == 0, "%zu commands", t.ncmds);
    for (size_t i = 0; i < t.ncmds; i++)
        CHECKF(strcmp(t.cmds[i], "broadcast  broken tick") != 0, "the failed script's timer ran");
    CHECK_EQ_INT(stats(&t).reload_ok, 1);
    h_finish(&t);
}

/* With a backend (the simulator) the reload runs between two steps, the
 * same way: state handed over, members of the core at load, old timers gone. */
static void test_on_the_simulator(void)
{
    write_script("local n = agent.inherited or 0\n"
                 "agent.log.info('v1 at load, self', agent.self().name)\n"
                 "agent.handoff(function() return n end)\n"
                 "agent.every(1, function() n = n + 1; agent.log.info('v1 tick', n) end)\n");
    mlua_sim_node_spec nodes[2] = { { .name = "n0", .path = path }, { .name = "n1", .path = path } };
    mlua_sim_options o = { .seed = 3, .nodes = nodes, .count = 2 };
    mlua_sim *ms;
    char err[512];
    REQUIRE(mlua_sim_new(&o, &ms, err, sizeof err) == 0);
    const int seed0 = 0;
    sim_join(mlua_sim_sim(ms), 1, &seed0, 1);
    mlua_sim_run_until(ms, 3500);
    write_script("agent.log.info('v2 inherited', agent.inherited, 'members', #agent.members(), 'self',\n"
                 "  agent.self().name)\n");
    mlua_reload(mlua_sim_host(ms, 0));
    mlua_sim_run_until(ms, 6000);
    size_t len;
    const char *log = mlua_sim_log(ms, 0, &len);
    CHECKF(strstr(log, "v1 at load, self n0"), "%s", log);
    CHECKF(strstr(log, "v2 inherited 3 members 2 self n0"), "%s", log);
    CHECKF(strstr(log, "v1 tick 3") && !strstr(log, "v1 tick 4"), "%s", log);
    mlua_stats st;
    mlua_get_stats(mlua_sim_host(ms, 0), &st);
    CHECK_EQ_INT(st.reload_ok, 1);
    mlua_sim_free(ms);
}

int main(void)
{
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    test_port_and_timers_closed_first();
    test_handoff_members_and_events();
    test_failures_keep_the_running_script();
    test_failed_run_falls_back();
    test_on_the_simulator();
    unlink(path);
    return check_done("test_reload");
}
