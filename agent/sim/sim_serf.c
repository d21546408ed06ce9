/* sim_serf: a serf_node over each simulated core, driven as the agent
 * drives it (the core's events in, its deadline as a timer, joins around
 * swim_join). */
#include <stdlib.h>
#include <string.h>

#include "serf/serf_node_internal.h"
#include "sim/sim_internal.h"

struct sim_serf {
    serf_node_config tmpl;
    sim_serf_event_fn fn;
    void *ud;
};

/* One node's serf; the struct outlives restarts (its state delegate), the
 * serf_node does not. */
typedef struct sim_serf_node {
    serf_node *sn;               /* NULL while down */
    uint32_t gen;                /* bumped per schedule: older ticks are stale */
    swim_time at;                /* the deadline last reported */
    serf_node_state_delegate state;
    wire_keyring *keyring;       /* NULL: the template's */
    bool in_join;                /* inside sim_join's swim_join */
    uint64_t join_id;            /* sim_join's, to tell it from reconnects */
    bool joined_pending;         /* a join reached someone: serf_node_joined */
    serf_node_clocks seen;       /* for serf_node_check: no clock goes back */
} sim_serf_node;

void sim_use_serf(sim *s, const serf_node_config *tmpl)
{
    if (!s->serf && !(s->serf = calloc(1, sizeof *s->serf)))
        return;
    s->serf->tmpl = tmpl ? *tmpl : (serf_node_config){ 0 };
}

void sim_on_serf_event(sim *s, sim_serf_event_fn fn, void *ud)
{
    if (!s->serf)
        sim_use_serf(s, NULL);
    if (s->serf) {
        s->serf->fn = fn;
        s->serf->ud = ud;
    }
}

serf_node *sim_serf(sim *s, int i)
{
    sim_node *n = s->nodes[i];
    return n->up && n->serf ? n->serf->sn : NULL;
}

static sim_serf_node *node_serf(sim_node *n)
{
    if (!n->serf)
        n->serf = calloc(1, sizeof *n->serf);
    return n->serf;
}

void sim_set_serf_state(sim *s, int i, const serf_node_state_delegate *d)
{
    sim_serf_node *ns = node_serf(s->nodes[i]);
    if (ns)
        ns->state = d ? *d : (serf_node_state_delegate){ 0 };
}

void sim_set_serf_keyring(sim *s, int i, wire_keyring *keyring)
{
    sim_serf_node *ns = node_serf(s->nodes[i]);
    if (!ns)
        return;
    ns->keyring = keyring;
    if (ns->sn)
        serf_node_set_keyring(ns->sn, keyring ? keyring : s->serf ? s->serf->tmpl.keyring : NULL);
}

static void schedule(sim_node *n, swim_time at)
{
    sim_serf_node *ns = n->serf;
    ns->gen++;
    ns->at = at;
    if (!n->up || at == SWIM_NEVER)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.t = at < n->sim->now ? n->sim->now : at;
    it.kind = SIM_SERF_TICK;
    it.to = n->index;
    it.gen = ns->gen;
    sim_push(n->sim, &it);
}

/* ---- the serf_node's io ---- */

static void io_event(void *ud, const serf_node_event *ev)
{
    sim_node *n = ud;
    sim *s = n->sim;
    uint32_t t = ev->type;
    s->hash = sim_digest(s->hash, &t, sizeof t);
    if (ev->member.name)
        s->hash = sim_digest(s->hash, ev->member.name, strlen(ev->member.name));
    if (s->serf && s->serf->fn)
        s->serf->fn(s->serf->ud, n->index, s->now, ev);
}

static void io_deadline(void *ud, swim_time next)
{
    schedule(ud, next);
}

static void state_local(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    sim_node *n = ud;
    if (n->serf->state.local_state)
        n->serf->state.local_state(n->serf->state.ud, is_join, out, len);
}

static void state_merge(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    sim_node *n = ud;
    if (n->serf->state.merge_state)
        n->serf->state.merge_state(n->serf->state.ud, state, len, is_join);
}

