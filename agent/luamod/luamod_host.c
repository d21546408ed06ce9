/* moonlist.core.host: a Lua host on its own, driven from Lua (busted
 * specs).
 *
 *   local core = require "moonlist.core"
 *   local h, err = core.host{ code = "...", name = "=x.lua" }   -- or path = "script.lua"
 *   h:members{ { name = "me", tags = { role = "web" } }, { name = "a", status = "suspect" } }
 *   h:start()
 *   h:post{ type = "join", member = { name = "a", addr = "127.0.0.1", port = 7001 } }
 *   local cmds = h:commands(2, 5)   -- wait up to 5 s for 2 commands
 *   h:stop()
 *
 * The module plays the protocol thread with a thread of its own, as the
 * agent does: agent.members() and agent.self() are answered from the fake
 * member table the moment the script asks, whatever the spec is doing;
 * the script's other commands are kept until the spec takes them
 * (h:commands). The spec posts events and calls the delegates. Everything
 * runs through the same mlua API the agent uses, with the host's own Lua
 * thread. */
#include <stdlib.h>
#include <string.h>

#include "luamod/luamod_internal.h"
#include "net/net.h"

#define HOST_MT "moonlist.core.host"

/* A command the script sent down, kept for h:commands. One allocation:
 * the strings follow the struct. */
typedef struct host_cmd {
    struct host_cmd *next;
    mlua_cmd_type type;
    bool reliable, coalesce, ack;
    uint64_t token, timeout_ms, query_id;
    uint8_t relay_factor;
    const char *payload;   /* NULL when the command has none */
    size_t len;
    const char *key, *name;
} host_cmd;

/* Owned by the userdata and released by l_stop (also its __gc), except
 * for a host whose Lua thread never stopped: that one is abandoned with
 * its thread, which may still log into it. */
typedef struct host {
    mlua *h;               /* owned: mlua_free in l_stop */
    uv_loop_t loop;        /* the protocol loop: commands arrive on it */
    uv_async_t quit;       /* asks the protocol thread to detach and end */
    uv_thread_t proto;     /* runs `loop` between l_start and l_stop */
    bool started;

    uv_mutex_t mu;         /* the fields below: both threads */
    uv_cond_t cond;        /* a command arrived */
    swim_member *members;  /* the fake member table; owns names and metas */
    size_t nmembers;
    host_cmd *head, *tail; /* received, not yet handed to Lua */
    int received;          /* commands received since the start */

    int cmds_ref;          /* the Lua list h:commands returns (spec thread) */
    int listed;            /* its length */

    uv_mutex_t logmu;      /* the Lua thread logs too */
    uv_cond_t logged;
    char *log;
    size_t loglen, logcap;
} host;

typedef struct host_ud {
    host *t;   /* NULL once stopped */
} host_ud;

static void log_cb(void *ud, base_log_level level, const char *msg)
{
    host *t = ud;
    uv_mutex_lock(&t->logmu);
    size_t need = strlen(msg) + 16;   /* the level tag, the newline */
    if (t->loglen + need + 1 > t->logcap) {
        size_t cap = (t->logcap + need) * 2;
        char *n = realloc(t->log, cap);
        if (!n) {
            uv_mutex_unlock(&t->logmu);
            return;   /* out of memory: the line is lost */
        }
        t->log = n;
        t->logcap = cap;
    }
    t->loglen += (size_t)snprintf(t->log + t->loglen, t->logcap - t->loglen, "[%s] %s\n",
                                  base_log_level_tag(level), msg);
    uv_cond_broadcast(&t->logged);
    uv_mutex_unlock(&t->logmu);
}

static void free_members(swim_member *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)v[i].name);
        free((uint8_t *)v[i].meta);
    }
    free(v);
}

/* ---- the protocol thread ---- */

static void answer_members(host *t, mlua_members_reply *r)
{
    char self[sizeof ((swim_config *)0)->name] = "";
    uv_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->nmembers; i++)
        mlua_members_add(t->h, r, &t->members[i]);
    if (t->nmembers)
        snprintf(self, sizeof self, "%s", t->members[0].name);
    uv_mutex_unlock(&t->mu);
    mlua_members_done(t->h, r, self);
}

