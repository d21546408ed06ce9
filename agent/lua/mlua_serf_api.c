/* mlua_serf_api: agent.event and agent.query, on the thread that runs the
 * script (docs/lua.md, "Events and queries"). Both become commands for
 * the protocol thread (mlua_serf.c); a query's callback waits in the
 * registry under a token until its answers come back up. */
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"
#include "serf/serf_msg_event.h"

/* A query's timeout from a script: serf's own default is a few seconds;
 * an hour is far past any use and keeps a forgotten query from holding
 * its callback for days. */
#define MLUA_QUERY_TIMEOUT_MAX_S 3600.0
/* serf's agent refuses a relay factor above 5 (command/query.go): each
 * relay is one more copy of every response. */
#define MLUA_QUERY_RELAY_MAX 5

void mlua_check_event_size(lua_State *L, const char *fn, const char *name, size_t nl, const char *payload,
                           size_t plen)
{
    size_t limit = SERF_USER_EVENT_SIZE_LIMIT;
    if (nl + plen > limit)
        luaL_error(L, "%s: name and payload of %d bytes are over serf's user event limit (%d bytes)", fn,
                   (int)(nl + plen), (int)limit);
    /* encoded with the largest Lamport time there is, so that what passes
     * here fits whatever the event clock reads when it is sent */
    serf_msg_user_event m = { .cc = true, .ltime = UINT64_MAX, .name = wire_bytes_of(name, nl),
                              .payload = wire_bytes_of(payload, plen) };
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = serf_msg_user_event_encode(&b, &m);
    size_t n = b.len;
    wire_buf_free(&b);
    if (rc != 0)
        luaL_error(L, "%s: out of memory", fn);
    if (n > limit)
        luaL_error(L, "%s: the event is %d bytes encoded, over serf's user event limit (%d bytes): name and "
                      "payload may have %d bytes at most", fn, (int)n, (int)limit, (int)(limit - (n - nl - plen)));
}

static mlua_cmd *new_cmd(lua_State *L, mlua_cmd_type type)
{
    mlua_cmd *c = calloc(1, sizeof *c);
    if (!c)
        luaL_error(L, "out of memory");
    c->type = type;
    return c;
}

/* Copy name and payload into c (freed and a Lua error raised if out of
 * memory). */
static void set_strings(lua_State *L, mlua_cmd *c, const char *name, size_t nl, const char *p, size_t pl)
{
    c->name = strndup(name, nl);
    c->payload = malloc(pl ? pl : 1);
    if (!c->name || !c->payload) {
        mlua_cmd_free(c);
        luaL_error(L, "out of memory");
    }
    memcpy(c->payload, p, pl);
    c->len = pl;
}

/* The name at arg 1: not empty, no NUL, not one of the names a script's
 * broadcast and send travel as, nor serf's internal queries. */
static const char *name_arg(lua_State *L, const char *fn, size_t *nl)
{
    const char *name = luaL_checklstring(L, 1, nl);
    if (*nl == 0 || memchr(name, '\0', *nl))
        luaL_error(L, "%s: the name must be a non-empty string without NUL bytes", fn);
    if (strncmp(name, MLUA_SERF_PREFIX, strlen(MLUA_SERF_PREFIX)) == 0)
        luaL_error(L, "%s: names starting with '%s' are agent.broadcast's and agent.send's", fn, MLUA_SERF_PREFIX);
    if (strncmp(name, "_serf_", 6) == 0)
        luaL_error(L, "%s: names starting with '_serf_' are serf's internal queries", fn);
    return name;
}

/* The option table at idx: every key must be in `allowed`. */
static void check_opts(lua_State *L, int idx, const char *const *allowed, const char *fn)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        bool ok = false;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k) == 0;
        if (!ok)
            luaL_error(L, "%s: unknown option '%s'", fn, k);
        lua_pop(L, 1);
    }
}

