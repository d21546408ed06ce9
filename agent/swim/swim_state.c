/* swim_state: what alive, suspect and dead messages do to the member
 * table (§10.2), refutation (§10.3) and the awareness score (§10.5), as
 * memberlist's aliveNode, suspectNode, deadNode and refute do them. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Both below run for every alive received (hundreds of millions in a
 * large simulation): the two sizes spelt out compile to a load and a
 * compare each, where a length known only at run time called libc. */
bool swim_addr_eq(const swim_addr *a, const swim_addr *b)
{
    if (a->ip_len != b->ip_len || a->port != b->port)
        return false;
    if (a->ip_len == 4)
        return memcmp(a->ip, b->ip, 4) == 0;
    return memcmp(a->ip, b->ip, a->ip_len) == 0;
}

/* swim_addr_eq against an address as the wire has it, without building a
 * swim_addr first (that memset and copy were 2 % of a large simulation's
 * instructions, on swim_alive_is_repeat's path). A member's ip_len is 4
 * or 16, so one of any other length, which swim_addr_from_bytes refuses,
 * equals none. */
static bool addr_eq_wire(const swim_addr *a, wire_bytes ip, uint16_t port)
{
    if (ip.n != a->ip_len || port != a->port)
        return false;
    return ip.n == 4 ? memcmp(ip.p, a->ip, 4) == 0 : memcmp(ip.p, a->ip, 16) == 0;
}

bool swim_addr_from_bytes(swim_addr *out, wire_bytes ip, uint16_t port)
{
    memset(out, 0, sizeof *out);
    if (ip.n == 4)
        memcpy(out->ip, ip.p, 4);
    else if (ip.n == 16)
        memcpy(out->ip, ip.p, 16);
    else
        return false;
    out->ip_len = (uint8_t)ip.n;
    out->port = port;
    return true;
}

/* The rules an alive's wire fields are held to, each in one place:
 * swim_alive_from_wire and swim_alive_node apply them, and
 * swim_alive_is_repeat must refuse the shortcut wherever they would act. */

/* A Vsn of 1 to 5 bytes: see swim_alive_from_wire */
static bool vsn_cut_short(size_t len)
{
    return len > 0 && len < 6;
}

/* Protocol versions memberlist ignores an alive for: a zero, or PMin
 * above PMax */
static bool versions_bad(const uint8_t *v, size_t len)
{
    return len >= 3 && (v[0] == 0 || v[1] == 0 || v[0] > v[1]);
}

/* memberlist: a zero port means the peer did not say; use ours */
static uint16_t port_or_ours(const swim *s, uint16_t port)
{
    return port ? port : s->cfg.advertise.port;
}

const char *swim_alive_from_wire(const swim *s, swim_alive_in *a, wire_bytes node, uint32_t incarnation,
                                 wire_bytes addr, uint16_t port, wire_bytes meta, const wire_vsn *vsn)
{
    memset(a, 0, sizeof *a);
    if (node.n == 0)
        return "an empty name";
    /* memberlist takes any Go string as a name, of any length (only the
     * message carrying it bounds it) and with NUL bytes too. Any length is
     * fine here; a NUL is not: names key the broadcast queue and reach the
     * application (hooks, the CLI) as C strings, where "a\0b" would be
     * "a". No Go agent picks such a name, so it is refused as invalid. */
    if (memchr(node.p, 0, node.n))
        return "a name holding a NUL byte";
    /* A Vsn of 1 to 5 bytes: memberlist up to 0.6.0 (serf 0.9.4's 0.2.2
     * too) indexes Vsn[5] in aliveNode and panics; HEAD keeps the versions
     * it holds and gossips the message on as it came, which would crash
     * every such Go agent it reaches, and gossiping it padded with zeros
     * would tell them DMax 0, failing their every push/pull after. No Go
     * agent sends one: refused. (An empty Vsn is taken, as memberlist
     * does.) */
    if (vsn_cut_short(vsn->len))
        return "a Vsn of 1 to 5 bytes";
    if (!swim_addr_from_bytes(&a->addr, addr, port_or_ours(s, port)))
        return "an address of neither 4 nor 16 bytes";
    a->node = (const char *)node.p;
    a->nlen = node.n;
    a->incarnation = incarnation;
    a->meta = meta.p;
    a->meta_len = meta.n;
    a->vsn = vsn->v;
    a->vsn_len = vsn->len;
    return NULL;
}

