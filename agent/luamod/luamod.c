/* moonlist.core: the Lua host, driven from Lua (busted specs).
 *
 *   local core = require "moonlist.core"
 *   local h, err = core.host{ code = "...", name = "=x.lua" }   -- or path = "script.lua"
 *   h:members{ {name="me", addr="127.0.0.1", port=7946, status="alive"} } -- agent.members() answers
 *   h:start()
 *   h:post{ type = "join", member = { name = "a", addr = "127.0.0.1", port = 7001 } }
 *   local cmds = h:commands(2, 5)   -- wait up to 5 s for 2 commands
 *   h:stop()
 *
 * The test plays the protocol thread: posts events (a swim_event each),
 * receives the script's commands, calls the delegates. Everything runs
 * through the same mlua API the agent uses. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua/mlua.h"
#include "sim/sim.h"

#define HOST_MT "moonlist.core.host"
#define MAX_MEMBERS 64   /* a spec's fake member table */

typedef struct host {
    mlua *h;
    uv_loop_t loop;
    uv_timer_t tick;
    bool started, stopped;
    /* commands received, as Lua tables kept in the registry list */
    lua_State *L;       /* the caller's state, only used on its own thread */
    int cmds_ref;
    int ncmds;
    swim_member members[MAX_MEMBERS];
    char *names[MAX_MEMBERS];
    uint8_t *metas[MAX_MEMBERS];
    size_t nmembers;
    uv_mutex_t logmu;
    char *log;
    size_t loglen, logcap;
} host;

static void log_cb(void *ud, base_log_level level, const char *msg)
{
    host *t = ud;
    uv_mutex_lock(&t->logmu);
    size_t need = strlen(msg) + 16;
    if (t->loglen + need + 1 > t->logcap) {
        size_t cap = (t->logcap + need) * 2;
        char *n = realloc(t->log, cap);
        if (!n) {
            uv_mutex_unlock(&t->logmu);
            return;
        }
        t->log = n;
        t->logcap = cap;
    }
    t->loglen += (size_t)snprintf(t->log + t->loglen, t->logcap - t->loglen, "[%s] %s\n",
                                  base_log_level_tag(level), msg);
    uv_mutex_unlock(&t->logmu);
}

static void sink(void *ud, const mlua_cmd *c)
{
    host *t = ud;
    if (c->type == MLUA_CMD_MEMBERS) {
        for (size_t i = 0; i < t->nmembers; i++)
            mlua_members_add(t->h, c->reply, &t->members[i]);
        mlua_members_done(t->h, c->reply, t->nmembers ? t->members[0].name : "");
        return;
    }
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->cmds_ref);
    lua_createtable(L, 0, 4);
    static const char *types[] = { "broadcast", "send", "set_meta", "leave", "members" };
    lua_pushstring(L, types[c->type]);
    lua_setfield(L, -2, "type");
    if (c->payload) {
        lua_pushlstring(L, (const char *)c->payload, c->len);
        lua_setfield(L, -2, c->type == MLUA_CMD_SET_META ? "meta" : "payload");
    }
    if (c->key) {
        lua_pushstring(L, c->key);
        lua_setfield(L, -2, "key");
    }
    if (c->name) {
        lua_pushstring(L, c->name);
        lua_setfield(L, -2, "name");
    }
    if (c->type == MLUA_CMD_SEND) {
        lua_pushboolean(L, c->reliable);
        lua_setfield(L, -2, "reliable");
    }
    lua_rawseti(L, -2, ++t->ncmds);
    lua_pop(L, 1);
}

static host *check_host(lua_State *L)
{
    host *t = luaL_checkudata(L, 1, HOST_MT);
    if (!t->h)
        luaL_error(L, "host is closed");
    t->L = L;
    return t;
}

static int parse_addr(const char *s, uint16_t port, swim_addr *a)
{
    memset(a, 0, sizeof *a);
    a->port = port;
    if (inet_pton(AF_INET, s, a->ip) == 1) {
        a->ip_len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, a->ip) == 1) {
        a->ip_len = 16;
        return 0;
    }
    return -1;
}

