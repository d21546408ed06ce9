/* moonlist.core.sim: scripts on simulated nodes, from Lua.
 *
 *   local s = core.sim{ seed = 1, profile = "lan", nodes = { { name = "n0", code = "..." }, ... } }
 *   s:join(1, 0)          -- node indexes from 0, as the simulator's
 *   s:run(30)             -- 30 virtual seconds, hosts driven every 10 ms
 *   s:log(1), s:state(1), s:members(1), s:kill(2), s:pause(2[, resume]), s:now()
 *
 * A thin class over mlua_sim (lua/mlua_sim.h), which runs the hosts on the
 * simulator. */
#include "lua/mlua_sim.h"
#include "luamod/luamod_internal.h"

#define SIM_MT "moonlist.core.sim"
/* The nodes of one core.sim: a bound on the argument list (the node specs,
 * a join's seeds), far above what a spec simulates. */
#define SIM_MAX_NODES 64

/* The userdata: owns ms (mlua_sim_free in __gc); NULL until built. */
typedef struct lsim {
    mlua_sim *ms;
} lsim;

static mlua_sim *check_sim(lua_State *L)
{
    lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    if (!ls->ms)
        luaL_error(L, "simulation is closed");
    return ls->ms;
}

static int check_node(lua_State *L, mlua_sim *ms, int arg)
{
    int i = (int)luaL_checkinteger(L, arg);
    if (i < 0 || (size_t)i >= mlua_sim_count(ms))
        luaL_error(L, "no node %d", i);
    return i;
}

static int l_sim_gc(lua_State *L)
{
    lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    mlua_sim_free(ls->ms);
    ls->ms = NULL;
    return 0;
}

static int l_sim(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "seed");
    lua_getfield(L, 1, "profile");
    lua_getfield(L, 1, "lua_path");
    mlua_sim_options o = {
        .seed = (uint64_t)luaL_optnumber(L, -3, 1),
        .profile = luaL_optstring(L, -2, "lan"),
        .lua_path = luaL_optstring(L, -1, "lua/?.lua"),
    };
    lua_getfield(L, 1, "nodes");
    luaL_checktype(L, -1, LUA_TTABLE);
    int nodes = lua_gettop(L);
    int count = (int)lua_objlen(L, nodes);
    if (count < 1 || count > SIM_MAX_NODES)
        return luaL_error(L, "core.sim: 1..%d nodes", SIM_MAX_NODES);
    /* the specs' strings stay on the stack until mlua_sim_new has read them */
    mlua_sim_node_spec specs[SIM_MAX_NODES];
    luaL_checkstack(L, 3 * count, "core.sim: too many nodes");
    for (int i = 0; i < count; i++) {
        lua_rawgeti(L, nodes, i + 1);
        int spec = lua_gettop(L);
        lua_getfield(L, spec, "name");
        lua_getfield(L, spec, "code");
        lua_getfield(L, spec, "path");
        specs[i].name = luaL_optstring(L, -3, "");
        specs[i].code = lua_tostring(L, -2);
        specs[i].path = lua_tostring(L, -1);
        lua_remove(L, spec);
    }
    o.nodes = specs;
    o.count = (size_t)count;

    lsim *ls = lua_newuserdata(L, sizeof *ls);
    ls->ms = NULL;
    luaL_getmetatable(L, SIM_MT);
    lua_setmetatable(L, -2);
    char err[1024];
    int rc = mlua_sim_new(&o, &ls->ms, err, sizeof err);
    if (rc == MLUA_SIM_ESCRIPT) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    if (rc < 0)
        return luaL_error(L, "core.sim: %s", err);
    return 1;
}

static int l_sim_run(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    double secs = luaL_checknumber(L, 2);
    /* a month of virtual time: far past any spec, far below swim_time's range */
    if (!(secs >= 0 && secs < 86400 * 30))
        return luaL_error(L, "run: seconds out of range");
    mlua_sim_run_until(ms, sim_now(mlua_sim_sim(ms)) + (swim_time)(secs * 1000.0 + 0.5));
    return 0;
}

static int l_sim_join(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int i = check_node(L, ms, 2);
    int seeds[SIM_MAX_NODES];
    int k = 0;
    for (int a = 3; a <= lua_gettop(L) && k < SIM_MAX_NODES; a++)
        seeds[k++] = check_node(L, ms, a);
    sim_join(mlua_sim_sim(ms), i, seeds, (size_t)k);
    return 0;
}

static int l_sim_kill(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    sim_kill(mlua_sim_sim(ms), check_node(L, ms, 2));
    return 0;
}

/* s:pause(i) pauses node i, s:pause(i, true) resumes it */
static int l_sim_pause(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int i = check_node(L, ms, 2);
    if (lua_toboolean(L, 3))
        sim_resume(mlua_sim_sim(ms), i);
    else
        sim_pause(mlua_sim_sim(ms), i);
    return 0;
}

static int l_sim_now(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    lua_pushnumber(L, sim_now(mlua_sim_sim(ms)) / 1000.0);
    return 1;
}

static int l_sim_log(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    size_t len;
    const char *log = mlua_sim_log(ms, check_node(L, ms, 2), &len);
    lua_pushlstring(L, log, len);
    return 1;
}

static int l_sim_state(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    const uint8_t *out;
    size_t len;
    mlua_local_state(mlua_sim_host(ms, check_node(L, ms, 2)), lua_toboolean(L, 3), &out, &len);
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}

static bool member_row(void *ud, const swim_member *m)
{
    lua_State *L = ud;
    lua_pushstring(L, swim_state_name(m->state));
    lua_setfield(L, -2, m->name);
    return true;
}

/* name -> status as node i sees them (empty while it is down): enough for
 * assertions */
static int l_sim_members(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    swim *core = mlua_sim_core(ms, check_node(L, ms, 2));
    lua_newtable(L);
    if (core)
        swim_members_each(core, member_row, L);
    return 1;
}

void luamod_sim_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "run", l_sim_run }, { "join", l_sim_join }, { "kill", l_sim_kill }, { "pause", l_sim_pause },
        { "now", l_sim_now }, { "log", l_sim_log }, { "state", l_sim_state }, { "members", l_sim_members },
        { NULL, NULL },
    };
    luamod_class(L, SIM_MT, methods, l_sim_gc);
    lua_pushcfunction(L, l_sim);
    lua_setfield(L, -2, "sim");
}