bool swim_alive_is_repeat(swim *s, wire_bytes node, uint32_t hash, uint32_t incarnation, wire_bytes addr,
                          uint16_t port, const wire_vsn *vsn)
{
    /* each condition is one swim_alive_node (or swim_alive_from_wire)
     * checks before its return on an old incarnation, where it would log,
     * ask a hook or act instead */
    if (s->io.delegate.allow_alive || s->cfg.nallow_cidrs)
        return false;
    if (vsn_cut_short(vsn->len) || versions_bad(vsn->v, vsn->len))
        return false;
    /* an empty name, or one holding a NUL, is never in the table */
    const swim_node *n = swim_members_find_hashed(&s->members, (const char *)node.p, node.n, hash);
    if (!n || n == s->self || incarnation > n->incarnation)
        return false;
    /* a different address is a conflict or a takeover */
    return addr_eq_wire(&n->addr, addr, port_or_ours(s, port));
}

void swim_awareness_delta(swim *s, int delta)
{
    int64_t v = (int64_t)s->awareness + delta;
    int64_t max = (int64_t)s->cfg.awareness_max_multiplier - 1;
    if (v < 0)
        v = 0;
    if (v > max)
        v = max;
    s->awareness = (uint32_t)v;
}

/* The member state machine, from row to column, as memberlist's aliveNode,
 * suspectNode and deadNode take it, plus serf's force-leave of a failed
 * member (dead -> left). alive -> alive is a refresh: a newer incarnation,
 * meta or address. A node is created dead at incarnation 0, so that its
 * first alive is a join, as memberlist does. */
static const bool state_edges[SWIM_LEFT + 1][SWIM_LEFT + 1] = {
    /*                 to: alive  suspect dead   left */
    [SWIM_ALIVE]   = { true,  true,   true,  true },
    [SWIM_SUSPECT] = { true,  false,  true,  true },
    [SWIM_DEAD]    = { true,  false,  false, true },
    [SWIM_LEFT]    = { true,  false,  false, false },
};

bool swim_state_edge(swim_state from, swim_state to)
{
    return (unsigned)from <= SWIM_LEFT && (unsigned)to <= SWIM_LEFT && state_edges[from][to];
}

void swim_node_transition(swim *s, swim_node *n, swim_state to, uint32_t inc, bool takeover)
{
    assert(swim_state_edge(n->state, to));
    /* memberlist takes a takeover's incarnation as it comes: the new node
     * may well have restarted from 1 */
    assert(inc >= n->incarnation ||
           (takeover && to == SWIM_ALIVE && (n->state == SWIM_DEAD || n->state == SWIM_LEFT)));
    /* a suspicion timer belongs to the suspect state it started in and is
     * stopped before any change */
    assert(!n->has_susp);
    /* we only ever leave: nobody else can suspect, kill or revive us */
    assert(n != s->self || to == SWIM_ALIVE || (to == SWIM_LEFT && s->leaving));
    if (n->incarnation != inc || n->state != to)
        s->members.gen++;
    n->incarnation = inc;
    if (n->state != to) {
        n->state = to;
        n->since.state_change = s->now;
    }
}

static bool is_self(const swim *s, const char *node, size_t len)
{
    /* asked of every alive received; names of one length most often
     * differ in their last bytes ("node-17", "node-18"): that one first */
    return len == s->self->name_len && (len == 0 || node[len - 1] == s->self->name[len - 1]) &&
           memcmp(node, s->self->name, len) == 0;
}

void swim_suspicion_clear(swim *s, swim_node *n)
{
    if (!n->has_susp)
        return;
    swim_suspicion *sp = n->since.susp;
    n->since.state_change = sp->state_change;
    n->has_susp = false;
    swim_suspicion_free(sp);
    for (size_t i = 0; i < s->nsusp; i++)
        if (s->susp_nodes[i] == n) {
            s->susp_nodes[i] = s->susp_nodes[--s->nsusp];
            break;
        }
    swim_suspicion_rearm(s);
}