static swim_state state_of(lua_State *L, const char *s)
{
    if (!s || strcmp(s, "alive") == 0)
        return SWIM_ALIVE;
    if (strcmp(s, "suspect") == 0)
        return SWIM_SUSPECT;
    if (strcmp(s, "dead") == 0)
        return SWIM_DEAD;
    if (strcmp(s, "left") == 0)
        return SWIM_LEFT;
    luaL_error(L, "bad status '%s'", s);
    return SWIM_ALIVE;
}

/* the member table at idx -> m; strings stay owned by the Lua table, which
 * the caller keeps on the stack for as long as m is used */
static void to_member(lua_State *L, int idx, swim_member *m)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    memset(m, 0, sizeof *m);
    lua_getfield(L, idx, "name");
    m->name = luaL_checkstring(L, -1);
    lua_getfield(L, idx, "addr");
    const char *addr = luaL_optstring(L, -1, "127.0.0.1");
    lua_getfield(L, idx, "port");
    uint16_t port = (uint16_t)luaL_optinteger(L, -1, 7946);
    if (parse_addr(addr, port, &m->addr) < 0)
        luaL_error(L, "bad addr '%s'", addr);
    lua_getfield(L, idx, "status");
    m->state = state_of(L, lua_tostring(L, -1));
    lua_getfield(L, idx, "incarnation");
    m->incarnation = (uint32_t)luaL_optinteger(L, -1, 1);
    lua_getfield(L, idx, "meta");
    size_t ml = 0;
    m->meta = (const uint8_t *)lua_tolstring(L, -1, &ml);
    m->meta_len = ml;
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    memcpy(m->vsn, vsn, 6);
    lua_pop(L, 6);   /* the strings stay alive in the table */
}

static int l_host(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "code");
    const char *code = lua_tostring(L, -1);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, "=script.lua");
    lua_getfield(L, 1, "path");
    const char *path = lua_tostring(L, -1);
    lua_getfield(L, 1, "lua_path");
    const char *lpath = lua_tostring(L, -1);
    if (!code == !path)
        return luaL_error(L, "core.host: give code or path");

    host *t = lua_newuserdata(L, sizeof *t);
    memset(t, 0, sizeof *t);
    uv_mutex_init(&t->logmu);
    uv_loop_init(&t->loop);
    uv_timer_init(&t->loop, &t->tick);
    t->L = L;
    lua_newtable(L);
    t->cmds_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    luaL_getmetatable(L, HOST_MT);
    lua_setmetatable(L, -2);
    mlua_options o = { .log = log_cb, .log_ud = t, .lua_path = lpath };
    t->h = mlua_new(&o);
    if (!t->h)
        return luaL_error(L, "out of memory");
    char err[1024];
    int rc = path ? mlua_load(t->h, path, err, sizeof err) : mlua_load_string(t->h, name, code, err, sizeof err);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

static int l_start(lua_State *L)
{
    host *t = check_host(L);
    char err[256];
    if (t->started)
        return luaL_error(L, "already started");
    if (mlua_attach(t->h, &t->loop, sink, t) < 0 || mlua_start(t->h, err, sizeof err) < 0)
        return luaL_error(L, "start failed");
    t->started = true;
    return 0;
}

