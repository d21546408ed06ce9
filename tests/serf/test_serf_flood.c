/* serf_node against a hostile peer: what grows from made-up input stays
 * bounded and cheap. Distinct events at one LTime (a slot of the event
 * buffer: bounded, grown geometrically), a flood of made-up answerers to
 * one query (a set, not a scan: the CPU time is printed, only behaviour
 * asserted), and a conflict vote whose broadcast is dropped at a full
 * outbox (no vote left half open, a later conflict starts one). */
#include <time.h>

#include "serf/serf_msg_event.h"
#include "serf_node_harness.h"

#define B(s) wire_bytes_of(s, strlen(s))

static double cpu_ms(clock_t since)
{
    return (double)(clock() - since) * 1000.0 / CLOCKS_PER_SEC;
}

/* ---- events at one LTime ---- */

static void test_events_one_ltime(void)
{
    serf_events ev;
    REQUIRE(serf_events_init(&ev, SERF_EVENT_BUFFER) == 0);
    enum { FLOOD = 20000 };
    char name[32];
    clock_t t0 = clock();
    size_t fresh = 0, full = 0;
    for (int i = 0; i < FLOOD; i++) {
        snprintf(name, sizeof name, "ev-%d", i);
        serf_event_verdict v = serf_events_receive(&ev, 7, B(name), B("x"));
        fresh += v == SERF_EVENT_NEW;
        full += v == SERF_EVENT_FULL;
    }
    printf("# %d distinct events at one LTime: %.1f ms CPU\n", FLOOD, cpu_ms(t0));
    CHECK_EQ_INT(fresh, SERF_EVENTS_PER_LTIME_MAX);
    CHECK_EQ_INT(full, FLOOD - SERF_EVENTS_PER_LTIME_MAX);
    CHECK_EQ_INT(ev.full, FLOOD - SERF_EVENTS_PER_LTIME_MAX);
    CHECK_EQ_INT(ev.slots[7].events.n, SERF_EVENTS_PER_LTIME_MAX);
    /* what was kept is still known as a duplicate, in order */
    CHECK_EQ_INT(serf_events_receive(&ev, 7, B("ev-0"), B("x")), SERF_EVENT_SEEN);
    snprintf(name, sizeof name, "ev-%d", SERF_EVENTS_PER_LTIME_MAX - 1);
    CHECK_EQ_INT(serf_events_receive(&ev, 7, B(name), B("x")), SERF_EVENT_SEEN);
    CHECK(ev.slots[7].events.v[SERF_EVENTS_PER_LTIME_MAX - 1].name.n == strlen(name) &&
          memcmp(ev.slots[7].events.v[SERF_EVENTS_PER_LTIME_MAX - 1].name.p, name, strlen(name)) == 0);
    /* other LTimes are not affected; the slot's reuse starts over */
    CHECK_EQ_INT(serf_events_receive(&ev, 8, B("ev-0"), B("x")), SERF_EVENT_NEW);
    CHECK_EQ_INT(serf_events_receive(&ev, 7 + SERF_EVENT_BUFFER, B("late"), B("")), SERF_EVENT_NEW);
    CHECK_EQ_INT(ev.slots[7].events.n, 1);
    serf_events_free(&ev);

    /* our own event at an LTime others filled is still sent */
    REQUIRE(serf_events_init(&ev, SERF_EVENT_BUFFER) == 0);
    for (int i = 0; i < SERF_EVENTS_PER_LTIME_MAX + 5; i++) {
        snprintf(name, sizeof name, "ev-%d", i);
        serf_events_receive(&ev, 0, B(name), B(""));
    }
    wire_buf out;
    wire_buf_init(&out, 0);
    ev.clock.counter = 0;   /* as if nothing had moved it on yet */
    CHECK_EQ_INT(serf_events_send(&ev, &out, B("mine"), B(""), false, SERF_USER_EVENT_SIZE_LIMIT), WIRE_OK);
    CHECK(out.len > 0);
    wire_buf_free(&out);
    serf_events_free(&ev);
}

static void put_event(hn_bench *b, int to, const char *name, uint64_t ltime)
{
    serf_msg_user_event m = { .ltime = ltime, .name = B(name), .payload = B("") };
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_user_event_encode(&w, &m) == WIRE_OK);
    hn_receive(b, to, hn_addr(9, 7946), w.data, w.len);
    wire_buf_free(&w);
}

