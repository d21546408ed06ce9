/* moonlist.core.sim: scripts on simulated nodes, from Lua.
 *
 *   local s = core.sim{ seed = 1, profile = "lan", nodes = { { name = "n0", code = "..." }, ... } }
 *   s:join(1, 0)          -- node indexes from 0, as the simulator's
 *   s:run(30)             -- 30 virtual seconds, hosts driven every 10 ms
 *   s:log(1), s:state(1), s:members(1), s:member(1, "n0"), s:kill(2), s:pause(2[, resume]), s:now()
 *   s:loss(0.1), s:partition({ 0, 1 }, { 2 }), s:heal()
 *
 * A thin class over mlua_sim (lua/mlua_sim.h), which runs the hosts on the
 * simulator. */
#include <string.h>

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

static const char *const sim_fields[] = { "seed", "profile", "lua_path", "nodes", "serf", NULL };
static const char *const node_fields[] = { "name", "code", "path", "env", "tags", NULL };

/* field k of the table at idx: a string (its pointer, anchored by the
 * table) or NULL when absent */
static const char *opt_string(lua_State *L, int idx, const char *k, const char *what)
{
    lua_getfield(L, idx, k);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: '%s' must be a string", what, k);
    const char *v = lua_tostring(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The env of the node spec at idx as "NAME", "value" pairs ended by NULL,
 * in a userdata left on the stack (the strings are the table's); NULL
 * when there is none. */
static const char *const *node_env(lua_State *L, int idx, const char *what)
{
    lua_getfield(L, idx, "env");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "%s: env must map names to strings", what);
    int env = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, env)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: env must map names to strings", what);
        n += 2;
        lua_pop(L, 1);
    }
    const char **v = lua_newuserdata(L, (n + 1) * sizeof *v);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, env)) {
        v[k++] = lua_tostring(L, -2);
        v[k++] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    v[k] = NULL;
    lua_remove(L, env);   /* the spec keeps the table and its strings */
    return v;
}

/* Read node spec i (0-based) of the list at `nodes` into *spec. Leaves
 * what spec points to and the table does not hold on the stack (the env
 * array, the tags' meta). */
static void node_spec(lua_State *L, int nodes, int i, mlua_sim_node_spec *spec)
{
    char what[32];
    snprintf(what, sizeof what, "core.sim: node %d", i);
    lua_rawgeti(L, nodes, i + 1);
    if (!lua_istable(L, -1))
        luaL_error(L, "%s: a table expected", what);
    int t = lua_gettop(L);
    luamod_check_keys(L, t, node_fields, what);
    memset(spec, 0, sizeof *spec);
    spec->name = opt_string(L, t, "name", what);
    spec->code = opt_string(L, t, "code", what);
    spec->path = opt_string(L, t, "path", what);
    spec->env = node_env(L, t, what);
    lua_getfield(L, t, "tags");
    if (!lua_isnil(L, -1)) {
        luamod_push_tags_meta(L, -1, what);
        lua_remove(L, -2);
        size_t len;
        spec->meta = (const uint8_t *)lua_tolstring(L, -1, &len);
        spec->meta_len = len;
    } else
        lua_pop(L, 1);
    lua_remove(L, t);   /* the list keeps it */
}

static int l_sim(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luamod_check_keys(L, 1, sim_fields, "core.sim");
    lua_getfield(L, 1, "seed");
    lua_getfield(L, 1, "profile");
    mlua_sim_options o = {
        .seed = (uint64_t)luaL_optnumber(L, -2, 1),
        .profile = luaL_optstring(L, -1, "lan"),
        .lua_path = opt_string(L, 1, "lua_path", "core.sim"),
        .serf = true,   /* as the agent: a serf peer */
    };
    lua_getfield(L, 1, "serf");
    if (!lua_isnil(L, -1))
        o.serf = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "nodes");
    luaL_checktype(L, -1, LUA_TTABLE);
    int nodes = lua_gettop(L);
    int count = (int)lua_objlen(L, nodes);
    if (count < 1 || count > SIM_MAX_NODES)
        return luaL_error(L, "core.sim: 1..%d nodes", SIM_MAX_NODES);
    /* what the specs point to stays on the stack until mlua_sim_new has
     * read it: an env array and a meta per node */
    mlua_sim_node_spec specs[SIM_MAX_NODES];
    luaL_checkstack(L, 2 * count + LUA_MINSTACK, "core.sim: too many nodes");
    for (int i = 0; i < count; i++)
        node_spec(L, nodes, i, &specs[i]);
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

