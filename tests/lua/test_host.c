/* The Lua host on its own: hooks run in order on the Lua thread, errors are
 * logged with a traceback and the host carries on, commands come down to
 * the "protocol" loop, delegates answer from published values, vetoes,
 * timers, luv on the Lua thread's loop, reload. */
#include <unistd.h>

#include "check.h"
#include "lua/mlua_internal.h"
#include "mlua_harness.h"

static const uint8_t tags_meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b' };

static void test_hooks_in_order(void)
{
    harness t;
    h_boot(&t,
        "local agent = require 'moonlist'\n"
        "local function m2s(m) return m.name..'/'..m.status..'/'..m.addr..':'..m.port..'/'..m.incarnation end\n"
        "agent.on('join', function(m) agent.broadcast('join '..m2s(m)..' role='..tostring(m.tags.role)"
        "  ..' p='..m.protocol.min..m.protocol.max..m.protocol.cur..' d='..m.delegate.min..m.delegate.max..m.delegate.cur"
        "  ..' meta='..#m.meta) end)\n"
        "agent.on('update', function(m) agent.broadcast('update '..m2s(m)) end)\n"
        "agent.on('leave', function(m) agent.broadcast('leave '..m2s(m)) end)\n"
        "agent.on('conflict', function(m, other) agent.broadcast('conflict '..m.name..' '..other.addr..':'..other.port) end)\n"
        "agent.on('message', function(p, from) agent.broadcast('message '..p..' '..from.addr..':'..from.port..' '..tostring(from.name)) end)\n"
        "agent.on('ping', function(m, rtt, payload) agent.broadcast(string.format('ping %s %.3f %s', m.name, rtt, payload)) end)\n"
        "agent.on('join', function(m) agent.send(m.name, 'hello', {reliable=true}) end)\n");

    swim_member a = h_member("a", 7001, SWIM_ALIVE, tags_meta, sizeof tags_meta);
    h_post(&t, SWIM_EV_JOIN, &a);
    a.incarnation = 4;
    h_post(&t, SWIM_EV_UPDATE, &a);
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_USER;
    ev.payload = wire_bytes_of("hi", 2);
    ev.from = a.addr;
    mlua_post_event(t.h, &ev);
    ev.type = SWIM_EV_PING;
    ev.member = a;
    ev.rtt = 12;
    ev.payload = wire_bytes_of("coord", 5);
    mlua_post_event(t.h, &ev);
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_CONFLICT;
    ev.member = a;
    ev.other = a.addr;
    ev.other.port = 9999;
    mlua_post_event(t.h, &ev);
    a.state = SWIM_LEFT;
    h_post(&t, SWIM_EV_LEAVE, &a);
    ev.type = SWIM_EV_JOIN_DONE;   /* no hook: ignored by design */
    mlua_post_event(t.h, &ev);

    static const char *want[] = {
        "broadcast  join a/alive/127.0.0.1:7001/3 role=web p=152 d=254 meta=11",
        "send a reliable hello",
        "broadcast  update a/alive/127.0.0.1:7001/4",
        "broadcast  message hi 127.0.0.1:7001 a",
        "broadcast  ping a 0.012 coord",
        "broadcast  conflict a 127.0.0.1:9999",
        "broadcast  leave a/left/127.0.0.1:7001/4",
    };
    size_t nw = sizeof want / sizeof want[0];
    CHECK(h_wait_cmds(&t, nw, 5000));
    for (size_t i = 0; i < nw && i < t.ncmds; i++)
        CHECKF(strcmp(t.cmds[i], want[i]) == 0, "cmd %zu: got '%s' want '%s'", i, t.cmds[i], want[i]);
    mlua_stats st;
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.hook_errors, 0);
    CHECK_EQ_INT(st.events_posted, 6);   /* JOIN_DONE has no hook: not posted */
    h_finish(&t);
}

