/* mlua_delegate: what the core asks synchronously, answered on the
 * protocol thread without ever waiting on the Lua thread unboundedly (see
 * mlua.h for the exact policy). */
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

void mlua_local_state(mlua *h, bool is_join, const uint8_t **out, size_t *len)
{
    int j = is_join ? 1 : 0;
    uv_mutex_lock(&h->mu);
    size_t n = h->state_pub_len[j];
    uint8_t *copy = n ? malloc(n) : NULL;
    if (copy)
        memcpy(copy, h->state_pub[j], n);
    uv_mutex_unlock(&h->mu);
    free(h->state_proto);
    h->state_proto = copy;
    *out = copy;
    *len = copy ? n : 0;
}

void mlua_ack_payload(mlua *h, const uint8_t **out, size_t *len)
{
    uv_mutex_lock(&h->mu);
    size_t n = h->ack_pub_len;
    uint8_t *copy = n ? malloc(n) : NULL;
    if (copy)
        memcpy(copy, h->ack_pub, n);
    uv_mutex_unlock(&h->mu);
    free(h->ack_proto);
    h->ack_proto = copy;
    *out = copy;
    *len = copy ? n : 0;
}

void mlua_merge_remote_state(mlua *h, const uint8_t *state, size_t len, bool is_join)
{
    mlua_ev *e = calloc(1, sizeof *e);
    if (!e || !(e->payload = malloc(len ? len : 1))) {
        free(e);
        mlua_logf(h, BASE_LOG_ERROR, "out of memory: remote state dropped");
        return;
    }
    e->kind = MLUA_EVK_MERGE_STATE;
    memcpy(e->payload, state, len);
    e->len = len;
    e->is_join = is_join;
    mlua_enqueue(h, e, false);
}

/* Post the question and wait for the answer, at most wait_ms. Returns
 * true with *allow set if answered in time. Takes ownership of e. */
static bool ask(mlua *h, mlua_ev *e, unsigned wait_ms, bool *allow)
{
    mlua_question *q = calloc(1, sizeof *q);
    if (!q) {
        mlua_ev_free(e);
        return false;
    }
    if (h->backend.timer_start) {
        /* no Lua thread: the hook runs here and now */
        q->refs = 1;
        e->q = q;
        mlua_dispatch(h, e);
        *allow = q->allow;
        memcpy(h->reason_proto, q->reason, sizeof h->reason_proto);
        h->stats.vetoes_asked++;
        mlua_ev_free(e);
        free(q);
        return true;
    }
    q->refs = 2;   /* the waiting side and the event */
    e->q = q;
    mlua_enqueue(h, e, true);
    uv_mutex_lock(&h->mu);
    bool answered = mlua_wait(h, &q->answered, wait_ms);
    if (answered) {
        *allow = q->allow;
        memcpy(h->reason_proto, q->reason, sizeof h->reason_proto);
    } else
        q->abandoned = true;
    h->stats.vetoes_asked++;
    if (!answered)
        h->stats.vetoes_defaulted++;
    uv_mutex_unlock(&h->mu);
    mlua_question_unref(h, q);
    return answered;
}

/* The Lua thread is inside a callback (possibly stuck): asking would only
 * burn the whole wait. */
static bool lua_busy(mlua *h)
{
    return atomic_load(&h->busy_since) != 0;
}

static bool lua_running(mlua *h)
{
    if (h->backend.timer_start)
        return h->L != NULL;
    uv_mutex_lock(&h->mu);
    bool r = h->started && !h->exited && !h->stopping;
    uv_mutex_unlock(&h->mu);
    return r;
}

bool mlua_allow_merge(mlua *h, const swim_member *peers, size_t n, const char **reason)
{
    if (!atomic_load(&h->has_merge_hook) || !lua_running(h))
        return true;
    if (lua_busy(h)) {
        uv_mutex_lock(&h->mu);
        h->stats.vetoes_defaulted++;
        uv_mutex_unlock(&h->mu);
        mlua_logf(h, BASE_LOG_INFO, "merge hook not asked (the Lua thread is busy in a callback): merge allowed");
        return true;
    }
    mlua_ev *e = calloc(1, sizeof *e);
    if (e && n)
        e->peers = calloc(n, sizeof *e->peers);
    if (!e || (n && !e->peers)) {
        mlua_ev_free(e);
        return true;
    }
    e->kind = MLUA_EVK_ASK_MERGE;
    for (size_t i = 0; i < n; i++) {
        if (mlua_mcopy_from(&e->peers[i], &peers[i]) < 0) {
            mlua_ev_free(e);
            return true;
        }
        e->npeers++;
    }
    bool allow = true;
    if (!ask(h, e, MLUA_MERGE_WAIT_MS, &allow)) {
        mlua_logf(h, BASE_LOG_WARN, "merge hook did not answer within %d ms: merge allowed", MLUA_MERGE_WAIT_MS);
        return true;
    }
    if (!allow && reason)
        *reason = h->reason_proto;
    return allow;
}

bool mlua_allow_alive(mlua *h, const swim_member *m)
{
    if (!atomic_load(&h->has_alive_hook) || !lua_running(h))
        return true;
    if (lua_busy(h)) {
        uv_mutex_lock(&h->mu);
        h->stats.vetoes_defaulted++;
        uv_mutex_unlock(&h->mu);
        return true;
    }
    mlua_ev *e = calloc(1, sizeof *e);
    if (!e)
        return true;
    e->kind = MLUA_EVK_ASK_ALIVE;
    if (mlua_mcopy_from(&e->member, m) < 0) {
        mlua_ev_free(e);
        return true;
    }
    bool allow = true;
    if (!ask(h, e, MLUA_ALIVE_WAIT_MS, &allow)) {
        mlua_logf(h, BASE_LOG_WARN, "alive hook did not answer within %d ms: alive message about %s allowed",
                  MLUA_ALIVE_WAIT_MS, m->name);
        return true;
    }
    if (!allow)
        mlua_logf(h, BASE_LOG_INFO, "alive message about %s refused by the script: %s", m->name, h->reason_proto);
    return allow;
}

static void d_local_state(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    mlua_local_state(ud, is_join, out, len);
}
static void d_merge_remote_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    mlua_merge_remote_state(ud, state, len, is_join);
}
static void d_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    mlua_ack_payload(ud, out, len);
}
static bool d_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    return mlua_allow_merge(ud, peers, n, reason);
}
static bool d_allow_alive(void *ud, const swim_member *m)
{
    return mlua_allow_alive(ud, m);
}

swim_delegate mlua_delegate(mlua *h)
{
    swim_delegate d = {
        .ud = h,
        .local_state = d_local_state,
        .merge_remote_state = d_merge_remote_state,
        .ack_payload = d_ack_payload,
        .allow_merge = d_allow_merge,
        .allow_alive = d_allow_alive,
    };
    return d;
}

serf_node_state_delegate mlua_serf_state(mlua *h)
{
    serf_node_state_delegate d = {
        .ud = h,
        .local_state = d_local_state,
        .merge_state = d_merge_remote_state,
    };
    return d;
}
