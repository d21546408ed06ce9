/* swim_pushpull: full state exchange over a stream (§4.10, §6.2, §12):
 * encoding our table, parsing a peer's, the version check (§9.2) and the
 * merge rules (a remote "dead" is only trusted as "suspect"); joins and
 * the periodic anti-entropy timer. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* memberlist 0.6.0's limits on a push/pull header (§6.1): more nodes or a
 * larger user state than this is an attack or a bug. */
#define PUSH_PULL_MAX_NODES 1048576
#define PUSH_PULL_MAX_USER_STATE ((int64_t)20 << 20)
/* Smallest encoding of a node state we accept: a map with at least its
 * Name key ("a4 Name" + a value) takes more than 7 bytes. Bounding the
 * declared count by the bytes present bounds what we allocate. */
#define PUSH_NODE_MIN_BYTES 8

/* A member's state crosses the wire as the number it has here. */
_Static_assert((int)SWIM_ALIVE == WIRE_STATE_ALIVE && (int)SWIM_SUSPECT == WIRE_STATE_SUSPECT &&
                   (int)SWIM_DEAD == WIRE_STATE_DEAD && (int)SWIM_LEFT == WIRE_STATE_LEFT,
               "swim_state and the wire's node states must agree");

swim_time swim_push_pull_scale(uint32_t interval, size_t n)
{
    /* Past 32 nodes the interval grows with log2(n), so that the cluster's
     * total push/pull load grows slower than its size. */
    if (n <= 32)
        return interval;
    /* memberlist: ceil(log2(n) - log2(32)) + 1, here in integers (no libm
     * on this path: base_libm.c): k - 4 for the smallest k with 2^k >= n */
    uint32_t k = 6;
    while (k < 64 && ((uint64_t)1 << k) < (uint64_t)n)
        k++;
    return (swim_time)(k - 4) * interval;
}

/* How far ahead encoding the table starts loading nodes (their first two
 * lines: state, versions, address, name): each is its own allocation, out
 * of the cache in a large simulation, and the loop would otherwise wait for
 * each in turn. At 3,000 simulated nodes encode_nodes went from 5.2-5.4 %
 * of the samples to 0.9 (docs/sim-speed.md). */
#define ENCODE_AHEAD 8

/* Every member's state, in table order: a push/pull's body. */
static int encode_nodes(const swim *s, wire_buf *out)
{
    for (size_t i = 0; i < s->members.n; i++) {
        if (i + ENCODE_AHEAD < s->members.n) {
            const swim_node *ahead = s->members.nodes[i + ENCODE_AHEAD];
            __builtin_prefetch(ahead);
            __builtin_prefetch((const char *)ahead + 64);
        }
        const swim_node *n = s->members.nodes[i];
        wire_push_node_state ns;
        memset(&ns, 0, sizeof ns);
        ns.addr = wire_bytes_of(n->addr.ip, n->addr.ip_len);
        ns.incarnation = n->incarnation;
        ns.meta = n->meta_len ? wire_bytes_of(swim_node_meta(n), n->meta_len) : wire_bytes_of(NULL, 0);
        ns.name = wire_bytes_of(n->name, n->name_len);
        ns.port = n->addr.port;
        ns.state = (int64_t)n->state; /* the same numbers: see below */
        memcpy(ns.vsn.v, n->vsn, 6);
        ns.vsn.len = 6;
        if (wire_encode_push_node_state(out, &ns, WIRE_INT_GO_MSGPACK_V0) != WIRE_OK)
            return -1;
    }
    return 0;
}

void swim_pp_cache_free(swim *s)
{
    free(s->pp_cache.bytes);
    s->pp_cache.bytes = NULL;
    s->pp_cache.len = 0;
}

