/* serf_node_query: the queries of a serf_node, as serf 0.9.4's Query,
 * handleQuery, handleQueryResponse, relayResponse, Query.Respond and the
 * relay message (serf.go, query.go, event.go, delegate.go). */
#include <stdlib.h>
#include <string.h>

#include "serf/serf_node_internal.h"

/* serf keeps no bound on the queries it was asked and may still answer
 * (one goroutine-held *Query each) nor on the names that answered one of
 * its own; a flood of queries with long timeouts, or of answers with
 * made-up names, must not grow us without end. Far above what a cluster
 * asks at once or has members. */
#define SERF_NQ_MAX_ASKING 4096
#define SERF_NQ_MAX_NAMES 65536

/* ---- names that answered ---- */

/* FNV-1a from a per-set key, then a final mix: an answerer does not know
 * the key, so it cannot make up names that share one chain */
static uint64_t name_hash(uint64_t key, wire_bytes name)
{
    uint64_t h = 1469598103934665603ull ^ key;
    for (size_t i = 0; i < name.n; i++)
        h = (h ^ name.p[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* where `name` is, or the empty slot where it would go (nslots > 0) */
static size_t names_slot(const serf_nq_names *s, wire_bytes name)
{
    size_t mask = s->nslots - 1;
    size_t i = (size_t)name_hash(s->key, name) & mask;
    while (s->slot[i]) {
        const wire_bytes *e = &s->v[s->slot[i] - 1];
        if (e->n == name.n && (name.n == 0 || memcmp(e->p, name.p, name.n) == 0))
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static bool names_has(const serf_nq_names *s, wire_bytes name)
{
    return s->nslots && s->slot[names_slot(s, name)] != 0;
}

/* 0, or -1 (full, out of memory): the answer is then dropped */
static int names_add(serf_nq_names *s, wire_bytes name)
{
    if (s->n == SERF_NQ_MAX_NAMES)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        wire_bytes *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    if (2 * (s->n + 1) > s->nslots) {
        size_t nslots = s->nslots ? s->nslots * 2 : 16;
        uint32_t *slot = calloc(nslots, sizeof *slot);
        if (!slot)
            return -1;
        free(s->slot);
        s->slot = slot;
        s->nslots = nslots;
        for (size_t k = 0; k < s->n; k++)
            s->slot[names_slot(s, s->v[k])] = (uint32_t)(k + 1);
    }
    uint8_t *c = malloc(name.n ? name.n : 1);
    if (!c)
        return -1;
    if (name.n)
        memcpy(c, name.p, name.n);
    s->v[s->n] = wire_bytes_of(c, name.n);
    s->slot[names_slot(s, name)] = (uint32_t)(s->n + 1);
    s->n++;
    return 0;
}

static void names_free(serf_nq_names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free((void *)(uintptr_t)s->v[i].p);
    free(s->v);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- set up ---- */

int serf_nq_init(serf_node *sn)
{
    serf_nq *nq = &sn->nq;
    memset(nq, 0, sizeof *nq);
    if (serf_events_init(&nq->events, sn->cfg.event_buffer ? sn->cfg.event_buffer : SERF_EVENT_BUFFER) != 0)
        return -1;
    if (serf_queries_init(&nq->queries, sn->cfg.query_buffer ? sn->cfg.query_buffer : SERF_QUERY_BUFFER) != 0) {
        serf_events_free(&nq->events);
        return -1;
    }
    /* serf coalesces user events only when both periods are set */
    nq->coalescing = sn->cfg.coalesce_period_ms > 0 && sn->cfg.quiescent_period_ms > 0;
    if (nq->coalescing)
        serf_coalesce_init(&nq->coalesce, sn->cfg.coalesce_period_ms, sn->cfg.quiescent_period_ms);
    nq->next_handle = 1;
    nq->names_key = name_hash(sn->cfg.seed, wire_bytes_of("answerers", 9));
    return 0;
}

size_t serf_nq_response_limit(const serf_node *sn)
{
    return sn->cfg.query_response_size_limit ? sn->cfg.query_response_size_limit : SERF_QUERY_RESPONSE_SIZE_LIMIT;
}

static bool count_live(void *ud, const serf_node_member *m)
{
    *(size_t *)ud += serf_nq_member_live(m);
    return true;
}

size_t serf_nq_num_members(const serf_node *sn)
{
    size_t n = 0;
    serf_node_members_each(sn, count_live, &n);
    return n;
}

static void asked_release(serf_nq_asked *a)
{
    names_free(&a->acks);
    names_free(&a->responses);
}

void serf_nq_free(serf_node *sn)
{
    serf_nq *nq = &sn->nq;
    serf_events_free(&nq->events);
    serf_queries_free(&nq->queries);
    if (nq->coalescing)
        serf_coalesce_free(&nq->coalesce);
    for (size_t i = 0; i < nq->asked.n; i++)
        asked_release(&nq->asked.v[i]);
    free(nq->asked.v);
    for (size_t i = 0; i < nq->asking.n; i++)
        free(nq->asking.v[i].source);
    free(nq->asking.v);
    memset(nq, 0, sizeof *nq);
}

/* ---- sending ---- */

static bool is_self(const serf_node *sn, const uint8_t *ip, size_t ip_len, uint16_t port)
{
    swim_addr self = serf_node_self_addr(sn);
    return self.ip_len == ip_len && self.port == port && memcmp(self.ip, ip, ip_len) == 0;
}

static void on_response(serf_node *sn, swim_time now, const uint8_t *msg, size_t len);

void serf_nq_send_to(serf_node *sn, swim_time now, const uint8_t *ip, size_t ip_len, uint16_t port,
                     const uint8_t *msg, size_t len)
{
    if (ip_len != 4 && ip_len != 16) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: cannot send to an address of %zu bytes", ip_len);
        return;
    }
    if (is_self(sn, ip, ip_len, port)) {
        /* serf writes it to its own socket; only responses (and relayed
         * responses) are ever sent to an address */
        if (len > 0 && msg[0] == SERF_MSG_QUERY_RESPONSE)
            on_response(sn, now, msg, len);
        return;
    }
    swim_addr to;
    memset(&to, 0, sizeof to);
    memcpy(to.ip, ip, ip_len);
    to.ip_len = (uint8_t)ip_len;
    to.port = port;
    if (serf_node_out_send_addr(sn, &to, msg, len) != 0)
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: out of memory queueing a message to an address");
}

/* serf's relayResponse: the response, wrapped in a relay header naming
 * the asker, also through relay_factor random alive members (never
 * ourselves). 0, or WIRE_ELIMIT when the relayed message is too large
 * (then nothing is relayed). */
static int relay_response(serf_node *sn, swim_time now, uint8_t relay_factor, const uint8_t *ip, size_t ip_len,
                          uint16_t port, const char *source, const uint8_t *resp, size_t resp_len)
{
    if (relay_factor == 0)
        return 0;
    /* serf counts all its members here, failed and left ones included */
    if (serf_node_member_count(sn) < (size_t)relay_factor + 1)
        return 0;
    serf_msg_relay r = {
        .dest_addr = { .ip = wire_bytes_of(ip, ip_len), .port = port, .zone = wire_bytes_of("", 0) },
        .dest_name = wire_bytes_of(source, strlen(source)),
        .inner = wire_bytes_of(resp, resp_len),
    };
    wire_buf out;
    wire_buf_init(&out, 0);
    int rc = serf_msg_relay_encode(&out, &r);
    size_t limit = serf_nq_response_limit(sn);
    if (rc == WIRE_OK && out.len > limit)
        rc = WIRE_ELIMIT;
    if (rc != WIRE_OK) {
        wire_buf_free(&out);
        return rc;
    }
    serf_node_member via[256];
    size_t n = serf_node_random_alive(sn, relay_factor, NULL, via);
    for (size_t i = 0; i < n; i++)
        serf_nq_send_to(sn, now, via[i].addr.ip, via[i].addr.ip_len, via[i].addr.port, out.data, out.len);
    wire_buf_free(&out);
    return 0;
}

/* ---- queries we were asked ---- */

serf_nq_asking *serf_nq_asking_find(serf_node *sn, uint64_t handle)
{
    for (size_t i = 0; i < sn->nq.asking.n; i++)
        if (sn->nq.asking.v[i].handle == handle)
            return &sn->nq.asking.v[i];
    return NULL;
}

static void asking_remove(serf_nq *nq, size_t i)
{
    free(nq->asking.v[i].source);
    nq->asking.v[i] = nq->asking.v[--nq->asking.n];
}

static swim_time deadline_after(swim_time now, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return now;
    uint64_t ms = (uint64_t)timeout_ns / 1000000u;
    return ms > SWIM_NEVER - 1 - now ? SWIM_NEVER - 1 : now + ms;
}

static serf_nq_asking *asking_add(serf_node *sn, swim_time now, const serf_msg_query *q)
{
    serf_nq *nq = &sn->nq;
    if (nq->asking.n == SERF_NQ_MAX_ASKING) {
        /* the one closest to its deadline goes */
        size_t oldest = 0;
        for (size_t i = 1; i < nq->asking.n; i++)
            if (nq->asking.v[i].deadline < nq->asking.v[oldest].deadline)
                oldest = i;
        asking_remove(nq, oldest);
    }
    if (nq->asking.n == nq->asking.cap) {
        size_t cap = nq->asking.cap ? nq->asking.cap * 2 : 8;
        serf_nq_asking *v = realloc(nq->asking.v, cap * sizeof *v);
        if (!v)
            return NULL;
        nq->asking.v = v;
        nq->asking.cap = cap;
    }
    char *source = malloc(q->source_node.n + 1);
    if (!source)
        return NULL;
    if (q->source_node.n)
        memcpy(source, q->source_node.p, q->source_node.n);
    source[q->source_node.n] = 0;
    serf_nq_asking *a = &nq->asking.v[nq->asking.n++];
    memset(a, 0, sizeof *a);
    a->handle = nq->next_handle++;
    a->id = q->id;
    a->ltime = q->ltime;
    a->ip_len = q->addr.n <= 16 ? (uint8_t)q->addr.n : 0;
    if (a->ip_len)
        memcpy(a->ip, q->addr.p, a->ip_len);
    a->port = q->port;
    a->source = source;
    a->relay_factor = q->relay_factor;
    a->deadline = deadline_after(now, q->timeout_ns);
    a->expired = q->timeout_ns <= 0;
    return a;
}

int serf_nq_respond(serf_node *sn, swim_time now, serf_nq_asking *q, wire_bytes payload)
{
    serf_msg_query_response r = {
        .ltime = q->ltime, .id = q->id, .from = wire_bytes_of(sn->name, strlen(sn->name)), .payload = payload,
    };
    wire_buf out;
    wire_buf_init(&out, 0);
    int rc = serf_msg_query_response_encode(&out, &r);
    size_t limit = serf_nq_response_limit(sn);
    if (rc == WIRE_OK && out.len > limit)
        rc = WIRE_ELIMIT;
    if (rc != WIRE_OK) {
        wire_buf_free(&out);
        return rc;
    }
    if (now > q->deadline || q->expired) {
        wire_buf_free(&out);
        return -1; /* "response is past the deadline" */
    }
    serf_nq_send_to(sn, now, q->ip, q->ip_len, q->port, out.data, out.len);
    rc = relay_response(sn, now, q->relay_factor, q->ip, q->ip_len, q->port, q->source, out.data, out.len);
    wire_buf_free(&out);
    if (rc != 0) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: failed to relay a response: %s", wire_strerror(rc));
        return rc;
    }
    /* answered: serf clears the deadline, later answers are refused */
    for (size_t i = 0; i < sn->nq.asking.n; i++)
        if (&sn->nq.asking.v[i] == q) {
            asking_remove(&sn->nq, i);
            break;
        }
    return 0;
}

static void send_ack(serf_node *sn, swim_time now, const serf_msg_query *q)
{
    serf_msg_query_response ack = {
        .ltime = q->ltime, .id = q->id, .from = wire_bytes_of(sn->name, strlen(sn->name)),
        .flags = SERF_QUERY_FLAG_ACK,
    };
    wire_buf out;
    wire_buf_init(&out, 0);
    if (serf_msg_query_response_encode(&out, &ack) != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: failed to format ack");
        wire_buf_free(&out);
        return;
    }
    char source[256];
    size_t sl = q->source_node.n < sizeof source - 1 ? q->source_node.n : sizeof source - 1;
    if (sl)
        memcpy(source, q->source_node.p, sl);
    source[sl] = 0;
    serf_nq_send_to(sn, now, q->addr.p, q->addr.n, q->port, out.data, out.len);
    int rc = relay_response(sn, now, q->relay_factor, q->addr.p, q->addr.n, q->port, source, out.data, out.len);
    if (rc != 0)
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: failed to relay ack: %s", wire_strerror(rc));
    wire_buf_free(&out);
}

/* serf's handleQuery: true if the query is to be gossiped on */
static bool handle_query(serf_node *sn, swim_time now, const serf_msg_query *q)
{
    serf_nq *nq = &sn->nq;
    sn->stats.queries_received++;
    serf_query_verdict v = serf_queries_receive(&nq->queries, q->ltime, q->id);
    switch (v) {
    case SERF_QUERY_NEW:
        break;
    case SERF_QUERY_TOO_OLD:
        serf_logf(&sn->log, BASE_LOG_WARN, "serf: received old query %.*s from time %llu (current: %llu)",
                  (int)(q->name.n > 200 ? 200 : q->name.n), q->name.p ? (const char *)q->name.p : "",
                  (unsigned long long)q->ltime, (unsigned long long)serf_clock_time(&nq->queries.clock));
        return false;
    case SERF_QUERY_SEEN:
    case SERF_QUERY_BEFORE_MIN:
        sn->stats.queries_dup++;
        return false;
    case SERF_QUERY_NOMEM:
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: out of memory recording a query");
        return false;
    }
    bool rebroadcast = !(q->flags & SERF_QUERY_FLAG_NO_BROADCAST);
    wire_bytes self = wire_bytes_of(sn->name, strlen(sn->name));
    if (!serf_query_filters_pass(&q->filters, self, serf_node_self_tags(sn)))
        return rebroadcast;
    if (q->flags & SERF_QUERY_FLAG_ACK)
        send_ack(sn, now, q);

    serf_nq_asking *ask = asking_add(sn, now, q);
    if (!ask) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: out of memory holding a query");
        return rebroadcast;
    }
    if (serf_nq_is_internal(q->name)) {
        uint64_t handle = ask->handle;
        serf_nq_internal_query(sn, now, q, ask);
        /* answered or not, it is never handed to the application (an
         * answer took it out of the table already) */
        ask = serf_nq_asking_find(sn, handle);
        if (ask)
            asking_remove(nq, (size_t)(ask - nq->asking.v));
        return rebroadcast;
    }
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SERF_EV_QUERY;
    ev.name = q->name;
    ev.payload = q->payload;
    ev.from = ask->source;
    ev.ltime = q->ltime;
    ev.query_id = ask->handle;
    serf_node_update_deadline(sn);
    serf_node_emit(sn, &ev);
    return rebroadcast;
}

static void on_query(serf_node *sn, swim_time now, const uint8_t *msg, size_t len)
{
    serf_msg_query q;
    int rc = serf_msg_query_decode(msg, len, &q);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Error decoding query message: %s", wire_strerror(rc));
        return;
    }
    if (handle_query(sn, now, &q))
        serf_node_out_broadcast(sn, msg, len, NULL);
    serf_msg_query_free(&q);
}

/* ---- answers to our queries ---- */

static serf_nq_asked *asked_find(serf_nq *nq, uint64_t ltime)
{
    for (size_t i = 0; i < nq->asked.n; i++)
        if (nq->asked.v[i].ltime == ltime)
            return &nq->asked.v[i];
    return NULL;
}

/* serf's handleQueryResponse */
static void on_response(serf_node *sn, swim_time now, const uint8_t *msg, size_t len)
{
    serf_msg_query_response r;
    int rc = serf_msg_query_response_decode(msg, len, &r);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Error decoding query response message: %s", wire_strerror(rc));
        return;
    }
    serf_nq_asked *a = asked_find(&sn->nq, r.ltime);
    if (!a) {
        serf_logf(&sn->log, BASE_LOG_DEBUG, "serf: reply for non-running query (LTime: %llu, ID: %u)",
                  (unsigned long long)r.ltime, r.id);
        return;
    }
    if (a->id != r.id) {
        serf_logf(&sn->log, BASE_LOG_WARN, "serf: query reply ID mismatch (Local: %u, Response: %u)", a->id, r.id);
        return;
    }
    if (now > a->deadline)
        return;
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    char from[256];
    size_t fl = r.from.n < sizeof from - 1 ? r.from.n : sizeof from - 1;
    if (fl)
        memcpy(from, r.from.p, fl);
    from[fl] = 0;
    ev.from = from;
    ev.query_id = a->handle;
    if (r.flags & SERF_QUERY_FLAG_ACK) {
        /* serf has no ack channel unless acks were asked for: dropped */
        if (!a->want_acks || names_has(&a->acks, r.from) || names_add(&a->acks, r.from) != 0)
            return;
        if (a->purpose != SERF_NQ_FOR_APP)
            return;
        ev.type = SERF_EV_QUERY_ACK;
        serf_node_emit(sn, &ev);
        return;
    }
    if (names_has(&a->responses, r.from) || names_add(&a->responses, r.from) != 0)
        return;
    if (a->purpose == SERF_NQ_FOR_VOTE) {
        serf_nq_vote_response(sn, a, r.payload);
        return;
    }
    ev.type = SERF_EV_QUERY_RESPONSE;
    ev.payload = r.payload;
    serf_node_emit(sn, &ev);
}

/* ---- relays ---- */

static void on_relay(serf_node *sn, swim_time now, const uint8_t *msg, size_t len)
{
    serf_msg_relay r;
    int rc = serf_msg_relay_decode(msg, len, &r);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Error decoding relay header: %s", wire_strerror(rc));
        return;
    }
    if ((r.dest_addr.ip.n != 4 && r.dest_addr.ip.n != 16) || r.dest_addr.port < 0 || r.dest_addr.port > 65535) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Error forwarding a relayed message: bad address");
        return;
    }
    serf_nq_send_to(sn, now, r.dest_addr.ip.p, r.dest_addr.ip.n, (uint16_t)r.dest_addr.port, r.inner.p, r.inner.n);
}