/* the node: past the bound, not delivered, not gossiped on, counted */
static void test_node_events_one_ltime(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int n0 = hn_add(&b, "n0", hn_addr(1, 7946), NULL, NULL, false);
    hn_meet(&b);
    char name[32];
    for (int i = 0; i < SERF_EVENTS_PER_LTIME_MAX + 10; i++) {
        snprintf(name, sizeof name, "e%d", i);
        put_event(&b, n0, name, 3);
        b.n[n0].nev = 0;   /* the bench keeps HN_EVENTS */
        serf_node_check(b.n[n0].sn, NULL);
    }
    hn_out out = hn_take(&b, n0);
    CHECK_EQ_INT(out.n, SERF_EVENTS_PER_LTIME_MAX);
    hn_out_free(&out);
    CHECK_EQ_INT(serf_node_get_stats(b.n[n0].sn)->events_full, 10);
    CHECK_EQ_INT(serf_node_get_stats(b.n[n0].sn)->events_received, SERF_EVENTS_PER_LTIME_MAX + 10);
    hn_free(&b);
}

/* ---- a flood of answerers ---- */

typedef struct counts {
    size_t acks, responses, done;
} counts;

static void count_event(void *ud, const serf_node_event *ev)
{
    counts *c = ud;
    c->acks += ev->type == SERF_EV_QUERY_ACK;
    c->responses += ev->type == SERF_EV_QUERY_RESPONSE;
    c->done += ev->type == SERF_EV_QUERY_DONE;
}

static void answer(serf_node *sn, const serf_msg_query *q, const char *from, bool ack)
{
    serf_msg_query_response r = { .from = B(from), .id = q->id, .ltime = q->ltime,
                                  .flags = ack ? SERF_QUERY_FLAG_ACK : 0, .payload = B("ok") };
    wire_buf w;
    wire_buf_init(&w, 0);
    REQUIRE(serf_msg_query_response_encode(&w, &r) == WIRE_OK);
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_USER;
    ev.payload = wire_bytes_of(w.data, w.len);
    ev.from = hn_addr(50, 7946);
    serf_node_on_swim_event(sn, 0, &ev);
    wire_buf_free(&w);
}

static void test_answerer_flood(void)
{
    counts c = { 0 };
    serf_node_config cfg = { .name = "n0", .gossip_interval_ms = 200, .seed = 1 };
    serf_node_io io = { .ud = &c, .event = count_event };
    serf_node *sn = serf_node_new(&cfg, &io, 0);
    REQUIRE(sn);
    serf_node_query_opts o = { .request_ack = true, .timeout_ms = 5000 };
    uint64_t h = 0;
    REQUIRE(serf_nq_query_send(sn, 0, B("q"), B(""), &o, SERF_NQ_FOR_APP, &h) == WIRE_OK);
    static hn_bench tmp;   /* large: not on the stack */
    memset(&tmp, 0, sizeof tmp);
    tmp.count = 1;
    tmp.n[0].sn = sn;
    hn_out out = hn_take(&tmp, 0);
    serf_node_update_deadline(sn);
    REQUIRE(out.n == 1);
    serf_msg_query q;
    REQUIRE(serf_msg_query_decode(out.v[0].msg, out.v[0].len, &q) == WIRE_OK);

    enum { NAMES = 65536 };
    char from[32];
    clock_t t0 = clock();
    for (int i = 0; i < NAMES; i++) {
        snprintf(from, sizeof from, "made-up-%d", i);
        answer(sn, &q, from, false);
    }
    double ms = cpu_ms(t0);
    t0 = clock();
    for (int i = 0; i < NAMES; i++) {
        snprintf(from, sizeof from, "made-up-%d", i);
        answer(sn, &q, from, true);
    }
    printf("# %d distinct answerers to one query: responses %.1f ms, acks %.1f ms CPU\n", NAMES, ms, cpu_ms(t0));
    CHECK_EQ_INT(c.responses, NAMES);
    CHECK_EQ_INT(c.acks, NAMES);
    /* each answers once; past the bound a new name is dropped */
    answer(sn, &q, "made-up-0", false);
    answer(sn, &q, "made-up-65535", true);
    answer(sn, &q, "one-too-many", false);
    answer(sn, &q, "one-too-many", true);
    CHECK_EQ_INT(c.responses, NAMES);
    CHECK_EQ_INT(c.acks, NAMES);
    serf_node_check(sn, NULL);
    serf_nq_tick(sn, 5000);
    serf_node_update_deadline(sn);   /* serf_node_tick's part */
    CHECK_EQ_INT(c.done, 1);
    serf_node_check(sn, NULL);
    serf_msg_query_free(&q);
    hn_out_free(&out);
    serf_node_free(sn);
}

