/* mlua_member: members and addresses as plain Lua tables. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "serf/serf_tags.h"
#include "lua/mlua_internal.h"

void mlua_addr_text(const swim_addr *a, char *buf, size_t len)
{
    if (a->ip_len == 16)
        inet_ntop(AF_INET6, a->ip, buf, (socklen_t)len);
    else if (a->ip_len == 4)
        inet_ntop(AF_INET, a->ip, buf, (socklen_t)len);
    else
        snprintf(buf, len, "%s", "");
}

void mlua_push_addr(lua_State *L, const swim_addr *a)
{
    char ip[64];
    mlua_addr_text(a, ip, sizeof ip);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, ip);
    lua_setfield(L, -2, "addr");
    lua_pushinteger(L, a->port);
    lua_setfield(L, -2, "port");
}

static void push_vsn(lua_State *L, const uint8_t *v)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, v[0]);
    lua_setfield(L, -2, "min");
    lua_pushinteger(L, v[1]);
    lua_setfield(L, -2, "max");
    lua_pushinteger(L, v[2]);
    lua_setfield(L, -2, "cur");
}

/* tags: serf's meta decoded; a meta that is not valid serf tags gives an
 * empty table plus tags_error, so a script can tell (never silently). */
static void push_tags(lua_State *L, const uint8_t *meta, size_t len)
{
    serf_tags t = { 0 };
    int rc = serf_tags_decode(&t, meta, len);
    lua_createtable(L, 0, (int)t.n);
    for (size_t i = 0; i < t.n; i++) {
        lua_pushlstring(L, t.v[i].key, t.v[i].klen);
        lua_pushlstring(L, t.v[i].value, t.v[i].vlen);
        lua_rawset(L, -3);
    }
    serf_tags_free(&t);
    lua_setfield(L, -2, "tags");
    if (rc < 0) {
        lua_pushstring(L, "meta is not a valid serf tag map");
        lua_setfield(L, -2, "tags_error");
    }
}

void mlua_push_member(lua_State *L, const mlua_mcopy *m)
{
    char ip[64];
    mlua_addr_text(&m->addr, ip, sizeof ip);
    lua_createtable(L, 0, 10);
    lua_pushstring(L, m->name);
    lua_setfield(L, -2, "name");
    if (m->addr.ip_len) {
        lua_pushstring(L, ip);
        lua_setfield(L, -2, "addr");
        lua_pushinteger(L, m->addr.port);
        lua_setfield(L, -2, "port");
    }
    lua_pushstring(L, swim_state_name(m->state));
    lua_setfield(L, -2, "status");
    lua_pushnumber(L, (lua_Number)m->incarnation);
    lua_setfield(L, -2, "incarnation");
    lua_pushlstring(L, (const char *)m->meta, m->meta_len);
    lua_setfield(L, -2, "meta");
    push_tags(L, m->meta, m->meta_len);
    push_vsn(L, m->vsn);
    lua_setfield(L, -2, "protocol");
    push_vsn(L, m->vsn + 3);
    lua_setfield(L, -2, "delegate");
}
