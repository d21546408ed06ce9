/* sim_net: the virtual network: addresses, links (delay, jitter, loss),
 * partitions, slow receivers, and the cores' packet and stream sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

static void link_params(const sim *s, int from, int to, uint32_t *delay, uint32_t *jitter, double *loss)
{
    *delay = s->delay;
    *jitter = s->jitter;
    *loss = s->loss;
    for (size_t i = 0; i < s->nlinks; i++)
        if (s->links[i].from == from && s->links[i].to == to) {
            *delay = s->links[i].delay;
            *jitter = s->links[i].jitter;
            *loss = s->links[i].loss;
        }
}

swim_time sim_transit(sim *s, int from, int to, bool *lost)
{
    uint32_t delay, jitter;
    double loss;
    link_params(s, from, to, &delay, &jitter, &loss);
    *lost = false;
    if (loss > 0) {
        double r = (double)(swim_rng_next(&s->rng) >> 11) / 9007199254740992.0;
        *lost = r < loss;
    }
    swim_time d = delay + swim_rng_below(&s->rng, (uint64_t)jitter + 1);
    return to >= 0 ? d + sim_slow_extra(s, to) : d;
}

swim_time sim_slow_extra(sim *s, int to)
{
    const sim_node *n = s->nodes[to];
    /* only a slow node with jitter draws: every run without one keeps its
     * draws, so its digest, bit for bit */
    if (n->slow_jitter == 0)
        return n->slow_delay;
    return n->slow_delay + swim_rng_below(&s->rng, (uint64_t)n->slow_jitter + 1);
}

void sim_set_slow(sim *s, int i, uint32_t delay, uint32_t jitter)
{
    s->nodes[i]->slow_delay = delay;
    s->nodes[i]->slow_jitter = jitter;
}

static bool connected(const sim *s, int a, int b)
{
    return s->nodes[a]->group == s->nodes[b]->group;
}

int sim_addr_node(const sim *s, const swim_addr *a)
{
    if (a->ip_len != 4 || a->ip[0] != 10)
        return -1;
    uint32_t v = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
    if (v == 0 || v > s->n)
        return -1;
    int i = (int)v - 1;
    if (s->nodes[i]->cfg.advertise.port != a->port)
        return -1; /* nobody listens there */
    return i;
}

/* ---- scheduling a node's core ---- */

swim_addr sim_addr(const sim *s, int i)
{
    swim_addr a;
    memset(&a, 0, sizeof a);
    uint32_t v = (uint32_t)i + 1;
    a.ip_len = 4;
    a.ip[0] = 10;
    a.ip[1] = (uint8_t)(v >> 16);
    a.ip[2] = (uint8_t)(v >> 8);
    a.ip[3] = (uint8_t)v;
    a.port = (i >= 0 && (size_t)i < s->n) ? s->nodes[i]->cfg.advertise.port : 7946;
    return a;
}

void sim_count_sent(sim *s, int from, size_t len, bool stream)
{
    sim_traffic *t = &s->nodes[from]->traffic;
    t->msgs_sent++;
    t->bytes_sent += len;
    if (stream) {
        s->stats.stream_bytes += len;
    } else {
        s->stats.packets_sent++;
        s->stats.bytes_sent += len;
    }
}

void sim_io_send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    (void)crc;
    sim_node *n = ud;
    sim *s = n->sim;
    sim_count_sent(s, n->index, len, false);
    int dst = sim_addr_node(s, to);
    bool lost = false;
    swim_time d = dst >= 0 ? sim_transit(s, n->index, dst, &lost) : 0;
    if (dst < 0 || lost || !connected(s, n->index, dst)) {
        s->stats.packets_dropped++;
        return;
    }
    sim_item it;
    memset(&it, 0, sizeof it);
    it.t = s->now + d;
    it.kind = SIM_PACKET;
    it.to = dst;
    it.from = n->index;
    if (sim_item_copy(&it, msg, len) < 0)
        return;
    sim_push(s, &it);
}

static uint32_t stream_record(sim *s, int from, uint32_t life, uint64_t id, swim_time deadline, bool want_reply)
{
    if (s->nstreams == s->capstreams) {
        size_t cap = s->capstreams ? s->capstreams * 2 : 256;
        sim_stream *v = realloc(s->streams, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        s->streams = v;
        s->capstreams = cap;
    }
    sim_stream *r = &s->streams[s->nstreams];
    r->from = from;
    r->life = life;
    r->id = id;
    r->deadline = deadline;
    r->want_reply = want_reply;
    r->done = false;
    return (uint32_t)s->nstreams++;
}

void sim_io_open_stream(void *ud, const swim_stream_req *req)
{
    sim_node *n = ud;
    sim *s = n->sim;
    s->stats.streams_opened++;
    sim_count_sent(s, n->index, req->len, true);
    uint32_t rec = stream_record(s, n->index, n->life, req->id, req->deadline, req->want_reply);
    if (rec == UINT32_MAX)
        return;
    sim_item it;
    memset(&it, 0, sizeof it);
    it.stream = rec;
    it.from = n->index;
    if (req->want_reply) {
        /* the deadline guard: failure unless a reply came first */
        it.t = req->deadline < s->now ? s->now : req->deadline;
        it.kind = SIM_STREAM_TIMEOUT;
        it.to = n->index;
        sim_push(s, &it);
    }
    int dst = sim_addr_node(s, &req->to);
    bool lost;
    swim_time d = dst >= 0 ? sim_transit(s, n->index, dst, &lost) : 0;
    if (dst < 0 || !connected(s, n->index, dst))
        return; /* connect times out: the guard reports it */
    memset(&it, 0, sizeof it);
    it.t = s->now + d;
    it.kind = SIM_STREAM_REQ;
    it.to = dst;
    it.from = n->index;
    it.stream = rec;
    it.data = malloc(req->len ? req->len : 1);
    if (!it.data)
        return;
    memcpy(it.data, req->msg, req->len);
    it.len = req->len;
    sim_push(s, &it);
}

void sim_set_default_link(sim *s, uint32_t delay, uint32_t jitter, double loss)
{
    s->delay = delay;
    s->jitter = jitter;
    s->loss = loss;
}

void sim_get_default_link(const sim *s, uint32_t *delay, uint32_t *jitter, double *loss)
{
    *delay = s->delay;
    *jitter = s->jitter;
    *loss = s->loss;
}

void sim_set_link(sim *s, int from, int to, uint32_t delay, uint32_t jitter, double loss)
{
    for (size_t i = 0; i < s->nlinks; i++)
        if (s->links[i].from == from && s->links[i].to == to) {
            s->links[i].delay = delay;
            s->links[i].jitter = jitter;
            s->links[i].loss = loss;
            return;
        }
    if (s->nlinks == s->caplinks) {
        size_t cap = s->caplinks ? s->caplinks * 2 : 16;
        sim_link_override *v = realloc(s->links, cap * sizeof *v);
        if (!v)
            return;
        s->links = v;
        s->caplinks = cap;
    }
    s->links[s->nlinks++] = (sim_link_override){ from, to, delay, jitter, loss };
}

void sim_set_group(sim *s, int i, int group) { s->nodes[i]->group = group; }
