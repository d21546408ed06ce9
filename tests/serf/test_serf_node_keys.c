/* The key side of serf_node: the internal key queries answered byte for
 * byte as serf 0.9.4 answers them (tests/fixtures/serf: key responses
 * made by serf's own encoder), the keyring changed in place as
 * memberlist's Keyring does, the conflict answer, and the asking side's
 * tally (serf_keys, serf's KeyManager). */
#include "serf/serf_keys.h"
#include "serf/serf_msg_key.h"
#include "serf_node_harness.h"

static uint64_t next_ltime = 7;

/* A query as a serf node n1 at 127.0.0.1:17946 sends it. */
static void asker_query(wire_buf *out, const char *name, wire_bytes payload, uint32_t flags, uint8_t relay)
{
    static const uint8_t ip[4] = { 127, 0, 0, 1 };
    serf_msg_query q = {
        .addr = wire_bytes_of(ip, 4), .flags = flags, .id = 4000000000u, .ltime = next_ltime++,
        .name = wire_bytes_of(name, strlen(name)), .payload = payload, .port = 17946, .relay_factor = relay,
        .source_node = wire_bytes_of("n1", 2), .timeout_ns = 10ll * 1000 * 1000 * 1000,
    };
    wire_buf_reset(out);
    REQUIRE(serf_msg_query_encode(out, &q) == WIRE_OK);
}

static void key_query(wire_buf *out, const char *op, const uint8_t *key, size_t len)
{
    serf_msg_key_request req = { .key = wire_bytes_of(key ? (const void *)key : "", len) };
    wire_buf p;
    wire_buf_init(&p, 0);
    REQUIRE(serf_msg_key_request_encode(&p, &req) == WIRE_OK);
    char name[64];
    snprintf(name, sizeof name, "_serf_%s", op);
    asker_query(out, name, wire_bytes_of(p.data, p.len), 0, 0);
    wire_buf_free(&p);
}

/* The one answer node i queued for the asker (127.0.0.1:17946): its
 * payload copied to `payload`; returns the payload length, or -1 when
 * there was none. */
static long answer_to_asker(hn_bench *b, int i, uint8_t *payload, size_t cap)
{
    hn_out o = hn_take(b, i);
    long got = -1;
    for (size_t k = 0; k < o.n; k++) {
        serf_node_out *m = &o.v[k];
        if (!m->to_addr || m->to.port != 17946 || m->to.ip[0] != 127 || m->to.ip[3] != 1)
            continue;
        serf_msg_query_response r;
        REQUIRE(serf_msg_query_response_decode(m->msg, m->len, &r) == WIRE_OK);
        CHECK_EQ_INT(r.id, 4000000000u);
        CHECK(r.from.n == 2 && memcmp(r.from.p, "n2", 2) == 0);
        if (r.flags & SERF_QUERY_FLAG_ACK)
            continue;
        CHECK(got < 0);
        REQUIRE(r.payload.n <= cap);
        memcpy(payload, r.payload.p, r.payload.n);
        got = (long)r.payload.n;
    }
    hn_out_free(&o);
    return got;
}

static void response_fields(const uint8_t *p, size_t n, bool *result, char *msg, size_t cap)
{
    serf_msg_key_response r;
    REQUIRE(serf_msg_key_response_decode(p, n, &r) == WIRE_OK);
    *result = r.result;
    snprintf(msg, cap, "%.*s", (int)r.message.n, r.message.p ? (const char *)r.message.p : "");
    serf_msg_key_response_free(&r);
}

static void test_no_keyring(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n2 = hn_add(&b, "n2", hn_addr(2, 7946), NULL, NULL, false);
    hn_meet(&b);
    uint8_t key[32], fx[256], got[2048];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    size_t fxn = hn_fixture("key-response-error", fx, sizeof fx);
    wire_buf q;
    wire_buf_init(&q, 0);
    /* serf's own answer, byte for byte */
    key_query(&q, "install-key", key, 32);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    long n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    CHECK_MEM(got, (size_t)n, fx, fxn);
    key_query(&q, "use-key", key, 32);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    n = answer_to_asker(&b, n2, got, sizeof got);
    CHECK_MEM(got, (size_t)n, fx, fxn);
    key_query(&q, "list-keys", NULL, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    bool ok;
    char msg[128];
    response_fields(got, (size_t)n, &ok, msg, sizeof msg);
    CHECK(!ok);
    CHECK(strcmp(msg, "Keyring is empty (encryption not enabled)") == 0);
    /* internal queries never reach the application */
    CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_QUERY), 0);
    CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_KEYRING), 0);
    wire_buf_free(&q);
    hn_free(&b);
}