/* names with a NUL inside are distinct from their prefix, and each is
 * still answered once */
static void test_answerer_names_whole(void)
{
    counts c = { 0 };
    serf_node_config cfg = { .name = "n0", .gossip_interval_ms = 200, .seed = 1 };
    serf_node_io io = { .ud = &c, .event = count_event };
    serf_node *sn = serf_node_new(&cfg, &io, 0);
    REQUIRE(sn);
    serf_node_query_opts o = { .timeout_ms = 5000 };
    REQUIRE(serf_nq_query_send(sn, 0, B("q"), B(""), &o, SERF_NQ_FOR_APP, NULL) == WIRE_OK);
    static hn_bench tmp;   /* large: not on the stack */
    memset(&tmp, 0, sizeof tmp);
    tmp.count = 1;
    tmp.n[0].sn = sn;
    hn_out out = hn_take(&tmp, 0);
    serf_node_update_deadline(sn);
    REQUIRE(out.n == 1);
    serf_msg_query q;
    REQUIRE(serf_msg_query_decode(out.v[0].msg, out.v[0].len, &q) == WIRE_OK);
    static const char *const names[] = { "a", "", "b" };
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 3; i++)
            answer(sn, &q, names[i], false);
    for (int round = 0; round < 2; round++) {
        serf_msg_query_response r = { .from = wire_bytes_of("a\0x", 3), .id = q.id, .ltime = q.ltime };
        wire_buf w;
        wire_buf_init(&w, 0);
        REQUIRE(serf_msg_query_response_encode(&w, &r) == WIRE_OK);
        swim_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SWIM_EV_USER;
        ev.payload = wire_bytes_of(w.data, w.len);
        ev.from = hn_addr(50, 7946);
        serf_node_on_swim_event(sn, 0, &ev);
        wire_buf_free(&w);
    }
    CHECK_EQ_INT(c.responses, 4);
    serf_msg_query_free(&q);
    hn_out_free(&out);
    serf_node_free(sn);
}

/* ---- the conflict vote at a full outbox ---- */

static size_t open_votes(const serf_node *sn)
{
    size_t n = 0;
    for (size_t i = 0; i < sn->nq.asked.n; i++)
        n += sn->nq.asked.v[i].purpose == SERF_NQ_FOR_VOTE;
    return n;
}

static void conflict(hn_bench *b, int me)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SWIM_EV_CONFLICT;
    ev.member = hn_member(&b->n[me]);
    ev.other = hn_addr(99, 7946);
    serf_node_on_swim_event(b->n[me].sn, b->now, &ev);
}

static void test_vote_dropped(void)
{
    static hn_bench b;
    memset(&b, 0, sizeof b);
    int me = hn_add(&b, "dup", hn_addr(1, 7946), NULL, NULL, false);
    hn_meet(&b);
    serf_node *sn = b.n[me].sn;
    /* fill the outbox: the vote's broadcast is dropped */
    while (serf_node_out_broadcast(sn, (const uint8_t *)"\x03", 1, NULL) == 0)
        ;
    conflict(&b, me);
    serf_node_check(sn, NULL);
    /* no vote half open: either none, or one that holds `voting` */
    CHECK_EQ_INT(open_votes(sn), sn->nq.voting ? 1 : 0);
    hn_out out = hn_take(&b, me);
    hn_out_free(&out);
    serf_node_update_deadline(sn);
    /* the next conflict, with room again: one vote, and only one */
    conflict(&b, me);
    conflict(&b, me);
    serf_node_check(sn, NULL);
    CHECK_EQ_INT(open_votes(sn), 1);
    CHECK(sn->nq.voting);
    out = hn_take(&b, me);
    CHECK_EQ_INT(out.n, 1);
    hn_out_free(&out);
    /* it ends; then a new one may start */
    serf_nq_tick(sn, b.now + 100000);
    CHECK_EQ_INT(open_votes(sn), 0);
    CHECK(!sn->nq.voting);
    hn_free(&b);
}

int main(void)
{
    test_events_one_ltime();
    test_node_events_one_ltime();
    test_answerer_flood();
    test_answerer_names_whole();
    test_vote_dropped();
    return check_done("test_serf_flood");
}