static void test_errors_logged_and_carry_on(void)
{
    harness t;
    h_boot(&t,
        "local agent = require 'moonlist'\n"
        "local function boom(m) error('kaput '..m.name) end\n"
        "agent.on('join', function(m) boom(m) end)\n"
        "agent.on('join', function(m) agent.broadcast('second '..m.name) end)\n"
        "agent.on('leave', function(m) local x = nil; return x.field end)\n"
        "agent.after(0.01, function() error('timer error') end)\n"
        "local uv = require 'luv'\n"
        "local tm = uv.new_timer()\n"
        "tm:start(20, 0, function() tm:close(); error('luv error') end)\n");
    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0), b = h_member("b", 7002, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &a);
    h_post(&t, SWIM_EV_LEAVE, &a);
    h_post(&t, SWIM_EV_JOIN, &b);
    CHECK(h_wait_cmds(&t, 2, 5000));
    CHECK(t.ncmds == 2 && strcmp(t.cmds[0], "broadcast  second a") == 0 && strcmp(t.cmds[1], "broadcast  second b") == 0);
    CHECK(h_wait_log(&t, "luv error", 5000));
    CHECK(h_wait_log(&t, "timer error", 5000));
    CHECK(h_log_has(&t, "hook 'join' failed: test.lua:2: kaput a"));
    CHECK(h_log_has(&t, "stack traceback:"));
    CHECK(h_log_has(&t, "in function 'boom'"));
    CHECK(h_log_has(&t, "hook 'leave' failed: test.lua:5: attempt to index local 'x'"));
    CHECK(h_log_has(&t, "luv callback failed: test.lua:9: luv error"));
    CHECK(h_log_has(&t, "agent.after callback failed: test.lua:6: timer error"));
    mlua_stats st;
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.hook_errors, 3);   /* kaput a, x.field, kaput b (not alike: both logged) */
    CHECK_EQ_INT(st.timer_errors, 1);
    CHECK_EQ_INT(st.luv_errors, 1);
    CHECK(h_log_has(&t, "hook 'join' failed: test.lua:2: kaput b"));
    h_finish(&t);
}