/* The node states from the cache when it holds this table; otherwise
 * encoded afresh, and kept when the table is the one the last reply
 * carried too. A seed answers a burst of joins' second push/pulls with an
 * unchanged table (thousands at 5,000 nodes, docs/sim-speed.md); a node
 * that answers once in a while keeps nothing (a table of N members is
 * about 70 N bytes, N cores would hold N² of them). */
static int encode_nodes_cached(swim *s, wire_buf *out)
{
    uint64_t gen = s->members.gen;
    if (s->pp_cache.bytes && s->pp_cache.gen == gen) {
        if (wire_buf_append(out, s->pp_cache.bytes, s->pp_cache.len) != WIRE_OK)
            return -1;
#ifndef NDEBUG
        /* a change that did not bump the gen would show here */
        wire_buf fresh;
        wire_buf_init(&fresh, out->max);
        assert(encode_nodes(s, &fresh) == 0 && fresh.len == s->pp_cache.len &&
               memcmp(fresh.data, s->pp_cache.bytes, fresh.len) == 0);
        wire_buf_free(&fresh);
#endif
        return 0;
    }
    swim_pp_cache_free(s);
    size_t at = out->len;
    if (encode_nodes(s, out) != 0)
        return -1;
    bool again = s->pp_cache.last_gen == gen;
    s->pp_cache.last_gen = gen;
    size_t len = out->len - at;
    if (again && len > 0) {
        s->pp_cache.bytes = malloc(len);
        if (s->pp_cache.bytes) { /* without it, the next reply encodes afresh */
            memcpy(s->pp_cache.bytes, out->data + at, len);
            s->pp_cache.len = len;
            s->pp_cache.gen = gen;
        }
    }
    return 0;
}

static int encode_state(swim *s, wire_buf *out, bool join, bool cached)
{
    const uint8_t *user = NULL;
    size_t ulen = 0;
    if (s->io.delegate.local_state)
        s->io.delegate.local_state(s->io.delegate.ud, join, &user, &ulen);
    if (!user)
        ulen = 0;
    wire_push_pull_header h = { join, (int64_t)s->members.n, (int64_t)ulen };
    if (wire_encode_push_pull_header(out, &h, WIRE_INT_GO_MSGPACK_V0) != WIRE_OK)
        return -1;
    if ((cached ? encode_nodes_cached(s, out) : encode_nodes(s, out)) != 0)
        return -1;
    if (ulen && wire_buf_append(out, user, ulen) != WIRE_OK)
        return -1;
    return 0;
}

int swim_encode_local_state(swim *s, wire_buf *out, bool join) { return encode_state(s, out, join, false); }

int swim_encode_reply_state(swim *s, wire_buf *out, bool join) { return encode_state(s, out, join, true); }

void swim_remote_free(swim_remote_state *rs)
{
    free(rs->nodes);
    memset(rs, 0, sizeof *rs);
}

int swim_parse_remote(swim *s, const uint8_t *msg, size_t len, swim_remote_state *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1 || msg[0] != WIRE_PUSH_PULL)
        return -1;
    const uint8_t *p = msg + 1, *end = msg + len;
    wire_push_pull_header h;
    size_t used = 0;
    int rc = wire_decode_push_pull_header(p, (size_t)(end - p), &h, &used);
    if (rc != WIRE_OK) {
        swim_logf(s, BASE_LOG_ERROR, "push/pull: bad header: %s", wire_strerror(rc));
        return -1;
    }
    p += used;
    if (h.nodes < 0 || h.nodes > PUSH_PULL_MAX_NODES || h.user_state_len < 0 ||
        h.user_state_len > PUSH_PULL_MAX_USER_STATE || (uint64_t)h.nodes > (size_t)(end - p) / PUSH_NODE_MIN_BYTES) {
        swim_logf(s, BASE_LOG_ERROR, "push/pull: header out of range (%lld nodes, %lld bytes of user state)",
                  (long long)h.nodes, (long long)h.user_state_len);
        return -1;
    }
    out->join = h.join;
    if (h.nodes > 0) {
        out->nodes = calloc((size_t)h.nodes, sizeof *out->nodes);
        if (!out->nodes)
            return -1;
    }
    for (int64_t i = 0; i < h.nodes; i++) {
        rc = wire_decode_push_node_state(p, (size_t)(end - p), &out->nodes[i], &used);
        if (rc != WIRE_OK) {
            swim_logf(s, BASE_LOG_ERROR, "push/pull: bad node state %lld: %s", (long long)i, wire_strerror(rc));
            swim_remote_free(out);
            return -1;
        }
        p += used;
    }
    out->n = (size_t)h.nodes;
    if ((size_t)(end - p) < (size_t)h.user_state_len) {
        swim_logf(s, BASE_LOG_ERROR, "push/pull: user state truncated");
        swim_remote_free(out);
        return -1;
    }
    out->user = p;
    out->user_len = (size_t)h.user_state_len;
    return 0;
}