static int l_members(lua_State *L)
{
    host *t = check_host(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    for (size_t i = 0; i < t->nmembers; i++) {
        free(t->names[i]);
        free(t->metas[i]);
    }
    t->nmembers = 0;
    size_t n = lua_objlen(L, 2);
    for (size_t i = 1; i <= n && t->nmembers < MAX_MEMBERS; i++) {
        lua_rawgeti(L, 2, (int)i);
        swim_member m;
        to_member(L, lua_gettop(L), &m);
        size_t k = t->nmembers++;
        t->names[k] = strdup(m.name);
        t->metas[k] = malloc(m.meta_len ? m.meta_len : 1);
        if (!t->names[k] || !t->metas[k])
            return luaL_error(L, "out of memory");
        memcpy(t->metas[k], m.meta, m.meta_len);
        m.name = t->names[k];
        m.meta = t->metas[k];
        t->members[k] = m;
        lua_pop(L, 1);
    }
    return 0;
}

static const char *const ev_names[] = { "join", "update", "leave", "conflict", "message", "ping", NULL };
static const swim_event_type ev_types[] = { SWIM_EV_JOIN, SWIM_EV_UPDATE, SWIM_EV_LEAVE,
                                            SWIM_EV_CONFLICT, SWIM_EV_USER, SWIM_EV_PING };

static void to_addr(lua_State *L, int idx, const char *field, swim_addr *a)
{
    lua_getfield(L, idx, field);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "addr");
        lua_getfield(L, -2, "port");
        if (parse_addr(luaL_optstring(L, -2, "127.0.0.1"), (uint16_t)luaL_optinteger(L, -1, 7946), a) < 0)
            luaL_error(L, "bad %s address", field);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

static int l_post(lua_State *L)
{
    host *t = check_host(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "type");
    int i = luaL_checkoption(L, -1, NULL, ev_names);
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ev_types[i];
    lua_getfield(L, 2, "member");
    if (lua_istable(L, -1))
        to_member(L, lua_gettop(L), &ev.member);
    lua_getfield(L, 2, "payload");
    size_t pl = 0;
    const char *p = lua_tolstring(L, -1, &pl);
    ev.payload = wire_bytes_of(p, pl);
    to_addr(L, 2, "from", &ev.from);
    to_addr(L, 2, "other", &ev.other);
    lua_getfield(L, 2, "rtt");
    ev.rtt = (uint32_t)(luaL_optnumber(L, -1, 0) * 1000.0 + 0.5);
    mlua_post_event(t->h, &ev);
    return 0;
}

static void tick_cb(uv_timer_t *tm)
{
    (void)tm;
}

/* run the command loop until n commands or timeout seconds; returns the
 * list of every command so far */
static int l_commands(lua_State *L)
{
    host *t = check_host(L);
    int n = (int)luaL_optinteger(L, 2, 0);
    double timeout = luaL_optnumber(L, 3, 5);
    uint64_t deadline = uv_hrtime() + (uint64_t)(timeout * 1e9);
    uv_timer_start(&t->tick, tick_cb, 5, 5);
    uv_run(&t->loop, UV_RUN_NOWAIT);
    while (t->ncmds < n && uv_hrtime() < deadline)
        uv_run(&t->loop, UV_RUN_ONCE);
    uv_timer_stop(&t->tick);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->cmds_ref);
    return 1;
}

static int l_log(lua_State *L)
{
    host *t = check_host(L);
    uv_mutex_lock(&t->logmu);
    lua_pushlstring(L, t->log ? t->log : "", t->loglen);
    uv_mutex_unlock(&t->logmu);
    return 1;
}

/* wait until the log holds `needle` (plain text) or timeout seconds */
static int l_wait_log(lua_State *L)
{
    host *t = check_host(L);
    const char *needle = luaL_checkstring(L, 2);
    double timeout = luaL_optnumber(L, 3, 5);
    uint64_t deadline = uv_hrtime() + (uint64_t)(timeout * 1e9);
    uv_timer_start(&t->tick, tick_cb, 5, 5);
    bool found = false;
    for (;;) {
        uv_mutex_lock(&t->logmu);
        found = t->log && strstr(t->log, needle);
        uv_mutex_unlock(&t->logmu);
        if (found || uv_hrtime() >= deadline)
            break;
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&t->tick);
    lua_pushboolean(L, found);
    return 1;
}

static int l_local_state(lua_State *L)
{
    host *t = check_host(L);
    const uint8_t *out;
    size_t len;
    mlua_local_state(t->h, lua_toboolean(L, 2), &out, &len);
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}

static int l_ack_payload(lua_State *L)
{
    host *t = check_host(L);
    const uint8_t *out;
    size_t len;
    mlua_ack_payload(t->h, &out, &len);
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}

static int l_merge_remote_state(lua_State *L)
{
    host *t = check_host(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    mlua_merge_remote_state(t->h, (const uint8_t *)s, n, lua_toboolean(L, 3));
    return 0;
}

static int l_allow_alive(lua_State *L)
{
    host *t = check_host(L);
    swim_member m;
    to_member(L, 2, &m);
    lua_pushboolean(L, mlua_allow_alive(t->h, &m));
    return 1;
}

static int l_allow_merge(lua_State *L)
{
    host *t = check_host(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    swim_member peers[MAX_MEMBERS];
    size_t n = lua_objlen(L, 2);
    if (n > MAX_MEMBERS)
        return luaL_error(L, "too many peers");
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (int)i + 1);   /* stays on the stack: its strings are used */
        to_member(L, lua_gettop(L), &peers[i]);
    }
    const char *reason = NULL;
    bool ok = mlua_allow_merge(t->h, peers, n, &reason);
    lua_pushboolean(L, ok);
    lua_pushstring(L, ok ? NULL : reason);
    return 2;
}

