/* mlua_queue: the two queues between the threads, and the copies that
 * cross them. Every lock here is held for pointer moves only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

uint64_t mlua_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

void mlua_log(mlua *h, base_log_level level, const char *msg)
{
    if (h->log)
        h->log(h->log_ud, level, msg);
    else
        fprintf(stderr, "[%s] lua: %s\n", base_log_level_tag(level), msg);
}

void mlua_logf(mlua *h, base_log_level level, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    mlua_log(h, level, buf);
}

bool mlua_wait(mlua *h, const bool *flag, unsigned timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    while (!*flag) {
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            break;
        uv_cond_timedwait(&h->cond, &h->mu, deadline - now);
    }
    return *flag;
}

void mlua_count(mlua *h, uint64_t *counter)
{
    uv_mutex_lock(&h->mu);
    ++*counter;
    uv_mutex_unlock(&h->mu);
}

void mlua_count_call(mlua *h, uint64_t us)
{
    uv_mutex_lock(&h->mu);
    h->stats.hooks_run++;
    h->stats.hook_us += us;
    h->stats.hooks_over_1ms += us > 1000;
    h->stats.hooks_over_10ms += us > 10000;
    h->stats.hooks_over_100ms += us > 100000;
    h->stats.hooks_over_1s += us > 1000000;
    uv_mutex_unlock(&h->mu);
}

int mlua_mcopy_from(mlua_mcopy *c, const swim_member *m)
{
    memset(c, 0, sizeof *c);
    c->name = strdup(m->name ? m->name : "");
    c->meta = malloc(m->meta_len ? m->meta_len : 1);
    if (!c->name || !c->meta) {
        mlua_mcopy_free(c);
        return -1;
    }
    if (m->meta_len)
        memcpy(c->meta, m->meta, m->meta_len);
    c->meta_len = m->meta_len;
    c->addr = m->addr;
    c->state = m->state;
    c->incarnation = m->incarnation;
    memcpy(c->vsn, m->vsn, 6);
    return 0;
}

void mlua_mcopy_free(mlua_mcopy *c)
{
    free(c->name);
    free(c->meta);
    c->name = NULL;
    c->meta = NULL;
}

void mlua_ev_free(mlua_ev *e)
{
    if (!e)
        return;
    mlua_mcopy_free(&e->member);
    for (size_t i = 0; i < e->npeers; i++)
        mlua_mcopy_free(&e->peers[i]);
    free(e->peers);
    free(e->payload);
    free(e->name);
    free(e->from_name);
    free(e->error);
    free(e);
}

void mlua_cmd_free(mlua_cmd *c)
{
    if (!c)
        return;
    free(c->payload);
    free(c->key);
    free(c->name);
    for (size_t i = 0; i < c->nnodes; i++)
        free(c->nodes[i]);
    free(c->nodes);
    for (size_t i = 0; i < 2 * c->ntags; i++)
        free(c->tags[i]);
    free(c->tags);
    free(c);
}

void mlua_question_unref(mlua *h, mlua_question *q)
{
    uv_mutex_lock(&h->mu);
    int left = --q->refs;
    uv_mutex_unlock(&h->mu);
    if (left == 0)
        free(q);
}

void mlua_reply_unref(mlua *h, mlua_members_reply *r)
{
    uv_mutex_lock(&h->mu);
    int left = --r->refs;
    uv_mutex_unlock(&h->mu);
    if (left == 0) {
        for (size_t i = 0; i < r->n; i++)
            mlua_mcopy_free(&r->v[i]);
        free(r->v);
        free(r);
    }
}

void mlua_enqueue(mlua *h, mlua_ev *e, bool question)
{
    e->next = NULL;
    uv_mutex_lock(&h->mu);
    if (question) {
        if (h->q_tail)
            h->q_tail->next = e;
        else
            h->q_head = e;
        h->q_tail = e;
    } else {
        if (h->ev_tail)
            h->ev_tail->next = e;
        else
            h->ev_head = e;
        h->ev_tail = e;
        h->ev_count++;
    }
    /* before mlua_start the loop is not running: the first wake-up after
     * start drains what was queued. Sent under mu: the thread marks the
     * handle closed under mu before closing it. */
    if (h->started && !h->wake_closed)
        uv_async_send(&h->wake);
    uv_mutex_unlock(&h->mu);
}

