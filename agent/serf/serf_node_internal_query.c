/* serf_node_internal_query: serf's internal queries (internal_query.go):
 * _serf_ping, _serf_conflict and the key operations, answered inside and
 * never reported; the asking side of the key operations (keymanager.go)
 * and the name conflict vote (serf.go handleNodeConflict,
 * resolveNodeConflict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_key.h"
#include "serf/serf_node_internal.h"
#include "serf/serf_tags.h"

#define INTERNAL_PREFIX "_serf_"
/* serf's minEncodedKeyLength: a 16-byte key in base64 plus a little
 * msgpack, to guess how many keys fit in a list-keys answer */
#define MIN_ENCODED_KEY_LENGTH 25

bool serf_nq_is_internal(wire_bytes name)
{
    size_t n = sizeof INTERNAL_PREFIX - 1;
    return name.n >= n && memcmp(name.p, INTERNAL_PREFIX, n) == 0;
}

static bool named(wire_bytes name, const char *op)
{
    size_t pre = sizeof INTERNAL_PREFIX - 1, n = strlen(op);
    return name.n == pre + n && memcmp(name.p + pre, op, n) == 0;
}

/* ---- _serf_conflict: our view of the disputed name ---- */

static void answer_conflict(serf_node *sn, swim_time now, const serf_msg_query *q, serf_nq_asking *ask)
{
    wire_bytes node = q->payload;
    /* about us: the vote is the asker's, and we are one of the two */
    if (node.n == strlen(sn->name) && memcmp(node.p, sn->name, node.n) == 0)
        return;
    char name[256];
    serf_node_member m;
    bool known = false;
    if (node.n < sizeof name && (node.n == 0 || !memchr(node.p, 0, node.n))) {
        if (node.n)
            memcpy(name, node.p, node.n);
        name[node.n] = 0;
        known = serf_node_member_get(sn, name, &m);
    }
    serf_member out;
    memset(&out, 0, sizeof out);
    serf_tags tags = { 0 };
    serf_str_pair *pairs = NULL;
    if (known) {
        out.present = true;
        out.addr = wire_bytes_of(m.addr.ip, m.addr.ip_len);
        out.name = wire_bytes_of(m.name, strlen(m.name));
        out.port = m.addr.port;
        out.protocol_min = m.vsn[0];
        out.protocol_max = m.vsn[1];
        out.protocol_cur = m.vsn[2];
        out.delegate_min = m.vsn[3];
        out.delegate_max = m.vsn[4];
        out.delegate_cur = m.vsn[5];
        out.status = m.status;
        /* serf answers with its decoded tags; meta it cannot read gives
         * what came before the damage, as its decodeTags */
        serf_tags_decode(&tags, m.meta, m.meta_len);
        pairs = calloc(tags.n + 1, sizeof *pairs);
        if (!pairs) {
            serf_tags_free(&tags);
            return;
        }
        for (size_t i = 0; i < tags.n; i++) {
            pairs[i].key = wire_bytes_of(tags.v[i].key, tags.v[i].klen);
            pairs[i].value = wire_bytes_of(tags.v[i].value, tags.v[i].vlen);
        }
        out.tags.v = pairs;
        out.tags.n = tags.n;
    }
    wire_buf buf;
    wire_buf_init(&buf, 0);
    if (serf_msg_conflict_response_encode(&buf, &out) != WIRE_OK)
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to encode conflict query response");
    else if (serf_nq_respond(sn, now, ask, wire_bytes_of(buf.data, buf.len)) != 0)
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to respond to conflict query");
    wire_buf_free(&buf);
    free(pairs);
    serf_tags_free(&tags);
}

/* ---- key operations ---- */

static bool encryption_enabled(const serf_node *sn)
{
    /* serf: a keyring was configured. An empty one is no encryption
     * here, and must not start encrypting because a key was installed. */
    return sn->cfg.keyring && sn->cfg.keyring->n > 0;
}

static void keyring_changed(serf_node *sn)
{
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SERF_EV_KEYRING;
    serf_node_emit(sn, &ev);
}

/* the key of a request: serf reads the payload after its first byte,
 * whatever that byte is */