static host_cmd *copy_cmd(const mlua_cmd *c)
{
    size_t kl = c->key ? strlen(c->key) + 1 : 0, nl = c->name ? strlen(c->name) + 1 : 0;
    host_cmd *k = malloc(sizeof *k + c->len + kl + nl);
    if (!k)
        return NULL;
    char *p = (char *)(k + 1);
    *k = (host_cmd){ .type = c->type, .reliable = c->reliable, .len = c->len, .coalesce = c->coalesce,
                     .ack = c->ack, .token = c->token, .timeout_ms = c->timeout_ms, .query_id = c->query_id,
                     .relay_factor = c->relay_factor };
    if (c->payload) {
        memcpy(p, c->payload, c->len);
        k->payload = p;
        p += c->len;
    }
    if (c->key) {
        memcpy(p, c->key, kl);
        k->key = p;
        p += kl;
    }
    if (c->name) {
        memcpy(p, c->name, nl);
        k->name = p;
    }
    return k;
}

static void sink(void *ud, const mlua_cmd *c)
{
    host *t = ud;
    if (c->type == MLUA_CMD_MEMBERS) {
        answer_members(t, c->reply);
        return;
    }
    host_cmd *k = copy_cmd(c);
    if (!k) {
        log_cb(t, BASE_LOG_ERROR, "out of memory: a command of the script was lost");
        return;
    }
    uv_mutex_lock(&t->mu);
    if (t->tail)
        t->tail->next = k;
    else
        t->head = k;
    t->tail = k;
    t->received++;
    uv_cond_broadcast(&t->cond);
    uv_mutex_unlock(&t->mu);
}

static void quit_cb(uv_async_t *a)
{
    host *t = a->data;
    if (t->h)
        mlua_detach(t->h);   /* on this loop's thread, as mlua.h asks */
    uv_close((uv_handle_t *)a, NULL);
}

static void proto_main(void *arg)
{
    host *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);   /* until quit_cb closed the last handle */
}

/* ---- the class ---- */

static host *check_host(lua_State *L)
{
    host_ud *u = luaL_checkudata(L, 1, HOST_MT);
    if (!u->t)
        luaL_error(L, "host is closed");
    return u->t;
}

