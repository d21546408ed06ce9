/* The key query tally, as serf's KeyManager counts answers: successes,
 * failures with their messages, warnings, keys per node count, and the
 * verdicts serf words ("1/3 nodes reported failure", "2/3 nodes reported
 * success"); hostile payloads count as errors, never crash. */
#include "check.h"
#include "daemon/daemon_keys.h"
#include "serf/serf_msg_key.h"

/* A key response as a node sends it (type byte 8 first). */
static void response(wire_buf *b, bool result, const char *message, const char *const *keys, size_t nkeys,
                     const char *primary)
{
    wire_bytes kv[8];
    for (size_t i = 0; i < nkeys; i++)
        kv[i] = (wire_bytes){ (const uint8_t *)keys[i], strlen(keys[i]) };
    serf_msg_key_response r = {
        .keys = { nkeys ? kv : NULL, nkeys },
        .message = { (const uint8_t *)message, strlen(message) },
        .primary_key = { (const uint8_t *)primary, strlen(primary) },
        .result = result,
    };
    b->len = 0;
    REQUIRE(serf_msg_key_response_encode(b, &r) == WIRE_OK);
}

static const char *message_of(const daemon_key_tally *t, const char *node)
{
    for (size_t i = 0; i < t->nmessages; i++)
        if (strcmp(t->messages[i].node, node) == 0)
            return t->messages[i].message;
    return NULL;
}

static size_t count_of(const daemon_key_count *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return v[i].count;
    return 0;
}

static void test_list(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    daemon_key_tally t;
    char err[100];
    daemon_key_tally_init(&t, 3);
    const char *both[] = { "K1", "K2" }, *one[] = { "K1" };
    response(&b, true, "", both, 2, "K1");
    daemon_key_tally_add(&t, "a", b.data, b.len);
    CHECK(!daemon_key_tally_complete(&t));
    response(&b, true, "", both, 2, "K1");
    daemon_key_tally_add(&t, "b", b.data, b.len);
    CHECK(daemon_key_tally_verdict(&t, err, sizeof err) < 0 && strcmp(err, "2/3 nodes reported success") == 0);
    response(&b, true, "", one, 1, "K1");
    daemon_key_tally_add(&t, "c", b.data, b.len);
    CHECK(daemon_key_tally_complete(&t));
    CHECK_EQ_INT(t.num_resp, 3);
    CHECK_EQ_INT(t.num_err, 0);
    CHECK_EQ_INT(count_of(t.keys, t.nkeys, "K1"), 3);
    CHECK_EQ_INT(count_of(t.keys, t.nkeys, "K2"), 2);
    CHECK_EQ_INT(count_of(t.primary, t.nprimary, "K1"), 3);
    CHECK_EQ_INT(t.nmessages, 0);
    CHECK(daemon_key_tally_verdict(&t, err, sizeof err) == 0);
    daemon_key_tally_free(&t);
    wire_buf_free(&b);
}

static void test_errors(void)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    daemon_key_tally t;
    char err[100];
    daemon_key_tally_init(&t, 4);
    response(&b, false, "Removing the primary key is not allowed", NULL, 0, "");
    daemon_key_tally_add(&t, "a", b.data, b.len);
    response(&b, true, "a warning", NULL, 0, "");
    daemon_key_tally_add(&t, "b", b.data, b.len);
    /* not a key response, and a truncated one */
    static const uint8_t junk[] = { 5, 0x80 };
    daemon_key_tally_add(&t, "c", junk, sizeof junk);
    response(&b, true, "", NULL, 0, "");
    daemon_key_tally_add(&t, "d", b.data, b.len / 2);
    daemon_key_tally_add(&t, "e", NULL, 0);
    CHECK_EQ_INT(t.num_resp, 5);
    CHECK_EQ_INT(t.num_err, 4);
    CHECK(message_of(&t, "a") && strcmp(message_of(&t, "a"), "Removing the primary key is not allowed") == 0);
    CHECK(message_of(&t, "b") && strcmp(message_of(&t, "b"), "a warning") == 0);
    CHECK(message_of(&t, "c") && strstr(message_of(&t, "c"), "Invalid key query response type"));
    CHECK(message_of(&t, "d") && strstr(message_of(&t, "d"), "Failed to decode key query response"));
    CHECK(daemon_key_tally_verdict(&t, err, sizeof err) < 0 && strcmp(err, "4/4 nodes reported failure") == 0);
    /* a node answering twice: its later message wins, as in serf's map */
    response(&b, false, "second", NULL, 0, "");
    daemon_key_tally_add(&t, "a", b.data, b.len);
    CHECK(strcmp(message_of(&t, "a"), "second") == 0);
    CHECK_EQ_INT(t.nmessages, 5);
    daemon_key_tally_free(&t);
    wire_buf_free(&b);
}

int main(void)
{
    test_list();
    test_errors();
    return check_done("daemon_keys");
}