/* memberlist verifyProtocol (§9.2): every node, theirs and ours, must speak
 * a version that every alive node understands. */
static int verify_protocol(swim *s, const swim_remote_state *rs)
{
    unsigned maxpmin = 0, minpmax = 255, maxdmin = 0, mindmax = 255;
    for (size_t i = 0; i < rs->n; i++) {
        const wire_push_node_state *r = &rs->nodes[i];
        /* memberlist leaves out entries without the five bytes it reads */
        if (r->state != WIRE_STATE_ALIVE || r->vsn.len < 5)
            continue;
        if (r->vsn.v[0] > maxpmin) maxpmin = r->vsn.v[0];
        if (r->vsn.v[1] < minpmax) minpmax = r->vsn.v[1];
        if (r->vsn.v[3] > maxdmin) maxdmin = r->vsn.v[3];
        if (r->vsn.v[4] < mindmax) mindmax = r->vsn.v[4];
    }
    for (size_t i = 0; i < s->members.n; i++) {
        const swim_node *n = s->members.nodes[i];
        if (n->state != SWIM_ALIVE)
            continue;
        if (n->vsn[0] > maxpmin) maxpmin = n->vsn[0];
        if (n->vsn[1] < minpmax) minpmax = n->vsn[1];
        if (n->vsn[3] > maxdmin) maxdmin = n->vsn[3];
        if (n->vsn[4] < mindmax) mindmax = n->vsn[4];
    }
    for (size_t i = 0; i < rs->n; i++) {
        const wire_push_node_state *r = &rs->nodes[i];
        /* and reads the current versions only from a whole Vsn: a shorter
         * one counts as 0, incompatible */
        unsigned pcur = r->vsn.len >= 6 ? r->vsn.v[2] : 0, dcur = r->vsn.len >= 6 ? r->vsn.v[5] : 0;
        if (pcur < maxpmin || pcur > minpmax) {
            swim_logf(s, BASE_LOG_ERROR, "node '%.*s' protocol version (%u) is incompatible: [%u, %u]", (int)r->name.n,
                      (const char *)r->name.p, pcur, maxpmin, minpmax);
            return -1;
        }
        if (dcur < maxdmin || dcur > mindmax) {
            swim_logf(s, BASE_LOG_ERROR, "node '%.*s' delegate protocol version (%u) is incompatible: [%u, %u]", (int)r->name.n,
                      (const char *)r->name.p, dcur, maxdmin, mindmax);
            return -1;
        }
    }
    for (size_t i = 0; i < s->members.n; i++) {
        const swim_node *n = s->members.nodes[i];
        if (n->vsn[2] < maxpmin || n->vsn[2] > minpmax) {
            swim_logf(s, BASE_LOG_ERROR, "node '%s' protocol version (%u) is incompatible: [%u, %u]", n->name, n->vsn[2], maxpmin,
                      minpmax);
            return -1;
        }
        if (n->vsn[5] < maxdmin || n->vsn[5] > mindmax) {
            swim_logf(s, BASE_LOG_ERROR, "node '%s' delegate protocol version (%u) is incompatible: [%u, %u]", n->name, n->vsn[5],
                      maxdmin, mindmax);
            return -1;
        }
    }
    return 0;
}

