/* mlua_dispatch: one queued item -> the script's hooks, on the Lua thread.
 * Every hook runs protected: an error is logged with its traceback and the
 * next hook (and event) runs as if nothing happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

/* push the hook list for `name` (a table) or return false */
static bool push_hooks(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_istable(L, -1))
        return true;
    lua_pop(L, 1);
    return false;
}

/* Call every hook of `name` with the nargs values below the top. */
static void run_hooks(mlua *h, lua_State *L, const char *name, int nargs)
{
    int args = lua_gettop(L) - nargs + 1;
    if (push_hooks(L, name)) {
        int list = lua_gettop(L);
        size_t n = lua_objlen(L, list);
        char what[64];
        snprintf(what, sizeof what, "hook '%s'", name);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, list, (int)i);
            for (int a = 0; a < nargs; a++)
                lua_pushvalue(L, args + a);
            mlua_pcall(h, L, nargs, 0, MLUA_CALL_HOOK, what);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, nargs);
}

/* Ask every veto hook; the first false wins. Returns allow and the reason. */
static bool run_veto(mlua *h, lua_State *L, const char *name, int nargs, char *reason, size_t rlen)
{
    int args = lua_gettop(L) - nargs + 1;
    bool allow = true;
    if (push_hooks(L, name)) {
        int list = lua_gettop(L);
        size_t n = lua_objlen(L, list);
        char what[64];
        snprintf(what, sizeof what, "hook '%s'", name);
        for (size_t i = 1; i <= n && allow; i++) {
            lua_rawgeti(L, list, (int)i);
            for (int a = 0; a < nargs; a++)
                lua_pushvalue(L, args + a);
            /* an erroring veto hook allows: the documented default */
            if (!mlua_pcall(h, L, nargs, 2, MLUA_CALL_HOOK, what))
                continue;
            if (lua_type(L, -2) == LUA_TBOOLEAN && !lua_toboolean(L, -2)) {
                allow = false;
                const char *r = lua_isstring(L, -1) ? lua_tostring(L, -1) : "refused by the script";
                snprintf(reason, rlen, "%s", r);
            }
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, nargs);
    return allow;
}

/* addr:port -> name (moonlist.addrs) and name -> {addr, port}
 * (moonlist.names), for the `from` of messages */
static void remember_addr(lua_State *L, const mlua_mcopy *m)
{
    char ip[64], key[80];
    mlua_addr_text(&m->addr, ip, sizeof ip);
    snprintf(key, sizeof key, "%s:%u", ip, m->addr.port);
    lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.addrs");
    lua_pushstring(L, m->name);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.names");
    mlua_push_addr(L, &m->addr);
    lua_setfield(L, -2, m->name);
    lua_pop(L, 1);
}

/* from = {addr, port, name} of a member known by name, {name} if its
 * address is not known, {} for no name (a broadcast: serf's user events
 * do not say who sent them). */
static void push_from_name(lua_State *L, const char *name)
{
    lua_newtable(L);
    if (!name)
        return;
    lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.names");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "addr");
        lua_setfield(L, -3, "addr");
        lua_getfield(L, -1, "port");
        lua_setfield(L, -3, "port");
    }
    lua_pop(L, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
}

static void set_bytes(lua_State *L, const char *field, const void *p, size_t n)
{
    lua_pushlstring(L, p ? (const char *)p : "", n);
    lua_setfield(L, -2, field);
}

/* Queue the answer `payload` to serf_node's query `query_id`. */
static void respond(mlua *h, uint64_t query_id, const char *payload, size_t len, const char *name)
{
    mlua_cmd *c = calloc(1, sizeof *c);
    if (c && (c->payload = malloc(len ? len : 1))) {
        c->type = MLUA_CMD_RESPOND;
        c->query_id = query_id;
        memcpy(c->payload, payload, len);
        c->len = len;
        mlua_command(h, c);
    } else {
        free(c);
        mlua_logf(h, BASE_LOG_ERROR, "out of memory: the answer to query '%s' was lost", name);
    }
}

/* q:respond(bytes): answer later (a hook that waits on luv, a timer)
 * while the query is open; serf_node takes the first answer only. */
static int l_respond(lua_State *L)
{
    size_t len;
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *p = luaL_checklstring(L, 2, &len);
    lua_getfield(L, 1, "name");
    respond(mlua_host_of(L), (uint64_t)lua_tonumber(L, lua_upvalueindex(1)), p, len,
            lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    return 0;
}

/* A query for the "query" hooks: they run in order until one returns a
 * string, which answers the query (ack or not, serf_node acked already). */
static void run_query_hooks(mlua *h, lua_State *L, const mlua_ev *e)
{
    if (!push_hooks(L, "query"))
        return;
    int list = lua_gettop(L);
    lua_createtable(L, 0, 4);
    set_bytes(L, "name", e->name, e->name_len);
    set_bytes(L, "payload", e->payload, e->len);
    lua_pushstring(L, e->from_name ? e->from_name : "");
    lua_setfield(L, -2, "from");
    lua_pushnumber(L, (lua_Number)e->ltime);
    lua_setfield(L, -2, "ltime");
    lua_pushnumber(L, (lua_Number)e->id);   /* serf_node's handles count from 1: exact in a double */
    lua_pushcclosure(L, l_respond, 1);
    lua_setfield(L, -2, "respond");
    int q = lua_gettop(L);
    size_t n = lua_objlen(L, list);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, list, (int)i);
        lua_pushvalue(L, q);
        if (!mlua_pcall(h, L, 1, 1, MLUA_CALL_HOOK, "hook 'query'"))
            continue;
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            respond(h, e->id, s, len, e->name);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

/* An answer to one of the script's queries: its callback, which is
 * forgotten after the "done" call. */
static void run_answer(mlua *h, lua_State *L, const mlua_ev *e)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_QUERIES_KEY);
    lua_pushnumber(L, (lua_Number)e->id);
    lua_rawget(L, -2);
    bool done = e->serf_type == SERF_EV_QUERY_DONE;
    if (done) {
        lua_pushnumber(L, (lua_Number)e->id);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {   /* none given, or its script was replaced */
        lua_pop(L, 1);
        return;
    }
    lua_createtable(L, 0, 3);
    lua_pushstring(L, done ? "done" : e->serf_type == SERF_EV_QUERY_ACK ? "ack" : "response");
    lua_setfield(L, -2, "type");
    if (e->from_name) {
        lua_pushstring(L, e->from_name);
        lua_setfield(L, -2, "from");
    }
    if (e->serf_type == SERF_EV_QUERY_RESPONSE)
        set_bytes(L, "payload", e->payload, e->len);
    if (e->error) {
        lua_pushstring(L, e->error);
        lua_setfield(L, -2, "error");
    }
    mlua_pcall(h, L, 1, 0, MLUA_CALL_HOOK, "agent.query callback");
}

/* from = { addr, port, name } where name is the member advertising that
 * address, if any (reliable messages come from an ephemeral TCP port:
 * no name then). */
static void push_from(lua_State *L, const swim_addr *a)
{
    char ip[64], key[80];
    mlua_push_addr(L, a);
    mlua_addr_text(a, ip, sizeof ip);
    snprintf(key, sizeof key, "%s:%u", ip, a->port);
    lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.addrs");
    lua_getfield(L, -1, key);
    lua_remove(L, -2);
    lua_setfield(L, -2, "name");
}

static void answer(mlua *h, mlua_question *q, bool allow, const char *reason)
{
    uv_mutex_lock(&h->mu);
    q->allow = allow;
    snprintf(q->reason, sizeof q->reason, "%s", reason ? reason : "");
    q->answered = true;
    uv_cond_broadcast(&h->cond);
    uv_mutex_unlock(&h->mu);
}

void mlua_dispatch(mlua *h, mlua_ev *e)
{
    lua_State *L = h->L;
    switch (e->kind) {
    case MLUA_EVK_SWIM:
        switch (e->type) {
        case SWIM_EV_JOIN:
        case SWIM_EV_UPDATE:
            remember_addr(L, &e->member);
            mlua_push_member(L, &e->member);
            run_hooks(h, L, e->type == SWIM_EV_JOIN ? "join" : "update", 1);
            break;
        case SWIM_EV_LEAVE:
            mlua_push_member(L, &e->member);
            run_hooks(h, L, "leave", 1);
            break;
        case SWIM_EV_CONFLICT:
            mlua_push_member(L, &e->member);
            mlua_push_addr(L, &e->other);
            run_hooks(h, L, "conflict", 2);
            break;
        case SWIM_EV_USER:
            lua_pushlstring(L, (const char *)e->payload, e->len);
            push_from(L, &e->from);
            run_hooks(h, L, "message", 2);
            break;
        case SWIM_EV_PING:
            mlua_push_member(L, &e->member);
            lua_pushnumber(L, e->rtt / 1000.0);
            lua_pushlstring(L, (const char *)e->payload, e->len);
            run_hooks(h, L, "ping", 3);
            break;
        default:
            break;
        }
        break;
    case MLUA_EVK_MERGE_STATE:
        lua_getfield(L, LUA_REGISTRYINDEX, MLUA_STATE_KEY);
        lua_getfield(L, -1, "merge_remote_state");
        lua_remove(L, -2);
        if (lua_isfunction(L, -1)) {
            lua_pushlstring(L, (const char *)e->payload, e->len);
            lua_pushboolean(L, e->is_join);
            mlua_pcall(h, L, 2, 0, MLUA_CALL_HOOK, "merge_remote_state");
        } else
            lua_pop(L, 1);
        break;
    case MLUA_EVK_ASK_MERGE:
    case MLUA_EVK_ASK_ALIVE: {
        uv_mutex_lock(&h->mu);
        bool abandoned = e->q->abandoned;
        uv_mutex_unlock(&h->mu);
        if (abandoned)
            break;   /* the protocol thread already applied the default */
        char reason[200] = "";
        bool allow;
        if (e->kind == MLUA_EVK_ASK_MERGE) {
            lua_createtable(L, (int)e->npeers, 0);
            for (size_t i = 0; i < e->npeers; i++) {
                mlua_push_member(L, &e->peers[i]);
                lua_rawseti(L, -2, (int)i + 1);
            }
            allow = run_veto(h, L, "merge", 1, reason, sizeof reason);
        } else {
            mlua_push_member(L, &e->member);
            allow = run_veto(h, L, "alive", 1, reason, sizeof reason);
        }
        answer(h, e->q, allow, reason);
        break;
    }
    case MLUA_EVK_USER:
        lua_createtable(L, 0, 4);
        set_bytes(L, "name", e->name, e->name_len);
        set_bytes(L, "payload", e->payload, e->len);
        lua_pushnumber(L, (lua_Number)e->ltime);
        lua_setfield(L, -2, "ltime");
        lua_pushboolean(L, e->coalesce);
        lua_setfield(L, -2, "coalesce");
        run_hooks(h, L, "event", 1);
        break;
    case MLUA_EVK_MESSAGE:
        lua_pushlstring(L, (const char *)e->payload, e->len);
        push_from_name(L, e->from_name);
        run_hooks(h, L, "message", 2);
        break;
    case MLUA_EVK_QUERY:
        run_query_hooks(h, L, e);
        break;
    case MLUA_EVK_ANSWER:
        run_answer(h, L, e);
        break;
    case MLUA_EVK_RELOAD:
    case MLUA_EVK_STOP:
        break;   /* handled by the host loop */
    }
}