/* agent.event(name, payload [, {coalesce = bool}]) */
int mlua_event_call(lua_State *L)
{
    size_t nl, pl = 0;
    const char *name = name_arg(L, "agent.event", &nl);
    const char *p = lua_isnoneornil(L, 2) ? "" : luaL_checklstring(L, 2, &pl);
    bool coalesce = true;   /* serf's `event` command: -coalesce defaults to true */
    if (!lua_isnoneornil(L, 3)) {
        static const char *const allowed[] = { "coalesce", NULL };
        check_opts(L, 3, allowed, "agent.event");
        lua_getfield(L, 3, "coalesce");
        if (!lua_isnil(L, -1)) {
            if (!lua_isboolean(L, -1))
                return luaL_error(L, "agent.event: option 'coalesce' must be true or false");
            coalesce = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
    }
    mlua_check_event_size(L, "agent.event", name, nl, p, pl);
    mlua_cmd *c = new_cmd(L, MLUA_CMD_EVENT);
    c->coalesce = coalesce;
    set_strings(L, c, name, nl, p, pl);
    mlua_command(mlua_host_of(L), c);
    return 0;
}

/* A list of strings at the top of the stack into a fresh array; n set.
 * NULL for an empty list. Frees nothing on error: the caller's command
 * owns what was set (count updated as it goes). */
static char **string_list(lua_State *L, mlua_cmd *c, const char *fn)
{
    if (!lua_istable(L, -1)) {
        mlua_cmd_free(c);
        luaL_error(L, "%s: option 'nodes' must be a list of names", fn);
    }
    size_t n = lua_objlen(L, -1);
    c->nodes = calloc(n ? n : 1, sizeof *c->nodes);
    if (!c->nodes) {
        mlua_cmd_free(c);
        luaL_error(L, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        size_t l = 0;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &l) : NULL;
        if (!s || !l || memchr(s, '\0', l)) {
            mlua_cmd_free(c);
            luaL_error(L, "%s: option 'nodes' must be a list of names", fn);
        }
        if (!(c->nodes[c->nnodes] = strndup(s, l))) {
            mlua_cmd_free(c);
            luaL_error(L, "out of memory");
        }
        c->nnodes++;
        lua_pop(L, 1);
    }
    return c->nodes;
}

/* The tag filters at the top of the stack ({key = regexp}) into c->tags,
 * in key order (the same filters always give the same query). */
static void tag_list(lua_State *L, mlua_cmd *c, const char *fn)
{
    if (!lua_istable(L, -1)) {
        mlua_cmd_free(c);
        luaL_error(L, "%s: option 'tags' must map tag names to regular expressions", fn);
    }
    int t = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            mlua_cmd_free(c);
            luaL_error(L, "%s: option 'tags' must map tag names to regular expressions", fn);
        }
        n++;
        lua_pop(L, 1);
    }
    if (n > MLUA_QUERY_TAGS_MAX) {
        mlua_cmd_free(c);
        luaL_error(L, "%s: at most %d tag filters", fn, MLUA_QUERY_TAGS_MAX);
    }
    c->tags = calloc(2 * n + 1, sizeof *c->tags);
    if (!c->tags) {
        mlua_cmd_free(c);
        luaL_error(L, "out of memory");
    }
    c->ntags = n;   /* mlua_cmd_free frees the strings set so far (NULL: nothing) */
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t kl, vl;
        const char *key = lua_tolstring(L, -2, &kl), *v = lua_tolstring(L, -1, &vl);
        /* insertion in key order */
        size_t at = k;
        while (at > 0 && strcmp(c->tags[2 * (at - 1)], key) > 0)
            at--;
        memmove(&c->tags[2 * at + 2], &c->tags[2 * at], 2 * (k - at) * sizeof *c->tags);
        c->tags[2 * at] = strndup(key, kl);
        c->tags[2 * at + 1] = strndup(v, vl);
        k++;
        lua_pop(L, 1);
        if (!c->tags[2 * at] || !c->tags[2 * at + 1]) {
            mlua_cmd_free(c);
            luaL_error(L, "out of memory");
        }
    }
}

/* agent.query(name, payload [, opts] [, fn]): opts nodes, tags, timeout,
 * ack, relay_factor. Returns the query's token (a number, for logs). */
int mlua_query_call(lua_State *L)
{
    size_t nl, pl = 0;
    const char *name = name_arg(L, "agent.query", &nl);
    const char *p = lua_isnoneornil(L, 2) ? "" : luaL_checklstring(L, 2, &pl);
    if (lua_isfunction(L, 3) && lua_isnoneornil(L, 4)) {   /* agent.query(name, payload, fn) */
        lua_settop(L, 3);
        lua_pushnil(L);
        lua_insert(L, 3);
    }
    lua_settop(L, 4);
    if (!lua_isnil(L, 4))
        luaL_checktype(L, 4, LUA_TFUNCTION);
    if (nl + pl > SERF_QUERY_SIZE_LIMIT)
        return luaL_error(L, "agent.query: name and payload of %d bytes are over serf's query limit (%d bytes)",
                          (int)(nl + pl), SERF_QUERY_SIZE_LIMIT);
    static const char *const allowed[] = { "nodes", "tags", "timeout", "ack", "relay_factor", NULL };
    if (!lua_isnil(L, 3))
        check_opts(L, 3, allowed, "agent.query");   /* before c exists: its errors leak nothing */
    mlua_cmd *c = new_cmd(L, MLUA_CMD_QUERY);
    if (!lua_isnil(L, 3)) {
        lua_getfield(L, 3, "nodes");
        if (!lua_isnil(L, -1))
            string_list(L, c, "agent.query");
        lua_pop(L, 1);
        lua_getfield(L, 3, "tags");
        if (!lua_isnil(L, -1))
            tag_list(L, c, "agent.query");
        lua_pop(L, 1);
        lua_getfield(L, 3, "timeout");
        if (!lua_isnil(L, -1)) {
            double s = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
            if (!(s > 0 && s <= MLUA_QUERY_TIMEOUT_MAX_S)) {
                mlua_cmd_free(c);
                return luaL_error(L, "agent.query: option 'timeout' must be seconds in (0, %d]",
                                  (int)MLUA_QUERY_TIMEOUT_MAX_S);
            }
            c->timeout_ms = (uint64_t)(s * 1000.0 + 0.5);
            if (!c->timeout_ms)
                c->timeout_ms = 1;
        }
        lua_pop(L, 1);
        lua_getfield(L, 3, "ack");
        if (!lua_isnil(L, -1) && !lua_isboolean(L, -1)) {
            mlua_cmd_free(c);
            return luaL_error(L, "agent.query: option 'ack' must be true or false");
        }
        c->ack = lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 3, "relay_factor");
        if (!lua_isnil(L, -1)) {
            double r = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
            if (!(r >= 0 && r <= MLUA_QUERY_RELAY_MAX && r == (int)r)) {
                mlua_cmd_free(c);
                return luaL_error(L, "agent.query: option 'relay_factor' must be an integer 0..%d",
                                  MLUA_QUERY_RELAY_MAX);
            }
            c->relay_factor = (uint8_t)r;
        }
        lua_pop(L, 1);
    }
    set_strings(L, c, name, nl, p, pl);
    mlua *h = mlua_host_of(L);
    c->token = ++h->next_token;
    if (!lua_isnil(L, 4)) {
        lua_getfield(L, LUA_REGISTRYINDEX, MLUA_QUERIES_KEY);
        lua_pushnumber(L, (lua_Number)c->token);
        lua_pushvalue(L, 4);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pushnumber(L, (lua_Number)c->token);
    mlua_command(h, c);
    return 1;
}
