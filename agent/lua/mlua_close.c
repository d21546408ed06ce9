/* mlua_close: closing a script's lua_State without pulling it from under
 * its own callbacks. Its agent.after/every timers and luv handles are
 * closed; the loop then runs their close callbacks (a script's
 * handle:close(fn) runs fn in that state) and the requests in flight (a
 * luv fs or DNS callback runs in that state too); only then is the state
 * closed. A listening socket is closed by the first step, so a reload's
 * next script can bind the same port. */
#include <stdlib.h>

#include <luv.h>
#include <lhandle.h>

#include "lua/mlua_internal.h"

/* The host's handles, not a script's: their data is not luv's. */
static bool is_own_handle(mlua *h, uv_handle_t *hd)
{
    return hd == (uv_handle_t *)&h->wake || hd == (uv_handle_t *)&h->refresh ||
           hd == (uv_handle_t *)&h->publish_check || hd == (uv_handle_t *)&h->guard || mlua_is_timer_handle(h, hd);
}

/* luv's bookkeeping of a handle of state L, or NULL. */
static luv_handle_t *luv_of(mlua *h, uv_handle_t *hd, lua_State *L)
{
    if (is_own_handle(h, hd))
        return NULL;
    luv_handle_t *data = hd->data;
    return data && data->ctx && data->ctx->L == L ? data : NULL;
}

typedef struct walk_ctx {
    mlua *h;
    lua_State *L;
    int n;          /* handles collected (open ones) or seen (any) */
} walk_ctx;

static void collect_open(uv_handle_t *hd, void *arg)
{
    walk_ctx *w = arg;
    luv_handle_t *data = luv_of(w->h, hd, w->L);
    if (!data || uv_is_closing(hd))
        return;
    lua_rawgeti(w->L, LUA_REGISTRYINDEX, data->ref);
    lua_rawseti(w->L, -2, ++w->n);
}

static void count_any(uv_handle_t *hd, void *arg)
{
    walk_ctx *w = arg;
    if (luv_of(w->h, hd, w->L))
        w->n++;
}

/* Close every open luv handle of L with luv's own :close(), so luv frees
 * its bookkeeping (the close callbacks run on the next loop iteration). */
void mlua_close_luv(mlua *h, lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_getfield(L, -1, "luv");
    bool loaded = lua_istable(L, -1);
    lua_pop(L, 2);
    if (!loaded)
        return;
    walk_ctx w = { h, L, 0 };
    lua_newtable(L);
    uv_walk(&h->loop, collect_open, &w);
    for (int i = 1; i <= w.n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -1, "close");
        if (lua_isfunction(L, -1)) {
            lua_insert(L, -2);
            if (lua_pcall(L, 1, 0, 0) != 0)
                lua_pop(L, 1);
        } else
            lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* L still has a handle (open or closing) or a timer, or the loop a
 * request (at a reload only the old state can have any). */
static bool busy(mlua *h, lua_State *L)
{
    walk_ctx w = { h, L, 0 };
    uv_walk(&h->loop, count_any, &w);
    return w.n > 0 || mlua_timers_of(h, L) || h->loop.active_reqs.count > 0;
}

static void guard_fire(uv_timer_t *t)
{
    mlua *h = t->data;
    h->guard_fired = true;
}

void mlua_state_retire(mlua *h, lua_State *L)
{
    mlua_set_live(L, false);
    mlua_timers_close_state(h, L);
    mlua_close_luv(h, L);
    h->guard_fired = false;
    h->guard.data = h;
    uv_update_time(&h->loop);
    uv_timer_start(&h->guard, guard_fire, MLUA_RELOAD_CLOSE_MS, 0);
    while (!h->guard_fired && busy(h, L))
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->guard);
    if (!busy(h, L)) {
        lua_close(L);
        return;
    }
    mlua_retired *r = calloc(1, sizeof *r);
    if (r) {
        r->L = L;
        r->next = h->retired;
        h->retired = r;
    }
    /* out of memory: the state is left open, never used again */
    mlua_logf(h, BASE_LOG_WARN,
              "the replaced script still had callbacks pending after %d ms: its Lua state stays open until the "
              "agent stops", MLUA_RELOAD_CLOSE_MS);
}

void mlua_retired_close_all(mlua *h)
{
    while (h->retired) {
        mlua_retired *r = h->retired;
        h->retired = r->next;
        lua_close(r->L);
        free(r);
    }
}