void serf_nq_on_message(serf_node *sn, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len)
{
    (void)from;
    if (len == 0)
        return;
    sn->now = now;
    switch (msg[0]) {
    case SERF_MSG_USER_EVENT:
        serf_nq_on_user_event(sn, msg, len);
        break;
    case SERF_MSG_QUERY:
        on_query(sn, now, msg, len);
        break;
    case SERF_MSG_QUERY_RESPONSE:
        on_response(sn, now, msg, len);
        break;
    case SERF_MSG_RELAY:
        on_relay(sn, now, msg, len);
        break;
    default:
        break;
    }
}

/* ---- our own queries ---- */

static int encode_filters(const serf_node_query_opts *o, wire_buf *buf, size_t *ends, size_t *n)
{
    *n = 0;
    if (o->nnodes > 0) {
        wire_bytes *names = calloc(o->nnodes, sizeof *names);
        if (!names)
            return WIRE_ENOMEM;
        for (size_t i = 0; i < o->nnodes; i++)
            names[i] = wire_bytes_of(o->nodes[i], strlen(o->nodes[i]));
        serf_raw_list l = { names, o->nnodes };
        int rc = serf_filter_nodes_encode(buf, &l);
        free(names);
        if (rc != WIRE_OK)
            return rc;
        ends[(*n)++] = buf->len;
    }
    for (size_t i = 0; i < o->ntags; i++) {
        int rc = serf_filter_tag_encode(buf, wire_bytes_of(o->tag_keys[i], strlen(o->tag_keys[i])),
                                        wire_bytes_of(o->tag_exprs[i], strlen(o->tag_exprs[i])));
        if (rc != WIRE_OK)
            return rc;
        ends[(*n)++] = buf->len;
    }
    return WIRE_OK;
}

