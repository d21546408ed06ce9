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
 * for good (at 2,000 simulated nodes, 0.75 GB), so past this it goes;
 * the same for their copies, past this many bytes each. */
#define EVENTS_KEEP 64
#define EVENT_BYTES_KEEP 64

/* Copy n bytes (and a NUL after them: a name is read as a C string) into
 * evbytes; their offset, or SWIM_EV_NONE when out of memory. */
static size_t ev_copy(swim *s, const void *p, size_t n)
{
    if (n + 1 > s->capevbytes - s->nevbytes) {
        size_t cap = s->capevbytes ? s->capevbytes : 1024;
        while (n + 1 > cap - s->nevbytes)
            cap *= 2;
        uint8_t *b = realloc(s->evbytes, cap);
        if (!b)
            return SWIM_EV_NONE;
        s->evbytes = b;
        s->capevbytes = cap;
    }
    size_t off = s->nevbytes;
    if (n)
        memcpy(s->evbytes + off, p, n);
    s->evbytes[off + n] = 0;
    s->nevbytes += n + 1;
    return off;
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
    q->ev = *ev;
    q->name = q->meta = q->payload = SWIM_EV_NONE;
    if (ev->member.name)
        q->name = ev_copy(s, ev->member.name, strlen(ev->member.name));
    if (ev->member.meta && ev->member.meta_len)
        q->meta = ev_copy(s, ev->member.meta, ev->member.meta_len);
    if (q->meta == SWIM_EV_NONE)
        q->ev.member.meta_len = 0;
    /* keep nil apart from empty */
    if (ev->payload.p) {
        q->payload = ev_copy(s, ev->payload.p, ev->payload.n);
        if (q->payload == SWIM_EV_NONE)
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
     * a nested flush attempt would still be delivered here, in order. The
     * views are set just before each call: evbytes may move as it grows. */
    for (size_t i = 0; i < s->nevents; i++) {
        swim_qevent *q = &s->events[i];
        q->ev.member.name = q->name == SWIM_EV_NONE ? NULL : (const char *)s->evbytes + q->name;
        q->ev.member.meta = q->meta == SWIM_EV_NONE ? NULL : s->evbytes + q->meta;
        q->ev.payload.p = q->payload == SWIM_EV_NONE ? NULL : s->evbytes + q->payload;
        s->io.event(s->io.ud, &q->ev);
    }
    s->nevents = 0;
    s->nevbytes = 0;
    if (s->capevents > EVENTS_KEEP) {
        free(s->events);
        s->events = NULL;
        s->capevents = 0;
    }
    if (s->capevbytes > EVENTS_KEEP * EVENT_BYTES_KEEP) {
        free(s->evbytes);
        s->evbytes = NULL;
        s->capevbytes = 0;
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
