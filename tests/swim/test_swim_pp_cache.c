/* The push/pull reply's cached node states (swim_pushpull.c): after every
 * kind of change to the member table, a reply from the cache has the bytes
 * of one encoded afresh; a table sent only once is not kept. */
#include "harness.h"
#include "swim/swim_internal.h"

static harness H;

/* A reply's bytes, both join flags. */
static void encode(bool cached, bool join, wire_buf *b)
{
    wire_buf_init(b, 0);
    int rc = cached ? swim_encode_reply_state(H.core, b, join) : swim_encode_local_state(H.core, b, join);
    REQUIRE(rc == 0);
}

static bool same(const wire_buf *a, const wire_buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Three replies to the table as it is now: the first encodes it and keeps
 * nothing (unless an unchanged table was sent before), the second keeps
 * it, the third reads it; all three are the fresh bytes. */
static void check_replies(const char *what)
{
    for (int j = 0; j < 2; j++) {
        wire_buf fresh, r;
        encode(false, j == 1, &fresh);
        for (int k = 0; k < 3; k++) {
            encode(true, j == 1, &r);
            CHECKF(same(&fresh, &r), "%s: reply %d (join %d) differs from a fresh encoding", what, k, j);
            wire_buf_free(&r);
            if (k >= 1)
                CHECKF(H.core->pp_cache.bytes != NULL, "%s: not kept after reply %d", what, k);
        }
        wire_buf_free(&fresh);
    }
}

static void inject_alive(const char *node, int peer, uint32_t inc, const char *meta)
{
    size_t len;
    const uint8_t *m = h_alive(node, peer, inc, meta, &len);
    h_inject(&H, peer, m, len);
}

static void inject_suspect(const char *node, uint32_t inc, const char *from)
{
    size_t len;
    const uint8_t *m = h_suspect(node, inc, from, &len);
    h_inject(&H, 0, m, len);
}

static void inject_dead(const char *node, uint32_t inc, const char *from)
{
    size_t len;
    const uint8_t *m = h_dead(node, inc, from, &len);
    h_inject(&H, 0, m, len);
}

static void test_cache_follows_changes(void)
{
    swim_config c;
    h_config(&c, "me");
    c.dead_node_reclaim_time = 1; /* an address change of the dead: a takeover */
    h_init(&H, &c);
    H.auto_ack = true;
    check_replies("alone");
    h_add_peers(&H, 5);
    check_replies("five joined");
    inject_alive("p1", 1, 1, NULL); /* old news: the table is unchanged */
    CHECK(H.core->pp_cache.bytes != NULL);
    check_replies("old news");
    inject_alive("p1", 1, 2, NULL);
    check_replies("newer incarnation");
    inject_alive("p2", 2, 2, "meta");
    check_replies("new meta");
    inject_suspect("p3", 1, "p0");
    check_replies("suspect");
    inject_dead("p3", 1, "p0");
    check_replies("dead");
    h_run(&H, H.now + 10);
    inject_alive("p3", 7, 2, NULL); /* back, from another address */
    CHECK_EQ_INT(h_state(&H, "p3"), SWIM_ALIVE);
    check_replies("taken over");
    inject_dead("p4", 1, "p4");
    check_replies("left");
    inject_suspect("me", 1, "p0"); /* refuted: our incarnation goes up */
    CHECK(h_inc(&H, "me") > 1);
    check_replies("refuted");
    const uint8_t meta[] = { 1, 2, 3 };
    REQUIRE(swim_set_meta(H.core, H.now, meta, sizeof meta) == 0);
    check_replies("our meta");
    inject_dead("p0", 1, "p1");
    REQUIRE(swim_force_leave(H.core, H.now, "p0"));
    check_replies("forced to leave");
    /* past gossip_to_the_dead_time the probe list's wrap drops the dead
     * and shuffles the rest */
    size_t before = swim_member_count(H.core);
    h_run(&H, H.now + c.gossip_to_the_dead_time + 10 * c.probe_interval);
    CHECK(swim_member_count(H.core) < before);
    check_replies("reaped and shuffled");
    h_free(&H);
}

/* One reply to a table keeps nothing: a node that answers now and then
 * does not hold a copy of its table (docs/sim-speed.md). */
static void test_kept_only_when_sent_twice(void)
{
    h_setup(&H, 4);
    wire_buf r;
    encode(true, false, &r);
    wire_buf_free(&r);
    CHECK(H.core->pp_cache.bytes == NULL);
    inject_alive("p0", 0, 5, NULL);
    encode(true, false, &r);
    wire_buf_free(&r);
    CHECK(H.core->pp_cache.bytes == NULL);
    encode(true, true, &r); /* the join flag is the header's, not the body's */
    wire_buf_free(&r);
    CHECK(H.core->pp_cache.bytes != NULL);
    inject_alive("p0", 0, 6, NULL); /* stale now: dropped at the next reply */
    encode(true, false, &r);
    wire_buf_free(&r);
    CHECK(H.core->pp_cache.bytes == NULL);
    h_free(&H);
}

int main(void)
{
    test_cache_follows_changes();
    test_kept_only_when_sent_twice();
    wire_buf_free(&h_buf);
    return check_done("test_swim_pp_cache");
}
