/* mlua_module: the `moonlist` module a script requires (the contract in
 * docs/lua.md). Every function here runs on the thread that runs the
 * script: the loader at start-up, the Lua thread afterwards. Whatever goes
 * down to the protocol goes through mlua_command(), the one seam a
 * simulator backend replaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <luv.h>

#include "lua/mlua_internal.h"

/* A script's payloads ride in one UDP packet (broadcast, best-effort send)
 * or one stream message; 64 KiB bounds both and catches a runaway value
 * here, with a Lua error, instead of a log line on the other thread. */
#define MLUA_PAYLOAD_MAX 65536

static const char *const hook_names[] = {
    "join", "update", "leave", "message", "conflict", "merge", "alive", "ping", "event", "query", NULL,
};

mlua *mlua_host_of(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOST_KEY);
    mlua *h = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
}

/* ---- protected calls ---- */

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    lua_getglobal(L, "debug");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "traceback");
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, msg);
            lua_pushinteger(L, 2);
            lua_call(L, 2, 1);
            return 1;
        }
    }
    lua_pushstring(L, msg);
    return 1;
}

void mlua_busy_enter(mlua *h)
{
    if (h->callback_depth++ == 0)
        atomic_store(&h->busy_since, (unsigned long long)mlua_now_ms() | 1u);
}

void mlua_busy_leave(mlua *h)
{
    if (--h->callback_depth == 0)
        atomic_store(&h->busy_since, 0);
}

bool mlua_pcall(mlua *h, lua_State *L, int nargs, int nresults, mlua_call kind, const char *what)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    mlua_busy_enter(h);
    uint64_t t0 = uv_hrtime();
    int rc = lua_pcall(L, nargs, nresults, base);
    uint64_t took_ns = uv_hrtime() - t0;
    mlua_busy_leave(h);
    lua_remove(L, base);
    mlua_count_call(h, took_ns / 1000);
    if (!rc)
        return true;
    const char *msg = lua_tostring(L, -1);
    if (!msg)
        msg = "(no message)";
    const char *tb = strstr(msg, "\nstack traceback:");
    size_t ml = tb ? (size_t)(tb - msg) : strlen(msg);
    if (ml >= sizeof h->last_error)
        ml = sizeof h->last_error - 1;
    memcpy(h->last_error, msg, ml);
    h->last_error[ml] = '\0';
    if (kind == MLUA_CALL_LOAD) {
        /* the loader reports the message: the traceback is detail */
        mlua_logf(h, BASE_LOG_DEBUG, "%s failed: %s", what, msg);
    } else {
        mlua_count(h, kind == MLUA_CALL_TIMER ? &h->stats.timer_errors
                      : kind == MLUA_CALL_LUV ? &h->stats.luv_errors
                                              : &h->stats.hook_errors);
        mlua_error_log(h, what, msg);
    }
    lua_pop(L, 1);
    return false;
}

/* luv's callbacks (timers, TCP, processes...) come through here: an error
 * is logged with its traceback and the loop carries on (luv's default
 * would exit the process). Returns the result count, or negative. */
static int luv_pcall_cb(lua_State *L, int nargs, int nresults, int flags)
{
    (void)flags;
    mlua *h = mlua_host_of(L);
    int base = lua_gettop(L) - nargs;
    if (!mlua_pcall(h, L, nargs, nresults, MLUA_CALL_LUV, "luv callback"))
        return -1;
    int n = lua_gettop(L) - base + 1;
    mlua_publish_soon(h);
    return n;
}

/* ---- agent.config / agent.on / agent.state ---- */

static int l_config(lua_State *L)
{
    return mlua_config_call(mlua_host_of(L), L);
}

/* The event name at arg 1, checked against the hooks there are. */
static const char *hook_arg(lua_State *L, const char *fn)
{
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    for (int i = 0; hook_names[i]; i++)
        if (strcmp(hook_names[i], name) == 0)
            return hook_names[i];
    luaL_error(L, "%s: unknown event '%s' (join, update, leave, message, conflict, merge, alive, ping, event, query)", fn, name);
    return NULL;
}

/* A running state publishes whether it has veto hooks (and ping hooks);
 * a loading one does so when it takes over (mlua_host.c). */
static void publish_vetoes(lua_State *L, const char *name, size_t nhooks)
{
    mlua *h = mlua_host_of(L);
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_LIVE_KEY);
    bool live = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (live && strcmp(name, "merge") == 0)
        atomic_store(&h->has_merge_hook, nhooks > 0);
    if (live && strcmp(name, "alive") == 0)
        atomic_store(&h->has_alive_hook, nhooks > 0);
    if (live && strcmp(name, "ping") == 0)
        atomic_store(&h->has_ping_hook, nhooks > 0);
}

