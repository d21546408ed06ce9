/* mlua_timer: agent.after and agent.every, on the Lua thread's loop or
 * (with a backend: the simulator) on the backend's clock. A timer belongs
 * to the lua_State that started it, so a reload closes the old script's
 * timers only. */
#include <stdlib.h>

#include "lua/mlua_internal.h"

/* A timer runs on the Lua thread's loop, or (with a backend: the
 * simulator) on the backend's clock, which calls mlua_timer_due(). */
struct mlua_timer {
    uv_timer_t t;
    mlua *h;
    lua_State *L;
    int fnref;
    uint64_t id;
    uint64_t ms;
    bool repeat, closing;
    mlua_timer *next;
};

static void timer_unlink_free(mlua_timer *t)
{
    mlua *h = t->h;
    for (mlua_timer **pp = &h->timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    free(t);
}

static void timer_closed(uv_handle_t *hd)
{
    timer_unlink_free(hd->data);
}

static void timer_close(mlua_timer *t)
{
    if (t->closing)
        return;
    t->closing = true;
    if (t->fnref != LUA_NOREF)
        luaL_unref(t->L, LUA_REGISTRYINDEX, t->fnref);
    t->fnref = LUA_NOREF;
    if (t->h->backend.timer_start) {
        t->h->backend.timer_stop(t->h->backend.ud, t->id);
        return;   /* freed by mlua_timers_reap: the list may be walked now */
    }
    uv_close((uv_handle_t *)&t->t, timer_closed);
}

/* backend mode: free the closed timers (outside any list walk) */
static void timers_reap(mlua *h)
{
    mlua_timer **pp = &h->timers;
    while (*pp) {
        mlua_timer *t = *pp;
        if (t->closing) {
            *pp = t->next;
            free(t);
        } else
            pp = &t->next;
    }
}

static void timer_run(mlua_timer *t)
{
    lua_State *L = t->L;
    mlua *h = t->h;
    if (t->closing)
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->fnref);
    if (!t->repeat)
        timer_close(t);
    else if (h->backend.timer_start)
        h->backend.timer_start(h->backend.ud, t->id, t->ms);
    mlua_pcall(h, L, 0, 0, MLUA_CALL_TIMER, t->repeat ? "agent.every callback" : "agent.after callback");
    mlua_publish_soon(h);
}

static void timer_fire(uv_timer_t *ut)
{
    timer_run(ut->data);
}

void mlua_timer_due(mlua *h, uint64_t id)
{
    for (mlua_timer *t = h->timers; t; t = t->next)
        if (t->id == id && !t->closing) {
            timer_run(t);
            break;
        }
    timers_reap(h);
}

/* close the timers of one lua_State (a reload replaces it), NULL: of all */
void mlua_timers_close_state(mlua *h, lua_State *L)
{
    for (mlua_timer *t = h->timers; t; t = t->next)
        if (!L || t->L == L)
            timer_close(t);
    if (h->backend.timer_start)
        timers_reap(h);
}

void mlua_timers_close_all(mlua *h)
{
    mlua_timers_close_state(h, NULL);
}

bool mlua_timers_of(mlua *h, lua_State *L)
{
    for (mlua_timer *t = h->timers; t; t = t->next)
        if (t->L == L)
            return true;
    return false;
}

bool mlua_is_timer_handle(mlua *h, uv_handle_t *hd)
{
    for (mlua_timer *t = h->timers; t; t = t->next)
        if (hd == (uv_handle_t *)&t->t)
            return true;
    return false;
}

static int start_timer(lua_State *L, bool repeat)
{
    const char *fn = repeat ? "agent.every" : "agent.after";
    double s = luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!(s >= 0 && s <= 86400.0 * 365))
        return luaL_error(L, "%s: %f is not a number of seconds in 0..31536000", fn, s);
    if (repeat && s < 0.001)
        return luaL_error(L, "%s: the period must be at least 0.001 seconds", fn);
    mlua *h = mlua_host_of(L);
    mlua_timer *t = calloc(1, sizeof *t);
    if (!t)
        return luaL_error(L, "out of memory");
    t->h = h;
    t->L = L;
    t->repeat = repeat;
    t->id = ++h->next_timer_id;
    lua_pushvalue(L, 2);
    t->fnref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->next = h->timers;
    h->timers = t;
    t->ms = (uint64_t)(s * 1000.0 + 0.5);
    if (h->backend.timer_start) {
        h->backend.timer_start(h->backend.ud, t->id, t->ms);
    } else {
        uv_timer_init(&h->loop, &t->t);
        t->t.data = t;
        uv_update_time(&h->loop);
        uv_timer_start(&t->t, timer_fire, t->ms, repeat ? t->ms : 0);
    }
    /* the handle: a table with :stop() */
    lua_createtable(L, 0, 1);
    lua_pushnumber(L, (lua_Number)t->id);
    lua_setfield(L, -2, "id");
    luaL_getmetatable(L, "moonlist.timer");
    lua_setmetatable(L, -2);
    return 1;
}

int mlua_timer_after(lua_State *L) { return start_timer(L, false); }
int mlua_timer_every(lua_State *L) { return start_timer(L, true); }

int mlua_timer_stop_call(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "id");
    uint64_t id = (uint64_t)lua_tonumber(L, -1);
    mlua *h = mlua_host_of(L);
    for (mlua_timer *t = h->timers; t; t = t->next)
        if (t->id == id && !t->closing) {
            timer_close(t);
            if (h->backend.timer_start)
                timers_reap(h);
            lua_pushboolean(L, 1);
            return 1;
        }
    lua_pushboolean(L, 0);   /* already fired or stopped */
    return 1;
}
