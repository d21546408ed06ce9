/* mlua_members: agent.members() and agent.self(). Once the script runs, a
 * snapshot of the member table asked of the protocol thread (or the
 * backend) and waited for, at most MLUA_MEMBERS_WAIT_MS. While a script
 * loads, the snapshot taken for that load (a reload's), or, the first
 * time, ourselves alone, built from what is known before the agent starts. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serf/serf_tags.h"
#include "lua/mlua_internal.h"

mlua_members_reply *mlua_members_fetch(mlua *h, char *err, size_t errlen)
{
    mlua_members_reply *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (h->backend.members) {
        /* no thread in between: the backend answers at once */
        r->refs = 1;
        h->backend.members(h->backend.ud, h, r);
        return r;
    }
    mlua_cmd *c = calloc(1, sizeof *c);
    if (!c) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->refs = 2;   /* ours and the command's */
    c->type = MLUA_CMD_MEMBERS;
    c->reply = r;
    uv_mutex_lock(&h->mu);
    bool attached = h->cmd_async != NULL;
    uv_mutex_unlock(&h->mu);
    if (!attached) {
        mlua_cmd_free(c);
        free(r);
        snprintf(err, errlen, "the member table is not available: the host is not attached to an agent");
        return NULL;
    }
    mlua_command(h, c);
    uv_mutex_lock(&h->mu);
    bool done = mlua_wait(h, &r->done, MLUA_MEMBERS_WAIT_MS);
    uv_mutex_unlock(&h->mu);
    if (!done) {
        mlua_reply_unref(h, r);
        snprintf(err, errlen, "the protocol thread did not answer within %d ms", MLUA_MEMBERS_WAIT_MS);
        return NULL;
    }
    return r;
}

/* Our meta before the core exists: the caller's (flags), else the
 * script's agent.config tags, else no tags, as serf sends them. */
static int first_meta(mlua *h, uint8_t *meta, size_t cap)
{
    if (h->self_meta) {
        memcpy(meta, h->self_meta, h->self_meta_len);
        return (int)h->self_meta_len;
    }
    int n = mlua_settings_meta(h, meta, cap);
    if (n >= 0)
        return n;
    meta[0] = SERF_TAGS_MAGIC;
    meta[1] = 0x80;
    return 2;
}

/* Ourselves alone, while the first script loads: the name and tags the
 * agent will start with as far as known now, alive, incarnation 0, no
 * address (the sockets do not exist yet). NULL if out of memory. */
static mlua_members_reply *self_only(mlua *h)
{
    char host[256] = "";
    const mlua_setting *node = mlua_setting_get(h, "node");
    const char *name = h->self_name ? h->self_name : node ? node->s : NULL;
    if (!name) {
        /* the agent's default name; unreadable, the agent refuses to start */
        if (gethostname(host, sizeof host - 1) < 0)
            host[0] = '\0';
        name = host;
    }
    uint8_t meta[SERF_TAGS_META_MAX];
    swim_member m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.meta = meta;
    m.meta_len = (size_t)first_meta(h, meta, sizeof meta);
    m.state = SWIM_ALIVE;
    const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                             WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
    memcpy(m.vsn, vsn, sizeof vsn);
    mlua_members_reply *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->refs = 1;
    mlua_members_add(h, r, &m);
    mlua_members_done(h, r, name);
    return r;
}

/* The snapshot the script gets now, one reference the caller's: NULL
 * with err if there is none. */
static mlua_members_reply *snapshot(mlua *h, char *err, size_t errlen)
{
    if (!h->loading)
        return mlua_members_fetch(h, err, errlen);
    mlua_members_reply *r = h->load_snap;
    if (r) {
        uv_mutex_lock(&h->mu);
        r->refs++;
        uv_mutex_unlock(&h->mu);
    } else if (!(r = self_only(h)))
        snprintf(err, errlen, "out of memory");
    return r;
}

/* Push the self name and the list of member tables. */
static void push_snapshot(lua_State *L, mlua *h)
{
    char err[160];
    mlua_members_reply *r = snapshot(h, err, sizeof err);
    if (!r)
        luaL_error(L, "agent.members: %s", err);
    lua_pushstring(L, r->self);
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        mlua_push_member(L, &r->v[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    mlua_reply_unref(h, r);
}

int mlua_members_call(lua_State *L)
{
    push_snapshot(L, mlua_host_of(L));
    return 1;
}

int mlua_self_call(lua_State *L)
{
    push_snapshot(L, mlua_host_of(L));
    const char *self = lua_tostring(L, -2);
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        lua_getfield(L, -1, "name");
        if (strcmp(lua_tostring(L, -1), self) == 0) {
            lua_pop(L, 1);
            return 1;
        }
        lua_pop(L, 2);
    }
    lua_pushnil(L);
    return 1;
}