static void test_load_errors(void)
{
    static const struct { const char *code, *want; } cases[] = {
        { "local agent = require 'moonlist'\nagent.on('joined', function() end)\n",
          "test.lua:2: agent.on: unknown event 'joined'" },
        { "syntax error here", "test.lua:1:" },
        { "local agent = require 'moonlist'\n\nerror('at load')\n", "test.lua:3: at load" },
        { "local agent = require 'moonlist'\nagent.state{ local_state = 3 }\n",
          "test.lua:2: agent.state: 'local_state' must be a function" },
        { "local agent = require 'moonlist'\nagent.send('x', 'y', {reliabel=true})\n", "unknown option 'reliabel'" },
        { "local agent = require 'moonlist'\nagent.set_tags{ role = {} }\n", "agent.set_tags: tags must map" },
        { "local agent = require 'moonlist'\nagent.set_tags{ role = true }\n", "(false deletes a key)" },
        { "local agent = require 'moonlist'\nagent.every(0, function() end)\n", "agent.every: the period" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness t;
        h_init(&t);
        char err[512] = "";
        int rc = h_load(&t, cases[i].code, err, sizeof err);
        CHECKF(rc < 0 && strstr(err, cases[i].want), "case %zu: rc %d err '%s'", i, rc, err);
        h_finish(&t);
    }
}

static void test_members_and_self(void)
{
    harness t;
    h_init(&t);
    char err[512];
    int rc = h_load(&t,
        "local agent = require 'moonlist'\n"
        "agent.on('join', function(m)\n"
        "  local ms = agent.members()\n"
        "  local names = {}\n"
        "  for _, x in ipairs(ms) do names[#names+1] = x.name..'='..x.status end\n"
        "  agent.broadcast(table.concat(names, ','), 'k')\n"
        "  agent.broadcast('self '..agent.self().name..' '..agent.self().tags.role)\n"
        "end)\n",
        err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    t.members[0] = h_member("me", 7000, SWIM_ALIVE, tags_meta, sizeof tags_meta);
    t.members[1] = h_member("b", 7001, SWIM_SUSPECT, NULL, 0);
    t.members[2] = h_member("c", 7002, SWIM_DEAD, NULL, 0);
    t.nmembers = 3;
    REQUIRE(h_start(&t) == 0);
    h_post(&t, SWIM_EV_JOIN, &t.members[1]);
    CHECK(h_wait_cmds(&t, 2, 5000));
    CHECK(t.ncmds >= 2 && strcmp(t.cmds[0], "broadcast k me=alive,b=suspect,c=dead") == 0);
    CHECK(t.ncmds >= 2 && strcmp(t.cmds[1], "broadcast  self me web") == 0);
    h_finish(&t);
}

/* While the first script loads no core exists: agent.self() and
 * agent.members() answer ourselves, from the caller's flags (options),
 * else the script's agent.config, else the host name. */
static void test_self_at_first_load(void)
{
    static const char code[] =
        "local agent = require 'moonlist'\n"
        "%s\n"
        "local me, all = agent.self(), agent.members()\n"
        "agent.broadcast(me.name .. ' ' .. tostring(me.tags.role) .. ' ' .. me.status .. ' ' .. me.incarnation\n"
        "  .. ' ' .. tostring(me.addr) .. ' ' .. #all .. ' ' .. tostring(all[1].name == me.name))\n";
    char host[256] = "";
    REQUIRE(gethostname(host, sizeof host - 1) == 0);
    char want_host[600];
    snprintf(want_host, sizeof want_host, "broadcast  %s nil alive 0 nil 1 true", host);
    static const uint8_t db_meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa2, 'd', 'b' };
    const struct {
        const char *self_name;
        const uint8_t *self_meta;
        size_t meta_len;
        const char *config, *want;
    } cases[] = {
        { "flagged", db_meta, sizeof db_meta, "agent.config { node = 'cfg', tags = { role = 'web' } }",
          "broadcast  flagged db alive 0 nil 1 true" },
        { NULL, NULL, 0, "agent.config { node = 'cfg', tags = { role = 'web' } }",
          "broadcast  cfg web alive 0 nil 1 true" },
        { NULL, NULL, 0, "", want_host },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness t;
        h_init(&t);
        mlua_options o = { .log = h_log, .log_ud = &t, .self_name = cases[i].self_name,
                           .self_meta = cases[i].self_meta, .self_meta_len = cases[i].meta_len };
        t.h = mlua_new(&o);
        char script[1024], err[512];
        snprintf(script, sizeof script, code, cases[i].config);
        CHECKF(mlua_load_string(t.h, "=test.lua", script, err, sizeof err) == 0, "case %zu: %s", i, err);
        REQUIRE(h_start(&t) == 0);
        CHECK(h_wait_cmds(&t, 1, 5000));
        CHECKF(t.ncmds == 1 && strcmp(t.cmds[0], cases[i].want) == 0, "case %zu: got '%s' want '%s'", i,
               t.ncmds ? t.cmds[0] : "", cases[i].want);
        h_finish(&t);
    }
}

static void test_commands(void)
{
    harness t;
    h_init(&t);
    char err[512];
    int rc = h_load(&t,
        "local agent = require 'moonlist'\n"
        "agent.broadcast('early', 'k1')\n"          /* queued at load, delivered on attach */
        "agent.on('join', function(m)\n"
        "  agent.send(m.name, 'udp')\n"
        "  agent.set_tags{ role = 'db', zone = 'b', old = false }\n"
        "  agent.leave()\n"
        "end)\n",
        err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(h_start(&t) == 0);
    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 4, 5000));
    CHECK(t.ncmds == 4);
    if (t.ncmds == 4) {
        CHECK(strcmp(t.cmds[0], "broadcast k1 early") == 0);
        CHECK(strcmp(t.cmds[1], "send a udp udp") == 0);
        /* the change, keys sorted: ff 83 a3 old c0 (deleted) a4 role a2 db a4 zone a1 b */
        CHECKF(strcmp(t.cmds[2], "meta ff83a36f6c64c0a4726f6c65a26462a47a6f6e65a162") == 0, "%s", t.cmds[2]);
        CHECK(strcmp(t.cmds[3], "leave") == 0);
    }
    h_finish(&t);
}