static void free_host(host *t)
{
    free_members(t->members, t->nmembers);
    for (host_cmd *k = t->head, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    uv_mutex_destroy(&t->mu);
    uv_cond_destroy(&t->cond);
    uv_mutex_destroy(&t->logmu);
    uv_cond_destroy(&t->logged);
    free(t->log);
    free(t);
}

static const char *const host_fields[] = { "code", "path", "name", "lua_path", NULL };

static int l_host(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luamod_check_keys(L, 1, host_fields, "core.host");
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

    host_ud *u = lua_newuserdata(L, sizeof *u);
    u->t = NULL;
    luaL_getmetatable(L, HOST_MT);
    lua_setmetatable(L, -2);
    host *t = calloc(1, sizeof *t);
    if (!t)
        return luaL_error(L, "out of memory");
    uv_mutex_init(&t->mu);
    uv_cond_init(&t->cond);
    uv_mutex_init(&t->logmu);
    uv_cond_init(&t->logged);
    uv_loop_init(&t->loop);
    uv_async_init(&t->loop, &t->quit, quit_cb);
    t->quit.data = t;
    lua_newtable(L);
    t->cmds_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    u->t = t;   /* from here l_stop releases it */
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
    /* attached before the loop runs, as mlua_attach wants */
    if (mlua_attach(t->h, &t->loop, sink, t) < 0 || uv_thread_create(&t->proto, proto_main, t) != 0)
        return luaL_error(L, "start failed: cannot run the protocol loop");
    t->started = true;   /* from here l_stop ends the protocol thread */
    if (mlua_start(t->h, err, sizeof err) < 0)
        return luaL_error(L, "start failed: %s", err);
    return 0;
}

/* The member tables in the list at idx as views: a userdata array (pushed,
 * with each member's meta above it), n set. */
static swim_member *check_members(lua_State *L, int idx, size_t *n)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = lua_objlen(L, idx);
    /* the array, one meta each, and what luamod_member_check uses */
    luaL_checkstack(L, (int)*n + LUA_MINSTACK, "too many members");
    swim_member *v = lua_newuserdata(L, (*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        luamod_member_check(L, -1, &v[i]);
        lua_remove(L, -2);   /* the table: the list keeps it (and the name) alive */
    }
    return v;
}

/* The fake member table agent.members() answers with; the first member
 * is the node itself (agent.self()). Replaces the previous one. */
static int l_members(lua_State *L)
{
    host *t = check_host(L);
    size_t n;
    swim_member *views = check_members(L, 2, &n);
    swim_member *v = calloc(n ? n : 1, sizeof *v);
    bool oom = !v;
    for (size_t i = 0; i < n && !oom; i++) {
        v[i] = views[i];
        v[i].name = strdup(views[i].name);
        uint8_t *meta = malloc(views[i].meta_len ? views[i].meta_len : 1);
        if (meta)
            memcpy(meta, views[i].meta, views[i].meta_len);
        v[i].meta = meta;
        oom = !v[i].name || !meta;
    }
    if (oom) {
        free_members(v, v ? n : 0);
        return luaL_error(L, "out of memory");
    }
    uv_mutex_lock(&t->mu);
    swim_member *old = t->members;
    size_t nold = t->nmembers;
    t->members = v;
    t->nmembers = n;
    uv_mutex_unlock(&t->mu);
    free_members(old, nold);
    return 0;
}

static const char *const ev_names[] = { "join", "update", "leave", "conflict", "message", "ping", "event", "query", NULL };
static const swim_event_type ev_types[] = { SWIM_EV_JOIN, SWIM_EV_UPDATE, SWIM_EV_LEAVE,
                                            SWIM_EV_CONFLICT, SWIM_EV_USER, SWIM_EV_PING };
static const char *const ev_fields[] = { "type", "member", "payload", "from", "other", "rtt", NULL };
static const char *const serf_fields[] = { "type", "name", "payload", "from", "ltime", "coalesce", "id", NULL };

/* A serf event as the serf node reports it: {type = "event", name,
 * payload, ltime, coalesce} (a user event) or {type = "query", name,
 * payload, from, ltime, id} (a query; its answer comes down as a
 * "respond" command with query_id = id). */
static void post_serf(lua_State *L, host *t, bool query)
{
    luamod_check_keys(L, 2, serf_fields, "event");
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = query ? SERF_EV_QUERY : SERF_EV_USER;
    size_t nl, pl = 0;
    lua_getfield(L, 2, "name");
    const char *name = luaL_checklstring(L, -1, &nl);
    ev.name = wire_bytes_of(name, nl);
    lua_getfield(L, 2, "payload");
    const char *p = luaL_optlstring(L, -1, "", &pl);
    ev.payload = wire_bytes_of(p, pl);
    lua_getfield(L, 2, "from");
    ev.from = luaL_optstring(L, -1, "");
    lua_getfield(L, 2, "ltime");
    ev.ltime = (uint64_t)luaL_optnumber(L, -1, 1);
    lua_getfield(L, 2, "coalesce");
    ev.coalesce = lua_toboolean(L, -1);
    lua_getfield(L, 2, "id");
    ev.query_id = (uint64_t)luaL_optnumber(L, -1, 1);
    mlua_post_serf_event(t->h, &ev);
}
static const char *const addr_fields[] = { "addr", "port", NULL };

static void to_addr(lua_State *L, int idx, const char *field, swim_addr *a)
{
    lua_getfield(L, idx, field);
    if (lua_istable(L, -1)) {
        luamod_check_keys(L, -1, addr_fields, field);
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
    if (strcmp(ev_names[i], "event") == 0 || strcmp(ev_names[i], "query") == 0) {
        post_serf(L, t, ev_names[i][0] == 'q');
        return 0;
    }
    luamod_check_keys(L, 2, ev_fields, "event");
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ev_types[i];
    lua_getfield(L, 2, "member");
    if (!lua_isnil(L, -1))
        luamod_member_check(L, -1, &ev.member);
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

static double deadline_after(lua_State *L, int arg)
{
    double timeout = luaL_optnumber(L, arg, 5);
    return (double)uv_hrtime() + timeout * 1e9;
}

/* Wait on cond (its mutex held) until `deadline` (uv_hrtime ns); false
 * once it has passed. */
static bool wait_until(uv_cond_t *cond, uv_mutex_t *mu, double deadline)
{
    double now = (double)uv_hrtime();
    if (now >= deadline)
        return false;
    uv_cond_timedwait(cond, mu, (uint64_t)(deadline - now));
    return true;
}

/* Wait until n commands came since the start or timeout seconds; returns
 * the list of every command so far. */
static int l_commands(lua_State *L)
{
    host *t = check_host(L);
    int n = (int)luaL_optinteger(L, 2, 0);
    double deadline = deadline_after(L, 3);
    uv_mutex_lock(&t->mu);
    while (t->received < n && wait_until(&t->cond, &t->mu, deadline))
        ;
    host_cmd *k = t->head;
    t->head = t->tail = NULL;
    uv_mutex_unlock(&t->mu);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->cmds_ref);
    static const char *const types[] = { "broadcast", "send", "set_meta", "leave", "members", "event", "query",
                                         "respond" };
    while (k) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, types[k->type]);
        lua_setfield(L, -2, "type");
        if (k->payload) {
            lua_pushlstring(L, k->payload, k->len);
            lua_setfield(L, -2, k->type == MLUA_CMD_SET_META ? "meta" : "payload");
        }
        if (k->key) {
            lua_pushstring(L, k->key);
            lua_setfield(L, -2, "key");
        }
        if (k->name) {
            lua_pushstring(L, k->name);
            lua_setfield(L, -2, "name");
        }
        if (k->type == MLUA_CMD_SEND) {
            lua_pushboolean(L, k->reliable);
            lua_setfield(L, -2, "reliable");
        }
        if (k->type == MLUA_CMD_EVENT) {
            lua_pushboolean(L, k->coalesce);
            lua_setfield(L, -2, "coalesce");
        }
        if (k->type == MLUA_CMD_QUERY) {
            lua_pushnumber(L, (lua_Number)k->token);
            lua_setfield(L, -2, "token");
            lua_pushboolean(L, k->ack);
            lua_setfield(L, -2, "ack");
            lua_pushnumber(L, k->timeout_ms / 1000.0);
            lua_setfield(L, -2, "timeout");
            lua_pushinteger(L, k->relay_factor);
            lua_setfield(L, -2, "relay_factor");
        }
        if (k->type == MLUA_CMD_RESPOND) {
            lua_pushnumber(L, (lua_Number)k->query_id);
            lua_setfield(L, -2, "query_id");
        }
        lua_rawseti(L, -2, ++t->listed);
        host_cmd *next = k->next;
        free(k);
        k = next;
    }
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
    double deadline = deadline_after(L, 3);
    uv_mutex_lock(&t->logmu);
    bool found;
    while (!(found = t->log && strstr(t->log, needle)) && wait_until(&t->logged, &t->logmu, deadline))
        ;
    uv_mutex_unlock(&t->logmu);
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
    luamod_member_check(L, 2, &m);
    lua_pushboolean(L, mlua_allow_alive(t->h, &m));
    return 1;
}

