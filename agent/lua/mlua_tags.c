/* mlua_tags: agent.set_tags{k = v, gone = false} as serf's `tags -set` and
 * `-delete`: the script says what changes, and the protocol thread merges
 * that into our current meta (mlua_cmd_apply), so tags given by flags, by
 * agent.config or by an earlier call are kept, even while the script
 * loads and the core does not exist yet, and two calls in a row cannot
 * lose each other's keys.
 *
 * The change travels as serf meta does (ff + a msgpack map, old-spec raw
 * strings), with nil (c0) for a deleted key; keys sorted, so the same call
 * always gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_tags.h"
#include "wire/wire_mp.h"
#include "lua/mlua_internal.h"

/* The keys of the table at idx, sorted, as a new list on the stack. */
static int sorted_keys(lua_State *L, int idx)
{
    lua_newtable(L);
    int keys = lua_gettop(L);
    int nk = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int vt = lua_type(L, -1);
        bool value_ok = vt == LUA_TSTRING || vt == LUA_TNUMBER || (vt == LUA_TBOOLEAN && !lua_toboolean(L, -1));
        if (lua_type(L, -2) != LUA_TSTRING || !value_ok)
            return luaL_error(L, "agent.set_tags: tags must map string keys to string values (false deletes a key)");
        lua_pushvalue(L, -2);
        lua_rawseti(L, keys, ++nk);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, keys);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return nk;
}

/* The keys set (not deleted) must fit in a meta on their own: a call that
 * can never apply is the caller's error, raised here with its line. What
 * the merge with the other tags gives is only known on the protocol
 * thread, which logs it. */
static void check_sets_fit(lua_State *L, int tbl, int keys, int nk)
{
    serf_tags sets = { 0 };
    for (int i = 1; i <= nk; i++) {
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        lua_gettable(L, tbl);
        size_t kl, vl;
        const char *k = lua_tolstring(L, -2, &kl);
        const char *v = lua_type(L, -1) == LUA_TBOOLEAN ? NULL : lua_tolstring(L, -1, &vl);
        int rc = v ? serf_tags_set(&sets, k, kl, v, vl) : 0;
        lua_pop(L, 2);
        if (rc < 0) {
            serf_tags_free(&sets);
            luaL_error(L, "out of memory");
        }
    }
    char err[160];
    int rc = serf_tags_check(&sets, err, sizeof err);
    serf_tags_free(&sets);
    if (rc < 0)
        luaL_error(L, "agent.set_tags: %s", err);
}

int mlua_tags_call(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    int nk = sorted_keys(L, 1);
    check_sets_fit(L, 1, 2, nk);
    wire_buf change;
    wire_buf_init(&change, 0);
    wire_mp_writer w;
    wire_mp_container m;
    wire_mp_writer_init(&w, &change);
    wire_mp_put_byte(&w, SERF_TAGS_MAGIC);
    wire_mp_map_begin(&w, &m);
    for (int i = 1; i <= nk; i++) {
        lua_rawgeti(L, 2, i);
        lua_pushvalue(L, -1);
        lua_gettable(L, 1);
        size_t kl, vl;
        const char *k = lua_tolstring(L, -2, &kl);
        wire_mp_pack_raw(&w, k, kl);
        if (lua_type(L, -1) == LUA_TBOOLEAN) {
            wire_mp_pack_nil(&w);   /* false: delete the key */
        } else {
            const char *v = lua_tolstring(L, -1, &vl);
            wire_mp_pack_raw(&w, v, vl);
        }
        lua_pop(L, 2);
    }
    wire_mp_map_end(&w, &m);
    bool ok = wire_mp_finish(&w) == WIRE_OK;
    mlua_cmd *c = ok ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        wire_buf_free(&change);
        return luaL_error(L, "out of memory");
    }
    c->type = MLUA_CMD_SET_META;
    c->payload = change.data;   /* the command owns the buffer's bytes now (mlua_cmd_free) */
    c->len = change.len;
    mlua_command(mlua_host_of(L), c);
    return 0;
}

/* serf_tags has no delete: drop key from t (its order kept). */
static void tags_delete(serf_tags *t, const char *key, size_t klen)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].klen == klen && memcmp(t->v[i].key, key, klen) == 0) {
            free(t->v[i].key);
            free(t->v[i].value);
            memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
            t->n--;
            return;
        }
}

/* Apply the change's entries to t. Returns 0, or -1 with err. */
static int apply_change(serf_tags *t, const uint8_t *change, size_t clen, char *err, size_t errlen)
{
    wire_mp_reader r;
    uint32_t n;
    if (clen < 1 || change[0] != SERF_TAGS_MAGIC) {
        snprintf(err, errlen, "not a tag change");
        return -1;
    }
    wire_mp_reader_init(&r, change + 1, clen - 1);
    if (wire_mp_read_map(&r, &n) != WIRE_OK) {
        snprintf(err, errlen, "not a tag change");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        wire_bytes k, v;
        if (wire_mp_read_raw(&r, &k) != WIRE_OK) {
            snprintf(err, errlen, "not a tag change");
            return -1;
        }
        if (wire_mp_read_nil(&r)) {
            tags_delete(t, (const char *)k.p, k.n);
            continue;
        }
        if (wire_mp_read_raw(&r, &v) != WIRE_OK) {
            snprintf(err, errlen, "not a tag change");
            return -1;
        }
        if (serf_tags_set(t, (const char *)k.p, k.n, (const char *)v.p, v.n) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int mlua_tags_merge(const uint8_t *meta, size_t mlen, const uint8_t *change, size_t clen, wire_buf *out,
                    char *err, size_t errlen)
{
    serf_tags t = { 0 };
    /* our meta is always ours: a serf tag map (or a legacy role) */
    (void)serf_tags_decode(&t, meta, mlen);
    int rc = apply_change(&t, change, clen, err, errlen);
    if (rc == 0)
        rc = serf_tags_encode(&t, out, err, errlen);
    serf_tags_free(&t);
    return rc;
}