static int l_on(lua_State *L)
{
    const char *name = hook_arg(L, "agent.on");
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
    }
    size_t n = lua_objlen(L, -1) + 1;
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, (int)n);
    publish_vetoes(L, name, n);
    return 0;
}

/* agent.off(event, fn): the list is replaced by a copy without fn (its
 * first registration), so an event being delivered finishes with the list
 * it started with: the removal counts from the next event. */
static int l_off(lua_State *L)
{
    const char *name = hook_arg(L, "agent.off");
    lua_settop(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);   /* 3 */
    lua_getfield(L, 3, name);                              /* 4 */
    size_t n = lua_istable(L, 4) ? lua_objlen(L, 4) : 0;
    lua_createtable(L, (int)n, 0);                         /* 5 */
    size_t kept = 0;
    bool removed = false;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 4, (int)i);
        if (!removed && lua_rawequal(L, -1, 2)) {
            removed = true;
            lua_pop(L, 1);
            continue;
        }
        lua_rawseti(L, 5, (int)++kept);
    }
    if (removed) {
        lua_setfield(L, 3, name);
        publish_vetoes(L, name, kept);
    }
    lua_pushboolean(L, removed);
    return 1;
}

static int l_state(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "local_state") != 0 && strcmp(k, "merge_remote_state") != 0)
            return luaL_error(L, "agent.state: unknown key '%s' (local_state, merge_remote_state)", k);
        if (!lua_isfunction(L, -1))
            return luaL_error(L, "agent.state: '%s' must be a function", k);
        lua_pop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_STATE_KEY);
    lua_getfield(L, 1, "local_state");
    lua_setfield(L, -2, "local_state");
    lua_getfield(L, 1, "merge_remote_state");
    lua_setfield(L, -2, "merge_remote_state");
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_LIVE_KEY);
    if (lua_toboolean(L, -1)) {
        mlua_publish_state(mlua_host_of(L), L);
        mlua_refresh_arm(mlua_host_of(L));
    }
    return 0;
}

/* agent.handoff(fn): fn's value goes to the next script at a reload (as
 * agent.inherited, mlua_handoff.c); a second call replaces fn, nil removes it. */
static int l_handoff(lua_State *L)
{
    if (!lua_isnil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_HANDOFF_KEY);
    return 0;
}

/* ---- commands down ---- */

static mlua_cmd *new_cmd(lua_State *L, mlua_cmd_type type)
{
    mlua_cmd *c = calloc(1, sizeof *c);
    if (!c)
        luaL_error(L, "out of memory");
    c->type = type;
    return c;
}

static const char *payload_arg(lua_State *L, int idx, size_t *len, const char *fn)
{
    const char *p = luaL_checklstring(L, idx, len);
    if (*len > MLUA_PAYLOAD_MAX)
        luaL_error(L, "%s: payload of %d bytes is over %d", fn, (int)*len, MLUA_PAYLOAD_MAX);
    return p;
}

static void set_payload(lua_State *L, mlua_cmd *c, const char *p, size_t n)
{
    c->payload = malloc(n ? n : 1);
    if (!c->payload) {
        mlua_cmd_free(c);
        luaL_error(L, "out of memory");
    }
    memcpy(c->payload, p, n);
    c->len = n;
}

/* Queue c with a copy of payload p; `copied` is c's string just copied
 * (NULL: out of memory, c is freed and a Lua error raised). */
static int queue_with_payload(lua_State *L, mlua_cmd *c, const char *copied, const char *p, size_t n)
{
    if (!copied) {
        mlua_cmd_free(c);
        return luaL_error(L, "out of memory");
    }
    set_payload(L, c, p, n);
    mlua_command(mlua_host_of(L), c);
    return 0;
}

static int l_broadcast(lua_State *L)
{
    size_t n, kl = 0;
    const char *p = payload_arg(L, 1, &n, "agent.broadcast");
    const char *key = luaL_optlstring(L, 2, "", &kl);
    /* on the serf layer it is the user event "moonlist:<key>" (mlua_serf.c) */
    char name[sizeof MLUA_SERF_PREFIX + SERF_USER_EVENT_SIZE_LIMIT];
    if (kl > SERF_USER_EVENT_SIZE_LIMIT || memchr(key, '\0', kl))
        return luaL_error(L, "agent.broadcast: the key must be a string without NUL bytes, at most %d bytes",
                          SERF_USER_EVENT_SIZE_LIMIT);
    int nl = snprintf(name, sizeof name, "%s%.*s", MLUA_SERF_PREFIX, (int)kl, key);
    mlua_check_event_size(L, "agent.broadcast", name, (size_t)nl, p, n);
    mlua_cmd *c = new_cmd(L, MLUA_CMD_BROADCAST);
    c->key = strndup(key, kl);
    return queue_with_payload(L, c, c->key, p, n);
}