/* A veto ask is answered by the script only if the Lua thread is idle and
 * answers within MLUA_ALIVE_WAIT_MS / MLUA_MERGE_WAIT_MS; otherwise the
 * host takes the documented default (allow) and counts it in
 * vetoes_defaulted. On a loaded machine (sanitizers, 2 shared cores) the
 * Lua thread may still be leaving the previous callback, or not be
 * scheduled within 20 ms: ask again until an ask was answered (not
 * defaulted), for at most 5 s, and report that answer. */
#define VETO_ANSWER_DEADLINE_MS 5000

static uint64_t vetoes_defaulted(harness *t)
{
    mlua_stats st;
    mlua_get_stats(t->h, &st);
    return st.vetoes_defaulted;
}

static bool answered_alive(harness *t, const swim_member *m, bool *allow)
{
    uint64_t deadline = uv_hrtime() / 1000000u + VETO_ANSWER_DEADLINE_MS;
    do {
        uint64_t d0 = vetoes_defaulted(t);
        *allow = mlua_allow_alive(t->h, m);
        if (vetoes_defaulted(t) == d0)
            return true;
        uv_sleep(5);
    } while (uv_hrtime() / 1000000u < deadline);
    return false;
}

static bool answered_merge(harness *t, const swim_member *peers, size_t n, const char **reason, bool *allow)
{
    uint64_t deadline = uv_hrtime() / 1000000u + VETO_ANSWER_DEADLINE_MS;
    do {
        uint64_t d0 = vetoes_defaulted(t);
        *allow = mlua_allow_merge(t->h, peers, n, reason);
        if (vetoes_defaulted(t) == d0)
            return true;
        uv_sleep(5);
    } while (uv_hrtime() / 1000000u < deadline);
    return false;
}

static void test_state_and_vetoes(void)
{
    harness t;
    h_init(&t);
    char err[512];
    int rc = h_load(&t,
        "local agent = require 'moonlist'\n"
        "local n = 0\n"
        "agent.state{\n"
        "  local_state = function(is_join) return 'n='..n..' join='..tostring(is_join) end,\n"
        "  merge_remote_state = function(bytes, is_join) agent.broadcast('merged '..bytes..' '..tostring(is_join)) end,\n"
        "}\n"
        "agent.ping_payload('pong')\n"
        "agent.on('join', function(m) n = n + 1 end)\n"
        "agent.on('alive', function(m) if m.name:match('^bad') then return false, 'bad name' end end)\n"
        "agent.on('merge', function(peers) for _, p in ipairs(peers) do if p.tags.role == 'evil' then return false, 'evil peer '..p.name end end end)\n",
        err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    const uint8_t *out;
    size_t len;
    mlua_local_state(t.h, false, &out, &len);
    CHECK_MEM(out, len, "n=0 join=false", 14);
    mlua_local_state(t.h, true, &out, &len);
    CHECK_MEM(out, len, "n=0 join=true", 13);
    mlua_ack_payload(t.h, &out, &len);
    CHECK_MEM(out, len, "pong", 4);
    REQUIRE(h_start(&t) == 0);

    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &a);
    mlua_merge_remote_state(t.h, (const uint8_t *)"remote", 6, true);
    CHECK(h_wait_cmds(&t, 1, 5000));
    CHECK(t.ncmds == 1 && strcmp(t.cmds[0], "broadcast  merged remote true") == 0);
    /* republished once the loop iteration that ran the join hook ends */
    uint64_t deadline = uv_hrtime() / 1000000u + 5000;
    do
        mlua_local_state(t.h, false, &out, &len);
    while (!(len == 14 && memcmp(out, "n=1 join=false", 14) == 0) && uv_hrtime() / 1000000u < deadline &&
           h_wait_log(&t, "never logged", 10) == false);
    CHECK_MEM(out, len, "n=1 join=false", 14);

    swim_member bad = h_member("bad1", 7002, SWIM_ALIVE, NULL, 0);
    bool allow = true;
    CHECK(answered_alive(&t, &bad, &allow) && !allow);
    CHECK(answered_alive(&t, &a, &allow) && allow);
    static const uint8_t evil[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa4, 'e', 'v', 'i', 'l' };
    swim_member peers[2] = { a, h_member("e", 7003, SWIM_ALIVE, evil, sizeof evil) };
    const char *reason = NULL;
    CHECK(answered_merge(&t, peers, 1, &reason, &allow) && allow);
    CHECK(answered_merge(&t, peers, 2, &reason, &allow) && !allow);
    CHECK(reason && strcmp(reason, "evil peer e") == 0);
    CHECK(h_log_has(&t, "alive message about bad1 refused by the script: bad name"));
    h_finish(&t);
}

