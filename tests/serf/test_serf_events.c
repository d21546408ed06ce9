/* serf's recent-events buffer and user event coalescing (serf_events.h),
 * rule by rule as serf.go's handleUserEvent, delegate.go's
 * MergeRemoteState, serf.go's UserEvent and coalesce_user.go have them. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "serf/serf_events.h"
#include "serf/serf_msg_event.h"

#define B(s) wire_bytes_of(s, strlen(s))

typedef struct got {
    int n;
    uint64_t ltime[16];
    char name[16][16];
    char payload[16][16];
} got;

static void collect(void *ctx, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    got *g = ctx;
    REQUIRE(g->n < 16 && name.n < 16 && payload.n < 16);
    g->ltime[g->n] = ltime;
    memcpy(g->name[g->n], name.p, name.n);
    g->name[g->n][name.n] = 0;
    if (payload.n)
        memcpy(g->payload[g->n], payload.p, payload.n);
    g->payload[g->n][payload.n] = 0;
    g->n++;
}

static void test_buffer(void)
{
    serf_events ev;
    REQUIRE(serf_events_init(&ev, SERF_EVENT_BUFFER) == 0);
    CHECK_EQ_INT(ev.size, 512);

    /* new, then a duplicate (same LTime, name, payload) */
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("deploy"), B("v1.2.3")), SERF_EVENT_NEW);
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("deploy"), B("v1.2.3")), SERF_EVENT_SEEN);
    /* the clock witnessed it */
    CHECK_EQ_INT(serf_clock_time(&ev.clock), 2);
    /* same LTime, another payload or name: a second event in the slot */
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("deploy"), B("v1.2.4")), SERF_EVENT_NEW);
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("restart"), B("v1.2.3")), SERF_EVENT_NEW);
    CHECK_EQ_INT(ev.slots[1].events.n, 3);
    CHECK(ev.slots[1].present && ev.slots[1].ltime == 1);
    /* nil and empty payloads are the same (bytes.Compare) */
    CHECK_EQ_INT(serf_events_receive(&ev, 5, B("x"), wire_bytes_of(NULL, 0)), SERF_EVENT_NEW);
    CHECK_EQ_INT(serf_events_receive(&ev, 5, B("x"), wire_bytes_of("", 0)), SERF_EVENT_SEEN);

    /* the same slot at another LTime (1 + 512) replaces the old events */
    CHECK_EQ_INT(serf_events_receive(&ev, 513, B("deploy"), B("v1.2.3")), SERF_EVENT_NEW);
    CHECK_EQ_INT(ev.slots[1].events.n, 1);
    CHECK_EQ_INT(ev.slots[1].ltime, 513);
    CHECK_EQ_INT(serf_clock_time(&ev.clock), 514);

    /* too old: clock 514 > 512 and 1 < 514 - 512 */
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("late"), B("")), SERF_EVENT_TOO_OLD);
    /* the edge: 2 == 514 - 512 is not older */
    CHECK_EQ_INT(serf_events_receive(&ev, 2, B("edge"), B("")), SERF_EVENT_NEW);
    /* while the clock is <= size nothing is too old */
    serf_events small;
    REQUIRE(serf_events_init(&small, 4) == 0);
    CHECK_EQ_INT(serf_events_receive(&small, 3, B("a"), B("")), SERF_EVENT_NEW);   /* clock 4 */
    CHECK_EQ_INT(serf_events_receive(&small, 0, B("a"), B("")), SERF_EVENT_NEW);
    CHECK_EQ_INT(serf_events_receive(&small, 4, B("b"), B("")), SERF_EVENT_NEW);   /* clock 5 */
    CHECK_EQ_INT(serf_events_receive(&small, 0, B("c"), B("")), SERF_EVENT_TOO_OLD);
    CHECK_EQ_INT(serf_events_receive(&small, 1, B("c"), B("")), SERF_EVENT_NEW);
    /* slot 0 now holds LTime 4 ("b"), so an event at LTime 0 is gone */
    CHECK_EQ_INT(small.slots[0].ltime, 4);

    /* before min_time: ignored, but the clock still witnesses it */
    small.min_time = 100;
    CHECK_EQ_INT(serf_events_receive(&small, 50, B("d"), B("")), SERF_EVENT_BEFORE_MIN);
    CHECK_EQ_INT(serf_clock_time(&small.clock), 51);
    CHECK_EQ_INT(serf_events_receive(&small, 100, B("d"), B("")), SERF_EVENT_NEW);
    serf_events_free(&small);
    serf_events_free(&ev);
}