static int l_send(lua_State *L)
{
    size_t nl, n;
    const char *name = luaL_checklstring(L, 1, &nl);
    const char *p = payload_arg(L, 2, &n, "agent.send");
    /* on the serf layer it is the query "moonlist:send" (mlua_serf.c):
     * past serf's query limit it cannot go out whatever else it carries */
    if (n + strlen(MLUA_SERF_SEND) > SERF_QUERY_SIZE_LIMIT)
        return luaL_error(L, "agent.send: payload of %d bytes is over serf's query limit (%d bytes with the name '%s')",
                          (int)n, SERF_QUERY_SIZE_LIMIT, MLUA_SERF_SEND);
    bool reliable = false;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "reliable") != 0)
                return luaL_error(L, "agent.send: unknown option '%s' (reliable)",
                                  lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
            if (!lua_isboolean(L, -1))
                return luaL_error(L, "agent.send: option 'reliable' must be true or false");
            reliable = lua_toboolean(L, -1);
            lua_pop(L, 1);
        }
    }
    mlua_cmd *c = new_cmd(L, MLUA_CMD_SEND);
    c->name = strndup(name, nl);
    c->reliable = reliable;
    return queue_with_payload(L, c, c->name, p, n);
}

static int l_leave(lua_State *L)
{
    mlua_command(mlua_host_of(L), new_cmd(L, MLUA_CMD_LEAVE));
    return 0;
}

static int l_ping_payload(lua_State *L)
{
    size_t n;
    const char *p = payload_arg(L, 1, &n, "agent.ping_payload");
    mlua *h = mlua_host_of(L);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return luaL_error(L, "out of memory");
    memcpy(copy, p, n);
    uv_mutex_lock(&h->mu);
    uint8_t *old = h->ack_pub;
    h->ack_pub = copy;
    h->ack_pub_len = n;
    uv_mutex_unlock(&h->mu);
    free(old);
    return 0;
}

/* ---- logging ---- */

/* The line is joined on the Lua stack (lua_concat), not in a luaL_Buffer
 * and a formatting buffer: those put 12 KiB on the Lua thread's C stack,
 * pages that stay resident once the default script's first log line has
 * touched them (docs/footprint.md). */
static int log_at(lua_State *L, base_log_level level)
{
    mlua *h = mlua_host_of(L);
    int n = lua_gettop(L);
    luaL_checkstack(L, 2 * n + 3, "agent.log: too many values");
    lua_getglobal(L, "tostring");
    int ts = n + 1;
    int parts = 0;
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
        /* the file name is enough to find the line; the directory is noise */
        const char *base = strrchr(ar.short_src, '/');
        lua_pushfstring(L, "%s:%d: ", base ? base + 1 : ar.short_src, ar.currentline);
        parts++;
    }
    for (int i = 1; i <= n; i++) {
        if (i > 1) {
            lua_pushliteral(L, " ");
            parts++;
        }
        lua_pushvalue(L, ts);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "'tostring' must return a string to be logged");
        parts++;
    }
    if (parts == 0)
        lua_pushliteral(L, "");
    else
        lua_concat(L, parts);
    mlua_log(h, level, lua_tostring(L, -1));
    return 0;
}

static int l_debug(lua_State *L) { return log_at(L, BASE_LOG_DEBUG); }
static int l_info(lua_State *L) { return log_at(L, BASE_LOG_INFO); }
static int l_warn(lua_State *L) { return log_at(L, BASE_LOG_WARN); }
static int l_error(lua_State *L) { return log_at(L, BASE_LOG_ERROR); }


static int l_now(lua_State *L)
{
    mlua *h = mlua_host_of(L);
    lua_pushnumber(L, h->backend.now ? h->backend.now(h->backend.ud) : (lua_Number)uv_hrtime() / 1e9);
    return 1;
}

/* ---- local state ---- */