static serf_nq_asked *asked_add(serf_nq *nq)
{
    if (nq->asked.n == nq->asked.cap) {
        size_t cap = nq->asked.cap ? nq->asked.cap * 2 : 4;
        serf_nq_asked *v = realloc(nq->asked.v, cap * sizeof *v);
        if (!v)
            return NULL;
        nq->asked.v = v;
        nq->asked.cap = cap;
    }
    serf_nq_asked *a = &nq->asked.v[nq->asked.n++];
    memset(a, 0, sizeof *a);
    return a;
}

/* Take back one of our queries whose message could not be sent. What it
 * already reported (our own answers, taken at once) ends with DONE, as
 * any query of the application's. */
static void asked_close(serf_node *sn, uint64_t handle)
{
    serf_nq *nq = &sn->nq;
    for (size_t i = 0; i < nq->asked.n; i++) {
        if (nq->asked.v[i].handle != handle)
            continue;
        serf_nq_asked a = nq->asked.v[i];
        nq->asked.v[i] = nq->asked.v[--nq->asked.n];
        if (a.purpose == SERF_NQ_FOR_APP && (a.acks.n || a.responses.n)) {
            serf_node_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = SERF_EV_QUERY_DONE;
            ev.query_id = a.handle;
            serf_node_emit(sn, &ev);
        }
        asked_release(&a);
        return;
    }
}

