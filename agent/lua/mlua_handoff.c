/* mlua_handoff: the one way a script hands its state to the script that
 * replaces it at a reload. The old script registers agent.handoff(fn);
 * at the reload fn's return value is copied out of the old lua_State into
 * bytes the host keeps, and each state loaded for that reload (the new
 * script, or the previous one run again if the new one fails) finds a copy
 * as agent.inherited. nil on a first load.
 *
 * What crosses: nil, booleans, numbers, strings, and tables of them (keys
 * too). Functions, userdata, threads and cycles are refused, naming where
 * in the value they are; metatables are not carried; a table reached twice
 * arrives as two copies.
 *
 * The bytes are ours, made and read in this process: a tag byte per
 * value, 'N' nil, 'F'/'T' booleans, 'D' + a double, 'S' + u32 length +
 * bytes, 'M' + u32 count + count key/value pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

/* Deeper nesting than this is a mistake (or a cycle through a copy), and
 * each level costs a few hundred bytes of C stack on the Lua thread. */
#define MLUA_HANDOFF_MAX_DEPTH 100
/* A membership script's state is kilobytes to a few megabytes; while it is
 * copied it exists three times (old tables, bytes, new tables), and a
 * LuaJIT state without GC64 holds at most 1-2 GiB: 64 MiB stays far
 * inside that. */
#define MLUA_HANDOFF_MAX_BYTES ((size_t)64 << 20)

typedef struct enc {
    wire_buf b;
    int onpath;          /* stack index: tables being copied, to find cycles */
    char path[200];      /* where the value being copied is, for errors */
    char err[400];
} enc;

static bool put(enc *e, const void *p, size_t n)
{
    if (wire_buf_append(&e->b, p, n) == WIRE_OK)
        return true;
    snprintf(e->err, sizeof e->err, "the value is larger than %zu MiB", MLUA_HANDOFF_MAX_BYTES >> 20);
    return false;
}

static bool put_tag(enc *e, char tag)
{
    return put(e, &tag, 1);
}

static bool put_u32(enc *e, uint32_t v)
{
    return put(e, &v, sizeof v);
}

/* Append ".k" or "[k]" to the path; returns the length to restore. */
static size_t path_push(enc *e, lua_State *L, int key)
{
    size_t was = strlen(e->path);
    size_t room = sizeof e->path - was;
    if (lua_type(L, key) == LUA_TSTRING)
        snprintf(e->path + was, room, ".%s", lua_tostring(L, key));
    else if (lua_type(L, key) == LUA_TNUMBER)
        snprintf(e->path + was, room, "[%.14g]", lua_tonumber(L, key));
    else if (lua_type(L, key) == LUA_TBOOLEAN)
        snprintf(e->path + was, room, "[%s]", lua_toboolean(L, key) ? "true" : "false");
    else
        snprintf(e->path + was, room, "[?]");
    return was;
}

static bool put_value(enc *e, lua_State *L, int idx, int depth, bool is_key);

static bool put_table(enc *e, lua_State *L, int idx, int depth)
{
    if (depth >= MLUA_HANDOFF_MAX_DEPTH) {
        snprintf(e->err, sizeof e->err, "%s: tables nested deeper than %d", e->path, MLUA_HANDOFF_MAX_DEPTH);
        return false;
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, e->onpath);
    bool cycle = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (cycle) {
        snprintf(e->err, sizeof e->err, "%s: the table contains itself", e->path);
        return false;
    }
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->onpath);
    if (!put_tag(e, 'M'))
        return false;
    size_t count_at = e->b.len;
    if (!put_u32(e, 0))
        return false;
    uint32_t n = 0;
    lua_checkstack(L, 4);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int k = lua_gettop(L) - 1, v = lua_gettop(L);
        size_t was = path_push(e, L, k);
        bool ok = put_value(e, L, k, depth + 1, true) && put_value(e, L, v, depth + 1, false);
        e->path[was] = '\0';
        if (!ok) {
            lua_pop(L, 2);
            return false;
        }
        n++;
        lua_pop(L, 1);
    }
    memcpy(e->b.data + count_at, &n, sizeof n);
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->onpath);
    return true;
}

static bool put_value(enc *e, lua_State *L, int idx, int depth, bool is_key)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return put_tag(e, 'N');
    case LUA_TBOOLEAN:
        return put_tag(e, lua_toboolean(L, idx) ? 'T' : 'F');
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        return put_tag(e, 'D') && put(e, &d, sizeof d);
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > UINT32_MAX) {
            snprintf(e->err, sizeof e->err, "%s: a string of %zu bytes", e->path, n);
            return false;
        }
        return put_tag(e, 'S') && put_u32(e, (uint32_t)n) && put(e, s, n);
    }
    case LUA_TTABLE:
        if (!is_key)
            return put_table(e, L, idx, depth);
        break;   /* a table as a key means nothing in another state */
    default:
        break;
    }
    if (is_key)
        snprintf(e->err, sizeof e->err, "%s: a key is a %s: keys can be strings, numbers or booleans", e->path,
                 luaL_typename(L, idx));
    else
        snprintf(e->err, sizeof e->err,
                 "%s is a %s: only nil, booleans, numbers, strings and tables of them can be handed over", e->path,
                 luaL_typename(L, idx));
    return false;
}

