/* mlua_reload: SIGHUP, the script file loaded again (the steps and what
 * happens when one fails: mlua_reload in mlua.h). Runs on the thread that
 * runs the script, outside the loop's uv_run (the old state's handles are
 * closed by running the loop), with the host marked busy so that no veto
 * waits on it; events wait in the queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

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

/* The settings the agent runs with, kept aside while a script loads: its
 * agent.config is checked, not applied (that needs a restart). */
typedef struct settings_kept {
    mlua_setting *v;
    size_t n;
    bool configured;
    char where[256];
} settings_kept;

static void settings_set_aside(mlua *h, settings_kept *k)
{
    k->v = h->settings;
    k->n = h->nsettings;
    k->configured = h->configured;
    memcpy(k->where, h->config_where, sizeof k->where);
    h->settings = NULL;
    h->nsettings = 0;
    h->configured = false;
}

static void settings_put_back(mlua *h, const settings_kept *k)
{
    mlua_settings_free(h->settings, h->nsettings);
    h->settings = k->v;
    h->nsettings = k->n;
    h->configured = k->configured;
    memcpy(h->config_where, k->where, sizeof h->config_where);
}

/* Run the chunk compiled on top of L (already h->L, not live) and make L
 * the host's. Returns 0 or -1 with err. */
static int run_and_take_over(mlua *h, lua_State *L, char *err, size_t errlen)
{
    settings_kept kept;
    settings_set_aside(h, &kept);
    int rc = mlua_script_run(h, L, err, errlen);
    settings_put_back(h, &kept);
    if (rc == 0)
        mlua_take_over(h, L);
    return rc;
}

/* The new script failed: its state is closed and the previous script's
 * text runs again; failing that, no script at all. */
static void fall_back(mlua *h, lua_State *failed, const char *why)
{
    char chunk[4200], err[1024] = "out of memory";
    snprintf(chunk, sizeof chunk, "@%s", h->script_path);
    lua_State *prev = mlua_state_new(h);
    h->L = prev;   /* not live: nothing publishes from it while failed closes */
    if (prev) {
        mlua_state_retire(h, failed);
        if (mlua_script_compile(prev, chunk, h->script_src, h->script_len, err, sizeof err) == 0 &&
            run_and_take_over(h, prev, err, sizeof err) == 0) {
            mlua_logf(h, BASE_LOG_ERROR,
                      "reload of %s failed: %s; the previous script runs again (started afresh, given the same "
                      "agent.inherited)", h->script_path, why);
            return;
        }
    }
    lua_State *none = mlua_state_new(h);
    if (!none) {
        /* not even an empty state: the failed one stays, not live */
        mlua_logf(h, BASE_LOG_ERROR, "reload of %s failed: %s; out of memory: running with NO script", h->script_path,
                  why);
        h->L = prev ? prev : failed;
        return;
    }
    h->L = none;
    mlua_state_retire(h, prev ? prev : failed);
    mlua_take_over(h, none);
    mlua_logf(h, BASE_LOG_ERROR,
              "reload of %s failed: %s; the previous script failed too when run again: %s; running with NO script "
              "(no hooks, no timers, no state) until a reload succeeds", h->script_path, why, err);
}

/* Steps 1-3: everything that can fail while the running script is still
 * untouched. Returns the new state with its chunk compiled on top, or
 * NULL with err (the running script stays). */
static lua_State *prepare(mlua *h, char **src, size_t *len, char *err, size_t errlen)
{
    char chunk[4200];
    snprintf(chunk, sizeof chunk, "@%s", h->script_path);
    if (mlua_script_read(h->script_path, src, len, err, errlen) < 0)
        return NULL;
    lua_State *next = mlua_state_new(h);
    if (!next) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (mlua_script_compile(next, chunk, *src, *len, err, errlen) < 0 ||
        mlua_handoff_take(h, h->L, err, errlen) < 0) {
        lua_close(next);
        return NULL;
    }
    char why[200];
    h->load_snap = mlua_members_fetch(h, why, sizeof why);
    if (!h->load_snap)
        mlua_logf(h, BASE_LOG_WARN, "reload: no member table for the load (%s): agent.members() gives ourselves only",
                  why);
    return next;
}

static void reload(mlua *h)
{
    char *src = NULL;
    size_t len = 0;
    char err[1024];
    lua_State *next = prepare(h, &src, &len, err, sizeof err);
    if (!next) {
        mlua_count(h, &h->stats.reload_failed);
        mlua_logf(h, BASE_LOG_ERROR, "reload of %s failed, keeping the running script: %s", h->script_path, err);
        free(src);
        return;
    }
    /* step 4: the running script goes; nothing asks it anything meanwhile */
    lua_State *old = h->L;
    atomic_store(&h->has_merge_hook, false);
    atomic_store(&h->has_alive_hook, false);
    h->L = next;
    mlua_state_retire(h, old);
    /* step 5: a fresh start but for agent.inherited, the ping payload too */
    uv_mutex_lock(&h->mu);
    free(h->ack_pub);
    h->ack_pub = NULL;
    h->ack_pub_len = 0;
    uv_mutex_unlock(&h->mu);
    if (run_and_take_over(h, next, err, sizeof err) < 0) {
        mlua_count(h, &h->stats.reload_failed);
        free(src);
        fall_back(h, next, err);
        return;
    }
    free(h->script_src);
    h->script_src = src;
    h->script_len = len;
    mlua_count(h, &h->stats.reload_ok);
    mlua_logf(h, BASE_LOG_INFO, "reloaded %s (hooks replaced; agent.config changes need a restart)", h->script_path);
}

void mlua_reload_run(mlua *h)
{
    if (!h->script_path) {
        mlua_logf(h, BASE_LOG_WARN, "reload: the script was not loaded from a file: nothing to reload");
        return;
    }
    h->reloading = true;
    mlua_busy_enter(h);
    reload(h);
    mlua_busy_leave(h);
    h->reloading = false;
    if (h->load_snap)
        mlua_reply_unref(h, h->load_snap);
    h->load_snap = NULL;
    mlua_handoff_clear(h);
}