static void suspicion_set(swim *s, swim_node *n, swim_suspicion *sp)
{
    if (s->nsusp == s->capsusp) {
        size_t cap = s->capsusp ? s->capsusp * 2 : 16;
        swim_node **v = realloc(s->susp_nodes, cap * sizeof *v);
        if (!v) {
            swim_suspicion_free(sp);
            return;
        }
        s->susp_nodes = v;
        s->capsusp = cap;
    }
    /* the timer took the state's time (swim_suspicion_new) */
    assert(sp->state_change == n->since.state_change);
    n->since.susp = sp;
    n->has_susp = true;
    s->susp_nodes[s->nsusp++] = n;
    swim_suspicion_rearm(s);
}

void swim_refute(swim *s, uint32_t accused)
{
    swim_node *me = s->self;
    uint32_t inc = me->incarnation + 1;
    if (accused >= inc)
        inc = accused + 1;
    swim_node_transition(s, me, SWIM_ALIVE, inc, false);
    s->stats.refutations++;
    /* being accused is a hint that we are the slow one */
    swim_awareness_delta(s, 1);
    if (swim_enc_alive_of(s, me) == 0)
        swim_broadcast_scratch(s, me, false);
}

void swim_alive_node(swim *s, const swim_alive_in *a, bool bootstrap)
{
    bool about_self = is_self(s, a->node, a->nlen);
    if (s->leaving && about_self)
        return;
    if (versions_bad(a->vsn, a->vsn_len)) {
        swim_logf(s, BASE_LOG_WARN, "ignoring alive for %.*s: bad protocol versions %u..%u", (int)a->nlen, a->node,
                  a->vsn[0], a->vsn[1]);
        return;
    }
    if (a->nlen > SWIM_NODE_FIELD_MAX || a->meta_len > SWIM_NODE_FIELD_MAX) {
        swim_logf(s, BASE_LOG_WARN, "ignoring alive for %.*s: its name (%zu bytes) or meta (%zu) is over %u bytes",
                  (int)(a->nlen < 32 ? a->nlen : 32), a->node, a->nlen, a->meta_len, (unsigned)SWIM_NODE_FIELD_MAX);
        return;
    }
    /* memberlist's aliveNode: an address outside CIDRsAllowed is refused;
     * never our own, which the operator need not list */
    if (!about_self && s->cfg.nallow_cidrs && !swim_cidr_allows(s->cfg.allow_cidrs, s->cfg.nallow_cidrs, &a->addr)) {
        swim_logf(s, BASE_LOG_WARN, "ignoring alive for %.*s: its address is outside -allow-cidr", (int)a->nlen,
                  a->node);
        return;
    }
    if (s->io.delegate.allow_alive) {
        if (a->vsn_len < 6) {
            swim_logf(s, BASE_LOG_WARN, "ignoring alive for %.*s: no version vector", (int)a->nlen, a->node);
            return;
        }
        /* the hook sees the whole name, however long */
        char stack[256];
        char *name = a->nlen < sizeof stack ? stack : malloc(a->nlen + 1);
        if (!name) {
            swim_logf(s, BASE_LOG_ERROR, "out of memory asking the alive filter");
            return;
        }
        memcpy(name, a->node, a->nlen);
        name[a->nlen] = 0;
        swim_member m;
        memset(&m, 0, sizeof m);
        m.name = name;
        m.addr = a->addr;
        m.state = SWIM_ALIVE;
        m.incarnation = a->incarnation;
        m.meta = a->meta;
        m.meta_len = a->meta_len;
        memcpy(m.vsn, a->vsn, 6);
        bool allowed = s->io.delegate.allow_alive(s->io.delegate.ud, &m);
        if (!allowed)
            swim_logf(s, BASE_LOG_WARN, "ignoring alive for %s: vetoed", name);
        if (name != stack)
            free(name);
        if (!allowed)
            return;
    }
    swim_node *n = a->hashed ? swim_members_find_hashed(&s->members, a->node, a->nlen, a->hash)
                             : swim_members_find(&s->members, a->node, a->nlen);
    bool updates_node = false;
    if (!n) {
        /* a spoofed stream of alive messages with fresh names would grow the
         * table without end; updates to known members still pass */
        if (s->members.n >= s->cfg.max_members) {
            /* logged at the first and every 1024th, not per message */
            if (s->stats.members_refused++ % 1024 == 0)
                swim_logf(s, BASE_LOG_WARN, "ignoring alive for %.*s: %zu members, max_members reached (%llu refused)",
                          (int)a->nlen, a->node, s->members.n, (unsigned long long)s->stats.members_refused);
            return;
        }
        n = swim_members_add(&s->members, &s->rng, a->node, a->nlen);
        if (!n) {
            swim_logf(s, BASE_LOG_ERROR, "out of memory adding a member");
            return;
        }
        n->addr = a->addr;
        if (swim_node_set_meta(n, a->meta, a->meta_len) != 0)
            swim_logf(s, BASE_LOG_ERROR, "out of memory storing meta");
        if (a->vsn_len > 5)
            memcpy(n->vsn, a->vsn, 6);
        s->members.gen++;
    } else if (!swim_addr_eq(&n->addr, &a->addr)) {
        bool reclaim = s->cfg.dead_node_reclaim_time > 0 &&
                       s->now - swim_node_state_change(n) > s->cfg.dead_node_reclaim_time;
        if (n->state == SWIM_LEFT || (n->state == SWIM_DEAD && reclaim)) {
            swim_logf(s, BASE_LOG_INFO, "updating address of left or failed node %s", n->name);
            updates_node = true;
        } else {
            swim_logf(s, BASE_LOG_ERROR, "conflicting address for %s", n->name);
            swim_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = SWIM_EV_CONFLICT;
            swim_node_view(n, &ev.member);
            ev.other = a->addr;
            swim_emit_event(s, &ev);
            return;
        }
    }
    bool local = n == s->self;
    if (a->incarnation <= n->incarnation && !local && !updates_node)
        return;
    if (a->incarnation < n->incarnation && local)
        return;
    swim_suspicion_clear(s, n);
    swim_state old_state = n->state;
    bool meta_changed = false;
    if (!bootstrap && local) {
        uint8_t vz[6] = { 0 };
        const uint8_t *v = a->vsn_len ? a->vsn : vz;
        bool same_vsn = a->vsn_len == 6 && memcmp(v, n->vsn, 6) == 0;
        bool same_meta = a->meta_len == n->meta_len && (a->meta_len == 0 || memcmp(a->meta, swim_node_meta(n), a->meta_len) == 0);
        if (a->incarnation == n->incarnation && same_meta && same_vsn)
            return;
        swim_refute(s, a->incarnation);
        swim_logf(s, BASE_LOG_WARN, "refuting an alive message about us");
    } else {
        /* gossiped on as it came; but the wire always carries 6 bytes of
         * Vsn, so an empty one (memberlist keeps the versions it holds)
         * goes out with the versions we hold */
        swim_alive_in out = *a;
        if (out.vsn_len < 6) {
            out.vsn = n->vsn;
            out.vsn_len = 6;
        }
        if (swim_enc_alive_in(s, &out) == 0)
            swim_broadcast_scratch(s, n, false);
        /* memberlist: "Update protocol versions if it arrived", all six */
        if (a->vsn_len >= 6)
            memcpy(n->vsn, a->vsn, 6);
        swim_node_transition(s, n, SWIM_ALIVE, a->incarnation, updates_node);
        meta_changed = !(a->meta_len == n->meta_len && (a->meta_len == 0 || memcmp(a->meta, swim_node_meta(n), a->meta_len) == 0));
        if (swim_node_set_meta(n, a->meta, a->meta_len) != 0)
            swim_logf(s, BASE_LOG_ERROR, "out of memory storing meta");
        n->addr = a->addr;
        s->members.gen++;
    }
    if (old_state == SWIM_DEAD || old_state == SWIM_LEFT)
        swim_emit(s, SWIM_EV_JOIN, n);
    else if (meta_changed)
        swim_emit(s, SWIM_EV_UPDATE, n);
}

