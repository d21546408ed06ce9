/* mlua_host: the host's life cycle — its lua_States, the first load, the
 * Lua thread and its loop, stop. (A reload: mlua_reload.c; closing a
 * state: mlua_close.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "serf/serf_tags.h"
#include "lua/mlua_internal.h"

/* the collector's pause, in percent of the heap after a cycle (see
 * mlua_state_new): Lua's own 200 */
#define MLUA_GC_PAUSE 200

static void free_options(mlua *h)
{
    free(h->lua_path);
    free(h->self_name);
    free(h->self_meta);
}

mlua *mlua_new(const mlua_options *opt)
{
    mlua *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (opt) {
        h->log = opt->log;
        h->log_ud = opt->log_ud;
        bool ok = !opt->lua_path || (h->lua_path = strdup(opt->lua_path));
        ok = ok && (!opt->self_name || (h->self_name = strdup(opt->self_name)));
        if (ok && opt->self_meta) {
            h->self_meta = malloc(opt->self_meta_len ? opt->self_meta_len : 1);
            ok = h->self_meta && opt->self_meta_len <= SERF_TAGS_META_MAX;
            if (ok)
                memcpy(h->self_meta, opt->self_meta, opt->self_meta_len);
            h->self_meta_len = opt->self_meta_len;
        }
        if (!ok) {
            free_options(h);
            free(h);
            return NULL;
        }
    }
    if (uv_loop_init(&h->loop) != 0) {
        free_options(h);
        free(h);
        return NULL;
    }
    h->loop_init = true;
    uv_timer_init(&h->loop, &h->guard);
    uv_mutex_init(&h->mu);
    uv_cond_init(&h->cond);
    atomic_init(&h->has_merge_hook, false);
    atomic_init(&h->has_alive_hook, false);
    atomic_init(&h->has_ping_hook, false);
    atomic_init(&h->busy_since, 0);
    return h;
}

/* A fresh lua_State with the standard libraries, luv on our loop (luv's
 * callbacks protected by our handler) for `require "luv"`, the moonlist
 * module and the extra package.path. NULL if out of memory. */
lua_State *mlua_state_new(mlua *h)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    /* Lua's default pause (a cycle once the heap has doubled), set here so
     * that the choice is visible. A pause of 100 (a cycle as soon as one
     * ends) kept the Lua heap's peak at 58 KiB instead of 104 with the
     * default script at N = 20, but cost about 10 % more idle CPU per
     * agent on bench/cluster.sh (0.038-0.040 against 0.035 s per idle
     * minute): the CPU is worth more than 50 KiB. A script can choose:
     * collectgarbage("setpause", 100). */
    lua_gc(L, LUA_GCSETPAUSE, MLUA_GC_PAUSE);
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, mlua_open_luv);
    lua_setfield(L, -2, "luv");
    lua_pop(L, 1);
    if (h->lua_path) {
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s;%s", h->lua_path, lua_tostring(L, -1));
        lua_setfield(L, -3, "path");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    mlua_open_module(h, L);
    if (h->backend.prepare)
        h->backend.prepare(h->backend.ud, L);
    return L;
}

void mlua_set_live(lua_State *L, bool live)
{
    lua_pushboolean(L, live);
    lua_setfield(L, LUA_REGISTRYINDEX, MLUA_LIVE_KEY);
}

static bool has_hooks(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);
    lua_getfield(L, -1, name);
    bool yes = lua_istable(L, -1) && lua_objlen(L, -1) > 0;
    lua_pop(L, 2);
    return yes;
}

void mlua_take_over(mlua *h, lua_State *L)
{
    h->L = L;
    mlua_set_live(L, true);
    atomic_store(&h->has_merge_hook, has_hooks(L, "merge"));
    atomic_store(&h->has_alive_hook, has_hooks(L, "alive"));
    atomic_store(&h->has_ping_hook, has_hooks(L, "ping"));
    mlua_publish_state(h, L);
    mlua_refresh_arm(h);
}