static int allow_merge(swim *s, const swim_remote_state *rs)
{
    /* every name whole, NUL-terminated, in one buffer */
    size_t total = 0;
    for (size_t i = 0; i < rs->n; i++)
        total += rs->nodes[i].name.n + 1;
    swim_member *v = calloc(rs->n ? rs->n : 1, sizeof *v);
    char *names = malloc(total ? total : 1);
    int rc = -1;
    if (!v || !names)
        goto out;
    char *nm = names;
    for (size_t i = 0; i < rs->n; i++) {
        const wire_push_node_state *r = &rs->nodes[i];
        if (r->name.n)
            memcpy(nm, r->name.p, r->name.n);
        nm[r->name.n] = 0;
        v[i].name = nm;
        nm += r->name.n + 1;
        swim_addr_from_bytes(&v[i].addr, r->addr, r->port);
        v[i].state = r->state >= WIRE_STATE_ALIVE && r->state <= WIRE_STATE_LEFT ? (swim_state)r->state : SWIM_DEAD;
        v[i].incarnation = r->incarnation;
        v[i].meta = r->meta.p;
        v[i].meta_len = r->meta.n;
        memcpy(v[i].vsn, r->vsn.v, 6);
    }
    const char *reason = NULL;
    if (s->io.delegate.allow_merge(s->io.delegate.ud, v, rs->n, &reason)) {
        rc = 0;
    } else {
        swim_logf(s, BASE_LOG_WARN, "merge vetoed: %s", reason ? reason : "(no reason)");
    }
out:
    free(v);
    free(names);
    return rc;
}

/* Each entry merged looks its member up, in a table that (in the
 * simulator, thousands of cores in one process) is out of the cache: the
 * bucket, then the node, then maybe the next in its chain, each a miss
 * waiting for the one before. So the loads are started ahead, as
 * swim_dispatch.c does for a packet's parts: entry i + MERGE_AHEAD's
 * bucket, i + MERGE_AHEAD/2's node (its bucket loaded by now), and the
 * chain's next for i + MERGE_AHEAD/4. The same for the broadcast queue's
 * key table (its slot, then the entry it leads to), where the alive about
 * a new or changed member is queued: 6 % of a 3,000-node run's wall time
 * (docs/sim-speed.md). Hints only: the merge is the same, and a table
 * grown meanwhile only makes a hint miss. */
#define MERGE_AHEAD 16
/* The hashes kept: entry i's is still there when i is merged (the one for
 * i + MERGE_AHEAD goes in another slot), for swim_members_find_hashed. */
#define MERGE_HASHES (2 * MERGE_AHEAD)

static void prefetch_ahead(swim *s, const swim_remote_state *rs, size_t i, uint32_t *hash)
{
    const wire_push_node_state *v = rs->nodes;
    size_t far = i + MERGE_AHEAD, mid = i + MERGE_AHEAD / 2, near = i + MERGE_AHEAD / 4;
    if (i == 0) { /* the first entries had no earlier rounds */
        for (size_t j = 0; j < MERGE_AHEAD && j < rs->n; j++)
            hash[j % MERGE_HASHES] = swim_members_prefetch(&s->members, (const char *)v[j].name.p, v[j].name.n);
        for (size_t j = 0; j < mid && j < rs->n; j++)
            swim_members_prefetch_node(&s->members, hash[j % MERGE_HASHES], v[j].name.n);
    }
    if (mid < rs->n) {
        swim_members_prefetch_node(&s->members, hash[mid % MERGE_HASHES], v[mid].name.n);
        swim_queue_prefetch_key_head(&s->bq, hash[mid % MERGE_HASHES]);
    }
    if (near < rs->n)
        swim_members_prefetch_next(&s->members, hash[near % MERGE_HASHES], v[near].name.n);
    /* entry i's slot: its hints are given */
    if (far < rs->n) {
        uint32_t h = swim_members_prefetch(&s->members, (const char *)v[far].name.p, v[far].name.n);
        hash[far % MERGE_HASHES] = h;
        swim_queue_prefetch_key(&s->bq, h);
    }
}

