/* The compact records the simulator's scale needs: a member's meta held
 * in the record when short and malloc'd when long (and back); broadcast
 * bytes shared through a pool by the queues of several cores, counted
 * and released with the last entry; private copies without a pool. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

static void test_meta_inline(void)
{
    swim_members m;
    swim_rng r;
    swim_rng_seed(&r, 7);
    REQUIRE(swim_members_init(&m) == 0);
    swim_node *n = swim_members_add(&m, &r, "a", 1);
    REQUIRE(n != NULL);
    swim_member v;
    swim_node_view(n, &v);
    CHECK(v.meta == NULL && v.meta_len == 0);   /* no meta reads as NULL, as before */

    /* 2 bytes (serf's empty tags), 8 (the most held inline), 300, 5, 0:
     * each read back whole, whichever way it is held */
    uint8_t big[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    const struct { const uint8_t *p; size_t n; } steps[] = {
        { (const uint8_t *)"\xff\x80", 2 }, { (const uint8_t *)"12345678", 8 }, { big, sizeof big },
        { big, 100 }, { (const uint8_t *)"hello", 5 }, { NULL, 0 }, { big, 9 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        REQUIRE(swim_node_set_meta(n, steps[i].p, steps[i].n) == 0);
        swim_node_view(n, &v);
        CHECK_EQ_INT(v.meta_len, steps[i].n);
        CHECKF(steps[i].n == 0 ? v.meta == NULL : memcmp(v.meta, steps[i].p, steps[i].n) == 0, "step %zu", i);
        CHECK_EQ_INT(n->meta_len, steps[i].n);
    }
    /* the name is whole after the record's fields */
    CHECK(strcmp(n->name, "a") == 0 && n->name_len == 1);
    CHECK(swim_members_find(&m, "a", 1) == n);
    swim_members_free(&m); /* frees the malloc'd meta: the sanitizer build sees a leak if not */
}

typedef struct taken {
    size_t n;
    char msgs[8][32];
} taken;

static void take(void *ud, const uint8_t *msg, size_t len)
{
    taken *t = ud;
    if (t->n < 8) {
        memcpy(t->msgs[t->n], msg, len < 31 ? len : 31);
        t->msgs[t->n][len < 31 ? len : 31] = 0;
        t->n++;
    }
}

static void test_pool_shared(void)
{
    swim_msg_pool *p = swim_msg_pool_new();
    REQUIRE(p != NULL);
    swim_queue a, b;
    swim_queue_init(&a);
    swim_queue_init(&b);
    a.pool = b.pool = p;
    REQUIRE(swim_queue_put(&a, "n1", (const uint8_t *)"alive n1", 8, false) == 0);
    REQUIRE(swim_queue_put(&b, "n1", (const uint8_t *)"alive n1", 8, false) == 0);
    CHECK_EQ_INT(swim_msg_pool_count(p), 1);             /* the same bytes and key: one copy */
    CHECK(swim_queue_at(&a, 0)->m == swim_queue_at(&b, 0)->m && swim_queue_at(&a, 0)->m->refs == 2);
    /* the same bytes under another key, or other bytes: copies of their own */
    REQUIRE(swim_queue_put(&b, "n2", (const uint8_t *)"alive n1", 8, false) == 0);
    REQUIRE(swim_queue_put(&a, "n3", (const uint8_t *)"alive n3", 8, false) == 0);
    CHECK_EQ_INT(swim_msg_pool_count(p), 3);
    /* a newer message about n1 replaces a's entry; b's still holds the old bytes */
    REQUIRE(swim_queue_put(&a, "n1", (const uint8_t *)"suspect n1", 10, false) == 0);
    CHECK_EQ_INT(swim_msg_pool_count(p), 4);
    CHECK(swim_queue_has(&a, "n1") && swim_queue_has(&b, "n1"));
    taken t = { .n = 0 };
    swim_queue_take(&b, 2, 1000, 1, take, &t);           /* limit 1: sent once, retired */
    REQUIRE(t.n == 2);
    CHECK(strcmp(t.msgs[0], "alive n1") == 0 && strcmp(t.msgs[1], "alive n1") == 0);
    CHECK_EQ_INT(b.n, 0);
    CHECK_EQ_INT(swim_msg_pool_count(p), 2);             /* "alive n1" under n1 and n2 gone */
    t.n = 0;
    swim_queue_take(&a, 2, 1000, 5, take, &t);
    REQUIRE(t.n == 2);
    CHECK(strcmp(t.msgs[0], "suspect n1") == 0 && strcmp(t.msgs[1], "alive n3") == 0);
    swim_queue_free(&a);
    swim_queue_free(&b);
    CHECK_EQ_INT(swim_msg_pool_count(p), 0);
    swim_msg_pool_free(p);
}

/* The pool's prefetch hint: each message names the one got after it last
 * time; the last one got may be released (the hint is then dropped, not
 * written through), and a table grown past 1/4 still finds every message. */
static void test_pool_follow(void)
{
    swim_msg_pool *p = swim_msg_pool_new();
    REQUIRE(p != NULL);
    swim_msg *a = swim_msg_get(p, (const uint8_t *)"a", 1, "ka");
    swim_msg *b = swim_msg_get(p, (const uint8_t *)"b", 1, "kb");
    swim_msg *c = swim_msg_get(p, (const uint8_t *)"c", 1, "kc");
    REQUIRE(a && b && c);
    CHECK(a->follow == b && a->follow_hash == b->hash && b->follow == c && c->follow == NULL);
    swim_msg_release(c);                  /* the last got, freed */
    swim_msg *d = swim_msg_get(p, (const uint8_t *)"d", 1, "kd");
    REQUIRE(d);
    CHECK(swim_msg_get(p, (const uint8_t *)"a", 1, "ka") == a && a->refs == 2);
    CHECK(d->follow == a);
    CHECK(swim_msg_get(p, (const uint8_t *)"b", 1, "kb") == b && a->follow == b);
    swim_msg_release(a);
    swim_msg_release(a);
    swim_msg_release(b);
    swim_msg_release(b);
    swim_msg_release(d);
    CHECK_EQ_INT(swim_msg_pool_count(p), 0);
    enum { N = 3000 };
    static swim_msg *m[N];
    char key[16];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        m[i] = swim_msg_get(p, (const uint8_t *)key, strlen(key), key);
        REQUIRE(m[i]);
    }
    CHECK_EQ_INT(swim_msg_pool_count(p), N);
    for (int i = N; i-- > 0;) {
        snprintf(key, sizeof key, "k%d", i);
        CHECKF(swim_msg_get(p, (const uint8_t *)key, strlen(key), key) == m[i], "k%d after growth", i);
        swim_msg_release(m[i]);
        swim_msg_release(m[i]);
    }
    CHECK_EQ_INT(swim_msg_pool_count(p), 0);
    swim_msg_pool_free(p);
}