static int load_common(mlua *h, const char *path, const char *name, const char *code, char *err, size_t errlen)
{
    if (h->L) {
        snprintf(err, errlen, "a script is already loaded");
        return -1;
    }
    char *src = NULL;
    size_t len = code ? strlen(code) : 0;
    if (path && mlua_script_read(path, &src, &len, err, errlen) < 0)
        return -1;
    /* the chunk name on the heap: this frame is under the whole parse */
    char *chunk = path ? malloc(strlen(path) + 2) : NULL;
    lua_State *L = path && !chunk ? NULL : mlua_state_new(h);
    if (!L || (path && !(h->script_path = strdup(path)))) {
        if (L)
            lua_close(L);
        free(chunk);
        free(src);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (chunk)
        sprintf(chunk, "@%s", path);
    h->L = L;   /* from here, on failure, the state stays for mlua_free */
    int rc = mlua_script_compile(L, path ? chunk : name, path ? src : code, len, err, errlen);
    free(chunk);
    if (rc == 0)
        rc = mlua_script_run(h, L, err, errlen);
    if (rc < 0) {
        free(src);
        return -1;
    }
    h->script_src = src;   /* kept: a failed reload runs it again */
    h->script_len = len;
    mlua_take_over(h, L);
    return 0;
}

int mlua_load(mlua *h, const char *path, char *err, size_t errlen)
{
    return load_common(h, path, NULL, NULL, err, errlen);
}

int mlua_load_string(mlua *h, const char *name, const char *code, char *err, size_t errlen)
{
    return load_common(h, NULL, name, code, err, errlen);
}

/* ---- the Lua thread ---- */

static mlua_ev *take_next(mlua *h, bool *stop)
{
    uv_mutex_lock(&h->mu);
    *stop = h->stopping;
    mlua_ev *e = NULL;
    if (!*stop) {
        if (h->q_head) {
            e = h->q_head;
            h->q_head = e->next;
            if (!h->q_head)
                h->q_tail = NULL;
        } else if (h->ev_head) {
            e = h->ev_head;
            h->ev_head = e->next;
            if (!h->ev_head)
                h->ev_tail = NULL;
            h->ev_count--;
        }
    }
    uv_mutex_unlock(&h->mu);
    return e;
}

/* Deliver every queued event in order. A reload is one of them: with a
 * backend it runs here; on the Lua thread it needs the loop to itself, so
 * the loop is stopped and thread_main runs it, the events after it left
 * queued for the script that comes out of it. Returns whether there was
 * any; *stop says a stop was asked for. */
static bool run_queued(mlua *h, bool *stop)
{
    bool any = false;
    mlua_ev *e;
    while ((e = take_next(h, stop))) {
        any = true;
        bool reload = e->kind == MLUA_EVK_RELOAD;
        if (!reload)
            mlua_dispatch(h, e);
        if (e->q)
            mlua_question_unref(h, e->q);
        mlua_ev_free(e);
        if (reload && h->backend.timer_start)
            mlua_reload_run(h);
        else if (reload) {
            h->reload_asked = true;
            uv_stop(&h->loop);
            break;
        }
    }
    return any;
}

static void wake_cb(uv_async_t *a)
{
    mlua *h = a->data;
    if (h->reloading || h->reload_asked)
        return;   /* the loop runs for the reload's closing only: events wait */
    bool stop = false;
    bool any = run_queued(h, &stop);
    if (stop) {
        uv_stop(&h->loop);
        return;
    }
    if (any)
        mlua_publish_soon(h);
}

/* Whether the refresh timer has work: a local_state to call again, or an
 * error count still to log. Without either (the default script) it stays
 * stopped, and an idle agent's Lua thread sleeps until an event comes. */
static bool refresh_needed(mlua *h)
{
    for (size_t i = 0; i < MLUA_ERROR_KINDS; i++)
        if (h->errkinds[i].key && h->errkinds[i].suppressed)
            return true;
    if (!h->L)
        return false;
    lua_getfield(h->L, LUA_REGISTRYINDEX, MLUA_STATE_KEY);
    bool yes = lua_istable(h->L, -1);
    if (yes) {
        lua_getfield(h->L, -1, "local_state");
        yes = lua_isfunction(h->L, -1);
        lua_pop(h->L, 1);
    }
    lua_pop(h->L, 1);
    return yes;
}

/* every MLUA_STATE_REFRESH_MS while needed: the state, and the counts of
 * errors suppressed over a window now passed */
static void refresh_cb(uv_timer_t *t)
{
    mlua *h = t->data;
    mlua_publish_state(h, h->L);
    mlua_errors_flush(h, false);
    if (!refresh_needed(h))
        uv_timer_stop(t);
}

void mlua_refresh_arm(mlua *h)
{
    if (h->refresh_ready && !uv_is_active((uv_handle_t *)&h->refresh) && refresh_needed(h))
        uv_timer_start(&h->refresh, refresh_cb, MLUA_STATE_REFRESH_MS, MLUA_STATE_REFRESH_MS);
}

static void close_all_cb(uv_handle_t *hd, void *arg)
{
    (void)arg;
    if (!uv_is_closing(hd))
        uv_close(hd, NULL);
}

static bool stop_asked(mlua *h)
{
    uv_mutex_lock(&h->mu);
    bool stop = h->stopping;
    uv_mutex_unlock(&h->mu);
    return stop;
}

static void thread_main(void *arg)
{
    mlua *h = arg;
    /* the loop returns for a stop or a reload, run here outside uv_run */
    for (;;) {
        uv_run(&h->loop, UV_RUN_DEFAULT);
        if (stop_asked(h) || !h->reload_asked)
            break;
        mlua_reload_run(h);
        h->reload_asked = false;
        uv_async_send(&h->wake);   /* the events that waited */
    }
    /* stopping: close the script's handles through luv, then ours, then
     * whatever is left, and let the loop run their close callbacks */
    mlua_timers_close_all(h);
    mlua_close_luv(h, h->L);
    mlua_errors_flush(h, true);
    uv_mutex_lock(&h->mu);
    h->wake_closed = true;   /* posters check this under mu before sending */
    uv_mutex_unlock(&h->mu);
    h->refresh_ready = false;
    uv_close((uv_handle_t *)&h->wake, NULL);
    uv_close((uv_handle_t *)&h->refresh, NULL);
    uv_close((uv_handle_t *)&h->publish_check, NULL);
    uv_close((uv_handle_t *)&h->guard, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    lua_close(h->L);
    h->L = NULL;
    mlua_retired_close_all(h);
    uv_walk(&h->loop, close_all_cb, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_mutex_lock(&h->mu);
    h->exited = true;
    uv_cond_broadcast(&h->cond);
    uv_mutex_unlock(&h->mu);
}

int mlua_start(mlua *h, char *err, size_t errlen)
{
    if (!h->L) {
        snprintf(err, errlen, "no script loaded");
        return -1;
    }
    if (uv_async_init(&h->loop, &h->wake, wake_cb) != 0 || uv_timer_init(&h->loop, &h->refresh) != 0) {
        snprintf(err, errlen, "cannot create the Lua thread's handles");
        return -1;
    }
    h->wake.data = h;
    h->refresh.data = h;
    mlua_publish_init(h);
    uv_update_time(&h->loop);
    h->refresh_ready = true;
    mlua_refresh_arm(h);
    uv_mutex_lock(&h->mu);
    h->started = true;
    uv_mutex_unlock(&h->mu);
    /* The default stack (RLIMIT_STACK, 8 MiB) on purpose: only its touched
     * pages are resident (about 28 KiB idle), and LuaJIT bounds C recursion
     * by its Lua stack alone, so a smaller one crashes sooner: nested
     * string.gsub callbacks take about 5 KiB of C stack a level, and at
     * 8 MiB the agent (as luajit itself) dies at about 950 levels; LuaJIT's
     * own limit is not reached first. */
    if (uv_thread_create(&h->thread, thread_main, h) != 0) {
        uv_mutex_lock(&h->mu);
        h->started = false;
        uv_mutex_unlock(&h->mu);
        snprintf(err, errlen, "cannot start the Lua thread");
        return -1;
    }
    /* events queued during the load are waiting */
    uv_async_send(&h->wake);
    return 0;
}

int mlua_set_backend(mlua *h, const mlua_backend *b)
{
    if (!b->members || !b->now || !b->timer_start || !b->timer_stop || h->L)
        return -1;
    h->backend = *b;
    return 0;
}

void mlua_run_pending(mlua *h)
{
    bool stop = false;
    if (run_queued(h, &stop))
        mlua_publish_state(h, h->L);
    mlua_errors_flush(h, false);
}

void mlua_drain_commands(mlua *h, mlua_cmd_fn fn, void *ud)
{
    uv_mutex_lock(&h->mu);
    mlua_cmd *c = h->cmd_head;
    h->cmd_head = h->cmd_tail = NULL;
    uv_mutex_unlock(&h->mu);
    while (c) {
        mlua_cmd *next = c->next;
        fn(ud, c);
        if (c->reply)
            mlua_reply_unref(h, c->reply);
        mlua_cmd_free(c);
        c = next;
    }
}

int mlua_stop(mlua *h, unsigned timeout_ms)
{
    uv_mutex_lock(&h->mu);
    bool running = h->started && !h->exited;
    h->stopping = true;
    uv_mutex_unlock(&h->mu);
    if (!running)
        return 0;
    uv_mutex_lock(&h->mu);
    if (!h->wake_closed)
        uv_async_send(&h->wake);
    uv_mutex_unlock(&h->mu);
    uv_mutex_lock(&h->mu);
    bool exited = mlua_wait(h, &h->exited, timeout_ms);
    uv_mutex_unlock(&h->mu);
    if (!exited) {
        mlua_logf(h, BASE_LOG_ERROR, "the Lua thread did not stop within %u ms (a hook that never returns?): abandoned",
                  timeout_ms);
        return -1;
    }
    uv_thread_join(&h->thread);
    return 0;
}

void mlua_free(mlua *h)
{
    if (!h)
        return;
    if (h->L) {
        /* never started (or a backend's): close the script's timers and
         * luv handles, let their close callbacks run, then the state */
        mlua_errors_flush(h, true);
        mlua_timers_close_all(h);
        mlua_close_luv(h, h->L);
        uv_run(&h->loop, UV_RUN_NOWAIT);
        lua_close(h->L);
        h->L = NULL;
    }
    mlua_retired_close_all(h);
    if (h->loop_init) {
        uv_walk(&h->loop, close_all_cb, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&h->loop) != 0)
            mlua_logf(h, BASE_LOG_WARN, "the Lua loop still had open handles at exit");
    }
    for (mlua_ev *e = h->ev_head, *next; e; e = next) {
        next = e->next;
        if (e->q)
            mlua_question_unref(h, e->q);
        mlua_ev_free(e);
    }
    for (mlua_ev *e = h->q_head, *next; e; e = next) {
        next = e->next;
        if (e->q)
            mlua_question_unref(h, e->q);
        mlua_ev_free(e);
    }
    for (mlua_cmd *c = h->cmd_head, *next; c; c = next) {
        next = c->next;
        if (c->reply)
            mlua_reply_unref(h, c->reply);
        mlua_cmd_free(c);
    }
    mlua_serf_free(h);
    mlua_settings_free(h->settings, h->nsettings);
    mlua_handoff_clear(h);
    free(h->state_pub[0]);
    free(h->state_pub[1]);
    free(h->ack_pub);
    free(h->state_proto);
    free(h->ack_proto);
    free_options(h);
    free(h->script_path);
    free(h->script_src);
    uv_mutex_destroy(&h->mu);
    uv_cond_destroy(&h->cond);
    free(h);
}
