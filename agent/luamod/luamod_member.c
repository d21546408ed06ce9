/* luamod_member: the plain member tables a spec writes (fake members,
 * the members of posted events, veto questions) read as swim_member
 * views, with serf tags encoded for the spec. A field the reader does not
 * know is an error: a misspelt field silently ignored is a test that
 * passes for the wrong reason. */
#include <stdlib.h>
#include <string.h>

#include "luamod/luamod_internal.h"
#include "net/net.h"
#include "serf/serf_tags.h"

static const char *const member_fields[] = {
    "name", "addr", "port", "status", "incarnation", "tags", "meta", "protocol", "delegate", NULL,
};

static int abs_index(lua_State *L, int idx)
{
    return idx < 0 ? lua_gettop(L) + idx + 1 : idx;
}

typedef struct tag_ref {
    const char *k, *v;   /* strings of the Lua table, alive while it is */
    size_t kl, vl;
} tag_ref;

static int cmp_tag(const void *a, const void *b)
{
    const tag_ref *x = a, *y = b;
    int c = memcmp(x->k, y->k, x->kl < y->kl ? x->kl : y->kl);
    return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

/* The tags at idx as a sorted array (malloc'ed, *n entries); a Lua error
 * when it is not a map of strings to strings. */
static tag_ref *sorted_tags(lua_State *L, int idx, const char *what, size_t *n)
{
    if (!lua_istable(L, idx))
        luaL_error(L, "%s: tags must map string keys to string values", what);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: tags must map string keys to string values", what);
        count++;
        lua_pop(L, 1);
    }
    tag_ref *v = malloc((count ? count : 1) * sizeof *v);
    if (!v)
        luaL_error(L, "out of memory");
    *n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        tag_ref *t = &v[(*n)++];
        t->k = lua_tolstring(L, -2, &t->kl);
        t->v = lua_tolstring(L, -1, &t->vl);
        lua_pop(L, 1);
    }
    qsort(v, *n, sizeof *v, cmp_tag);
    return v;
}

void luamod_push_tags_meta(lua_State *L, int idx, const char *what)
{
    idx = abs_index(L, idx);
    size_t n;
    tag_ref *v = sorted_tags(L, idx, what, &n);
    serf_tags tags = { 0 };
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = serf_tags_set(&tags, v[i].k, v[i].kl, v[i].v, v[i].vl);
    free(v);
    wire_buf meta;
    wire_buf_init(&meta, 0);
    char err[160] = "out of memory";
    if (rc == 0)
        rc = serf_tags_encode(&tags, &meta, err, sizeof err);
    serf_tags_free(&tags);
    if (rc == 0)
        lua_pushlstring(L, (const char *)meta.data, meta.len);
    wire_buf_free(&meta);
    if (rc < 0)
        luaL_error(L, "%s: %s", what, err);
}

static swim_state state_of(lua_State *L, const char *s)
{
    static const char *const names[] = { "alive", "suspect", "dead", "left", NULL };
    static const swim_state states[] = { SWIM_ALIVE, SWIM_SUSPECT, SWIM_DEAD, SWIM_LEFT };
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return states[i];
    luaL_error(L, "member: bad status '%s' (alive, suspect, dead, left)", s);
    return SWIM_ALIVE;
}

/* {min, max, cur} at field `name` of the table at idx into v[0..3);
 * absent: v is left as it is */
static void read_versions(lua_State *L, int idx, const char *name, uint8_t *v)
{
    static const char *const keys[] = { "min", "max", "cur" };
    lua_getfield(L, idx, name);
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1))
            luaL_error(L, "member: '%s' must be a table {min, max, cur}", name);
        for (int i = 0; i < 3; i++) {
            lua_getfield(L, -1, keys[i]);
            v[i] = (uint8_t)luaL_optinteger(L, -1, v[i]);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

void luamod_check_keys(lua_State *L, int idx, const char *const *allowed, const char *what)
{
    idx = abs_index(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int i = 0;
        while (k && allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!k || !allowed[i]) {
            const char *shown = k ? k : luaL_typename(L, -2);
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (i = 0; allowed[i]; i++) {
                luaL_addstring(&b, i ? ", " : "");
                luaL_addstring(&b, allowed[i]);
            }
            luaL_pushresult(&b);
            luaL_error(L, "%s: unknown field '%s' (%s)", what, shown, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
    }
}

void luamod_member_check(lua_State *L, int idx, swim_member *m)
{
    idx = abs_index(L, idx);
    if (!lua_istable(L, idx))
        luaL_error(L, "member: a table expected, got a %s", luaL_typename(L, idx));
    luamod_check_keys(L, idx, member_fields, "member");
    memset(m, 0, sizeof *m);
    lua_getfield(L, idx, "name");
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "member: 'name' must be a string");
    m->name = lua_tostring(L, -1);   /* anchored by the table */
    lua_getfield(L, idx, "addr");
    const char *addr = luaL_optstring(L, -1, "127.0.0.1");
    lua_getfield(L, idx, "port");
    uint16_t port = (uint16_t)luaL_optinteger(L, -1, NET_DEFAULT_PORT);
    if (net_parse_ip(addr, port, &m->addr) < 0)
        luaL_error(L, "member: bad addr '%s' (an IP address)", addr);
    lua_getfield(L, idx, "status");
    m->state = state_of(L, luaL_optstring(L, -1, "alive"));
    lua_getfield(L, idx, "incarnation");
    m->incarnation = (uint32_t)luaL_optinteger(L, -1, 1);
    lua_pop(L, 5);
    const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                             WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
    memcpy(m->vsn, vsn, 6);
    read_versions(L, idx, "protocol", m->vsn);
    read_versions(L, idx, "delegate", m->vsn + 3);
    lua_getfield(L, idx, "meta");
    lua_getfield(L, idx, "tags");
    if (!lua_isnil(L, -1) && !lua_isnil(L, -2))
        luaL_error(L, "member %s: give tags or meta, not both", m->name);
    if (!lua_isnil(L, -1)) {
        luamod_push_tags_meta(L, -1, "member");
    } else if (!lua_isnil(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "member %s: 'meta' must be a string (bytes)", m->name);
        lua_pushvalue(L, -2);
    } else
        lua_pushliteral(L, "");   /* no meta, as a memberlist node without a delegate */
    lua_replace(L, -3);
    lua_pop(L, 1);
    size_t ml;
    m->meta = (const uint8_t *)lua_tolstring(L, -1, &ml);
    m->meta_len = ml;
}