int serf_nq_query_send(serf_node *sn, swim_time now, wire_bytes name, wire_bytes payload,
                       const serf_node_query_opts *opts, serf_nq_purpose purpose, uint64_t *handle)
{
    static const serf_node_query_opts none;
    const serf_node_query_opts *o = opts ? opts : &none;
    serf_nq *nq = &sn->nq;
    sn->now = now;
    uint64_t handle_mine = 0, *handle_out = &handle_mine;
    uint64_t timeout_ms = o->timeout_ms;
    if (timeout_ms == 0)
        timeout_ms = serf_query_timeout(serf_nq_num_members(sn), sn->cfg.gossip_interval_ms,
                                        sn->cfg.query_timeout_mult ? sn->cfg.query_timeout_mult
                                                                   : SERF_QUERY_TIMEOUT_MULT);
    if (timeout_ms > (uint64_t)INT64_MAX / 1000000u)
        timeout_ms = (uint64_t)INT64_MAX / 1000000u;

    size_t nfilters = (o->nnodes > 0) + o->ntags;
    size_t *ends = calloc(nfilters + 1, sizeof *ends);
    wire_bytes *filters = calloc(nfilters + 1, sizeof *filters);
    wire_buf fbuf, out;
    wire_buf_init(&fbuf, 0);
    wire_buf_init(&out, 0);
    int rc = ends && filters ? encode_filters(o, &fbuf, ends, &nfilters) : WIRE_ENOMEM;
    if (rc == WIRE_OK) {
        for (size_t i = 0; i < nfilters; i++) {
            size_t start = i ? ends[i - 1] : 0;
            filters[i] = wire_bytes_of(fbuf.data + start, ends[i] - start);
        }
        swim_addr self = serf_node_self_addr(sn);
        serf_msg_query q = {
            .addr = wire_bytes_of(self.ip, self.ip_len),
            /* Go's nil [][]byte when there are no filters */
            .filters = { nfilters ? filters : NULL, nfilters },
            .flags = (o->request_ack ? SERF_QUERY_FLAG_ACK : 0) | (o->no_broadcast ? SERF_QUERY_FLAG_NO_BROADCAST : 0),
            /* Go's uint32(rand.Int31()) */
            .id = (uint32_t)(serf_node_rand(sn) & 0x7fffffffu),
            .ltime = serf_clock_time(&nq->queries.clock),
            .name = name,
            .payload = payload,
            .port = self.port,
            .relay_factor = o->relay_factor,
            .source_node = wire_bytes_of(sn->name, strlen(sn->name)),
            .timeout_ns = (int64_t)(timeout_ms * 1000000u),
        };
        rc = serf_msg_query_encode(&out, &q);
        size_t limit = sn->cfg.query_size_limit ? sn->cfg.query_size_limit : SERF_QUERY_SIZE_LIMIT;
        if (rc == WIRE_OK && out.len > limit)
            rc = WIRE_ELIMIT;
        serf_nq_asked *a = rc == WIRE_OK ? asked_add(nq) : NULL;
        if (rc == WIRE_OK && !a)
            rc = WIRE_ENOMEM;
        if (rc == WIRE_OK) {
            a->handle = nq->next_handle++;
            a->id = q.id;
            a->ltime = q.ltime;
            a->deadline = now + timeout_ms;
            a->want_acks = o->request_ack;
            a->purpose = purpose;
            /* from the node's seed, not its random stream: drawing from
             * that would move every later query ID and relay pick */
            a->acks.key = nq->names_key ^ (a->handle * 0x9e3779b97f4a7c15ull);
            a->responses.key = ~a->acks.key;
            *handle_out = a->handle;
            if (handle)
                *handle = a->handle;
            /* serf handles its own query first (its clock moves past it),
             * then gossips it, whatever the NO_BROADCAST flag says */
            handle_query(sn, now, &q);
            if (serf_node_out_broadcast(sn, out.data, out.len, NULL) != 0) {
                /* serf's queue never refuses it; ours did (full): the
                 * query was never sent, so it is not left open either (a
                 * conflict vote nobody heard would block the next one) */
                asked_close(sn, *handle_out);
                if (handle)
                    *handle = 0;
                rc = WIRE_ENOMEM;
            } else {
                serf_nq_send_direct(sn, &q.filters, out.data, out.len);
            }
            serf_node_update_deadline(sn);
        }
    }
    wire_buf_free(&fbuf);
    wire_buf_free(&out);
    free(ends);
    free(filters);
    return rc;
}