static int l_allow_merge(lua_State *L)
{
    host *t = check_host(L);
    size_t n;
    swim_member *peers = check_members(L, 2, &n);
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
    lua_newtable(L);
#define STAT_FIELD(name, why)                \
    lua_pushnumber(L, (lua_Number)st.name); \
    lua_setfield(L, -2, #name);
    MLUA_STATS(STAT_FIELD)
#undef STAT_FIELD
    return 1;
}

/* Stop and free. A host whose Lua thread does not stop (a hook that
 * never returns) is abandoned: stop returns false. */
static int l_stop(lua_State *L)
{
    host_ud *u = luaL_checkudata(L, 1, HOST_MT);
    host *t = u->t;
    if (!t) {
        lua_pushboolean(L, 1);
        return 1;
    }
    u->t = NULL;
    double timeout = luaL_optnumber(L, 2, 5);
    bool stopped = !t->h || mlua_stop(t->h, (unsigned)(timeout * 1000)) == 0;
    /* the protocol thread detaches the host and its loop ends; a host
     * never started has no thread: its loop closes here */
    uv_async_send(&t->quit);
    if (t->started)
        uv_thread_join(&t->proto);
    else
        uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    luaL_unref(L, LUA_REGISTRYINDEX, t->cmds_ref);
    if (!stopped) {
        lua_pushboolean(L, 0);   /* abandoned: the host and its thread are left as they are */
        return 1;
    }
    mlua_free(t->h);   /* commands still queued in it go with it */
    free_host(t);
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
        { "reload", l_reload }, { "stop", l_stop }, { "stats", l_stats }, { NULL, NULL },
    };
    luamod_class(L, HOST_MT, methods, l_stop);
    lua_pushcfunction(L, l_host);
    lua_setfield(L, -2, "host");
}
