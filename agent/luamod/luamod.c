/* moonlist.core: the Lua host driven from Lua, for busted specs.
 *
 *   local core = require "moonlist.core"
 *   core.host{ code = "..." }              -- one host on its own thread (luamod_host.c)
 *   core.sim{ nodes = { {code = "..."} } } -- scripts on simulated nodes (luamod_sim.c)
 */
#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <stdbool.h>

#include <luajit.h>

#include "luamod/luamod_internal.h"

void luamod_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    for (const luaL_Reg *r = methods; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

/* Whether the lua_* functions this module calls are LuaJIT's. Under PUC
 * Lua (busted's `#!/usr/bin/env lua`) the interpreter's own lua_* win the
 * symbol lookup over libluajit's, and its ABI differs (pseudo-indices,
 * lua_objlen, the state itself): anything further crashes. The functions
 * a call resolves to and a symbol only LuaJIT has must live in one
 * object. */
static bool api_is_luajit(void)
{
    Dl_info api, jit;
    return dladdr((void *)lua_pushstring, &api) && dladdr((void *)luaJIT_setmode, &jit) &&
           api.dli_fbase == jit.dli_fbase;
}

int luaopen_moonlist_core(lua_State *L);   /* what require "moonlist.core" looks up */

int luaopen_moonlist_core(lua_State *L)
{
    if (!api_is_luajit()) {
        /* lua_pushstring and lua_error have one ABI in every Lua */
        lua_pushstring(L, "moonlist.core needs LuaJIT (run busted under luajit: luajit /usr/bin/busted ...)");
        return lua_error(L);
    }
    lua_newtable(L);
    luamod_host_register(L);
    luamod_sim_register(L);
    return 1;
}