static void test_list_and_change(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n2 = hn_add(&b, "n2", hn_addr(2, 7946), NULL, NULL, true);
    hn_meet(&b);
    uint8_t k1[32], k2[32], k3[16];
    for (int i = 0; i < 32; i++)
        k1[i] = (uint8_t)i;
    memcpy(k2, "deadbeefdeadbeefdeadbeefdeadbeef", 32);
    memset(k3, 0x33, 16);
    wire_keyring *kr = &b.n[n2].kr;
    REQUIRE(wire_keyring_add(kr, k1, 32) == WIRE_OK);
    REQUIRE(wire_keyring_add(kr, k2, 32) == WIRE_OK);
    uint8_t fx[512], got[2048];
    size_t fxn = hn_fixture("key-response-list", fx, sizeof fx);
    wire_buf q;
    wire_buf_init(&q, 0);
    key_query(&q, "list-keys", NULL, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    long n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    CHECK_MEM(got, (size_t)n, fx, fxn);

    bool ok;
    char msg[128];
    struct { const char *op; const uint8_t *key; size_t len; bool ok; const char *msg; size_t nkeys; } steps[] = {
        { "install-key", k3, 16, true, "", 3 },
        { "install-key", k3, 16, true, "", 3 },           /* already there: no-op, success */
        { "install-key", k3, 15, false, "key size must be 16, 24 or 32 bytes", 3 },
        { "remove-key", k1, 32, false, "Removing the primary key is not allowed", 3 },
        { "use-key", (const uint8_t *)"0123456789abcdef", 16, false, "Requested key is not in the keyring", 3 },
        { "use-key", k3, 16, true, "", 3 },
        { "remove-key", k1, 32, true, "", 2 },
        { "remove-key", k1, 32, true, "", 2 },            /* gone already: no-op, success */
    };
    size_t keyring_events = 0;
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        key_query(&q, steps[s].op, steps[s].key, steps[s].len);
        hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
        n = answer_to_asker(&b, n2, got, sizeof got);
        REQUIRE(n > 0);
        response_fields(got, (size_t)n, &ok, msg, sizeof msg);
        CHECKF(ok == steps[s].ok && strcmp(msg, steps[s].msg) == 0, "step %zu: %d '%s'", s, ok, msg);
        CHECK_EQ_INT(kr->n, steps[s].nkeys);
        keyring_events += steps[s].ok;
        CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_KEYRING), keyring_events);
    }
    /* k3 primary, then k2 (k1 removed; the others keep their order) */
    CHECK(kr->keys[0].len == 16 && memcmp(kr->keys[0].bytes, k3, 16) == 0);
    CHECK(kr->keys[1].len == 32 && memcmp(kr->keys[1].bytes, k2, 32) == 0);

    /* a request that does not decode: a failure with no message, as serf */
    asker_query(&q, "_serf_install-key", wire_bytes_of("\x07\x93", 2), 0, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    response_fields(got, (size_t)n, &ok, msg, sizeof msg);
    CHECK(!ok && msg[0] == 0);
    wire_buf_free(&q);
    hn_free(&b);
}

/* A list-keys answer that does not fit is cut to the keys that do, with
 * serf's message saying so. */
