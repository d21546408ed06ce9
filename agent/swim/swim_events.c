/* swim_events: events are queued while the core works and handed to
 * io->event only when the public entry point is about to return, in order,
 * so a callback always sees a consistent table and can never re-enter a
 * half-done operation. Each queued event owns copies of what its views
 * point to (a member may be changed or reaped before the flush). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Events the queue keeps room for between calls. A push/pull merging a
 * large table queues an event per new member, thousands at once; kept,
 * that room would cost every core ~180 bytes per member of the cluster
 * for good (at 2,000 simulated nodes, 0.75 GB), so past this it goes. */
#define EVENTS_KEEP 64

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return NULL;
    uint8_t *d = malloc(n);
    if (d)
        memcpy(d, p, n);
    return d;
}

void swim_emit_event(swim *s, const swim_event *ev)
{
    if (!s->io.event)
        return;
    if (s->nevents == s->capevents) {
        size_t cap = s->capevents ? s->capevents * 2 : 16;
        swim_qevent *e = realloc(s->events, cap * sizeof *e);
        if (!e) {
            swim_logf(s, BASE_LOG_ERROR, "out of memory: event dropped");
            return;
        }
        s->events = e;
        s->capevents = cap;
    }
    swim_qevent *q = &s->events[s->nevents++];
    memset(q, 0, sizeof *q);
    q->ev = *ev;
    if (ev->member.name) {
        q->name = strdup(ev->member.name);
        q->ev.member.name = q->name;
    }
    q->meta = dup_bytes(ev->member.meta, ev->member.meta_len);
    q->ev.member.meta = q->meta;
    if (!q->meta)
        q->ev.member.meta_len = 0;
    if (ev->payload.p) {
        /* keep nil apart from empty */
        q->payload = malloc(ev->payload.n ? ev->payload.n : 1);
        if (q->payload)
            memcpy(q->payload, ev->payload.p, ev->payload.n);
        q->ev.payload.p = q->payload;
        if (!q->payload)
            q->ev.payload.n = 0;
    }
}

void swim_emit(swim *s, swim_event_type type, const swim_node *n)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    swim_node_view(n, &ev.member);
    swim_emit_event(s, &ev);
}

void swim_flush_events(swim *s)
{
    if (s->flushing)
        return;
    s->flushing = true;
    /* An event callback must not call into the core, but events queued by
     * a nested flush attempt would still be delivered here, in order. */
    for (size_t i = 0; i < s->nevents; i++) {
        swim_qevent *q = &s->events[i];
        s->io.event(s->io.ud, &q->ev);
        free(q->name);
        free(q->meta);
        free(q->payload);
    }
    s->nevents = 0;
    if (s->capevents > EVENTS_KEEP) {
        free(s->events);
        s->events = NULL;
        s->capevents = 0;
    }
    s->flushing = false;
}

void swim_logf(swim *s, base_log_level level, const char *fmt, ...)
{
    if (!s->io.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->io.log(s->io.ud, level, buf);
}