int swim_merge_remote(swim *s, const swim_remote_state *rs)
{
    if (verify_protocol(s, rs) != 0)
        return -1;
    if (rs->join && s->io.delegate.allow_merge && allow_merge(s, rs) != 0)
        return -1;
    /* The table ends with at least every alive entry and what it held:
     * grown to that once (a joiner merging its seed's table adds them all) */
    size_t alive = 0;
    for (size_t i = 0; i < rs->n; i++)
        alive += rs->nodes[i].state == WIRE_STATE_ALIVE;
    if (alive > s->cfg.max_members)
        alive = s->cfg.max_members;
    if (alive > s->members.n)
        swim_members_reserve(&s->members, alive);
    uint32_t hash[MERGE_HASHES];
    for (size_t i = 0; i < rs->n; i++) {
        prefetch_ahead(s, rs, i, hash);
        const wire_push_node_state *r = &rs->nodes[i];
        const char *name = (const char *)r->name.p;
        if (r->name.n == 0)
            continue;
        switch (r->state) {
        case WIRE_STATE_ALIVE: {
            if (swim_alive_is_repeat(s, r->name, hash[i % MERGE_HASHES], r->incarnation, r->addr, r->port, &r->vsn))
                break;
            swim_alive_in a;
            if (swim_alive_from_wire(s, &a, r->name, r->incarnation, r->addr, r->port, r->meta, &r->vsn))
                break;
            a.hashed = true;
            a.hash = hash[i % MERGE_HASHES];
            swim_alive_node(s, &a, false);
            break;
        }
        case WIRE_STATE_LEFT:
            swim_dead_node(s, name, r->name.n, r->incarnation, name, r->name.n);
            break;
        case WIRE_STATE_DEAD:
        case WIRE_STATE_SUSPECT:
            /* a remote "dead" is only trusted as far as "suspect" */
            swim_suspect_node(s, name, r->name.n, r->incarnation, s->self->name, s->self->name_len);
            break;
        default:
            break;
        }
    }
    if (rs->user_len > 0 && s->io.delegate.merge_remote_state)
        s->io.delegate.merge_remote_state(s->io.delegate.ud, rs->user, rs->user_len, rs->join);
    return 0;
}

void swim_push_pull_start(swim *s, const swim_addr *to, bool join, uint64_t join_id)
{
    swim_push_pull_open(s, to, join, join_id, !join);
}

void swim_push_pull_open(swim *s, const swim_addr *to, bool join, uint64_t join_id, bool periodic)
{
    swim_pending_stream *ps = swim_stream_add(s, STREAM_PUSH_PULL);
    if (!ps) {
        /* out of memory to track it: failed at once, so that a join batch
         * still finishes and the periodic timer runs again */
        swim_pending_stream lost = { .kind = STREAM_PUSH_PULL, .join = join, .join_id = join_id, .periodic = periodic };
        swim_logf(s, BASE_LOG_ERROR, "out of memory starting a push/pull");
        swim_push_pull_done(s, &lost, NULL, 0);
        return;
    }
    ps->join = join;
    ps->join_id = join_id;
    ps->periodic = periodic;
    ps->to = *to;
    uint64_t id = ps->id;
    wire_buf b;
    wire_buf_init(&b, 0);
    if (swim_encode_local_state(s, &b, join) != 0) {
        wire_buf_free(&b);
        swim_logf(s, BASE_LOG_ERROR, "push/pull: cannot encode our state");
        swim_open_stream(s, id, SWIM_STREAM_PUSH_PULL, to, NULL, 0, true, s->now, 0); /* reported as failed */
        return;
    }
    /* memberlist's sendAndReceiveState: dial, write and read get a fresh
     * TCPTimeout each */
    swim_open_stream(s, id, SWIM_STREAM_PUSH_PULL, to, b.data, b.len, true, s->now + s->cfg.tcp_timeout,
                     s->cfg.tcp_timeout);
    wire_buf_free(&b);
}