static int l_settings(lua_State *L)
{
    host *t = check_host(L);
    const mlua_setting *v;
    size_t n = mlua_settings(t->h, &v);
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        switch (v[i].type) {
        case MLUA_SET_STRING: lua_pushstring(L, v[i].s); break;
        case MLUA_SET_BOOL: lua_pushboolean(L, v[i].b); break;
        case MLUA_SET_COUNT: lua_pushnumber(L, v[i].u); break;
        case MLUA_SET_DURATION: lua_pushnumber(L, v[i].u / 1000.0); break;
        case MLUA_SET_LIST:
            lua_createtable(L, (int)v[i].n, 0);
            for (size_t j = 0; j < v[i].n; j++) {
                lua_pushstring(L, v[i].list[j]);
                lua_rawseti(L, -2, (int)j + 1);
            }
            break;
        case MLUA_SET_MAP:
            lua_createtable(L, 0, (int)(v[i].n / 2));
            for (size_t j = 0; j + 1 < v[i].n; j += 2) {
                lua_pushstring(L, v[i].list[j + 1]);
                lua_setfield(L, -2, v[i].list[j]);
            }
            break;
        }
        lua_setfield(L, -2, "value");
        lua_pushstring(L, v[i].where);
        lua_setfield(L, -2, "where");
        lua_setfield(L, -2, v[i].key);
    }
    return 1;
}

static int l_reload(lua_State *L)
{
    mlua_reload(check_host(L)->h);
    return 0;
}

static int l_stats(lua_State *L)
{
    host *t = check_host(L);
    mlua_stats st;
    mlua_get_stats(t->h, &st);
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, (lua_Number)st.events_posted);
    lua_setfield(L, -2, "events_posted");
    lua_pushnumber(L, (lua_Number)st.events_dropped);
    lua_setfield(L, -2, "events_dropped");
    lua_pushnumber(L, (lua_Number)st.hooks_run);
    lua_setfield(L, -2, "hooks_run");
    lua_pushnumber(L, (lua_Number)st.hook_errors);
    lua_setfield(L, -2, "hook_errors");
    lua_pushnumber(L, (lua_Number)st.vetoes_asked);
    lua_setfield(L, -2, "vetoes_asked");
    lua_pushnumber(L, (lua_Number)st.vetoes_defaulted);
    lua_setfield(L, -2, "vetoes_defaulted");
    return 1;
}

/* Stop and free. A host whose thread does not stop (a hook that never
 * returns) is abandoned: stop returns false. */
static int l_stop(lua_State *L)
{
    host *t = luaL_checkudata(L, 1, HOST_MT);
    if (!t->h) {
        lua_pushboolean(L, 1);
        return 1;
    }
    t->L = L;
    double timeout = luaL_optnumber(L, 2, 5);
    if (mlua_stop(t->h, (unsigned)(timeout * 1000)) < 0) {
        t->h = NULL;   /* abandoned with its thread */
        lua_pushboolean(L, 0);
        return 1;
    }
    mlua_detach(t->h);
    uv_run(&t->loop, UV_RUN_NOWAIT);   /* deliver what is left, close the async */
    mlua_free(t->h);
    t->h = NULL;
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    for (size_t i = 0; i < t->nmembers; i++) {
        free(t->names[i]);
        free(t->metas[i]);
    }
    t->nmembers = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, t->cmds_ref);
    free(t->log);
    t->log = NULL;
    lua_pushboolean(L, 1);
    return 1;
}


/* ---- moonlist.core.sim: scripts on simulated nodes ----
 *
 *   local s = core.sim{ seed = 1, profile = "lan", nodes = { { name = "n0", code = "..." }, ... } }
 *   s:join(1, 0)          -- node indexes from 0, as the simulator's
 *   s:run(30)             -- 30 virtual seconds, hosts driven every 10 ms
 *   s:log(1), s:state(1), s:members(1), s:kill(2), s:now()
 *
 * Each node's script runs in a Lua host with a backend (no thread): events
 * and vetoes synchronous, timers on the virtual clock (mlua.h). */
