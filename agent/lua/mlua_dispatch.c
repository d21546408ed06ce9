/* mlua_dispatch: one queued item -> the script's hooks, on the Lua thread.
 * Every hook runs protected: an error is logged with its traceback and the
 * next hook (and event) runs as if nothing happened. */
#include <stdio.h>
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

static void remember_addr(lua_State *L, const mlua_mcopy *m)
{
    char ip[64], key[80];
    mlua_addr_text(&m->addr, ip, sizeof ip);
    snprintf(key, sizeof key, "%s:%u", ip, m->addr.port);
    lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.addrs");
    lua_pushstring(L, m->name);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
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
    case MLUA_EVK_RELOAD:
    case MLUA_EVK_STOP:
        break;   /* handled by the host loop */
    }
}
