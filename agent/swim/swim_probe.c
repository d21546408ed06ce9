/* swim_probe: the failure detector's probe loop (§10.1), Lifeguard's
 * awareness scaling (§10.5), and answering pings and indirect pings
 * (§4.1, §4.2), as memberlist's probe, probeNode, handlePing and
 * handleIndirectPing do.
 *
 * memberlist runs a probe synchronously from a Go ticker: a probe that
 * fails blocks until its (awareness-scaled) interval has passed, ticks
 * that fall meanwhile are dropped except one the ticker buffers, and that
 * one starts the next probe as soon as the slow one is over. The state
 * machine below reproduces exactly that schedule. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

uint32_t swim_scale(const swim *s, uint32_t t)
{
    return t * (s->awareness + 1);
}

static bool name_is(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* memberlist probe(): round robin over the node list, skipping ourselves
 * and the dead; a wrap reaps and reshuffles. */
static swim_node *next_target(swim *s)
{
    swim_members *m = &s->members;
    size_t checked = 0;
    for (;;) {
        if (checked >= m->n)
            return NULL;
        if (m->probe_index >= m->n) {
            swim_members_reset(m, &s->rng, s->now, s->cfg.gossip_to_the_dead_time, s->self);
            m->probe_index = 0;
            checked++;
            continue;
        }
        swim_node *n = m->nodes[m->probe_index++];
        if (n == s->self || n->state == SWIM_DEAD || n->state == SWIM_LEFT) {
            checked++;
            continue;
        }
        return n;
    }
}

static void start_probe(swim *s)
{
    swim_node *n = next_target(s);
    if (!n)
        return;
    swim_probe *p = &s->probe;
    /* the whole name: a truncated one would never be found again, and a
     * node with a long name would never be suspected */
    char *name = malloc(n->name_len + 1);
    if (!name) {
        swim_logf(s, BASE_LOG_ERROR, "out of memory starting a probe of %s", n->name);
        return;
    }
    memcpy(name, n->name, n->name_len + 1);
    free(p->name);
    memset(p, 0, sizeof *p);
    p->active = true;
    p->name = name;
    p->name_len = n->name_len;
    p->addr = n->addr;
    p->incarnation = n->incarnation;
    p->seq = ++s->seq;
    p->start = s->now;
    p->t_direct = s->now + s->cfg.probe_timeout; /* not scaled: waiting longer does not help UDP */
    p->t_end = s->now + swim_scale(s, s->cfg.probe_interval);
    p->tcp = TCP_NONE;
    s->stats.probes++;
    if (swim_enc_ping(s, p->seq, n->name, n->name_len) != 0)
        return;
    if (n->state == SWIM_ALIVE) {
        swim_send_msg(s, &n->addr, s->scratch.data, s->scratch.len);
        return;
    }
    /* A suspect gets [ping, suspect] and nothing else, so that it learns
     * of the suspicion at once and can refute it. */
    uint8_t *ping = malloc(s->scratch.len);
    if (!ping)
        return;
    size_t plen = s->scratch.len;
    memcpy(ping, s->scratch.data, plen);
    if (swim_enc_suspect(s, n->name, n->name_len, n->incarnation, s->self->name, s->self->name_len) == 0) {
        wire_bytes parts[2] = { wire_bytes_of(ping, plen), wire_bytes_of(s->scratch.data, s->scratch.len) };
        swim_send_compound(s, &n->addr, n->name, parts, 2);
    }
    free(ping);
}

static void finish_probe(swim *s, bool ok)
{
    swim_probe *p = &s->probe;
    p->active = false;
    if (ok) {
        /* memberlist lowers the score only for a probe whose ping went out
         * (a failed write skips awarenessDelta = -1) */
        if (!p->send_failed)
            swim_awareness_delta(s, -1);
    } else {
        /* Relays that nack prove we can talk; missing nacks point at us. */
        int delta = 1;
        if (p->expected_nacks > 0)
            delta = p->nacks < p->expected_nacks ? p->expected_nacks - p->nacks : 0;
        s->stats.probe_failures++;
        swim_logf(s, BASE_LOG_INFO, "suspect %s has failed, no acks received", p->name);
        swim_suspect_node(s, p->name, p->name_len, p->incarnation, s->self->name, s->self->name_len);
        swim_awareness_delta(s, delta);
    }
    if (s->probe_tick_buffered) {
        s->probe_tick_buffered = false;
        start_probe(s);
    }
}

static bool relay_ok(const swim *s, const swim_node *n, const void *arg)
{
    const swim_probe *p = arg;
    return n != s->self && n->state == SWIM_ALIVE && !name_is(n->name, n->name_len, p->name, p->name_len);
}

