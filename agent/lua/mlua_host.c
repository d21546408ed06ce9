/* mlua_host: the host's life cycle — lua_State creation and script load,
 * the Lua thread and its loop, reload, stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>
#include <luv.h>
#include <lhandle.h>

#include "serf/serf_tags.h"
#include "lua/mlua_internal.h"

int mlua_luv_pcall(lua_State *L, int nargs, int nresults, int flags);   /* mlua_module.c */

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
    uv_mutex_init(&h->mu);
    uv_cond_init(&h->cond);
    atomic_init(&h->has_merge_hook, false);
    atomic_init(&h->has_alive_hook, false);
    atomic_init(&h->busy_since, 0);
    return h;
}

/* A fresh lua_State with the standard libraries, luv on our loop (luv's
 * callbacks protected by our handler), the moonlist module and the extra
 * package.path. NULL if out of memory. */
static lua_State *new_state(mlua *h)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    luaL_openlibs(L);
    luv_set_loop(L, &h->loop);
    luv_set_callback(L, mlua_luv_pcall);
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
    return L;
}

static void set_live(lua_State *L, bool live)
{
    lua_pushboolean(L, live);
    lua_setfield(L, LUA_REGISTRYINDEX, "moonlist.live");
}

static bool has_hooks(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, MLUA_HOOKS_KEY);
    lua_getfield(L, -1, name);
    bool yes = lua_istable(L, -1) && lua_objlen(L, -1) > 0;
    lua_pop(L, 2);
    return yes;
}

/* L becomes the state the host serves: its vetoes and its local state are
 * published. */
static void take_over(mlua *h, lua_State *L)
{
    h->L = L;
    set_live(L, true);
    atomic_store(&h->has_merge_hook, has_hooks(L, "merge"));
    atomic_store(&h->has_alive_hook, has_hooks(L, "alive"));
    mlua_publish_state(h, L);
}

/* Run the chunk on top of L (below: nothing of ours). Returns 0 or -1 with
 * the error message in err. */
static int run_chunk(mlua *h, lua_State *L, char *err, size_t errlen)
{
    if (!mlua_pcall(h, L, 0, 0, MLUA_CALL_LOAD, "script")) {
        /* mlua_pcall logged message + traceback; the caller gets the
         * message */
        snprintf(err, errlen, "%s", h->last_error);
        return -1;
    }
    return 0;
}

static int load_into(mlua *h, lua_State *L, const char *path, const char *name, const char *code, char *err,
                     size_t errlen)
{
    int rc = path ? luaL_loadfile(L, path) : luaL_loadbuffer(L, code, strlen(code), name);
    if (rc) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return run_chunk(h, L, err, errlen);
}

/* The settings must also make a valid swim config as a whole (e.g. probe
 * timeout below the probe interval). */
static int check_settings(mlua *h, char *err, size_t errlen)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    swim_config_profile(&c, "lan");
    snprintf(c.name, sizeof c.name, "check");
    c.advertise.ip_len = 4;
    c.advertise.port = 7946;
    const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                             WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
    memcpy(c.vsn, vsn, 6);
    if (mlua_settings_apply_swim(h, &c, err, errlen) < 0)
        return -1;
    const char *why = swim_config_check(&c);
    if (why) {
        snprintf(err, errlen, "%s: agent.config: %s", h->config_where, why);
        return -1;
    }
    return 0;
}