static void test_send(void)
{
    serf_events ev;
    REQUIRE(serf_events_init(&ev, SERF_EVENT_BUFFER) == 0);
    wire_buf out;
    wire_buf_init(&out, 0);
    /* serf's "serf event deploy v1.2.3" from the capture: LTime 1 because
     * the sender's clock had seen the event time 1 in a push/pull */
    ev.clock.counter = 1;
    REQUIRE(serf_events_send(&ev, &out, B("deploy"), B("v1.2.3"), true, SERF_USER_EVENT_SIZE_LIMIT) == WIRE_OK);
    static const uint8_t want[] = { 0x03, 0x84, 0xa2, 'C', 'C', 0xc3, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x01,
                                    0xa4, 'N', 'a', 'm', 'e', 0xa6, 'd', 'e', 'p', 'l', 'o', 'y', 0xa7, 'P',
                                    'a', 'y', 'l', 'o', 'a', 'd', 0xa6, 'v', '1', '.', '2', '.', '3' };
    CHECK_MEM(out.data, out.len, want, sizeof want);
    CHECK_EQ_INT(serf_clock_time(&ev.clock), 2);
    /* recorded: the same event coming back by gossip is a duplicate */
    CHECK_EQ_INT(serf_events_receive(&ev, 1, B("deploy"), B("v1.2.3")), SERF_EVENT_SEEN);

    /* limits: name + payload over the limit before encoding */
    static char big[600];
    memset(big, 'p', sizeof big);
    size_t before = out.len;
    CHECK_EQ_INT(serf_events_send(&ev, &out, B("n"), wire_bytes_of(big, 512), false, 512), WIRE_ELIMIT);
    /* 511 + 1 fits before encoding, but not once encoded */
    CHECK_EQ_INT(serf_events_send(&ev, &out, B("n"), wire_bytes_of(big, 511), false, 512), WIRE_ELIMIT);
    CHECK_EQ_INT(out.len, before);
    CHECK_EQ_INT(serf_clock_time(&ev.clock), 2);   /* nothing sent, no tick */
    /* the encoded message may be exactly the limit: 03 84 a2CC c2 a5LTime 02
     * a4Name a1n a7Payload da len16 + payload = 31 + payload bytes */
    CHECK_EQ_INT(serf_events_send(&ev, &out, B("n"), wire_bytes_of(big, 512 - 31), false, 512), WIRE_OK);
    CHECK_EQ_INT(out.len - before, 512);
    /* the sane ceiling beats any configured limit */
    static char huge[SERF_USER_EVENT_SANE_LIMIT + 1];
    CHECK_EQ_INT(serf_events_send(&ev, &out, B("n"), wire_bytes_of(huge, sizeof huge - 1), false, 1 << 20),
                 WIRE_ELIMIT);
    wire_buf_free(&out);
    serf_events_free(&ev);
}

static void test_merge(void)
{
    serf_events ev;
    REQUIRE(serf_events_init(&ev, SERF_EVENT_BUFFER) == 0);
    serf_user_event e5[] = { { B("deploy"), B("v1") } };
    serf_user_event e7[] = { { B("a"), { NULL, 0 } }, { B("b"), B("x") } };
    serf_user_events slots[4] = {
        { 0 },
        { .present = true, .events = { e5, 1 }, .ltime = 5 },
        { 0 },
        { .present = true, .events = { e7, 2 }, .ltime = 7 },
    };
    serf_msg_push_pull pp = { .event_ltime = 8, .events = { slots, 4 }, .ltime = 9, .query_ltime = 2 };

    got g = { 0 };
    CHECK_EQ_INT(serf_events_merge(&ev, &pp, false, collect, &g), 3);
    CHECK_EQ_INT(g.n, 3);
    CHECK(g.ltime[0] == 5 && strcmp(g.name[0], "deploy") == 0 && strcmp(g.payload[0], "v1") == 0);
    CHECK(g.ltime[2] == 7 && strcmp(g.name[2], "b") == 0);
    /* witnessed EventLTime - 1 = 7 -> 8 */
    CHECK_EQ_INT(serf_clock_time(&ev.clock), 8);
    /* the same state again: nothing new */
    g.n = 0;
    CHECK_EQ_INT(serf_events_merge(&ev, &pp, false, collect, &g), 0);

    /* a join that ignores old events: min_time = EventLTime, so all of
     * these (LTime 5 and 7 < 8) are ignored */
    serf_events j;
    REQUIRE(serf_events_init(&j, SERF_EVENT_BUFFER) == 0);
    g.n = 0;
    CHECK_EQ_INT(serf_events_merge(&j, &pp, true, collect, &g), 0);
    CHECK_EQ_INT(j.min_time, 8);
    CHECK_EQ_INT(serf_events_receive(&j, 7, B("old"), B("")), SERF_EVENT_BEFORE_MIN);
    CHECK_EQ_INT(serf_events_receive(&j, 8, B("new"), B("")), SERF_EVENT_NEW);
    /* min_time never goes down */
    pp.event_ltime = 3;
    serf_events_merge(&j, &pp, true, NULL, NULL);
    CHECK_EQ_INT(j.min_time, 8);
    /* EventLTime 0 is not witnessed (no -1 wrap) */
    serf_events z;
    REQUIRE(serf_events_init(&z, 8) == 0);
    serf_msg_push_pull zero = { 0 };
    CHECK_EQ_INT(serf_events_merge(&z, &zero, true, NULL, NULL), 0);
    CHECK_EQ_INT(serf_clock_time(&z.clock), 0);

    /* our buffer is what our push/pull sends: encode it as serf's Events */
    serf_msg_push_pull mine = { .event_ltime = serf_clock_time(&ev.clock), .events = { ev.slots, ev.size } };
    wire_buf out;
    wire_buf_init(&out, 0);
    REQUIRE(serf_msg_push_pull_encode(&out, &mine) == WIRE_OK);
    serf_msg_push_pull back;
    REQUIRE(serf_msg_push_pull_decode(out.data, out.len, &back) == WIRE_OK);
    CHECK_EQ_INT(back.events.n, 512);
    CHECK(back.events.v[5].present && back.events.v[5].ltime == 5 && back.events.v[5].events.n == 1);
    CHECK(back.events.v[7].present && back.events.v[7].events.n == 2);
    CHECK(!back.events.v[6].present);
    serf_msg_push_pull_free(&back);
    wire_buf_free(&out);
    serf_events_free(&z);
    serf_events_free(&j);
    serf_events_free(&ev);
}