/* An idle agent's Lua thread sleeps: no refresh timer without a
 * local_state to call again, and no probe acks queued without a "ping"
 * hook. Both start when a hook adds what needs them. */
static void test_idle_without_wakes(void)
{
    harness t;
    h_boot(&t,
        "local agent = require 'moonlist'\n"
        "local n = 0\n"
        "agent.on('join', function(m)\n"
        "  agent.state{ local_state = function() n = n + 1; return tostring(n) end }\n"
        "  agent.on('ping', function(p) agent.broadcast('ping ' .. p.name) end)\n"
        "  agent.broadcast('joined ' .. m.name)\n"
        "end)\n");
    /* started on this thread, and nothing on the Lua thread arms it */
    CHECK(!uv_is_active((uv_handle_t *)&t.h->refresh));

    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
    swim_event ping;
    memset(&ping, 0, sizeof ping);
    ping.type = SWIM_EV_PING;
    ping.member = a;
    mlua_post_event(t.h, &ping);
    mlua_stats st;
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.events_posted, 0);

    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 1, 5000));
    mlua_post_event(t.h, &ping);
    CHECK(h_wait_cmds(&t, 2, 5000));
    CHECK(t.ncmds == 2 && strcmp(t.cmds[0], "broadcast  joined a") == 0 && strcmp(t.cmds[1], "broadcast  ping a") == 0);
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.events_posted, 2);

    /* published at agent.state (1, 2), after the join hook (3, 4) and
     * after the ping hook (5, 6); with no event since, only the refresh
     * timer calls it again */
    const uint8_t *out;
    size_t len = 0;
    uint64_t deadline = uv_hrtime() / 1000000u + 5000;
    int seen = 0;
    while (seen < 7 && uv_hrtime() / 1000000u < deadline) {
        h_wait_log(&t, "never logged", 20);
        mlua_local_state(t.h, false, &out, &len);
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(len < 31 ? len : 31), out ? (const char *)out : "");
        seen = atoi(num);
    }
    CHECKF(seen >= 7, "local_state called %d times", seen);
    h_finish(&t);
}