void swim_suspect_node(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen)
{
    swim_node *n = swim_members_find(&s->members, node, nlen);
    if (n && n == s->self && inc < n->incarnation)
        swim_answer_stale(s, from, flen);
    if (!n || inc < n->incarnation)
        return;
    if (n->has_susp) {
        /* independent confirmations shorten the timer, and are passed on */
        bool confirmed = swim_suspicion_confirm(n->since.susp, from, flen);
        if (confirmed)
            swim_suspicion_rearm(s); /* the timer is shorter now */
        if (confirmed && swim_enc_suspect(s, node, nlen, inc, from, flen) == 0)
            swim_broadcast_scratch(s, n, false);
        return;
    }
    if (n->state != SWIM_ALIVE)
        return;
    if (n == s->self) {
        swim_refute(s, inc);
        swim_logf(s, BASE_LOG_WARN, "refuting a suspect message from %.*s", (int)flen, from);
        return;
    }
    if (swim_enc_suspect(s, node, nlen, inc, from, flen) == 0)
        swim_broadcast_scratch(s, n, false);
    swim_node_transition(s, n, SWIM_SUSPECT, inc, false);
    /* k: confirmations expected, aiming at the nominal timeout two probe
     * intervals early; none if too few other nodes exist to send them. */
    size_t total = s->members.n;
    uint32_t k = s->cfg.suspicion_mult >= 2 ? s->cfg.suspicion_mult - 2 : 0;
    if ((int64_t)total - 2 < (int64_t)k)
        k = 0;
    swim_time min = swim_suspicion_min_timeout(s->cfg.suspicion_mult, total, s->cfg.probe_interval);
    swim_time max = (swim_time)s->cfg.suspicion_max_timeout_mult * min;
    swim_suspicion *sp = swim_suspicion_new(from, flen, k, min, max, s->now, n->since.state_change);
    if (!sp) {
        swim_logf(s, BASE_LOG_ERROR, "out of memory starting a suspicion timer");
        return;
    }
    suspicion_set(s, n, sp);
}