static bool pp_ok(const swim *s, const swim_node *n, const void *arg)
{
    (void)arg;
    return n != s->self && n->state == SWIM_ALIVE;
}

void swim_push_pull_tick(swim *s)
{
    if (s->join_followup_at <= s->now) {
        s->join_followup_at = SWIM_NEVER;
        if (!s->leaving)
            swim_push_pull_open(s, &s->join_followup_to, false, 0, false);
    }
    if (s->push_pull_tick > s->now || s->push_pull_running)
        return;
    if (!s->push_pull_staggered) {
        s->push_pull_staggered = true;
        s->push_pull_tick = s->now + swim_push_pull_scale(s->cfg.push_pull_interval, s->members.n);
        return;
    }
    swim_node *peer;
    if (swim_random_nodes(s, 1, &peer, pp_ok, NULL) == 0) {
        s->push_pull_tick = s->now + swim_push_pull_scale(s->cfg.push_pull_interval, s->members.n);
        return;
    }
    s->push_pull_running = true;
    s->push_pull_tick = SWIM_NEVER;
    swim_push_pull_start(s, &peer->addr, false, 0);
}

static void join_result(swim *s, uint64_t join_id, bool ok)
{
    for (size_t i = 0; i < s->njoins; i++) {
        swim_join_batch *b = &s->joins[i];
        if (b->id != join_id)
            continue;
        if (ok)
            b->ok++;
        if (--b->pending > 0)
            return;
        swim_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SWIM_EV_JOIN_DONE;
        ev.count = b->ok;
        ev.join_id = join_id;
        s->joins[i] = s->joins[--s->njoins];
        swim_emit_event(s, &ev);
        return;
    }
}

void swim_push_pull_done(swim *s, const swim_pending_stream *ps, const uint8_t *reply, size_t len)
{
    bool ok = false;
    if (!reply) {
        swim_logf(s, BASE_LOG_ERROR, "push/pull failed: no reply");
    } else if (len > 0 && reply[0] == WIRE_ERR) {
        wire_errmsg e;
        memset(&e, 0, sizeof e);
        wire_decode_err(reply + 1, len - 1, &e, NULL);
        swim_logf(s, BASE_LOG_ERROR, "push/pull: remote error: %.*s", (int)e.error.n, e.error.p ? (const char *)e.error.p : "");
    } else {
        swim_remote_state rs;
        if (swim_parse_remote(s, reply, len, &rs) == 0) {
            /* memberlist's pushPullNode merges the reply with its own join
             * flag: whether the merge filter runs, and what the delegate is
             * told, is ours to say, not the peer's echo */
            rs.join = ps->join;
            ok = swim_merge_remote(s, &rs) == 0;
            swim_remote_free(&rs);
        } else {
            swim_count_drop(s, WIRE_PUSH_PULL, 1);
        }
    }
    if (ps->join && ok && s->join_followup_at == SWIM_NEVER) {
        s->join_followup_at = s->now + SWIM_JOIN_FOLLOWUP_MS;
        s->join_followup_to = ps->to;
    }
    if (ps->join)
        join_result(s, ps->join_id, ok);
    if (ps->periodic) {
        s->push_pull_running = false;
        s->push_pull_tick = s->now + swim_push_pull_scale(s->cfg.push_pull_interval, s->members.n);
    }
}
