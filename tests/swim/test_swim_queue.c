/* The TransmitLimitedQueue on its own (§11.1): fewest transmissions
 * first, then largest, then newest; what fits the budget; the transmit
 * limit; replacement by key; the finished-notify for our leave. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

typedef struct taken {
    char msgs[64][32];
    int n;
} taken;

static void take(void *ud, const uint8_t *msg, size_t len)
{
    taken *t = ud;
    if (t->n < 64) {
        memcpy(t->msgs[t->n], msg, len < 31 ? len : 31);
        t->msgs[t->n][len < 31 ? len : 31] = 0;
        t->n++;
    }
}

static void put(swim_queue *q, const char *key, const char *msg)
{
    REQUIRE(swim_queue_put(q, key, (const uint8_t *)msg, strlen(msg), false) == 0);
}

/* Empty messages with no overhead cost nothing: a packet takes them all
 * (the walk divides the room by a bucket's cost, which is 0 here). */
static void test_empty_free(void)
{
    swim_queue q;
    swim_queue_init(&q);
    for (int i = 0; i < 3; i++) {
        char key[8];
        snprintf(key, sizeof key, "e%d", i);
        REQUIRE(swim_queue_put(&q, key, (const uint8_t *)"", 0, false) == 0);
    }
    taken t = { .n = 0 };
    CHECK_EQ_INT(swim_queue_take(&q, 0, 10, 3, take, &t), 0);
    CHECK_EQ_INT(t.n, 3);
    CHECK_EQ_INT(q.n, 3); /* sent once, below the limit */
    swim_queue_check(&q);
    swim_queue_free(&q);
}

int main(void)
{
    test_empty_free();
    swim_queue q;
    swim_queue_init(&q);
    put(&q, "a", "aaaa");
    put(&q, "b", "bb");
    put(&q, "c", "cccccc");
    put(&q, "d", "dd");
    /* largest first; equal sizes newest first; overhead 2 each */
    taken t = { .n = 0 };
    size_t used = swim_queue_take(&q, 2, 100, 3, take, &t);
    REQUIRE(t.n == 4);
    CHECK(strcmp(t.msgs[0], "cccccc") == 0);
    CHECK(strcmp(t.msgs[1], "aaaa") == 0);
    CHECK(strcmp(t.msgs[2], "dd") == 0);
    CHECK(strcmp(t.msgs[3], "bb") == 0);
    CHECK_EQ_INT(used, 6 + 4 + 2 + 2 + 4 * 2);
    /* a new message (0 transmissions) goes before the sent ones even if
     * smaller */
    put(&q, "e", "e");
    memset(&t, 0, sizeof t);
    swim_queue_take(&q, 2, 100, 3, take, &t);
    REQUIRE(t.n == 5);
    CHECK(strcmp(t.msgs[0], "e") == 0);
    CHECK(strcmp(t.msgs[1], "cccccc") == 0);
    /* the budget: 8 bytes. e (sent once) comes first, then the largest of
     * the twice-sent that still fits: dd */
    memset(&t, 0, sizeof t);
    used = swim_queue_take(&q, 2, 8, 3, take, &t);
    REQUIRE(t.n == 2);
    CHECK(strcmp(t.msgs[0], "e") == 0);
    CHECK(strcmp(t.msgs[1], "dd") == 0);
    CHECK_EQ_INT(used, 7);
    /* limit 3: dd is gone; the rest goes a third time and is gone too */
    CHECK_EQ_INT(q.n, 4);
    memset(&t, 0, sizeof t);
    swim_queue_take(&q, 2, 100, 3, take, &t);
    REQUIRE(t.n == 4);
    CHECK(strcmp(t.msgs[0], "cccccc") == 0);
    CHECK(strcmp(t.msgs[3], "e") == 0);
    CHECK_EQ_INT(q.n, 0);
    /* replacement by key, whatever the old one's transmit count */
    put(&q, "x", "old-x");
    memset(&t, 0, sizeof t);
    swim_queue_take(&q, 2, 100, 5, take, &t);
    put(&q, "x", "new-x");
    put(&q, NULL, "unkeyed");
    put(&q, NULL, "unkeyed");
    CHECK_EQ_INT(q.n, 3);
    memset(&t, 0, sizeof t);
    swim_queue_take(&q, 2, 100, 5, take, &t);
    REQUIRE(t.n == 3);
    CHECK(strcmp(t.msgs[0], "unkeyed") == 0);
    CHECK(strcmp(t.msgs[2], "new-x") == 0);
    /* notify: finished when sent its limit, or when replaced */
    REQUIRE(swim_queue_put(&q, "me", (const uint8_t *)"leave", 5, true) == 0);
    CHECK(!q.notify_finished);
    put(&q, "me", "alive-again");
    CHECK(q.notify_finished);
    q.notify_finished = false;
    REQUIRE(swim_queue_put(&q, "me", (const uint8_t *)"leave", 5, true) == 0);
    for (int i = 0; i < 2; i++) {
        memset(&t, 0, sizeof t);
        swim_queue_take(&q, 2, 100, 2, take, &t);
    }
    CHECK(q.notify_finished);
    /* many entries: keys keep working across table growth */
    char k[16], m[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "k%d", i % 700);
        snprintf(m, sizeof m, "m%d", i);
        put(&q, k, m);
    }
    CHECK_EQ_INT(q.n, 700); /* everything older was sent out at limit 2 */
    swim_queue_free(&q);
    return check_done("test_swim_queue");
}