void mlua_command(mlua *h, mlua_cmd *c)
{
    c->next = NULL;
    uv_mutex_lock(&h->mu);
    if (h->cmd_tail)
        h->cmd_tail->next = c;
    else
        h->cmd_head = c;
    h->cmd_tail = c;
    uv_async_t *a = h->cmd_async;
    if (a)
        uv_async_send(a);   /* thread-safe; under mu so a detach cannot race it */
    uv_mutex_unlock(&h->mu);
}

static void cmd_async_cb(uv_async_t *a)
{
    mlua *h = a->data;
    uv_mutex_lock(&h->mu);
    mlua_cmd *c = h->cmd_head;
    h->cmd_head = h->cmd_tail = NULL;
    uv_mutex_unlock(&h->mu);
    while (c) {
        mlua_cmd *next = c->next;
        h->cmd_fn(h->cmd_ud, c);
        if (c->reply)
            mlua_reply_unref(h, c->reply);
        mlua_cmd_free(c);
        c = next;
    }
}

int mlua_attach(mlua *h, uv_loop_t *loop, mlua_cmd_fn fn, void *ud)
{
    uv_async_t *a = calloc(1, sizeof *a);
    if (!a || uv_async_init(loop, a, cmd_async_cb) != 0) {
        free(a);
        return -1;
    }
    a->data = h;
    uv_mutex_lock(&h->mu);
    h->cmd_fn = fn;
    h->cmd_ud = ud;
    h->cmd_async = a;
    bool pending = h->cmd_head != NULL;
    uv_mutex_unlock(&h->mu);
    if (pending)
        uv_async_send(a);
    return 0;
}

static void free_handle_cb(uv_handle_t *hd)
{
    free(hd);
}

/* The protocol side's async: closed on its own loop (by whoever calls
 * mlua_detach from there); after that commands are kept queued and freed
 * by mlua_free. */
void mlua_detach(mlua *h)
{
    uv_mutex_lock(&h->mu);
    uv_async_t *a = h->cmd_async;
    h->cmd_async = NULL;
    uv_mutex_unlock(&h->mu);
    if (a)
        uv_close((uv_handle_t *)a, free_handle_cb);
}

bool mlua_admit_event(mlua *h)
{
    uv_mutex_lock(&h->mu);
    h->stats.events_posted++;
    bool full = h->ev_count >= MLUA_EVENT_QUEUE_MAX;
    uint64_t report = 0;
    if (full && h->drop_unlogged++ % 4096 == 0)
        report = h->stats.events_dropped + 1;
    if (full)
        h->stats.events_dropped++;
    uv_mutex_unlock(&h->mu);
    if (full) {
        if (report)
            mlua_logf(h, BASE_LOG_WARN, "Lua thread is not keeping up (a stuck hook?): %llu events dropped so far",
                      (unsigned long long)report);
        return false;
    }
    return true;
}

void mlua_post_event(mlua *h, const swim_event *ev)
{
    if (ev->type == SWIM_EV_JOIN_DONE || ev->type == SWIM_EV_LEAVE_DONE)
        return;   /* the agent's business, no hook */
    /* an ack comes every probe interval: without a "ping" hook, queuing it
     * would wake the Lua thread and build a member table once a second for
     * nothing (a hook registered later sees the acks from then on) */
    if (ev->type == SWIM_EV_PING && !atomic_load(&h->has_ping_hook))
        return;
    if (!mlua_admit_event(h))
        return;
    mlua_ev *e = calloc(1, sizeof *e);
    if (!e)
        goto oom;
    e->kind = MLUA_EVK_SWIM;
    e->type = ev->type;
    e->other = ev->other;
    e->from = ev->from;
    e->rtt = ev->rtt;
    e->count = ev->count;
    if (ev->type != SWIM_EV_USER && mlua_mcopy_from(&e->member, &ev->member) < 0)
        goto oom;
    if (ev->payload.n) {
        e->payload = malloc(ev->payload.n);
        if (!e->payload)
            goto oom;
        memcpy(e->payload, ev->payload.p, ev->payload.n);
        e->len = ev->payload.n;
    }
    mlua_enqueue(h, e, false);
    return;
oom:
    mlua_ev_free(e);
    mlua_logf(h, BASE_LOG_ERROR, "out of memory: event dropped");
}

void mlua_get_stats(mlua *h, mlua_stats *out)
{
    uv_mutex_lock(&h->mu);
    *out = h->stats;
    uv_mutex_unlock(&h->mu);
}

size_t mlua_event_queue_depth(mlua *h)
{
    uv_mutex_lock(&h->mu);
    size_t n = h->ev_count;
    uv_mutex_unlock(&h->mu);
    return n;
}