static int decode_key_request(wire_bytes payload, serf_msg_key_request *req, uint8_t **copy)
{
    *copy = NULL;
    memset(req, 0, sizeof *req);
    if (payload.n < 1)
        return WIRE_ETRUNC;
    uint8_t *c = malloc(payload.n);
    if (!c)
        return WIRE_ENOMEM;
    memcpy(c, payload.p, payload.n);
    c[0] = SERF_MSG_KEY_REQUEST;
    int rc = serf_msg_key_request_decode(c, payload.n, req);
    if (rc != WIRE_OK) {
        free(c);
        return rc;
    }
    *copy = c;
    return WIRE_OK;
}

static void send_key_response(serf_node *sn, swim_time now, serf_nq_asking *ask, const serf_msg_key_response *r)
{
    wire_buf buf;
    wire_buf_init(&buf, 0);
    int rc = serf_msg_key_response_encode(&buf, r);
    if (rc == WIRE_OK)
        rc = serf_nq_respond(sn, now, ask, wire_bytes_of(buf.data, buf.len));
    if (rc != WIRE_OK)
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to respond to key query: %s",
                  rc == WIRE_ELIMIT ? "response exceeds limit" : wire_strerror(rc));
    wire_buf_free(&buf);
}

static void answer_key_change(serf_node *sn, swim_time now, const serf_msg_query *q, serf_nq_asking *ask)
{
    serf_msg_key_response resp = { .result = false };
    const char *msg = NULL;
    serf_msg_key_request req;
    uint8_t *copy = NULL;
    int rc = decode_key_request(q->payload, &req, &copy);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to decode key request: %s", wire_strerror(rc));
        goto send;
    }
    if (!encryption_enabled(sn)) {
        msg = "No keyring to modify (encryption not enabled)";
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: %s", msg);
        goto send;
    }
    wire_keyring *kr = sn->cfg.keyring;
    if (named(q->name, "install-key")) {
        serf_logf(&sn->log, BASE_LOG_INFO, "serf: Received install-key query");
        rc = wire_keyring_add(kr, req.key.p, req.key.n);
        if (rc == WIRE_ERANGE)
            msg = "key size must be 16, 24 or 32 bytes";
        else if (rc != WIRE_OK)
            msg = "keyring is full";
    } else if (named(q->name, "use-key")) {
        serf_logf(&sn->log, BASE_LOG_INFO, "serf: Received use-key query");
        if (wire_keyring_use(kr, req.key.p, req.key.n) != WIRE_OK)
            msg = "Requested key is not in the keyring";
    } else {
        serf_logf(&sn->log, BASE_LOG_INFO, "serf: Received remove-key query");
        if (wire_keyring_remove(kr, req.key.p, req.key.n) != WIRE_OK)
            msg = "Removing the primary key is not allowed";
    }
    if (msg) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to change the keyring: %s", msg);
        goto send;
    }
    resp.result = true;
    keyring_changed(sn);
send:
    if (msg)
        resp.message = wire_bytes_of(msg, strlen(msg));
    send_key_response(sn, now, ask, &resp);
    free(copy);
}

/* serf's keyListResponseWithCorrectSize: as many keys as fit, with a
 * message saying how many were left out */