/* ---- hooks ---- */

int sim_serf_start(sim_node *n, swim_io *io)
{
    sim *s = n->sim;
    if (!s->serf)
        return 0;
    sim_serf_node *ns = node_serf(n);
    if (!ns)
        return -1;
    serf_node_config cfg = s->serf->tmpl;
    cfg.name = n->cfg.name;
    cfg.seed = n->cfg.seed ^ 0x5e4f5e4f5e4f5e4full;
    cfg.gossip_interval_ms = n->cfg.gossip_interval;
    if (ns->keyring)
        cfg.keyring = ns->keyring;
    serf_node_io sio = { .ud = n, .event = io_event, .deadline = io_deadline,
                         .state = { .ud = n, .local_state = state_local, .merge_state = state_merge } };
    ns->joined_pending = ns->in_join = false;
    ns->join_id = 0;
    memset(&ns->seen, 0, sizeof ns->seen);
    ns->sn = serf_node_new(&cfg, &sio, s->now);
    if (!ns->sn)
        return -1;
    io->delegate = serf_node_swim_delegate(ns->sn, &n->delegates);
    return 0;
}

void sim_serf_stop(sim_node *n)
{
    if (!n->serf || !n->serf->sn)
        return;
    serf_node_free(n->serf->sn);
    n->serf->sn = NULL;
    n->serf->gen++;
}

void sim_serf_on_event(sim_node *n, const swim_event *ev)
{
    sim_serf_node *ns = n->serf;
    if (!ns || !ns->sn)
        return;
    serf_node_on_swim_event(ns->sn, n->sim->now, ev);
    /* sim_join's join (not a reconnect's) reached someone: serf's Join
     * then broadcasts our join intent, outside the core's callback */
    if (ev->type == SWIM_EV_JOIN_DONE && (ns->in_join || (ns->join_id && ev->join_id == ns->join_id))) {
        ns->join_id = 0;
        if (ev->count > 0) {
            ns->joined_pending = true;
            schedule(n, n->sim->now);
        } else {
            serf_node_joining(ns->sn, false);
        }
    }
}

void sim_serf_step(sim_node *n, const sim_item *it)
{
    sim_serf_node *ns = n->serf;
    if (!ns || !ns->sn || it->gen != ns->gen || !n->up || n->paused)
        return; /* stale, or paused: sim_serf_resume ticks it */
    uint32_t gen = ns->gen;
    swim_time now = n->sim->now;
    if (ns->joined_pending) {
        ns->joined_pending = false;
        serf_node_joined(ns->sn, n->core, now);
    }
    serf_node_tick(ns->sn, n->core, now);
    /* every sim-based serf test checks the node's invariants after each
     * step where assertions are live (a no-op otherwise) */
    if (ns->sn && ns->gen == gen)
        serf_node_check(ns->sn, &ns->seen);
    /* spent; if no new deadline was reported it still wants the old one
     * (never again at this instant: its work for now is done) */
    if (ns->sn && ns->gen == gen)
        schedule(n, ns->at > now ? ns->at : now + 1);
}

void sim_serf_resume(sim_node *n)
{
    if (n->serf && n->serf->sn)
        schedule(n, n->serf->joined_pending ? n->sim->now : n->serf->at);
}

void sim_serf_join_begin(sim_node *n)
{
    if (!n->serf || !n->serf->sn)
        return;
    n->serf->in_join = true;
    serf_node_joining(n->serf->sn, true);
}

void sim_serf_join_end(sim_node *n, uint64_t join_id)
{
    if (!n->serf || !n->serf->sn || !n->serf->in_join)
        return;
    n->serf->in_join = false;
    /* the event may have come during the call (then it was handled) */
    if (!n->serf->joined_pending && n->serf->sn)
        n->serf->join_id = join_id;
}

void sim_serf_free(sim *s)
{
    free(s->serf);
    s->serf = NULL;
}
