/* swim_check: the core's invariants, assert()ed at the end of every public
 * call in the builds that keep assertions (sanitizers, fuzzing), so that a
 * bug shows where the table first went wrong rather than where it hurt.
 * Each walk is linear in what it checks: cheap next to the call itself.
 * State transitions and incarnations are checked as they happen, in
 * swim_node_transition (swim_state.c). */
#include <string.h>

#include "swim/swim_internal.h"

#ifndef NDEBUG

static void check_members(const swim *s)
{
    const swim_members *m = &s->members;
    assert(m->n <= m->cap);
    /* the probe round robin wraps (and reshuffles) when it reaches n */
    assert(m->probe_index <= m->n);
    size_t nsusp = 0;
    for (size_t i = 0; i < m->n; i++) {
        const swim_node *n = m->nodes[i];
        assert(swim_members_find(m, n->name, n->name_len) == n);
        /* no NUL inside a name: names are broadcast-queue keys and reach
         * the application as C strings (swim_alive_from_wire refuses them) */
        assert(strlen(n->name) == n->name_len);
        assert((unsigned)n->state <= SWIM_LEFT);
        /* a timer only runs for the suspect state it started in */
        if (n->has_susp) {
            assert(n->state == SWIM_SUSPECT);
            swim_suspicion_check(n->since.susp);
            nsusp++;
        }
    }
    /* the hash chains hold the same nodes as the probe order, once each */
    size_t chained = 0;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (const swim_node *n = m->buckets[b]; n; n = n->hnext)
            chained++;
    assert(chained == m->n);
    /* susp_nodes is exactly the nodes with a timer: a node reaped with
     * one would leave a dangling pointer here */
    assert(nsusp == s->nsusp);
    for (size_t i = 0; i < s->nsusp; i++)
        assert(s->susp_nodes[i]->has_susp);
    /* the kept earliest deadline is the timers' */
    assert(s->susp_next == swim_suspicion_earliest(s));
    /* we are always in our own table, alive until we leave */
    assert(s->self && swim_members_find(m, s->self->name, s->self->name_len) == s->self);
    assert(s->self->state == (s->leaving ? SWIM_LEFT : SWIM_ALIVE));
    assert(!s->self->has_susp);
}

static bool stream_pending(const swim *s, uint64_t id, swim_pending_kind kind)
{
    for (size_t i = 0; i < s->nstreams; i++)
        if (s->streams[i].id == id)
            return s->streams[i].kind == kind;
    return false;
}

static void check_probe(const swim *s)
{
    const swim_probe *p = &s->probe;
    assert(s->awareness < s->cfg.awareness_max_multiplier);
    if (!p->active)
        return;
    assert(p->name && strlen(p->name) == p->name_len);
    assert(p->start <= p->t_direct && p->start <= p->t_end);
    assert(p->expected_nacks >= 0 && p->nacks >= 0);
    /* a TCP ping the probe waits for is one the I/O side still owes */
    if (p->tcp == TCP_PENDING)
        assert(p->indirect && stream_pending(s, p->tcp_id, STREAM_PING));
}

static void check_streams(const swim *s)
{
    assert(s->nstreams <= s->capstreams);
    size_t periodic = 0;
    for (size_t i = 0; i < s->nstreams; i++) {
        const swim_pending_stream *ps = &s->streams[i];
        assert(ps->id != 0 && ps->id <= s->next_stream_id);
        periodic += ps->kind == STREAM_PUSH_PULL && ps->periodic;
        /* user messages want no reply: forgotten as soon as sent */
        assert(ps->kind != STREAM_USER);
    }
    /* one periodic push/pull at a time, and its timer waits for it */
    assert(periodic == (s->push_pull_running ? 1u : 0u));
    if (s->push_pull_running)
        assert(s->push_pull_tick == SWIM_NEVER);
    /* a join batch waits for exactly its pending push/pulls */
    for (size_t j = 0; j < s->njoins; j++) {
        const swim_join_batch *b = &s->joins[j];
        int pending = 0;
        for (size_t i = 0; i < s->nstreams; i++)
            pending += s->streams[i].join && s->streams[i].join_id == b->id;
        assert(b->pending > 0 && pending == b->pending);
        assert(b->ok >= 0);
    }
}

static void check_queues(const swim *s)
{
    swim_queue_check(&s->bq);
    swim_queue_check(&s->uq);
    /* membership messages are keyed by node: a newer one about the same
     * node replaces the older */
    for (size_t j = 0; j < s->bq.nbuckets; j++)
        for (size_t i = 0; i < s->bq.buckets[j].n; i++)
            assert(swim_bcast_key(s->bq.buckets[j].items[i]) != NULL);
    /* application broadcasts are bounded like serf's queue */
    assert(s->uq.n <= SWIM_APP_QUEUE_MAX);
    for (size_t j = 0; j < s->uq.nbuckets; j++)
        for (size_t i = 0; i < s->uq.buckets[j].n; i++)
            assert(!s->uq.buckets[j].items[i]->notify);
    assert(!s->leave_waiting || s->leaving);
    /* the propagate delay runs after the broadcast wait, never with it */
    assert(s->leave_done_at == SWIM_NEVER || (s->leaving && !s->leave_waiting));
}

void swim_check(const swim *s)
{
    check_members(s);
    check_probe(s);
    check_streams(s);
    check_queues(s);
}

#else

void swim_check(const swim *s)
{
    (void)s;
}

#endif