void swim_dead_node(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen)
{
    swim_node *n = swim_members_find(&s->members, node, nlen);
    if (n && n == s->self && inc < n->incarnation)
        swim_answer_stale(s, from, flen);
    if (!n || inc < n->incarnation)
        return;
    swim_suspicion_clear(s, n);
    if (n->state == SWIM_DEAD || n->state == SWIM_LEFT)
        return;
    if (n == s->self) {
        if (!s->leaving) {
            swim_refute(s, inc);
            swim_logf(s, BASE_LOG_WARN, "refuting a dead message from %.*s", (int)flen, from);
            return;
        }
        /* our own leave announcement: its end is what swim_leave waits for */
        if (swim_enc_dead(s, node, nlen, inc, from, flen) == 0)
            swim_broadcast_scratch(s, n, true);
    } else if (swim_enc_dead(s, node, nlen, inc, from, flen) == 0) {
        swim_broadcast_scratch(s, n, false);
    }
    bool left = flen == nlen && memcmp(from, node, nlen) == 0;
    swim_node_transition(s, n, left ? SWIM_LEFT : SWIM_DEAD, inc, false);
    swim_emit(s, SWIM_EV_LEAVE, n);
}

void swim_suspicion_tick(swim *s)
{
    if (s->susp_next > s->now)
        return;
    for (size_t i = 0; i < s->nsusp;) {
        swim_node *n = s->susp_nodes[i];
        swim_suspicion *sp = n->since.susp;
        if (sp->deadline > s->now) {
            i++;
            continue;
        }
        /* a timer runs only in the suspect state it started in (it is
         * stopped before any change: swim_node_transition), so a timer
         * that runs out always finds its node still suspect */
        assert(n->state == SWIM_SUSPECT);
        swim_suspicion_clear(s, n); /* moves the last entry to i */
        swim_logf(s, BASE_LOG_INFO, "marking %s as failed, suspect timeout reached", n->name);
        swim_dead_node(s, n->name, n->name_len, n->incarnation, s->self->name, s->self->name_len);
    }
}

swim_time swim_suspicion_earliest(const swim *s)
{
    swim_time t = SWIM_NEVER;
    for (size_t i = 0; i < s->nsusp; i++)
        if (s->susp_nodes[i]->since.susp->deadline < t)
            t = s->susp_nodes[i]->since.susp->deadline;
    return t;
}

void swim_suspicion_rearm(swim *s) { s->susp_next = swim_suspicion_earliest(s); }

swim_time swim_suspicion_next(const swim *s) { return s->susp_next; }