static void go_indirect(swim *s)
{
    swim_probe *p = &s->probe;
    p->indirect = true;
    swim_node *relays[64];
    size_t k = s->cfg.indirect_checks < 64 ? s->cfg.indirect_checks : 64;
    size_t got = swim_random_nodes(s, k, relays, relay_ok, p);
    wire_indirect_ping ind;
    memset(&ind, 0, sizeof ind);
    ind.node = wire_bytes_of(p->name, p->name_len);
    ind.port = p->addr.port;
    ind.seq_no = p->seq;
    ind.source_addr = wire_bytes_of(s->cfg.advertise.ip, s->cfg.advertise.ip_len);
    ind.source_node = wire_bytes_of(s->self->name, s->self->name_len);
    ind.source_port = s->cfg.advertise.port;
    ind.target = wire_bytes_of(p->addr.ip, p->addr.ip_len);
    for (size_t i = 0; i < got; i++) {
        /* only relays that speak protocol 4 know to nack */
        ind.nack = relays[i]->vsn[1] >= 4;
        if (ind.nack)
            p->expected_nacks++;
        wire_buf_reset(&s->scratch);
        if (wire_encode_indirect_ping(&s->scratch, &ind) == WIRE_OK)
            swim_send_msg(s, &relays[i]->addr, s->scratch.data, s->scratch.len);
    }
    /* TCP fallback: a node cut off from UDP but reachable by TCP is not
     * declared dead (and cannot spread confusion by push/pull). */
    swim_node *n = swim_members_find(&s->members, p->name, p->name_len);
    if (!s->cfg.disable_tcp_pings && n && n->vsn[1] >= 3 && swim_enc_ping(s, p->seq, n->name, n->name_len) == 0) {
        swim_pending_stream *ps = swim_stream_add(s, STREAM_PING);
        if (ps) {
            ps->seq = p->seq;
            p->tcp = TCP_PENDING;
            p->tcp_id = ps->id;
            /* one deadline for it all, the probe's end, as memberlist's
             * sendPingAndWaitForAck */
            swim_open_stream(s, ps->id, SWIM_STREAM_PING, &p->addr, s->scratch.data, s->scratch.len, true, p->t_end, 0);
        }
    }
}

/* How long past the probe's end we wait for the I/O side to report the
 * TCP ping it was told to finish by then: one probe timeout of slack. */
static swim_time tcp_grace(const swim *s)
{
    return s->probe.t_end + s->cfg.probe_timeout;
}

static void remove_relay(swim *s, size_t i)
{
    s->relays[i] = s->relays[--s->nrelays];
}

void swim_probe_tick(swim *s)
{
    for (size_t i = 0; i < s->nrelays;) {
        swim_relay *r = &s->relays[i];
        if (r->expire > s->now) {
            i++;
            continue;
        }
        if (r->nack) {
            wire_nack nk = { r->req_seq };
            wire_buf_reset(&s->scratch);
            if (wire_encode_nack(&s->scratch, &nk) == WIRE_OK) {
                swim_addr to = r->req_addr;
                remove_relay(s, i);
                swim_send_msg(s, &to, s->scratch.data, s->scratch.len);
                continue;
            }
        }
        remove_relay(s, i);
    }
    /* Ticks first: a tick that falls while a probe runs is buffered (at
     * most one, like Go's ticker channel). */
    while (s->probe_tick <= s->now) {
        s->probe_tick += s->cfg.probe_interval;
        if (s->probe.active)
            s->probe_tick_buffered = true;
        else
            start_probe(s);
    }
    swim_probe *p = &s->probe;
    if (p->active && !p->indirect && s->now >= p->t_direct)
        go_indirect(s);
    if (p->active && p->indirect && s->now >= p->t_end) {
        if (p->tcp == TCP_PENDING && s->now < tcp_grace(s))
            return;
        if (p->tcp == TCP_OK)
            swim_logf(s, BASE_LOG_WARN, "was able to connect to %s but other probes failed, network may be misconfigured",
                      p->name);
        finish_probe(s, p->tcp == TCP_OK);
    }
}

swim_time swim_probe_next(const swim *s)
{
    swim_time t = s->probe_tick;
    const swim_probe *p = &s->probe;
    if (p->active) {
        swim_time pt = !p->indirect ? p->t_direct : p->t_end;
        if (p->indirect && p->tcp == TCP_PENDING && s->now >= p->t_end)
            pt = tcp_grace(s);
        if (pt < t)
            t = pt;
    }
    for (size_t i = 0; i < s->nrelays; i++)
        if (s->relays[i].expire < t)
            t = s->relays[i].expire;
    return t;
}

void swim_probe_send_failed(swim *s, const swim_addr *to)
{
    swim_probe *p = &s->probe;
    if (!p->active || p->indirect || !swim_addr_eq(&p->addr, to))
        return;
    /* memberlist's probeNode: a failed UDP write is failedRemote, and the
     * probe goes on to its indirect and TCP pings without waiting for an
     * ack that cannot come (0.2 gave the probe up instead) */
    swim_logf(s, BASE_LOG_WARN, "failed to send UDP ping to %s: asking others at once", p->name);
    p->send_failed = true;
    go_indirect(s);
}