static void answer_list_keys(serf_node *sn, swim_time now, serf_nq_asking *ask)
{
    serf_msg_key_response resp = { .result = false };
    char b64[WIRE_KEYRING_MAX][WIRE_KEY_B64_MAX];
    wire_bytes keys[WIRE_KEYRING_MAX];
    char primary[WIRE_KEY_B64_MAX];
    char trunc[96];
    size_t actual = 0;
    if (!encryption_enabled(sn)) {
        const char *msg = "Keyring is empty (encryption not enabled)";
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: %s", msg);
        resp.message = wire_bytes_of(msg, strlen(msg));
        send_key_response(sn, now, ask, &resp);
        return;
    }
    serf_logf(&sn->log, BASE_LOG_INFO, "serf: Received list-keys query");
    const wire_keyring *kr = sn->cfg.keyring;
    actual = kr->n;
    for (size_t i = 0; i < kr->n; i++) {
        size_t n = wire_key_to_base64(kr->keys[i].bytes, kr->keys[i].len, b64[i]);
        keys[i] = wire_bytes_of(b64[i], n);
    }
    size_t pn = wire_key_to_base64(kr->keys[0].bytes, kr->keys[0].len, primary);
    resp.keys.v = keys;
    resp.keys.n = actual;
    resp.primary_key = wire_bytes_of(primary, pn);
    resp.result = true;

    size_t limit = serf_nq_response_limit(sn);
    size_t from_len = strlen(sn->name);
    for (size_t i = limit / MIN_ENCODED_KEY_LENGTH + 1; i-- > 0;) {
        wire_buf buf, whole;
        wire_buf_init(&buf, 0);
        wire_buf_init(&whole, 0);
        int rc = serf_msg_key_response_encode(&buf, &resp);
        serf_msg_query_response qr = {
            .ltime = ask->ltime, .id = ask->id, .from = wire_bytes_of(sn->name, from_len),
            .payload = wire_bytes_of(buf.data, buf.len),
        };
        if (rc == WIRE_OK)
            rc = serf_msg_query_response_encode(&whole, &qr);
        size_t whole_len = whole.len;
        if (rc == WIRE_OK && whole_len <= limit) {
            if (actual > resp.keys.n)
                serf_logf(&sn->log, BASE_LOG_WARN, "serf: %.*s", (int)resp.message.n, (const char *)resp.message.p);
            rc = serf_nq_respond(sn, now, ask, wire_bytes_of(buf.data, buf.len));
            if (rc != WIRE_OK)
                serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to respond to key query: %s", wire_strerror(rc));
        }
        wire_buf_free(&buf);
        wire_buf_free(&whole);
        if (rc != WIRE_OK)
            return;
        if (whole_len <= limit)
            return;
        size_t keep = i < actual ? i : actual;
        resp.keys.n = keep;
        int tn = snprintf(trunc, sizeof trunc, "truncated key list response, showing first %zu of %zu keys", i,
                          actual);
        resp.message = wire_bytes_of(trunc, (size_t)tn);
    }
    serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to truncate response so that it fits into message");
}

void serf_nq_internal_query(serf_node *sn, swim_time now, const serf_msg_query *q, serf_nq_asking *ask)
{
    if (named(q->name, "ping"))
        return; /* the ack, if asked, went already */
    if (named(q->name, "conflict")) {
        answer_conflict(sn, now, q, ask);
    } else if (named(q->name, "install-key") || named(q->name, "use-key") || named(q->name, "remove-key")) {
        answer_key_change(sn, now, q, ask);
    } else if (named(q->name, "list-keys")) {
        answer_list_keys(sn, now, ask);
    } else {
        size_t pre = sizeof INTERNAL_PREFIX - 1;
        serf_logf(&sn->log, BASE_LOG_WARN, "serf: Unhandled internal query '%.*s'",
                  (int)(q->name.n - pre > 200 ? 200 : q->name.n - pre), (const char *)q->name.p + pre);
    }
}

/* ---- the asking side of the key operations ---- */

int serf_node_key_query(serf_node *sn, swim *core, swim_time now, serf_key_op op, const uint8_t *key,
                        size_t key_len, uint8_t relay_factor, uint64_t *query_id, size_t *num_nodes)
{
    static const char *const names[] = {
        [SERF_KEY_INSTALL] = INTERNAL_PREFIX "install-key",
        [SERF_KEY_USE] = INTERNAL_PREFIX "use-key",
        [SERF_KEY_REMOVE] = INTERNAL_PREFIX "remove-key",
        [SERF_KEY_LIST] = INTERNAL_PREFIX "list-keys",
    };
    if ((unsigned)op > SERF_KEY_LIST)
        return WIRE_ERANGE;
    /* serf's KeyManager sends the base64-decoded key, an empty one for
     * list-keys (Go's []byte{} from decoding "") */
    serf_msg_key_request req = { .key = op == SERF_KEY_LIST ? wire_bytes_of("", 0) : wire_bytes_of(key, key_len) };
    if (!req.key.p)
        req.key = wire_bytes_of("", 0);
    wire_buf buf;
    wire_buf_init(&buf, 0);
    int rc = serf_msg_key_request_encode(&buf, &req);
    serf_node_query_opts opts = { .relay_factor = relay_factor };
    if (rc == WIRE_OK)
        rc = serf_nq_query_send(sn, now, wire_bytes_of(names[op], strlen(names[op])), wire_bytes_of(buf.data, buf.len),
                                &opts, SERF_NQ_FOR_APP, query_id);
    /* serf's KeyManager reads NumMembers after sending */
    if (num_nodes)
        *num_nodes = serf_nq_num_members(sn);
    wire_buf_free(&buf);
    serf_node_flush(sn, core, now);
    return rc;
}

