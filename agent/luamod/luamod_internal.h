/* What the files of moonlist.core share; not for other modules. One file
 * a class: luamod_host.c (core.host), luamod_sim.c (core.sim); luamod.c
 * opens the module; luamod_member.c reads the tables specs write. */
#ifndef MOONLIST_LUAMOD_INTERNAL_H
#define MOONLIST_LUAMOD_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "lua/mlua.h"

/* Register the metatable `name`: its __index holds `methods` (NULL-ended),
 * its __gc is `gc`. Leaves the stack as it was. */
void luamod_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc);

/* Each registers its class and sets its constructor (core.host, core.sim)
 * in the module table on top of the stack. */
void luamod_host_register(lua_State *L);
void luamod_sim_register(lua_State *L);

/* A Lua error "<what>: unknown field 'k' (a, b, ...)" for the first key of
 * the table at idx that is not in `allowed` (NULL-ended). */
void luamod_check_keys(lua_State *L, int idx, const char *const *allowed, const char *what);

/* Read the member table at idx (docs/lua.md, "Testing your script"):
 * name (required), addr ("127.0.0.1"), port (7946), status ("alive"),
 * incarnation (1), tags (encoded as serf meta) or meta (raw bytes),
 * protocol and delegate ({min, max, cur}; memberlist's versions). Any
 * other field, both tags and meta, or a bad value is a Lua error. Pushes
 * one value, the bytes m->meta points into; m->name points into the
 * table: keep both on the stack while m is used. */
void luamod_member_check(lua_State *L, int idx, swim_member *m);

/* Push the serf meta of the tags at idx, a map of strings to strings,
 * written in key order so the same tags always give the same bytes. A Lua
 * error names `what` when it is not such a map or its meta is over 512
 * bytes. */
void luamod_push_tags_meta(lua_State *L, int idx, const char *what);

#endif