static void test_list_truncated(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    serf_node_config cfg = { .query_response_size_limit = 300 };
    int n2 = hn_add(&b, "n2", hn_addr(2, 7946), NULL, &cfg, true);
    hn_meet(&b);
    for (int k = 0; k < 6; k++) {
        uint8_t key[32];
        memset(key, 'a' + k, 32);
        REQUIRE(wire_keyring_add(&b.n[n2].kr, key, 32) == WIRE_OK);
    }
    wire_buf q;
    wire_buf_init(&q, 0);
    key_query(&q, "list-keys", NULL, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    uint8_t got[2048];
    long n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    serf_msg_key_response r;
    REQUIRE(serf_msg_key_response_decode(got, (size_t)n, &r) == WIRE_OK);
    CHECK(r.result);
    CHECK_EQ_INT(r.keys.n, 2);
    char msg[128];
    snprintf(msg, sizeof msg, "%.*s", (int)r.message.n, (const char *)r.message.p);
    CHECKF(strcmp(msg, "truncated key list response, showing first 2 of 6 keys") == 0, "%s", msg);
    serf_msg_key_response_free(&r);
    wire_buf_free(&q);
    hn_free(&b);
}

/* _serf_conflict: our view of the disputed member, serf's Member bytes;
 * nothing when the name is ours; nil when we do not know it. */
static void test_conflict_answer(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n1 = hn_add(&b, "n1", hn_addr(1, 17946), "role=web", NULL, false);
    int n2 = hn_add(&b, "n2", hn_addr(2, 7946), NULL, NULL, false);
    (void)n1;
    hn_meet(&b);
    uint8_t fx[512], got[2048];
    size_t fxn = hn_fixture("conflict-member", fx, sizeof fx);
    wire_buf q;
    wire_buf_init(&q, 0);
    asker_query(&q, "_serf_conflict", wire_bytes_of("n1", 2), 0, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    long n = answer_to_asker(&b, n2, got, sizeof got);
    REQUIRE(n > 0);
    CHECK_MEM(got, (size_t)n, fx, fxn);

    asker_query(&q, "_serf_conflict", wire_bytes_of("nobody", 6), 0, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    n = answer_to_asker(&b, n2, got, sizeof got);
    CHECK_MEM(got, (size_t)n, "\x06\xc0", 2);

    asker_query(&q, "_serf_conflict", wire_bytes_of("n2", 2), 0, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    CHECK(answer_to_asker(&b, n2, got, sizeof got) < 0);

    /* _serf_ping: the ack only */
    asker_query(&q, "_serf_ping", wire_bytes_of(NULL, 0), SERF_QUERY_FLAG_ACK, 0);
    hn_receive(&b, n2, hn_addr(1, 17946), q.data, q.len);
    hn_out o = hn_take(&b, n2);
    size_t acks = 0, others = 0;
    for (size_t k = 0; k < o.n; k++) {
        if (!o.v[k].to_addr)
            continue;
        serf_msg_query_response r;
        REQUIRE(serf_msg_query_response_decode(o.v[k].msg, o.v[k].len, &r) == WIRE_OK);
        if (r.flags & SERF_QUERY_FLAG_ACK)
            acks++;
        else
            others++;
    }
    CHECK_EQ_INT(acks, 1);
    CHECK_EQ_INT(others, 0);
    hn_out_free(&o);
    CHECK_EQ_INT(hn_count(&b.n[n2], SERF_EV_QUERY), 0);
    wire_buf_free(&q);
    hn_free(&b);
}

static void test_keyring_remove(void)
{
    wire_keyring kr;
    wire_keyring_init(&kr);
    uint8_t a[16], c[24], d[32];
    memset(a, 1, 16);
    memset(c, 2, 24);
    memset(d, 3, 32);
    REQUIRE(wire_keyring_add(&kr, a, 16) == WIRE_OK);
    REQUIRE(wire_keyring_add(&kr, c, 24) == WIRE_OK);
    REQUIRE(wire_keyring_add(&kr, d, 32) == WIRE_OK);
    CHECK_EQ_INT(wire_keyring_remove(&kr, a, 16), WIRE_EFORMAT);
    CHECK_EQ_INT(kr.n, 3);
    CHECK_EQ_INT(wire_keyring_remove(&kr, c, 24), WIRE_OK);
    CHECK_EQ_INT(kr.n, 2);
    CHECK(kr.keys[1].len == 32 && kr.keys[1].bytes[0] == 3);
    CHECK_EQ_INT(wire_keyring_remove(&kr, c, 24), WIRE_OK);
    CHECK_EQ_INT(kr.n, 2);
    CHECK_EQ_INT(wire_keyring_remove(&kr, d, 16), WIRE_OK); /* a prefix is another key */
    CHECK_EQ_INT(kr.n, 2);

    /* base64 both ways, on serf's example key lengths */
    char b64[WIRE_KEY_B64_MAX];
    for (size_t len = 16; len <= 32; len += 8) {
        uint8_t k[32];
        for (size_t i = 0; i < len; i++)
            k[i] = (uint8_t)(i * 37 + len);
        size_t n = wire_key_to_base64(k, len, b64);
        CHECK_EQ_INT(n, (len + 2) / 3 * 4);
        wire_key back;
        CHECK_EQ_INT(wire_key_from_base64(b64, &back, NULL, 0), WIRE_OK);
        CHECK(back.len == len && memcmp(back.bytes, k, len) == 0);
    }
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    wire_key_to_base64(k, 32, b64);
    CHECK(strcmp(b64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == 0);
}

static void key_payload(wire_buf *out, bool result, const char *msg, const char *const *keys, size_t nkeys,
                        const char *primary)
{
    wire_bytes kv[8];
    for (size_t i = 0; i < nkeys; i++)
        kv[i] = wire_bytes_of(keys[i], strlen(keys[i]));
    serf_msg_key_response r = {
        .keys = { nkeys ? kv : NULL, nkeys }, .message = wire_bytes_of(msg, strlen(msg)),
        .primary_key = wire_bytes_of(primary, strlen(primary)), .result = result,
    };
    wire_buf_reset(out);
    REQUIRE(serf_msg_key_response_encode(out, &r) == WIRE_OK);
}

static size_t count_of(const serf_keys_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return l->v[i].count;
    return 0;
}

static const char *message_of(const serf_keys_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return l->v[i].text;
    return NULL;
}

static void test_tally(void)
{
    serf_keys_tally t;
    serf_keys_init(&t, 4);
    wire_buf p;
    wire_buf_init(&p, 0);
    const char *both[] = { "K1", "K2" }, *one[] = { "K1" };
    key_payload(&p, true, "", both, 2, "K1");
    CHECK(!serf_keys_add(&t, "a", wire_bytes_of(p.data, p.len)));
    key_payload(&p, true, "truncated key list response, showing first 1 of 2 keys", one, 1, "K2");
    CHECK(!serf_keys_add(&t, "b", wire_bytes_of(p.data, p.len)));
    key_payload(&p, false, "No keyring to modify (encryption not enabled)", NULL, 0, "");
    CHECK(!serf_keys_add(&t, "c", wire_bytes_of(p.data, p.len)));
    char err[64];
    CHECK_EQ_INT(serf_keys_outcome(&t, err, sizeof err), -1);
    CHECK(strcmp(err, "1/4 nodes reported failure") == 0);
    CHECK(serf_keys_add(&t, "d", wire_bytes_of("\x05\x01", 2)));
    CHECK(serf_keys_add(&t, "e", wire_bytes_of(p.data, p.len))); /* after the last: not counted */
    CHECK_EQ_INT(t.num_resp, 4);
    CHECK_EQ_INT(t.num_err, 2);
    CHECK_EQ_INT(count_of(&t.keys, "K1"), 2);
    CHECK_EQ_INT(count_of(&t.keys, "K2"), 1);
    CHECK_EQ_INT(count_of(&t.primary, "K1"), 1);
    CHECK_EQ_INT(count_of(&t.primary, "K2"), 1);
    CHECK_EQ_INT(count_of(&t.primary, ""), 1);
    CHECK(message_of(&t.messages, "a") == NULL);
    CHECK(strcmp(message_of(&t.messages, "b"), "truncated key list response, showing first 1 of 2 keys") == 0);
    CHECK(strcmp(message_of(&t.messages, "c"), "No keyring to modify (encryption not enabled)") == 0);
    CHECK(strcmp(message_of(&t.messages, "d"), "Invalid key query response type: [5 1]") == 0);
    CHECK_EQ_INT(serf_keys_outcome(&t, err, sizeof err), -1);
    CHECK(strcmp(err, "2/4 nodes reported failure") == 0);
    serf_keys_free(&t);

    serf_keys_init(&t, 3);
    key_payload(&p, true, "", NULL, 0, "");
    serf_keys_add(&t, "a", wire_bytes_of(p.data, p.len));
    serf_keys_add(&t, "b", wire_bytes_of(p.data, p.len));
    CHECK_EQ_INT(serf_keys_outcome(&t, err, sizeof err), -1);
    CHECK(strcmp(err, "2/3 nodes reported success") == 0);
    serf_keys_add(&t, "c", wire_bytes_of(p.data, p.len));
    CHECK_EQ_INT(serf_keys_outcome(&t, err, sizeof err), 0);
    serf_keys_free(&t);
    wire_buf_free(&p);
}

int main(void)
{
    test_no_keyring();
    test_list_and_change();
    test_list_truncated();
    test_conflict_answer();
    test_keyring_remove();
    test_tally();
    return check_done("test_serf_node_keys");
}