static void test_coalesce(void)
{
    serf_coalesce c;
    serf_coalesce_init(&c, 1000, 200);   /* period 1 s, quiescent 200 ms */
    got g = { 0 };
    CHECK(serf_coalesce_takes(true) && !serf_coalesce_takes(false));
    CHECK_EQ_INT(serf_coalesce_deadline(&c), -1);
    CHECK_EQ_INT(serf_coalesce_flush(&c, 5000, false, collect, &g), 0);

    /* t=0: deploy@1; t=100: deploy@3 replaces it; t=150: deploy@2 is
     * older, dropped; restart@2 held beside; deploy@3 again joins */
    CHECK(serf_coalesce_add(&c, 0, 1, B("deploy"), B("a")) == 0);
    CHECK_EQ_INT(serf_coalesce_deadline(&c), 200);
    CHECK(serf_coalesce_add(&c, 100, 3, B("deploy"), B("b")) == 0);
    CHECK(serf_coalesce_add(&c, 150, 2, B("deploy"), B("c")) == 0);
    CHECK(serf_coalesce_add(&c, 160, 2, B("restart"), B("r")) == 0);
    CHECK(serf_coalesce_add(&c, 170, 3, B("deploy"), B("d")) == 0);
    CHECK_EQ_INT(c.held, 3);
    /* quiescent restarted by every event: 170 + 200 */
    CHECK_EQ_INT(serf_coalesce_deadline(&c), 370);
    CHECK_EQ_INT(serf_coalesce_flush(&c, 369, false, collect, &g), 0);
    CHECK_EQ_INT(serf_coalesce_flush(&c, 370, false, collect, &g), 3);
    CHECK_EQ_INT(g.n, 3);
    CHECK(strcmp(g.name[0], "deploy") == 0 && g.ltime[0] == 3 && strcmp(g.payload[0], "b") == 0);
    CHECK(strcmp(g.name[1], "deploy") == 0 && strcmp(g.payload[1], "d") == 0);
    CHECK(strcmp(g.name[2], "restart") == 0 && g.ltime[2] == 2);
    CHECK_EQ_INT(serf_coalesce_deadline(&c), -1);

    /* a steady stream: the quantum (1 s after the first) caps the wait */
    g.n = 0;
    for (int64_t t = 1000; t < 2100; t += 100)
        CHECK(serf_coalesce_add(&c, t, (uint64_t)t, B("tick"), B("")) == 0);
    CHECK_EQ_INT(serf_coalesce_deadline(&c), 2000);
    CHECK_EQ_INT(serf_coalesce_flush(&c, 2000, false, collect, &g), 1);
    CHECK_EQ_INT(g.ltime[0], 2000);   /* only the latest survives */

    /* force (shutdown) lets go at once; a fresh quantum after a flush */
    CHECK(serf_coalesce_add(&c, 3000, 1, B("x"), B("")) == 0);
    CHECK_EQ_INT(serf_coalesce_deadline(&c), 3200);
    CHECK_EQ_INT(serf_coalesce_flush(&c, 0, true, NULL, NULL), 1);
    serf_coalesce_free(&c);
}

int main(void)
{
    test_buffer();
    test_send();
    test_merge();
    test_coalesce();
    return check_done("test_serf_events");
}