#define SIM_MT "moonlist.core.sim"
#define SIM_MAX_NODES 64
#define SIM_STEP_MS 10   /* the hosts run between simulator steps of this length */

typedef struct sim_timer {
    uint64_t id, due;
} sim_timer;

typedef struct sim_node {
    struct lsim *ls;
    int idx;
    mlua *h;
    sim_timer *timers;
    size_t ntimers, cap;
    mlua_members_reply *reply;
    uv_mutex_t logmu;
    char *log;
    size_t loglen, logcap;
} sim_node;

typedef struct lsim {
    sim *s;
    sim_node nodes[SIM_MAX_NODES];
    int n;
} lsim;

static void sim_log_cb(void *ud, base_log_level level, const char *msg)
{
    sim_node *n = ud;
    size_t need = strlen(msg) + 32;
    if (n->loglen + need + 1 > n->logcap) {
        size_t cap = (n->logcap + need) * 2;
        char *p = realloc(n->log, cap);
        if (!p)
            return;
        n->log = p;
        n->logcap = cap;
    }
    swim_time now = n->ls->s ? sim_now(n->ls->s) : 0;
    n->loglen += (size_t)snprintf(n->log + n->loglen, n->logcap - n->loglen, "%.3f [%s] %s\n", now / 1000.0,
                                  base_log_level_tag(level), msg);
}

static swim *node_core(sim_node *n)
{
    return (size_t)n->idx < sim_count(n->ls->s) ? sim_core(n->ls->s, n->idx) : NULL;
}

static bool sim_add_member(void *ud, const swim_member *m)
{
    sim_node *n = ud;
    mlua_members_add(n->h, n->reply, m);
    return true;
}

static void sb_members(void *ud, mlua *h, mlua_members_reply *r)
{
    sim_node *n = ud;
    swim *core = node_core(n);
    n->reply = r;
    if (core)
        swim_members_each(core, sim_add_member, n);
    n->reply = NULL;
    mlua_members_done(h, r, core ? swim_get_config(core)->name : "");
}

static double sb_now(void *ud)
{
    sim_node *n = ud;
    return sim_now(n->ls->s) / 1000.0;
}

static void sb_timer_stop(void *ud, uint64_t id)
{
    sim_node *n = ud;
    for (size_t i = 0; i < n->ntimers; i++)
        if (n->timers[i].id == id) {
            n->timers[i] = n->timers[--n->ntimers];
            return;
        }
}

static void sb_timer_start(void *ud, uint64_t id, uint64_t ms)
{
    sim_node *n = ud;
    sb_timer_stop(ud, id);
    if (n->ntimers == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        sim_timer *t = realloc(n->timers, cap * sizeof *t);
        if (!t)
            return;   /* out of memory: the timer never fires (logged below) */
        n->timers = t;
        n->cap = cap;
    }
    n->timers[n->ntimers].id = id;
    n->timers[n->ntimers].due = sim_now(n->ls->s) + ms;
    n->ntimers++;
}

static void sim_event_cb(void *ud, int i, swim_time now, const swim_event *ev)
{
    lsim *ls = ud;
    (void)now;
    if (i >= 0 && i < ls->n && ls->nodes[i].h)
        mlua_post_event(ls->nodes[i].h, ev);
}

static void sim_apply(void *ud, const mlua_cmd *c)
{
    sim_node *n = ud;
    swim *core = node_core(n);
    if (core && c->type != MLUA_CMD_LEAVE)
        mlua_cmd_apply(n->h, c, core, sim_now(n->ls->s));
    else if (core)
        swim_leave(core, sim_now(n->ls->s), 5000);   /* the agent's leave timeout */
}

static lsim *check_sim(lua_State *L)
{
    lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    if (!ls->s)
        luaL_error(L, "simulation is closed");
    return ls;
}

static sim_node *check_node(lua_State *L, lsim *ls, int arg)
{
    int i = (int)luaL_checkinteger(L, arg);
    if (i < 0 || i >= ls->n)
        luaL_error(L, "no node %d", i);
    return &ls->nodes[i];
}

static void sim_close(lsim *ls)
{
    for (int i = 0; i < ls->n; i++) {
        sim_node *n = &ls->nodes[i];
        if (n->h)
            mlua_free(n->h);   /* before the sim: closing timers calls the backend */
        n->h = NULL;
        free(n->timers);
        free(n->log);
        n->timers = NULL;
        n->log = NULL;
    }
    if (ls->s)
        sim_free(ls->s);
    ls->s = NULL;
}

