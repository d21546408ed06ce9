/* serf's recent-events buffer and user event coalescing (serf_events.h). */
#include "serf/serf_events.h"

#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_event.h"

/* An owned copy of a view; nil stays nil, empty stays empty. */
static int copy_bytes(wire_bytes *dst, wire_bytes src)
{
    dst->n = src.n;
    dst->p = NULL;
    if (!src.p)
        return 0;
    uint8_t *p = malloc(src.n ? src.n : 1);
    if (!p)
        return -1;
    if (src.n)
        memcpy(p, src.p, src.n);
    dst->p = p;
    return 0;
}

static void free_bytes(wire_bytes *b)
{
    free((void *)(uintptr_t)b->p);
    b->p = NULL;
    b->n = 0;
}

/* Go's string == and bytes.Compare == 0: nil and empty are equal. */
static bool same(wire_bytes a, wire_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ---- the recent-events buffer ------------------------------------------ */

static void slot_clear(serf_user_events *s)
{
    for (size_t i = 0; i < s->events.n; i++) {
        free_bytes(&s->events.v[i].name);
        free_bytes(&s->events.v[i].payload);
    }
    free(s->events.v);
    memset(s, 0, sizeof *s);
}

int serf_events_init(serf_events *ev, size_t size)
{
    memset(ev, 0, sizeof *ev);
    if (size < 1)
        size = 1;
    ev->slots = calloc(size, sizeof *ev->slots);
    if (!ev->slots)
        return -1;
    ev->size = size;
    return 0;
}

void serf_events_free(serf_events *ev)
{
    for (size_t i = 0; ev->slots && i < ev->size; i++)
        slot_clear(&ev->slots[i]);
    free(ev->slots);
    memset(ev, 0, sizeof *ev);
}

serf_event_verdict serf_events_receive(serf_events *ev, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    serf_clock_witness(&ev->clock, ltime);
    if (ltime < ev->min_time)
        return SERF_EVENT_BEFORE_MIN;
    uint64_t now = serf_clock_time(&ev->clock);
    if (now > ev->size && ltime < now - ev->size)
        return SERF_EVENT_TOO_OLD;

    serf_user_events *s = &ev->slots[ltime % ev->size];
    if (s->present && s->ltime == ltime) {
        for (size_t i = 0; i < s->events.n; i++)
            if (same(s->events.v[i].name, name) && same(s->events.v[i].payload, payload))
                return SERF_EVENT_SEEN;
    }
    bool same_time = s->present && s->ltime == ltime;
    if (same_time && s->events.n >= SERF_EVENTS_PER_LTIME_MAX) {
        ev->full++;
        return SERF_EVENT_FULL;
    }
    serf_user_event e;
    if (copy_bytes(&e.name, name.p ? name : wire_bytes_of("", 0)))
        return SERF_EVENT_NOMEM;
    if (copy_bytes(&e.payload, payload)) {
        free_bytes(&e.name);
        return SERF_EVENT_NOMEM;
    }
    /* the slot's array (shared with the push/pull message, which has no
     * capacity field) holds the next power of two >= n: it grows when n
     * reaches one, so recording n events copies O(n) entries in all */
    serf_user_event *v = s->events.v;
    if (!same_time) {
        if ((v = malloc(sizeof *v)))
            slot_clear(s);
    } else if ((s->events.n & (s->events.n - 1)) == 0) {
        v = realloc(s->events.v, 2 * s->events.n * sizeof *v);
    }
    if (!v) {
        free_bytes(&e.name);
        free_bytes(&e.payload);
        return SERF_EVENT_NOMEM;
    }
    s->events.v = v;
    s->events.v[s->events.n++] = e;
    s->present = true;
    s->ltime = ltime;
    return SERF_EVENT_NEW;
}

int serf_events_send(serf_events *ev, wire_buf *out, wire_bytes name, wire_bytes payload, bool cc, size_t limit)
{
    size_t raw = name.n + payload.n;
    if (raw > limit || raw > SERF_USER_EVENT_SANE_LIMIT)
        return WIRE_ELIMIT;
    serf_msg_user_event m = { .cc = cc, .ltime = serf_clock_time(&ev->clock), .name = name, .payload = payload };
    size_t start = out->len;
    int rc = serf_msg_user_event_encode(out, &m);
    if (rc)
        return rc;
    size_t len = out->len - start;
    if (len > limit || len > SERF_USER_EVENT_SANE_LIMIT) {
        out->len = start;
        return WIRE_ELIMIT;
    }
    serf_clock_increment(&ev->clock);
    /* a slot filled by others (SERF_EVENT_FULL) does not stop our own
     * event: it is gossiped and delivered, only not kept for push/pull */
    if (serf_events_receive(ev, m.ltime, name, payload) == SERF_EVENT_NOMEM) {
        out->len = start;
        return WIRE_ENOMEM;
    }
    return WIRE_OK;
}

size_t serf_events_merge(serf_events *ev, const serf_msg_push_pull *pp, bool join_ignore_old,
                         serf_event_fn deliver, void *ctx)
{
    /* "we subtract 1 since no message with that clock has been sent yet" */
    if (pp->event_ltime > 0)
        serf_clock_witness(&ev->clock, pp->event_ltime - 1);
    if (join_ignore_old && pp->event_ltime > ev->min_time)
        ev->min_time = pp->event_ltime;
    size_t fresh = 0;
    for (size_t i = 0; pp->events.v && i < pp->events.n; i++) {
        const serf_user_events *s = &pp->events.v[i];
        if (!s->present)
            continue;
        for (size_t k = 0; s->events.v && k < s->events.n; k++) {
            const serf_user_event *e = &s->events.v[k];
            if (serf_events_receive(ev, s->ltime, e->name, e->payload) != SERF_EVENT_NEW)
                continue;
            fresh++;
            if (deliver)
                deliver(ctx, s->ltime, e->name, e->payload);
        }
    }
    return fresh;
}

/* ---- coalescing --------------------------------------------------------- */

void serf_coalesce_init(serf_coalesce *c, int64_t period, int64_t quiescent)
{
    memset(c, 0, sizeof *c);
    c->period = period;
    c->quiescent = quiescent;
}

static void forget_all(serf_coalesce *c)
{
    for (size_t i = 0; i < c->nnames; i++) {
        for (size_t k = 0; k < c->names[i].n; k++) {
            free_bytes(&c->names[i].v[k].name);
            free_bytes(&c->names[i].v[k].payload);
        }
        free(c->names[i].v);
        free_bytes(&c->names[i].name);
    }
    c->nnames = 0;
    c->held = 0;
    c->armed = false;
}

void serf_coalesce_free(serf_coalesce *c)
{
    forget_all(c);
    free(c->names);
    memset(c, 0, sizeof *c);
}

int serf_coalesce_add(serf_coalesce *c, int64_t now, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    size_t i = 0;
    while (i < c->nnames && !same(c->names[i].name, name))
        i++;
    if (i == c->nnames) {
        if (c->nnames == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 8;
            void *v = realloc(c->names, cap * sizeof *c->names);
            if (!v)
                return -1;
            c->names = v;
            c->cap = cap;
        }
        memset(&c->names[i], 0, sizeof c->names[i]);
        if (copy_bytes(&c->names[i].name, name.p ? name : wire_bytes_of("", 0)))
            return -1;
        c->names[i].ltime = ltime;
        c->nnames++;
    }
    /* serf's loop: the quantum starts with the first event after a flush,
     * the quiescent timer restarts with every event (a dropped one too) */
    if (!c->armed)
        c->quantum_at = now + c->period;
    c->armed = true;
    c->quiescent_at = now + c->quiescent;

    if (ltime < c->names[i].ltime)
        return 0;   /* older than what is held for the name: dropped */
    serf_coalesce_event e = { .ltime = ltime };
    if (copy_bytes(&e.name, name.p ? name : wire_bytes_of("", 0)) || copy_bytes(&e.payload, payload)) {
        free_bytes(&e.name);
        return -1;
    }
    if (ltime > c->names[i].ltime) {   /* newer: replaces the held ones */
        c->held -= c->names[i].n;
        for (size_t k = 0; k < c->names[i].n; k++) {
            free_bytes(&c->names[i].v[k].name);
            free_bytes(&c->names[i].v[k].payload);
        }
        c->names[i].n = 0;
        c->names[i].ltime = ltime;
    }
    if (c->names[i].n == c->names[i].cap) {
        size_t cap = c->names[i].cap ? 2 * c->names[i].cap : 4;
        void *v = realloc(c->names[i].v, cap * sizeof *c->names[i].v);
        if (!v) {
            free_bytes(&e.name);
            free_bytes(&e.payload);
            return -1;
        }
        c->names[i].v = v;
        c->names[i].cap = cap;
    }
    c->names[i].v[c->names[i].n++] = e;
    c->held++;
    return 0;
}

int64_t serf_coalesce_deadline(const serf_coalesce *c)
{
    if (!c->armed)
        return -1;
    return c->quantum_at < c->quiescent_at ? c->quantum_at : c->quiescent_at;
}

size_t serf_coalesce_flush(serf_coalesce *c, int64_t now, bool force, serf_event_fn deliver, void *ctx)
{
    int64_t due = serf_coalesce_deadline(c);
    if (due < 0 || (!force && now < due))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->nnames; i++)
        for (size_t k = 0; k < c->names[i].n; k++, n++)
            if (deliver)
                deliver(ctx, c->names[i].v[k].ltime, c->names[i].v[k].name, c->names[i].v[k].payload);
    forget_all(c);
    return n;
}