/* ---- the name conflict vote ---- */

/* Go's net.IP.Equal: an IPv4 address equals its IPv4-in-IPv6 form */
static bool ip_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    static const uint8_t v4in6[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (an == bn)
        return memcmp(a, b, an) == 0;
    if (an == 4 && bn == 16)
        return memcmp(b, v4in6, 12) == 0 && memcmp(b + 12, a, 4) == 0;
    if (an == 16 && bn == 4)
        return memcmp(a, v4in6, 12) == 0 && memcmp(a + 12, b, 4) == 0;
    return false;
}

/* "a.b.c.d:port" or "[v6]:port", for the logs */
static void addr_text(const swim_addr *a, char *out, size_t n)
{
    if (a->ip_len == 4) {
        snprintf(out, n, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3], (unsigned)a->port);
        return;
    }
    size_t o = 0;
    o += (size_t)snprintf(out + o, n - o, "[");
    for (size_t i = 0; i + 1 < a->ip_len && o < n; i += 2)
        o += (size_t)snprintf(out + o, n - o, "%s%x", i ? ":" : "", (unsigned)(a->ip[i] << 8 | a->ip[i + 1]));
    if (o < n)
        snprintf(out + o, n - o, "]:%u", (unsigned)a->port);
}

void serf_nq_on_conflict(serf_node *sn, swim_time now, const swim_event *ev)
{
    const swim_member *m = &ev->member;
    char mine[64], other[64];
    addr_text(&m->addr, mine, sizeof mine);
    addr_text(&ev->other, other, sizeof other);
    if (!m->name || strcmp(m->name, sn->name) != 0) {
        serf_logf(&sn->log, BASE_LOG_WARN, "serf: Name conflict for '%s' both %s and %s are claiming",
                  m->name ? m->name : "", mine, other);
        return;
    }
    serf_logf(&sn->log, BASE_LOG_ERROR,
              "serf: Node name conflicts with another node at %s. Names must be unique! (Resolution enabled: %s)",
              other, sn->cfg.disable_name_resolution ? "false" : "true");
    /* serf starts a vote for every conflict it hears of; one at a time is
     * enough to decide and keeps a flood of conflicts from flooding the
     * cluster with votes */
    if (sn->cfg.disable_name_resolution || sn->nq.voting)
        return;
    wire_bytes name = wire_bytes_of("_serf_conflict", sizeof "_serf_conflict" - 1);
    uint64_t handle;
    if (serf_nq_query_send(sn, now, name, wire_bytes_of(sn->name, strlen(sn->name)), NULL, SERF_NQ_FOR_VOTE,
                           &handle) != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to start name resolution query");
        return;
    }
    sn->nq.voting = true;
}

void serf_nq_vote_response(serf_node *sn, serf_nq_asked *a, wire_bytes payload)
{
    if (payload.n < 1 || payload.p[0] != SERF_MSG_CONFLICT_RESPONSE) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Invalid conflict query response type");
        return;
    }
    serf_member m;
    if (serf_msg_conflict_response_decode(payload.p, payload.n, &m) != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "serf: Failed to decode conflict query response");
        return;
    }
    a->vote_responses++;
    swim_addr self = serf_node_self_addr(sn);
    /* a nil member (the name unknown there) counts, as Go's zero Member */
    if (m.present && ip_equal(m.addr.p, m.addr.n, self.ip, self.ip_len) && m.port == self.port)
        a->vote_matching++;
    serf_member_free(&m);
}

void serf_nq_vote_done(serf_node *sn, serf_nq_asked *a)
{
    sn->nq.voting = false;
    unsigned majority = a->vote_responses / 2 + 1;
    if (a->vote_matching >= majority) {
        serf_logf(&sn->log, BASE_LOG_INFO, "serf: majority in name conflict resolution [%u / %u]", a->vote_matching,
                  a->vote_responses);
        return;
    }
    serf_logf(&sn->log, BASE_LOG_WARN, "minority in name conflict resolution, quiting [%u / %u]",
              a->vote_matching, a->vote_responses);
    serf_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SERF_EV_SHUTDOWN;
    serf_node_emit(sn, &ev);
}