/* the members node i sees, as agent.members() gives them to its script */
static int l_sim_members(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    mlua_sim_push_members(ms, check_node(L, ms, 2), L);
    return 1;
}

static int l_sim_member(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int i = check_node(L, ms, 2);
    mlua_sim_push_member(ms, i, luaL_checkstring(L, 3), L);
    return 1;
}

/* s:loss(p) on every link without one of its own, s:loss(p, from, to)
 * on one direction; delay and jitter stay the default link's */
static int l_sim_loss(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    double p = luaL_checknumber(L, 2);
    if (!(p >= 0 && p <= 1))
        return luaL_error(L, "loss: a probability in 0..1");
    sim *s = mlua_sim_sim(ms);
    uint32_t delay, jitter;
    double old;
    sim_get_default_link(s, &delay, &jitter, &old);
    if (lua_isnoneornil(L, 3))
        sim_set_default_link(s, delay, jitter, p);
    else
        sim_set_link(s, check_node(L, ms, 3), check_node(L, ms, 4), delay, jitter, p);
    return 0;
}

/* s:partition({0, 1}, {2, 3}): each list is a group that only talks
 * within itself; the nodes left out make one more group */
static int l_sim_partition(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int n = (int)mlua_sim_count(ms);
    int group[SIM_MAX_NODES] = { 0 };
    for (int g = 2; g <= lua_gettop(L); g++) {
        luaL_checktype(L, g, LUA_TTABLE);
        for (int k = 1; k <= (int)lua_objlen(L, g); k++) {
            lua_rawgeti(L, g, k);
            int i = check_node(L, ms, lua_gettop(L));
            lua_pop(L, 1);
            if (group[i])
                return luaL_error(L, "partition: node %d is in two groups", i);
            group[i] = g - 1;
        }
    }
    for (int i = 0; i < n; i++)
        sim_set_group(mlua_sim_sim(ms), i, group[i]);
    return 0;
}

static int l_sim_heal(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    for (int i = 0; i < (int)mlua_sim_count(ms); i++)
        sim_set_group(mlua_sim_sim(ms), i, 0);
    return 0;
}

