/* What the files of moonlist.core share; not for other modules. One file
 * a class: luamod_host.c (core.host), luamod_sim.c (core.sim); luamod.c
 * opens the module. */
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

#endif