int serf_node_query(serf_node *sn, swim *core, swim_time now, wire_bytes name, wire_bytes payload,
                    const serf_node_query_opts *opts, uint64_t *query_id)
{
    int rc = serf_nq_query_send(sn, now, name, payload, opts, SERF_NQ_FOR_APP, query_id);
    serf_node_flush(sn, core, now);
    return rc;
}

int serf_node_respond(serf_node *sn, swim *core, swim_time now, uint64_t query_id, wire_bytes payload)
{
    sn->now = now;
    serf_nq_asking *q = serf_nq_asking_find(sn, query_id);
    int rc = q ? serf_nq_respond(sn, now, q, payload) : -1;
    serf_node_flush(sn, core, now);
    return rc;
}

/* ---- timers ---- */

void serf_nq_tick(serf_node *sn, swim_time now)
{
    serf_nq *nq = &sn->nq;
    sn->now = now;
    serf_nq_events_tick(sn, now);
    for (size_t i = 0; i < nq->asking.n;) {
        if (now > nq->asking.v[i].deadline)
            asking_remove(nq, i);
        else
            i++;
    }
    /* one at a time: an event handler may not touch us, but the vote's
     * end may shut us down; take the due ones in deadline order */
    for (;;) {
        size_t due = nq->asked.n;
        for (size_t i = 0; i < nq->asked.n; i++)
            if (nq->asked.v[i].deadline <= now && (due == nq->asked.n || nq->asked.v[i].deadline < nq->asked.v[due].deadline))
                due = i;
        if (due == nq->asked.n)
            break;
        serf_nq_asked a = nq->asked.v[due];
        nq->asked.v[due] = nq->asked.v[--nq->asked.n];
        if (a.purpose == SERF_NQ_FOR_VOTE) {
            serf_nq_vote_done(sn, &a);
        } else {
            serf_node_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = SERF_EV_QUERY_DONE;
            ev.query_id = a.handle;
            serf_node_emit(sn, &ev);
        }
        asked_release(&a);
    }
}

swim_time serf_nq_next_deadline(const serf_node *sn)
{
    const serf_nq *nq = &sn->nq;
    swim_time next = serf_nq_events_deadline(sn);
    for (size_t i = 0; i < nq->asked.n; i++)
        if (nq->asked.v[i].deadline < next)
            next = nq->asked.v[i].deadline;
    /* a query we were asked is dropped just after its deadline */
    for (size_t i = 0; i < nq->asking.n; i++)
        if (nq->asking.v[i].deadline + 1 < next)
            next = nq->asking.v[i].deadline + 1;
    return next;
}