static void test_timers_and_luv(void)
{
    harness t;
    h_init(&t);
    char err[512];
    int rc = h_load(&t,
        "local agent = require 'moonlist'\n"
        "local uv = require 'luv'\n"
        "local count = 0\n"
        "local ev\n"
        "ev = agent.every(0.01, function() count = count + 1; if count == 3 then ev:stop(); agent.broadcast('every 3') end end)\n"
        "local cancelled = agent.after(0.02, function() agent.broadcast('must not run') end)\n"
        "assert(cancelled:stop() == true and cancelled:stop() == false)\n"
        "agent.after(0.05, function()\n"
        "  local t = uv.new_timer()\n"
        "  t:start(10, 0, function() t:close(); agent.broadcast('luv timer') end)\n"
        "end)\n"
        /* luv processes and files on the same loop */
        "local out = uv.new_pipe(false)\n"
        "local h = uv.spawn('/bin/sh', {args={'-c','echo from-child'}, stdio={nil, out, nil}}, function(code) agent.broadcast('exit '..code) end)\n"
        "assert(h, 'spawn failed')\n"
        "out:read_start(function(e, data) if data then agent.broadcast('read '..data:gsub('%s+$','')) else out:close() end end)\n",
        err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(h_start(&t) == 0);
    CHECK(h_wait_cmds(&t, 4, 5000));
    int seen = 0;
    for (size_t i = 0; i < t.ncmds; i++) {
        if (strcmp(t.cmds[i], "broadcast  every 3") == 0) seen |= 1;
        if (strcmp(t.cmds[i], "broadcast  luv timer") == 0) seen |= 2;
        if (strcmp(t.cmds[i], "broadcast  read from-child") == 0) seen |= 4;
        if (strcmp(t.cmds[i], "broadcast  exit 0") == 0) seen |= 8;
        CHECKF(strcmp(t.cmds[i], "broadcast  must not run") != 0, "stopped timer ran");
    }
    CHECKF(seen == 15, "seen %d", seen);
    h_finish(&t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
}

static void test_reload(void)
{
    char path[] = "/tmp/mlua_reload_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    write_file(path,
        "local agent = require 'moonlist'\n"
        "agent.config{ probe_interval = 1 }\n"
        "agent.on('join', function(m) agent.broadcast('v1 '..m.name) end)\n"
        "agent.every(0.01, function() end)\n"
        "local uv = require 'luv'\n"
        "local t = uv.new_timer(); t:start(10, 10, function() end)\n");
    harness t;
    h_init(&t);
    mlua_options o = { .log = h_log, .log_ud = &t };
    t.h = mlua_new(&o);
    char err[512];
    CHECKF(mlua_load(t.h, path, err, sizeof err) == 0, "%s", err);
    REQUIRE(h_start(&t) == 0);
    swim_member a = h_member("a", 7001, SWIM_ALIVE, NULL, 0);
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 1, 5000));

    write_file(path,
        "local agent = require 'moonlist'\n"
        "agent.config{ probe_interval = 2 }\n"
        "agent.on('join', function(m) agent.broadcast('v2 '..m.name) end)\n");
    mlua_reload(t.h);
    CHECK(h_wait_log(&t, "reloaded", 5000));
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 2, 5000));
    CHECK(t.ncmds == 2 && strcmp(t.cmds[1], "broadcast  v2 a") == 0);
    /* settings stay those of the start */
    const mlua_setting *pi = mlua_setting_get(t.h, "probe_interval");
    CHECK(pi && pi->u == 1000);

    write_file(path, "local agent = require 'moonlist'\nagent.on('join', function(m) end\n");
    mlua_reload(t.h);
    CHECK(h_wait_log(&t, "failed, keeping the running script", 5000));
    h_post(&t, SWIM_EV_JOIN, &a);
    CHECK(h_wait_cmds(&t, 3, 5000));
    CHECK(t.ncmds == 3 && strcmp(t.cmds[2], "broadcast  v2 a") == 0);

    /* reload, then stop at once: the replaced state (with luv handles and
     * timers) is closed on the way out */
    write_file(path,
        "local agent = require 'moonlist'\n"
        "local uv = require 'luv'\n"
        "local t = uv.new_timer(); t:start(5, 5, function() end)\n"
        "agent.every(0.005, function() end)\n");
    mlua_reload(t.h);
    mlua_reload(t.h);
    h_finish(&t);
    unlink(path);
}

int main(void)
{
    test_hooks_in_order();
    test_errors_logged_and_carry_on();
    test_load_errors();
    test_members_and_self();
    test_self_at_first_load();
    test_commands();
    test_state_and_vetoes();
    test_idle_without_wakes();
    test_timers_and_luv();
    test_reload();
    return check_done("test_host");
}