static int l_sim_gc(lua_State *L)
{
    sim_close(luaL_checkudata(L, 1, SIM_MT));
    return 0;
}

static int l_sim(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "seed");
    uint64_t seed = (uint64_t)luaL_optnumber(L, -1, 1);
    lua_getfield(L, 1, "profile");
    const char *profile = luaL_optstring(L, -1, "lan");
    lua_getfield(L, 1, "lua_path");
    const char *lpath = luaL_optstring(L, -1, "lua/?.lua");
    lua_getfield(L, 1, "nodes");
    luaL_checktype(L, -1, LUA_TTABLE);
    int nodes = lua_gettop(L);
    int count = (int)lua_objlen(L, nodes);
    if (count < 1 || count > SIM_MAX_NODES)
        return luaL_error(L, "core.sim: 1..%d nodes", SIM_MAX_NODES);

    lsim *ls = lua_newuserdata(L, sizeof *ls);
    memset(ls, 0, sizeof *ls);
    luaL_getmetatable(L, SIM_MT);
    lua_setmetatable(L, -2);
    ls->s = sim_new(seed);
    if (!ls->s)
        return luaL_error(L, "out of memory");
    sim_on_event(ls->s, sim_event_cb, ls);
    for (int i = 0; i < count; i++) {
        sim_node *n = &ls->nodes[i];
        n->ls = ls;
        n->idx = i;
        ls->n = i + 1;
        lua_rawgeti(L, nodes, i + 1);
        lua_getfield(L, -1, "name");
        char name[256];
        snprintf(name, sizeof name, "%s", luaL_optstring(L, -1, ""));
        if (!name[0])
            snprintf(name, sizeof name, "n%d", i);
        lua_getfield(L, -2, "code");
        const char *code = lua_tostring(L, -1);
        lua_getfield(L, -3, "path");
        const char *path = lua_tostring(L, -1);
        if (!code == !path)
            return luaL_error(L, "core.sim: node %d needs code or path", i);
        mlua_options o = { .log = sim_log_cb, .log_ud = n, .lua_path = lpath };
        n->h = mlua_new(&o);
        mlua_backend b = { .ud = n, .members = sb_members, .now = sb_now, .timer_start = sb_timer_start,
                           .timer_stop = sb_timer_stop };
        if (!n->h || mlua_set_backend(n->h, &b) < 0)
            return luaL_error(L, "out of memory");
        char err[1024];
        int rc = path ? mlua_load(n->h, path, err, sizeof err) : mlua_load_string(n->h, "=sim.lua", code, err, sizeof err);
        if (rc < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "node %d: %s", i, err);
            return 2;
        }
        swim_config cfg;
        memset(&cfg, 0, sizeof cfg);
        if (swim_config_profile(&cfg, profile) < 0)
            return luaL_error(L, "core.sim: unknown profile '%s'", profile);
        if (mlua_settings_apply_knobs(n->h, &cfg, err, sizeof err) < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "node %d: %s", i, err);
            return 2;
        }
        snprintf(cfg.name, sizeof cfg.name, "%s", name);
        static const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                                        WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
        memcpy(cfg.vsn, vsn, 6);
        int ml = mlua_settings_meta(n->h, cfg.meta, sizeof cfg.meta);
        if (ml < 0) {
            cfg.meta[0] = 0xff;   /* no tags: what serf sends */
            cfg.meta[1] = 0x80;
            ml = 2;
        }
        cfg.meta_len = (size_t)ml;
        swim_delegate d = mlua_delegate(n->h);
        if (sim_add(ls->s, &cfg, &d) != i)
            return luaL_error(L, "core.sim: node %d: the simulator refused its config", i);
        lua_pop(L, 4);
    }
    lua_pushvalue(L, nodes + 1);
    return 1;
}