void swim_probe_tcp_done(swim *s, uint32_t seq, const uint8_t *reply, size_t len)
{
    swim_probe *p = &s->probe;
    if (!p->active || p->seq != seq || p->tcp != TCP_PENDING)
        return;
    wire_msg m;
    bool ok = reply && len > 0 && wire_decode_msg(reply, len, &m) == WIRE_OK && m.type == WIRE_ACK &&
              m.u.ack.seq_no == seq;
    if (reply && !ok)
        swim_logf(s, BASE_LOG_WARN, "TCP ping to %s: unexpected reply", p->name);
    p->tcp = ok ? TCP_OK : TCP_FAIL;
    if (p->indirect && s->now >= p->t_end)
        finish_probe(s, ok);
}

static void reply_addr(swim_addr *to, const swim_addr *from, wire_bytes src_addr, uint16_t src_port)
{
    if (src_addr.n > 0 && src_port > 0 && swim_addr_from_bytes(to, src_addr, src_port))
        return;
    *to = *from;
}

void swim_handle_ping(swim *s, const swim_addr *from, const wire_ping *p)
{
    if (p->node.n > 0 && !name_is((const char *)p->node.p, p->node.n, s->self->name, s->self->name_len)) {
        swim_logf(s, BASE_LOG_WARN, "got ping for unexpected node '%.*s'", (int)p->node.n, (const char *)p->node.p);
        swim_count_drop(s, WIRE_PING, 1);
        return;
    }
    const uint8_t *payload = NULL;
    size_t plen = 0;
    bool nil = true;
    if (s->io.delegate.ack_payload) {
        s->io.delegate.ack_payload(s->io.delegate.ud, &payload, &plen);
        nil = payload == NULL;
    }
    if (swim_enc_ack(s, p->seq_no, payload, plen, nil) != 0)
        return;
    swim_addr to;
    reply_addr(&to, from, p->source_addr, p->source_port);
    swim_send_msg(s, &to, s->scratch.data, s->scratch.len);
    swim_repair_unknown_pinger(s, p, &to);
}

void swim_handle_indirect(swim *s, const swim_addr *from, const wire_indirect_ping *ind)
{
    swim_addr target;
    /* Port 0 is a protocol-1 leftover: it meant "our own port". */
    uint16_t port = ind->port ? ind->port : s->cfg.advertise.port;
    if (!swim_addr_from_bytes(&target, ind->target, port)) {
        swim_logf(s, BASE_LOG_WARN, "indirect ping with a bad target address");
        swim_count_drop(s, WIRE_INDIRECT_PING, 1);
        return;
    }
    if (s->nrelays == s->caprelays) {
        size_t cap = s->caprelays ? s->caprelays * 2 : 8;
        swim_relay *r = realloc(s->relays, cap * sizeof *r);
        if (!r)
            return;
        s->relays = r;
        s->caprelays = cap;
    }
    swim_relay *r = &s->relays[s->nrelays++];
    memset(r, 0, sizeof *r);
    r->seq = ++s->seq;
    r->req_seq = ind->seq_no;
    reply_addr(&r->req_addr, from, ind->source_addr, ind->source_port);
    r->nack = ind->nack;
    r->expire = s->now + s->cfg.probe_timeout;
    if (swim_enc_ping(s, r->seq, (const char *)ind->node.p, ind->node.n) == 0)
        swim_send_msg(s, &target, s->scratch.data, s->scratch.len);
}

void swim_handle_ack(swim *s, const wire_ack *a)
{
    swim_probe *p = &s->probe;
    if (p->active && p->seq == a->seq_no) {
        /* memberlist reports the round trip only for acks that came in
         * the direct wait */
        if (!p->indirect) {
            swim_node *n = swim_members_find(&s->members, p->name, p->name_len);
            if (n) {
                swim_event ev;
                memset(&ev, 0, sizeof ev);
                ev.type = SWIM_EV_PING;
                swim_node_view(n, &ev.member);
                ev.rtt = (uint32_t)(s->now - p->start);
                ev.payload = a->payload;
                swim_emit_event(s, &ev);
            }
        }
        finish_probe(s, true);
        return;
    }
    for (size_t i = 0; i < s->nrelays; i++) {
        swim_relay *r = &s->relays[i];
        if (r->seq != a->seq_no)
            continue;
        /* forward with the requester's seq and no payload */
        swim_addr to = r->req_addr;
        uint32_t seq = r->req_seq;
        remove_relay(s, i);
        if (swim_enc_ack(s, seq, NULL, 0, true) == 0)
            swim_send_msg(s, &to, s->scratch.data, s->scratch.len);
        return;
    }
}

void swim_handle_nack(swim *s, const wire_nack *n)
{
    swim_probe *p = &s->probe;
    if (p->active && p->seq == n->seq_no)
        p->nacks++;
}
