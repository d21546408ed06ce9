/* moonlist.core.host: a Lua host on its own, driven from Lua (busted
 * specs).
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
 * through the same mlua API the agent uses, with the host's own Lua
 * thread. */
#include <stdlib.h>
#include <string.h>

#include "luamod/luamod_internal.h"
#include "net/net.h"

#define HOST_MT "moonlist.core.host"
#define MAX_MEMBERS 64   /* a spec's fake member table */

/* The userdata. Everything it points to is its own and released by
 * l_stop (also its __gc), except a host whose thread never stopped: that
 * one is abandoned with its thread (h set to NULL). */
typedef struct host {
    mlua *h;            /* owned: mlua_free in l_stop */
    uv_loop_t loop;     /* plays the protocol loop: commands arrive on it */
    uv_timer_t tick;
    bool started;
    /* commands received, as Lua tables kept in the registry list */
    lua_State *L;       /* the caller's state, only used on its own thread */
    int cmds_ref;
    int ncmds;
    swim_member members[MAX_MEMBERS];   /* name and meta point into names/metas */
    char *names[MAX_MEMBERS];           /* owned copies, nmembers of them */
    uint8_t *metas[MAX_MEMBERS];        /* owned copies */
    size_t nmembers;
    uv_mutex_t logmu;   /* the Lua thread logs too */
    char *log;          /* owned */
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
    uint16_t port = (uint16_t)luaL_optinteger(L, -1, NET_DEFAULT_PORT);
    if (net_parse_ip(addr, port, &m->addr) < 0)
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
        uint16_t port = (uint16_t)luaL_optinteger(L, -1, NET_DEFAULT_PORT);
        if (net_parse_ip(luaL_optstring(L, -2, "127.0.0.1"), port, a) < 0)
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
    const struct { const char *name; uint64_t n; } rows[] = {
        { "events_posted", st.events_posted }, { "events_dropped", st.events_dropped },
        { "hooks_run", st.hooks_run }, { "hook_errors", st.hook_errors },
        { "vetoes_asked", st.vetoes_asked }, { "vetoes_defaulted", st.vetoes_defaulted },
    };
    lua_createtable(L, 0, (int)(sizeof rows / sizeof rows[0]));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        lua_pushnumber(L, (lua_Number)rows[i].n);
        lua_setfield(L, -2, rows[i].name);
    }
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

void luamod_host_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "start", l_start }, { "members", l_members }, { "post", l_post }, { "commands", l_commands },
        { "log", l_log }, { "wait_log", l_wait_log }, { "local_state", l_local_state },
        { "ack_payload", l_ack_payload }, { "merge_remote_state", l_merge_remote_state },
        { "allow_alive", l_allow_alive }, { "allow_merge", l_allow_merge }, { "settings", l_settings },
        { "reload", l_reload }, { "stats", l_stats }, { "stop", l_stop }, { NULL, NULL },
    };
    luamod_class(L, HOST_MT, methods, l_stop);
    lua_pushcfunction(L, l_host);
    lua_setfield(L, -2, "host");
}