static bool state_value(mlua *h, lua_State *L, bool is_join, uint8_t **out, size_t *len)
{
    lua_pushboolean(L, is_join);
    if (!mlua_pcall(h, L, 1, 1, MLUA_CALL_HOOK, "local_state"))
        return false;
    bool ok = true;
    if (lua_isnil(L, -1)) {
        *out = NULL;
        *len = 0;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        *out = malloc(n ? n : 1);
        if (*out) {
            memcpy(*out, s, n);
            *len = n;
        } else
            ok = false;
    } else {
        /* published again every second: a script error like any other */
        char msg[160];
        snprintf(msg, sizeof msg, "it must return a string (bytes) or nil, not a %s: state not published",
                 luaL_typename(L, -1));
        mlua_count(h, &h->stats.hook_errors);
        mlua_error_log(h, "local_state", msg);
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
}

void mlua_publish_state(mlua *h, lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_LIVE_KEY);
    bool live = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!live)
        return;
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_STATE_KEY);
    lua_getfield(L, -1, "local_state");
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        /* no agent.state (a script replaced by one without): no user
         * state, not the previous script's last value */
        lua_pop(L, 1);
        uv_mutex_lock(&h->mu);
        for (int j = 0; j < 2; j++) {
            free(h->state_pub[j]);
            h->state_pub[j] = NULL;
            h->state_pub_len[j] = 0;
        }
        uv_mutex_unlock(&h->mu);
        return;
    }
    for (int j = 0; j < 2; j++) {
        uint8_t *v = NULL;
        size_t n = 0;
        lua_pushvalue(L, -1);
        if (!state_value(h, L, j == 1, &v, &n))
            continue;
        uv_mutex_lock(&h->mu);
        uint8_t *old = h->state_pub[j];
        h->state_pub[j] = v;
        h->state_pub_len[j] = n;
        uv_mutex_unlock(&h->mu);
        free(old);
    }
    lua_pop(L, 1);
}

static void publish_check_cb(uv_check_t *c)
{
    mlua *h = c->data;
    uv_check_stop(c);
    if (h->L)
        mlua_publish_state(h, h->L);
}

/* Republish the local state once the loop has run this iteration's
 * callbacks: a burst of luv callbacks costs one local_state call, not one
 * each. With a backend (no loop) at once. */
void mlua_publish_soon(mlua *h)
{
    if (h->backend.timer_start || !h->publish_check_init) {
        if (h->L)
            mlua_publish_state(h, h->L);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&h->publish_check))
        uv_check_start(&h->publish_check, publish_check_cb);
}

void mlua_publish_init(mlua *h)
{
    uv_check_init(&h->loop, &h->publish_check);
    h->publish_check.data = h;
    h->publish_check_init = true;
}

/* luv without the calls that would fight the agent for its loop: running
 * it again from inside a callback (uv_run is not reentrant), stopping or
 * closing it, or walking it (our own handles are not luv's). */
static int luv_forbidden(lua_State *L)
{
    return luaL_error(L, "luv.%s: the agent runs this loop; scripts use callbacks only",
                      lua_tostring(L, lua_upvalueindex(1)));
}

/* package.preload.luv: luv is set up on the first require only, so a
 * script that never uses it never touches luv's code (a 64 KiB stretch of
 * the binary's text mapped, docs/footprint.md) nor allocates its context */
int mlua_open_luv(lua_State *L)
{
    luv_set_loop(L, &mlua_host_of(L)->loop);
    luv_set_callback(L, mlua_luv_pcall);
    luaopen_luv(L);
    static const char *const forbidden[] = { "run", "stop", "walk", "loop_close", "loop_configure", NULL };
    for (int i = 0; forbidden[i]; i++) {
        lua_pushstring(L, forbidden[i]);
        lua_pushcclosure(L, luv_forbidden, 1);
        lua_setfield(L, -2, forbidden[i]);
    }
    return 1;
}

/* ---- module ---- */

static int l_require_moonlist(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_MODULE_KEY);
    return 1;
}

void mlua_open_module(mlua *h, lua_State *L)
{
    lua_pushlightuserdata(L, h);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_HOST_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_STATE_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "moonlist.addrs");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "moonlist.names");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_QUERIES_KEY);

    luaL_newmetatable(L, "moonlist.timer");
    lua_newtable(L);
    lua_pushcfunction(L, mlua_timer_stop_call);
    lua_setfield(L, -2, "stop");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    static const luaL_Reg fns[] = {
        { "config", l_config },
        { "on", l_on },
        { "off", l_off },
        { "state", l_state },
        { "handoff", l_handoff },
        { "broadcast", l_broadcast },
        { "send", l_send },
        { "set_tags", mlua_tags_call },
        { "members", mlua_members_call },
        { "self", mlua_self_call },
        { "after", mlua_timer_after },
        { "every", mlua_timer_every },
        { "leave", l_leave },
        { "event", mlua_event_call },
        { "query", mlua_query_call },
        { "ping_payload", l_ping_payload },
        { "now", l_now },
        { NULL, NULL },
    };
    lua_newtable(L);
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    static const luaL_Reg logs[] = {
        { "debug", l_debug }, { "info", l_info }, { "warn", l_warn }, { "error", l_error }, { NULL, NULL },
    };
    lua_newtable(L);
    for (const luaL_Reg *r = logs; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "log");
    lua_pushstring(L, "agent");
    lua_setfield(L, -2, "backend");
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_MODULE_KEY);

    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, l_require_moonlist);
    lua_setfield(L, -2, "moonlist");
    lua_pop(L, 2);
}

int mlua_luv_pcall(lua_State *L, int nargs, int nresults, int flags)
{
    return luv_pcall_cb(L, nargs, nresults, flags);
}