/* lua_pcall'd: (enc lightuserdata, value). Raises only on out of memory;
 * a value that cannot cross is e->err, with false returned. */
static int encode_cf(lua_State *L)
{
    enc *e = lua_touserdata(L, 1);
    lua_newtable(L);
    e->onpath = lua_gettop(L);
    lua_pushboolean(L, put_value(e, L, 2, 0, false));
    return 1;
}

void mlua_handoff_clear(mlua *h)
{
    free(h->inherited);
    h->inherited = NULL;
    h->inherited_len = 0;
}

int mlua_handoff_take(mlua *h, lua_State *old, char *err, size_t errlen)
{
    mlua_handoff_clear(h);
    lua_getfield(old, LUA_REGISTRYINDEX, MLUA_HANDOFF_KEY);
    if (!lua_isfunction(old, -1)) {
        lua_pop(old, 1);
        return 0;
    }
    if (!mlua_pcall(h, old, 0, 1, MLUA_CALL_HOOK, "agent.handoff")) {
        snprintf(err, errlen, "agent.handoff failed: %s", h->last_error);
        return -1;
    }
    enc *e = calloc(1, sizeof *e);
    if (!e) {
        lua_pop(old, 1);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wire_buf_init(&e->b, MLUA_HANDOFF_MAX_BYTES);
    snprintf(e->path, sizeof e->path, "the value");
    lua_pushcfunction(old, encode_cf);
    lua_pushlightuserdata(old, e);
    lua_pushvalue(old, -3);
    int rc = lua_pcall(old, 2, 1, 0);
    bool ok = rc == 0 && lua_toboolean(old, -1);
    lua_pop(old, 2);   /* the result (or error) and the value */
    if (!ok) {
        snprintf(err, errlen, "agent.handoff: %s", rc ? "out of memory" : e->err);
        wire_buf_free(&e->b);
        free(e);
        return -1;
    }
    h->inherited = e->b.data;   /* the host owns the bytes now */
    h->inherited_len = e->b.len;
    free(e);
    return 0;
}

/* ---- into the new state ---- */

typedef struct dec {
    const uint8_t *p, *end;
} dec;

static bool get(dec *d, void *out, size_t n)
{
    if ((size_t)(d->end - d->p) < n)
        return false;
    memcpy(out, d->p, n);
    d->p += n;
    return true;
}

/* Push the next value; false on bytes that are not ours (cannot happen). */
static bool get_value(dec *d, lua_State *L, int depth)
{
    char tag;
    uint32_t n;
    if (depth > MLUA_HANDOFF_MAX_DEPTH || !get(d, &tag, 1) || !lua_checkstack(L, 3))
        return false;
    switch (tag) {
    case 'N':
        lua_pushnil(L);
        return true;
    case 'F':
    case 'T':
        lua_pushboolean(L, tag == 'T');
        return true;
    case 'D': {
        double v;
        if (!get(d, &v, sizeof v))
            return false;
        lua_pushnumber(L, v);
        return true;
    }
    case 'S':
        if (!get(d, &n, sizeof n) || (size_t)(d->end - d->p) < n)
            return false;
        lua_pushlstring(L, (const char *)d->p, n);
        d->p += n;
        return true;
    case 'M':
        if (!get(d, &n, sizeof n))
            return false;
        lua_createtable(L, 0, 0);
        for (uint32_t i = 0; i < n; i++) {
            if (!get_value(d, L, depth + 1) || !get_value(d, L, depth + 1))
                return false;
            lua_rawset(L, -3);
        }
        return true;
    }
    return false;
}

/* lua_pcall'd: (h lightuserdata); sets module.inherited. */
static int give_cf(lua_State *L)
{
    mlua *h = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_MODULE_KEY);
    if (!h->inherited)
        lua_pushnil(L);
    else {
        dec d = { h->inherited, h->inherited + h->inherited_len };
        if (!get_value(&d, L, 0) || d.p != d.end)
            return luaL_error(L, "the handed-over value does not decode");
    }
    lua_setfield(L, -2, "inherited");
    return 0;
}

int mlua_handoff_give(mlua *h, lua_State *L)
{
    lua_pushcfunction(L, give_cf);
    lua_pushlightuserdata(L, h);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        mlua_logf(h, BASE_LOG_ERROR, "agent.inherited: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}
