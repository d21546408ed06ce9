/* moonlist.core: the Lua host driven from Lua, for busted specs.
 *
 *   local core = require "moonlist.core"
 *   core.host{ code = "..." }              -- one host on its own thread (luamod_host.c)
 *   core.sim{ nodes = { {code = "..."} } } -- scripts on simulated nodes (luamod_sim.c)
 */
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

int luaopen_moonlist_core(lua_State *L);   /* what require "moonlist.core" looks up */

int luaopen_moonlist_core(lua_State *L)
{
    lua_newtable(L);
    luamod_host_register(L);
    luamod_sim_register(L);
    return 1;
}