static int load_common(mlua *h, const char *path, const char *name, const char *code, char *err, size_t errlen)
{
    if (h->L) {
        snprintf(err, errlen, "a script is already loaded");
        return -1;
    }
    lua_State *L = new_state(h);
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->L = L;
    h->loading = true;   /* agent.members(): ourselves, the core does not exist yet */
    int rc = load_into(h, L, path, name, code, err, errlen);
    h->loading = false;
    if (rc < 0 || check_settings(h, err, errlen) < 0)
        return -1;   /* the state stays for mlua_free */
    if (path && !(h->script_path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    take_over(h, L);
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

/* Close every luv handle created by state L (a reload's old state, or
 * everything at stop): luv's own :close() so luv frees its bookkeeping. */
typedef struct walk_ctx {
    mlua *h;
    lua_State *L;
    int n;
} walk_ctx;

static bool is_own_handle(mlua *h, uv_handle_t *hd);

static void collect_luv(uv_handle_t *hd, void *arg)
{
    walk_ctx *w = arg;
    if (is_own_handle(w->h, hd) || uv_is_closing(hd))
        return;
    luv_handle_t *data = hd->data;
    if (!data || data->ctx == NULL || data->ctx->L != w->L)
        return;
    lua_rawgeti(w->L, LUA_REGISTRYINDEX, data->ref);
    lua_rawseti(w->L, -2, ++w->n);
}

static void close_luv_handles(mlua *h, lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_getfield(L, -1, "luv");
    bool loaded = lua_istable(L, -1);
    lua_pop(L, 2);
    if (!loaded)
        return;
    walk_ctx w = { h, L, 0 };
    lua_newtable(L);
    uv_walk(&h->loop, collect_luv, &w);
    for (int i = 1; i <= w.n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -1, "close");
        if (lua_isfunction(L, -1)) {
            lua_insert(L, -2);
            lua_pcall(L, 1, 0, 0) == 0 ? (void)0 : lua_pop(L, 1);
        } else
            lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* A retired state is closed from a zero timer, after the loop ran the
 * close callbacks of its handles (they use the state). */
struct mlua_retired {
    uv_timer_t t;
    lua_State *L;
    mlua *h;
    mlua_retired *next;      /* h->retired: our handles, not luv's */
};

static void retired_closed(uv_handle_t *hd)
{
    mlua_retired *r = hd->data;
    for (mlua_retired **pp = &r->h->retired; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    free(r);
}

static void retire_fire(uv_timer_t *t)
{
    mlua_retired *r = t->data;
    lua_close(r->L);
    r->L = NULL;
    uv_close((uv_handle_t *)&r->t, retired_closed);
}

static bool is_retired_handle(mlua *h, uv_handle_t *hd)
{
    for (mlua_retired *r = h->retired; r; r = r->next)
        if (hd == (uv_handle_t *)&r->t)
            return true;
    return false;
}

/* The host's handles, not the script's: luv's close must not touch them. */
static bool is_own_handle(mlua *h, uv_handle_t *hd)
{
    return hd == (uv_handle_t *)&h->wake || hd == (uv_handle_t *)&h->refresh ||
           hd == (uv_handle_t *)&h->publish_check || mlua_is_timer_handle(h, hd) || is_retired_handle(h, hd);
}

static void retire_state(mlua *h, lua_State *L)
{
    set_live(L, false);
    mlua_timers_close_state(h, L);
    close_luv_handles(h, L);
    mlua_retired *r = calloc(1, sizeof *r);
    if (!r)
        return;   /* out of memory: the old state leaks rather than crash */
    r->L = L;
    r->h = h;
    r->next = h->retired;
    h->retired = r;
    uv_timer_init(&h->loop, &r->t);
    r->t.data = r;
    uv_timer_start(&r->t, retire_fire, 0, 0);
}

static void do_reload(mlua *h)
{
    if (!h->script_path) {
        mlua_logf(h, BASE_LOG_WARN, "reload: the script was not loaded from a file: nothing to reload");
        return;
    }
    lua_State *L = new_state(h);
    if (!L) {
        mlua_logf(h, BASE_LOG_ERROR, "reload: out of memory: keeping the running script");
        return;
    }
    /* the new script's agent.config is checked but not applied: settings
     * need a restart. Keep the running settings aside meanwhile. */
    mlua_setting *keep = h->settings;
    size_t nkeep = h->nsettings;
    bool kept_configured = h->configured;
    h->settings = NULL;
    h->nsettings = 0;
    h->configured = false;
    lua_State *old = h->L;
    char err[1024];
    int rc = load_into(h, L, h->script_path, NULL, NULL, err, sizeof err);
    mlua_settings_free(h->settings, h->nsettings);
    h->settings = keep;
    h->nsettings = nkeep;
    h->configured = kept_configured;
    if (rc < 0) {
        h->L = old;
        mlua_logf(h, BASE_LOG_ERROR, "reload of %s failed, keeping the running script: %s", h->script_path, err);
        retire_state(h, L);
        return;
    }
    retire_state(h, old);
    take_over(h, L);
    mlua_logf(h, BASE_LOG_INFO, "reloaded %s (hooks replaced; agent.config changes need a restart)", h->script_path);
}

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

/* Deliver every queued event in order (a reload is one of them). Returns
 * whether there was any; *stop says a stop was asked for. */
static bool run_queued(mlua *h, bool *stop)
{
    bool any = false;
    mlua_ev *e;
    while ((e = take_next(h, stop))) {
        any = true;
        if (e->kind == MLUA_EVK_RELOAD)
            do_reload(h);
        else
            mlua_dispatch(h, e);
        if (e->q)
            mlua_question_unref(h, e->q);
        mlua_ev_free(e);
    }
    return any;
}

static void wake_cb(uv_async_t *a)
{
    mlua *h = a->data;
    bool stop = false;
    bool any = run_queued(h, &stop);
    if (stop) {
        uv_stop(&h->loop);
        return;
    }
    if (any)
        mlua_publish_soon(h);
}

/* every MLUA_STATE_REFRESH_MS: the state, and the counts of errors
 * suppressed over a window now passed */
static void refresh_cb(uv_timer_t *t)
{
    mlua *h = t->data;
    mlua_publish_state(h, h->L);
    mlua_errors_flush(h, false);
}

static void close_all_cb(uv_handle_t *hd, void *arg)
{
    (void)arg;
    if (!uv_is_closing(hd))
        uv_close(hd, NULL);
}

static void thread_main(void *arg)
{
    mlua *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
    /* stopping: close the script's handles through luv, then ours, then
     * whatever is left, and let the loop run their close callbacks */
    mlua_timers_close_all(h);
    close_luv_handles(h, h->L);
    mlua_errors_flush(h, true);
    /* retired states close from their zero timers in the run below */
    uv_mutex_lock(&h->mu);
    h->wake_closed = true;   /* posters check this under mu before sending */
    uv_mutex_unlock(&h->mu);
    uv_close((uv_handle_t *)&h->wake, NULL);
    uv_close((uv_handle_t *)&h->refresh, NULL);
    uv_close((uv_handle_t *)&h->publish_check, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    lua_close(h->L);
    h->L = NULL;
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
    uv_timer_start(&h->refresh, refresh_cb, MLUA_STATE_REFRESH_MS, MLUA_STATE_REFRESH_MS);
    uv_mutex_lock(&h->mu);
    h->started = true;
    uv_mutex_unlock(&h->mu);
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

void mlua_reload(mlua *h)
{
    mlua_ev *e = calloc(1, sizeof *e);
    if (!e) {
        mlua_logf(h, BASE_LOG_ERROR, "reload: out of memory");
        return;
    }
    e->kind = MLUA_EVK_RELOAD;
    mlua_enqueue(h, e, false);
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
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    uv_mutex_lock(&h->mu);
    while (!h->exited) {
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            break;
        uv_cond_timedwait(&h->cond, &h->mu, deadline - now);
    }
    bool exited = h->exited;
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
        /* never started (or a backend's): close the script's timers and luv handles */
        mlua_errors_flush(h, true);
        mlua_timers_close_all(h);
        close_luv_handles(h, h->L);
        uv_run(&h->loop, UV_RUN_NOWAIT);
        lua_close(h->L);
        h->L = NULL;
        uv_walk(&h->loop, close_all_cb, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
    }
    if (h->loop_init && uv_loop_close(&h->loop) != 0)
        mlua_logf(h, BASE_LOG_WARN, "the Lua loop still had open handles at exit");
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
    mlua_settings_free(h->settings, h->nsettings);
    free(h->state_pub[0]);
    free(h->state_pub[1]);
    free(h->ack_pub);
    free(h->state_proto);
    free(h->ack_proto);
    free_options(h);
    free(h->script_path);
    uv_mutex_destroy(&h->mu);
    uv_cond_destroy(&h->cond);
    free(h);
}
