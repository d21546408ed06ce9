/* mlua_members: agent.members() and agent.self(), a snapshot of the member
 * table asked of the protocol thread (or the backend) and waited for, at
 * most MLUA_MEMBERS_WAIT_MS. */
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

/* Ask the protocol thread for a snapshot and wait for it (bounded). The
 * snapshot stays on the stack as a list of member tables; returns the
 * self name through *self (a Lua string on the stack below the list). */
static void members_snapshot(lua_State *L, mlua *h)
{
    uv_mutex_lock(&h->mu);
    bool attached = h->cmd_async != NULL;
    uv_mutex_unlock(&h->mu);
    if (h->backend.members) {
        lua_getfield(L, LUA_REGISTRYINDEX, "moonlist.live");
        attached = lua_toboolean(L, -1);   /* loaded: the backend's nodes exist */
        lua_pop(L, 1);
    }
    if (!attached)
        luaL_error(L, "agent.members: the member table is not available while the script loads "
                      "(call it from a hook or a timer)");
    mlua_members_reply *r = calloc(1, sizeof *r);
    if (!r)
        luaL_error(L, "out of memory");
    r->refs = 2;   /* ours and the command's */
    mlua_cmd *c = calloc(1, sizeof *c);
    if (!c) {
        free(r);
        luaL_error(L, "out of memory");
    }
    c->type = MLUA_CMD_MEMBERS;
    c->reply = r;
    if (h->backend.members) {
        /* no thread in between: the backend answers at once */
        h->backend.members(h->backend.ud, h, r);
        mlua_reply_unref(h, r);
        free(c);
    } else
        mlua_command(h, c);
    uint64_t deadline = uv_hrtime() + (uint64_t)MLUA_MEMBERS_WAIT_MS * 1000000u;
    uv_mutex_lock(&h->mu);
    while (!r->done) {
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            break;
        uv_cond_timedwait(&h->cond, &h->mu, deadline - now);
    }
    bool done = r->done;
    uv_mutex_unlock(&h->mu);
    if (!done) {
        mlua_reply_unref(h, r);
        luaL_error(L, "agent.members: the protocol thread did not answer within %d ms", MLUA_MEMBERS_WAIT_MS);
    }
    lua_pushstring(L, r->self);
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        mlua_push_member(L, &r->v[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    mlua_reply_unref(h, r);
}

int mlua_members_call(lua_State *L)
{
    members_snapshot(L, mlua_host_of(L));
    return 1;
}

int mlua_self_call(lua_State *L)
{
    members_snapshot(L, mlua_host_of(L));
    const char *self = lua_tostring(L, -2);
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        lua_getfield(L, -1, "name");
        if (strcmp(lua_tostring(L, -1), self) == 0) {
            lua_pop(L, 1);
            return 1;
        }
        lua_pop(L, 2);
    }
    lua_pushnil(L);
    return 1;
}