static void sim_drive(lsim *ls, swim_time until)
{
    swim_time t = sim_now(ls->s);
    do {
        t = t + SIM_STEP_MS < until ? t + SIM_STEP_MS : until;
        sim_run_until(ls->s, t);
        for (int i = 0; i < ls->n; i++) {
            sim_node *n = &ls->nodes[i];
            if (!n->h)
                continue;
            /* due timers, earliest first */
            for (;;) {
                size_t best = n->ntimers;
                for (size_t k = 0; k < n->ntimers; k++)
                    if (n->timers[k].due <= t && (best == n->ntimers || n->timers[k].due < n->timers[best].due ||
                                                  (n->timers[k].due == n->timers[best].due &&
                                                   n->timers[k].id < n->timers[best].id)))
                        best = k;
                if (best == n->ntimers)
                    break;
                uint64_t id = n->timers[best].id;
                n->timers[best] = n->timers[--n->ntimers];
                mlua_timer_due(n->h, id);
            }
            mlua_run_pending(n->h);
            if (node_core(n))
                mlua_drain_commands(n->h, sim_apply, n);
        }
    } while (t < until);
}

static int l_sim_run(lua_State *L)
{
    lsim *ls = check_sim(L);
    double secs = luaL_checknumber(L, 2);
    if (!(secs >= 0 && secs < 86400 * 30))
        return luaL_error(L, "run: seconds out of range");
    sim_drive(ls, sim_now(ls->s) + (swim_time)(secs * 1000.0 + 0.5));
    return 0;
}

static int l_sim_join(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_node *n = check_node(L, ls, 2);
    int seeds[SIM_MAX_NODES];
    int k = 0;
    for (int a = 3; a <= lua_gettop(L) && k < SIM_MAX_NODES; a++)
        seeds[k++] = check_node(L, ls, a)->idx;
    sim_join(ls->s, n->idx, seeds, (size_t)k);
    return 0;
}

static int l_sim_kill(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_kill(ls->s, check_node(L, ls, 2)->idx);
    return 0;
}

static int l_sim_pause(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_node *n = check_node(L, ls, 2);
    if (lua_toboolean(L, 3))
        sim_resume(ls->s, n->idx);
    else
        sim_pause(ls->s, n->idx);
    return 0;
}

static int l_sim_now(lua_State *L)
{
    lsim *ls = check_sim(L);
    lua_pushnumber(L, sim_now(ls->s) / 1000.0);
    return 1;
}

static int l_sim_log(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_node *n = check_node(L, ls, 2);
    lua_pushlstring(L, n->log ? n->log : "", n->loglen);
    return 1;
}

static int l_sim_state(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_node *n = check_node(L, ls, 2);
    const uint8_t *out;
    size_t len;
    mlua_local_state(n->h, lua_toboolean(L, 3), &out, &len);
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}


static bool sim_member_row(void *ud, const swim_member *m)
{
    lua_State *L = ud;
    lua_pushstring(L, swim_state_name(m->state));
    lua_setfield(L, -2, m->name);
    return true;
}

static int l_sim_members(lua_State *L)
{
    lsim *ls = check_sim(L);
    sim_node *n = check_node(L, ls, 2);
    swim *core = node_core(n);
    lua_newtable(L);
    if (!core)
        return 1;
    /* name -> status, enough for assertions */
    swim_members_each(core, sim_member_row, L);
    return 1;
}

int luaopen_moonlist_core(lua_State *L);

int luaopen_moonlist_core(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "start", l_start }, { "members", l_members }, { "post", l_post }, { "commands", l_commands },
        { "log", l_log }, { "wait_log", l_wait_log }, { "local_state", l_local_state },
        { "ack_payload", l_ack_payload }, { "merge_remote_state", l_merge_remote_state },
        { "allow_alive", l_allow_alive }, { "allow_merge", l_allow_merge }, { "settings", l_settings },
        { "reload", l_reload }, { "stats", l_stats }, { "stop", l_stop }, { NULL, NULL },
    };
    luaL_newmetatable(L, HOST_MT);
    lua_newtable(L);
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_stop);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg sim_methods[] = {
        { "run", l_sim_run }, { "join", l_sim_join }, { "kill", l_sim_kill }, { "pause", l_sim_pause },
        { "now", l_sim_now }, { "log", l_sim_log }, { "state", l_sim_state }, { "members", l_sim_members },
        { NULL, NULL },
    };
    luaL_newmetatable(L, SIM_MT);
    lua_newtable(L);
    for (const luaL_Reg *r = sim_methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_sim_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_host);
    lua_setfield(L, -2, "host");
    lua_pushcfunction(L, l_sim);
    lua_setfield(L, -2, "sim");
    return 1;
}