static void test_no_pool(void)
{
    swim_queue q;
    swim_queue_init(&q);
    REQUIRE(swim_queue_put(&q, "k", (const uint8_t *)"xyz", 3, false) == 0);
    REQUIRE(swim_queue_put(&q, NULL, (const uint8_t *)"xyz", 3, false) == 0);
    CHECK(swim_queue_at(&q, 0)->m != swim_queue_at(&q, 1)->m); /* private copies */
    CHECK(swim_queue_at(&q, 0)->m->pool == NULL && swim_queue_at(&q, 0)->m->refs == 1);
    CHECK(swim_queue_has(&q, "k") && !swim_queue_has(&q, "xyz"));
    swim_queue_check(&q);
    swim_queue_free(&q);
}

/* Entries put at the front, the back and the middle of a long queue, and
 * replaced in it, keep the send order (room on both sides of the array). */
static void test_both_ends(void)
{
    swim_queue q;
    swim_queue_init(&q);
    char key[16];
    uint8_t msg[64];
    memset(msg, 'm', sizeof msg);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof key, "k%d", i);
            size_t len = 8 + (size_t)((i * 37 + round * 11) % 50);   /* longer sorts first */
            REQUIRE(swim_queue_put(&q, key, msg, len, false) == 0);
            swim_queue_check(&q);
        }
        CHECK_EQ_INT(q.n, 500);
        for (size_t i = 1; i < q.n; i++) {
            const swim_bcast *x = swim_queue_at(&q, i - 1), *y = swim_queue_at(&q, i);
            CHECKF(swim_bcast_len(x) > swim_bcast_len(y) || (swim_bcast_len(x) == swim_bcast_len(y) && x->id > y->id), "round %d entry %zu", round, i);
        }
    }
    swim_queue_prune(&q, 10);
    CHECK_EQ_INT(q.n, 10);
    swim_queue_check(&q);
    swim_queue_free(&q);
}

int main(void)
{
    test_meta_inline();
    test_pool_shared();
    test_pool_follow();
    test_no_pool();
    test_both_ends();
    return check_done("test_swim_compact");
}
