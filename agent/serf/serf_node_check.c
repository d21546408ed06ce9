/* serf_node_check: serf_node's invariants, assert()ed between calls by
 * whoever drives a node in a build that keeps assertions (the fuzzers, the
 * sanitizer tests), so that a bug shows where the state first went wrong
 * rather than where it hurt. Without assertions it does nothing.
 *
 * What it holds the node to: the member table and the recent-intent
 * buffer agree with their name indexes (a stale index finds a freed or
 * wrong member); statuses are serf's four; the event and query buffers
 * hold each LTime in its slot and nothing newer than their clock; what
 * grows from the network (intents, queries we may answer, answerers'
 * names, the outbox) stays within its bound; the deadline last reported
 * is the one the node has (a missed report stalls a timer); and, given
 * the clocks seen last time, no clock went back.
 *
 * The bounds are the private constants of the files that enforce them
 * (named at each), repeated here because checking them is the point. */
#include <assert.h>
#include <string.h>

#include "serf/serf_node_internal.h"

#ifndef NDEBUG

#define CHECK_INTENTS_MAX 4096   /* serf_node_members.c SERF_NODE_INTENTS_MAX */
#define CHECK_OUTBOX_MAX 4096    /* serf_node.c SERF_NODE_OUTBOX_MAX */
#define CHECK_ASKING_MAX 4096    /* serf_node_query.c SERF_NQ_MAX_ASKING */
#define CHECK_NAMES_MAX 65536    /* serf_node_query.c SERF_NQ_MAX_NAMES */

/* entries 0 .. n-1 of ix's table, each found at its own slot, and nothing
 * else in it */
static void check_index(const serf_node_index *ix, size_t n)
{
    if (!ix->cap) {
        assert(n == 0 && !ix->v);
        return;
    }
    assert((ix->cap & (ix->cap - 1)) == 0);
    assert(2 * n < ix->cap);   /* under half full: probing ends */
    size_t used = 0;
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->v[i])
            continue;
        assert(ix->v[i] - 1 < n);
        used++;
    }
    assert(used == n);
    for (size_t k = 0; k < n; k++)
        assert(serf_node_index_find(ix, ix->name_at(ix->tab, k)) == (long)k);
}

static void check_members(const serf_node *sn)
{
    uint64_t clock = serf_clock_time(&sn->clock);
    assert(sn->nmembers >= 1 && sn->nmembers <= sn->members_cap);
    check_index(&sn->members_ix, sn->nmembers);
    for (size_t k = 0; k < sn->nmembers; k++) {
        const serf_node_mstate *m = sn->members[k];
        assert(m && m->name && m->name[0] && strlen(m->name) < sizeof sn->name);
        assert(m->status >= SERF_MEMBER_ALIVE && m->status <= SERF_MEMBER_FAILED);
        assert(!m->meta_len || m->meta);
        /* every status time was witnessed first (or is the clock's top) */
        assert(m->status_ltime <= clock);
    }
    /* we are in our own table, under our own name, until the node goes */
    assert(sn->self && serf_node_find(sn, sn->name) == sn->self);

    assert(sn->nintents <= sn->intents_cap && sn->nintents <= CHECK_INTENTS_MAX);
    check_index(&sn->intents_ix, sn->nintents);
    for (size_t k = 0; k < sn->nintents; k++) {
        const serf_node_intent *in = &sn->intents[k];
        assert(in->name && in->name[0]);
        assert(in->type == SERF_MSG_JOIN || in->type == SERF_MSG_LEAVE);
        assert(in->ltime <= clock);
    }
}

static void check_events(const serf_events *ev)
{
    uint64_t clock = serf_clock_time(&ev->clock);
    assert(ev->size >= 1 && ev->slots);
    assert(ev->min_time <= clock);
    for (size_t i = 0; i < ev->size; i++) {
        const serf_user_events *s = &ev->slots[i];
        if (!s->present)
            continue;
        assert(s->ltime % ev->size == i);
        assert(s->ltime <= clock);
        assert(s->events.n >= 1 && s->events.v);
        for (size_t j = 0; j < s->events.n; j++)
            assert(s->events.v[j].name.p && (!s->events.v[j].payload.n || s->events.v[j].payload.p));
    }
}

static void check_coalesce(const serf_coalesce *c)
{
    size_t held = 0;
    for (size_t i = 0; i < c->nnames; i++) {
        assert(c->names[i].n <= c->names[i].cap);
        /* only the latest LTime of a name is held */
        for (size_t j = 0; j < c->names[i].n; j++)
            assert(c->names[i].v[j].ltime == c->names[i].ltime);
        held += c->names[i].n;
    }
    assert(held == c->held);
    assert(!held || c->armed);
}

static void check_queries(const serf_node *sn)
{
    const serf_nq *nq = &sn->nq;
    uint64_t clock = serf_clock_time(&nq->queries.clock);
    assert(nq->queries.size >= 1 && nq->queries.slots);
    assert(nq->queries.min_time <= clock);
    for (size_t i = 0; i < nq->queries.size; i++) {
        const serf_query_slot *s = &nq->queries.slots[i];
        assert(s->n <= s->cap);
        if (s->n)
            assert(s->ltime % nq->queries.size == i && s->ltime <= clock);
    }

    size_t votes = 0;
    assert(nq->asked.n <= nq->asked.cap);
    for (size_t i = 0; i < nq->asked.n; i++) {
        const serf_nq_asked *a = &nq->asked.v[i];
        assert(a->handle >= 1 && a->handle < nq->next_handle);
        assert(a->ltime < clock || clock == UINT64_MAX);   /* the clock moved past each of ours */
        assert(a->acks.n <= CHECK_NAMES_MAX && a->responses.n <= CHECK_NAMES_MAX);
        assert(a->want_acks || a->acks.n == 0);   /* serf has no ack channel then */
        assert(a->vote_matching <= a->vote_responses);
        if (a->purpose == SERF_NQ_FOR_VOTE)
            votes++;
        else
            assert(a->vote_responses == 0);
    }
    /* an open vote is one of our queries */
    assert(!nq->voting || votes >= 1);

    assert(nq->asking.n <= nq->asking.cap && nq->asking.n <= CHECK_ASKING_MAX);
    for (size_t i = 0; i < nq->asking.n; i++) {
        const serf_nq_asking *a = &nq->asking.v[i];
        assert(a->handle >= 1 && a->handle < nq->next_handle);
        assert(a->source && a->ip_len <= sizeof a->ip);
        assert(a->ltime <= clock);
    }
}

static void check_outbox(const serf_node *sn)
{
    assert(sn->nout <= sn->out_cap && sn->nout <= CHECK_OUTBOX_MAX);
    for (size_t k = 0; k < sn->nout; k++)
        assert(sn->out[k].msg && strlen(sn->out[k].key) < sizeof sn->out[k].key);
}

void serf_node_check(const serf_node *sn, serf_node_clocks *seen)
{
    assert(sn && strcmp(sn->cfg.name, sn->name) == 0);
    check_members(sn);
    check_events(&sn->nq.events);
    if (sn->nq.coalescing)
        check_coalesce(&sn->nq.coalesce);
    check_queries(sn);
    check_outbox(sn);
    /* the driver sleeps until the deadline it was told last */
    assert(sn->reported == serf_node_next_deadline(sn));
    if (seen) {
        serf_node_clocks now = serf_node_get_clocks(sn);
        assert(now.member >= seen->member && now.event >= seen->event && now.query >= seen->query);
        *seen = now;
    }
}

#else

void serf_node_check(const serf_node *sn, serf_node_clocks *seen)
{
    (void)sn;
    (void)seen;
}

#endif