/* s:event(i, name [, payload [, coalesce]]): true, or nil and why */
static int l_sim_event(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int i = check_node(L, ms, 2);
    size_t nl, pl = 0;
    const char *name = luaL_checklstring(L, 3, &nl);
    const char *p = luaL_optlstring(L, 4, "", &pl);
    bool coalesce = lua_isnoneornil(L, 5) ? true : lua_toboolean(L, 5);
    char err[200];
    if (mlua_sim_event(ms, i, wire_bytes_of(name, nl), wire_bytes_of(p, pl), coalesce, err, sizeof err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const char *const query_fields[] = { "nodes", "tags", "timeout", "ack", "relay_factor", "no_broadcast", NULL };

/* s:query(i, name [, payload [, opts]]): a handle for s:answers, or nil
 * and why. opts as agent.query's (nodes, tags, timeout, ack,
 * relay_factor) and no_broadcast. */
static int l_sim_query(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    int i = check_node(L, ms, 2);
    size_t nl, pl = 0;
    const char *name = luaL_checklstring(L, 3, &nl);
    const char *p = luaL_optlstring(L, 4, "", &pl);
    serf_node_query_opts o;
    memset(&o, 0, sizeof o);
    const char *nodes[SIM_MAX_NODES], *keys[SIM_MAX_NODES], *exprs[SIM_MAX_NODES];
    lua_settop(L, 5);
    if (!lua_isnil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        luamod_check_keys(L, 5, query_fields, "query");
        lua_getfield(L, 5, "nodes");   /* 6: stays, its strings with it */
        if (lua_istable(L, 6))
            for (int k = 1; k <= (int)lua_objlen(L, 6) && o.nnodes < SIM_MAX_NODES; k++) {
                lua_rawgeti(L, 6, k);
                nodes[o.nnodes++] = luaL_checkstring(L, -1);
                lua_pop(L, 1);   /* the list keeps it */
            }
        o.nodes = nodes;
        lua_getfield(L, 5, "tags");   /* 7 */
        if (lua_istable(L, 7)) {
            lua_pushnil(L);
            while (lua_next(L, 7) && o.ntags < SIM_MAX_NODES) {
                keys[o.ntags] = luaL_checkstring(L, -2);
                exprs[o.ntags++] = luaL_checkstring(L, -1);
                lua_pop(L, 1);
            }
        }
        o.tag_keys = keys;
        o.tag_exprs = exprs;
        lua_getfield(L, 5, "timeout");
        o.timeout_ms = (uint64_t)(luaL_optnumber(L, -1, 0) * 1000.0 + 0.5);
        lua_getfield(L, 5, "ack");
        o.request_ack = lua_toboolean(L, -1);
        lua_getfield(L, 5, "relay_factor");
        o.relay_factor = (uint8_t)luaL_optinteger(L, -1, 0);
        lua_getfield(L, 5, "no_broadcast");
        o.no_broadcast = lua_toboolean(L, -1);
    }
    size_t handle;
    char err[200];
    if (mlua_sim_query(ms, i, wire_bytes_of(name, nl), wire_bytes_of(p, pl), &o, &handle, err, sizeof err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushnumber(L, (lua_Number)handle);
    return 1;
}

/* s:answers(q): { acks = {from, ...}, responses = {from = payload, ...},
 * list = {{type, from, payload}, ...} in arrival order, done = bool } */
static int l_sim_answers(lua_State *L)
{
    mlua_sim *ms = check_sim(L);
    size_t handle = (size_t)luaL_checknumber(L, 2);
    const mlua_sim_answer *v;
    bool done;
    size_t n = mlua_sim_answers(ms, handle, &v, &done);
    lua_createtable(L, 0, 4);
    lua_newtable(L);   /* acks */
    lua_newtable(L);   /* responses */
    lua_newtable(L);   /* list */
    for (size_t k = 0; k < n; k++) {
        bool ack = v[k].type == SERF_EV_QUERY_ACK;
        lua_createtable(L, 0, 3);
        lua_pushstring(L, ack ? "ack" : "response");
        lua_setfield(L, -2, "type");
        lua_pushstring(L, v[k].from);
        lua_setfield(L, -2, "from");
        if (!ack) {
            lua_pushlstring(L, (const char *)v[k].payload, v[k].len);
            lua_setfield(L, -2, "payload");
        }
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
        if (ack) {
            lua_pushstring(L, v[k].from);
            lua_rawseti(L, -4, (int)lua_objlen(L, -4) + 1);
        } else {
            lua_pushlstring(L, (const char *)v[k].payload, v[k].len);
            lua_setfield(L, -3, v[k].from);
        }
    }
    lua_setfield(L, -4, "list");
    lua_setfield(L, -3, "responses");
    lua_setfield(L, -2, "acks");
    lua_pushboolean(L, done);
    lua_setfield(L, -2, "done");
    return 1;
}

void luamod_sim_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "run", l_sim_run }, { "join", l_sim_join }, { "kill", l_sim_kill }, { "pause", l_sim_pause },
        { "now", l_sim_now }, { "log", l_sim_log }, { "state", l_sim_state }, { "members", l_sim_members },
        { "member", l_sim_member }, { "loss", l_sim_loss }, { "partition", l_sim_partition }, { "heal", l_sim_heal },
        { "event", l_sim_event }, { "query", l_sim_query }, { "answers", l_sim_answers },
        { NULL, NULL },
    };
    luamod_class(L, SIM_MT, methods, l_sim_gc);
    lua_pushcfunction(L, l_sim);
    lua_setfield(L, -2, "sim");
}
