/* io->deadline (swim.h): the core tells its driver where its next deadline
 * moved, at the end of the call that moved it, and never otherwise, so the
 * driver's one timer needs nothing from whoever calls in. The harness
 * checks every report against swim_next_deadline() and refuses a repeated
 * value in all the swim tests; here each kind of call is checked on its
 * own, then a long random mix of all of them. */
#include "harness.h"

static harness H;

static void setup(void)
{
    swim_config c;
    h_config(&c, "me");
    /* gossip ticks out of the way: the probe's and the others' deadlines
     * are the ones that move */
    c.gossip_interval = 60000;
    h_init(&H, &c);
}

static const uint8_t *indirect_ping(uint32_t seq, size_t *len)
{
    swim_addr req = h_addr(0), tgt = h_addr(1);
    wire_indirect_ping ind;
    memset(&ind, 0, sizeof ind);
    ind.nack = true;
    ind.node = wire_bytes_of("p1", 2);
    ind.port = 7946;
    ind.seq_no = seq;
    ind.source_addr = wire_bytes_of(req.ip, 4);
    ind.source_node = wire_bytes_of("p0", 2);
    ind.source_port = 7946;
    ind.target = wire_bytes_of(tgt.ip, 4);
    return h_buf_encoded(wire_encode_indirect_ping(h_buf_fresh(), &ind), len);
}

static void test_new(void)
{
    setup();
    /* the first deadline comes from swim_new: the probe ticker's first
     * tick, after a random stagger below one ProbeInterval (1 s) */
    CHECK_EQ_INT(H.ndeadlines, 1);
    CHECK(H.deadline >= 1000 && H.deadline < 2000);
    h_free(&H);
}

static void test_tick(void)
{
    setup();
    swim_time d = H.deadline;
    swim_tick(H.core, d - 1);
    CHECK_EQ_INT(H.ndeadlines, 1); /* nothing due yet: nothing moved */
    swim_tick(H.core, d);
    h_check_deadline(&H);
    CHECK_EQ_INT(H.ndeadlines, 2);
    CHECK_EQ_INT(H.deadline, d + 1000); /* alone: the next probe tick */
    h_free(&H);
}

static void test_packet(void)
{
    setup();
    H.now = 100;
    h_add_peer(&H, "p0", 0, 1);
    h_add_peer(&H, "p1", 1, 1);
    CHECK_EQ_INT(H.ndeadlines, 1); /* new members do not move a timer */
    const uint8_t junk[] = { WIRE_ALIVE, 0xc1 };
    h_inject(&H, 0, junk, sizeof junk);
    CHECK_EQ_INT(H.ndeadlines, 1);
    /* a relayed probe expires after ProbeTimeout (500 ms), before the
     * probe ticker's first tick */
    size_t len;
    const uint8_t *m = indirect_ping(77, &len);
    h_inject(&H, 0, m, len);
    CHECK_EQ_INT(H.ndeadlines, 2);
    CHECK_EQ_INT(H.deadline, 600);
    h_free(&H);
}

static void test_unmoved_calls(void)
{
    setup();
    h_add_peer(&H, "p0", 0, 1);
    unsigned n = H.ndeadlines;
    CHECK(swim_broadcast(H.core, (const uint8_t *)"hi", 2, "k") == 0);
    CHECK(swim_set_meta(H.core, H.now, (const uint8_t *)"m", 1) == 0);
    CHECK(swim_send_user(H.core, H.now, "p0", (const uint8_t *)"u", 1, false) == 0);
    CHECK(swim_send_user(H.core, H.now, "p0", (const uint8_t *)"u", 1, true) == 0);
    swim_addr seed = h_addr(0);
    swim_join(H.core, H.now, &seed, 1);
    swim_join(H.core, H.now, NULL, 0);
    CHECK(swim_force_leave(H.core, H.now, "nobody") == false);
    h_check_deadline(&H);
    CHECK_EQ_INT(H.ndeadlines, n);
    h_free(&H);
}

static void test_leave(void)
{
    setup();
    h_add_peer(&H, "p0", 0, 1);
    H.now = 10;
    swim_leave(H.core, H.now, 100);
    h_check_deadline(&H);
    CHECK_EQ_INT(H.ndeadlines, 2);
    CHECK_EQ_INT(H.deadline, 110); /* the leave's own timeout */
    h_run(&H, 110);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    CHECK(H.deadline > 110);
    h_free(&H);
}

/* The TCP fallback ping still out at the end of a probe holds it open for
 * a grace period; its failure ends the probe and moves the deadline. */
static void test_stream_done(void)
{
    setup();
    h_add_peer(&H, "p0", 0, 1);
    swim_time d = H.deadline;
    h_run(&H, d + 1000);
    REQUIRE(H.nstreams == 1);
    CHECK_EQ_INT(H.streams[0].req.kind, SWIM_STREAM_PING);
    CHECK_EQ_INT(H.deadline, d + 1500); /* end of probe + ProbeTimeout */
    unsigned n = H.ndeadlines;
    H.now = d + 1200;
    swim_stream_done(H.core, H.now, H.streams[0].req.id, NULL, 0);
    h_check_deadline(&H);
    CHECK_EQ_INT(H.ndeadlines, n + 1);
    CHECK_EQ_INT(h_state(&H, "p0"), SWIM_SUSPECT);
    h_free(&H);
}

/* ---- every entry point at random ---- */

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return n ? (uint32_t)(rnd_state % n) : 0;
}

#define NPEERS 8

typedef struct pending {
    uint64_t id;
    bool push_pull;
} pending;

static pending pend[256];
static size_t npend;

/* A push/pull reply naming a few peers in random states. */
static const uint8_t *push_pull_reply(size_t *len)
{
    wire_buf *b = h_buf_fresh();
    size_t n = 1 + rnd(4);
    wire_push_pull_header hd = { false, (int64_t)n, 0 };
    REQUIRE(wire_encode_push_pull_header(b, &hd, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    for (size_t i = 0; i < n; i++) {
        int peer = (int)rnd(NPEERS);
        char name[8];
        snprintf(name, sizeof name, "p%d", peer);
        uint32_t inc = 1 + (uint32_t)rnd(6);
        h_node_state(b, name, strlen(name), peer, inc, (int64_t)rnd(4), WIRE_INT_GO_MSGPACK_V0);
    }
    *len = b->len;
    return b->data;
}

static uint32_t last_ping_seq;
static int last_ping_peer = -1;

static void random_packet(void)
{
    int peer = (int)rnd(NPEERS);
    char name[8], from[8];
    snprintf(name, sizeof name, "p%d", peer);
    snprintf(from, sizeof from, "p%u", rnd(NPEERS));
    uint32_t inc = 1 + rnd(6);
    size_t len;
    const uint8_t *m;
    switch (rnd(6)) {
    case 0:
        m = h_alive(name, peer, inc, rnd(2) ? "meta" : NULL, &len);
        break;
    case 1:
        m = h_suspect(rnd(8) ? name : "me", inc, from, &len);
        break;
    case 2:
        m = h_dead(rnd(8) ? name : "me", inc, rnd(4) ? from : name, &len);
        break;
    case 3:
        m = indirect_ping(rnd(1000), &len);
        break;
    case 4: /* an answer to the latest ping, or to an older one */
        if (last_ping_peer < 0)
            return;
        peer = last_ping_peer;
        m = h_buf_encoded(wire_encode_ack(h_buf_fresh(), &(wire_ack){ wire_bytes_of(NULL, 0), last_ping_seq - rnd(2) }),
                          &len);
        break;
    default: {
        static const uint8_t junk[] = { WIRE_SUSPECT, 0x81, 0xa1 };
        m = junk;
        len = sizeof junk;
        break;
    }
    }
    h_inject(&H, peer, m, len);
}

/* What the step's call sent that a later step may answer. */
static void harvest(void)
{
    for (size_t i = 0; i < H.nstreams; i++)
        if (H.streams[i].req.want_reply && npend < 256)
            pend[npend++] = (pending){ H.streams[i].req.id, H.streams[i].req.kind == SWIM_STREAM_PUSH_PULL };
    for (size_t i = 0; i < H.npkts; i++) {
        const uint8_t *parts[64];
        size_t lens[64];
        size_t n = h_parts(H.pkts[i].data, H.pkts[i].len, parts, lens, 64);
        wire_msg m;
        for (size_t k = 0; k < n; k++)
            if (lens[k] && parts[k][0] == WIRE_PING && wire_decode_msg(parts[k], lens[k], &m) == WIRE_OK) {
                last_ping_seq = m.u.ping.seq_no;
                last_ping_peer = h_peer_of(&H.pkts[i].to);
            }
    }
}

static void test_random_mix(void)
{
    swim_config c;
    h_config(&c, "me");
    c.push_pull_interval = 5000;
    h_init(&H, &c);
    unsigned moved = 0;
    for (int step = 0; step < 20000; step++) {
        unsigned before = H.ndeadlines;
        H.now += rnd(30);
        switch (rnd(12)) {
        case 0:
        case 1:
        case 2: /* the timer fires, on time or early */
            if (H.deadline != SWIM_NEVER && H.deadline > H.now)
                H.now = rnd(4) ? H.deadline : H.deadline - 1;
            swim_tick(H.core, H.now);
            break;
        case 3:
        case 4:
        case 5:
            random_packet();
            break;
        case 6:
            if (npend) {
                size_t k = rnd((uint32_t)npend);
                pending p = pend[k];
                pend[k] = pend[--npend];
                size_t len = 0;
                const uint8_t *r = p.push_pull && rnd(2) ? push_pull_reply(&len) : NULL;
                swim_stream_done(H.core, H.now, p.id, r, len);
            }
            break;
        case 7: {
            swim_addr seeds[2] = { h_addr((int)rnd(NPEERS)), h_addr((int)rnd(NPEERS)) };
            swim_join(H.core, H.now, seeds, rnd(3));
            break;
        }
        case 8: {
            char key[8];
            snprintf(key, sizeof key, "k%u", rnd(4));
            swim_broadcast(H.core, (const uint8_t *)"payload", 7, rnd(2) ? key : NULL);
            break;
        }
        case 9: {
            char name[8];
            snprintf(name, sizeof name, "p%u", rnd(NPEERS));
            if (rnd(2))
                swim_force_leave(H.core, H.now, name);
            else
                swim_send_user(H.core, H.now, name, (const uint8_t *)"u", 1, rnd(2));
            break;
        }
        case 10:
            swim_set_meta(H.core, H.now, (const uint8_t *)"tags", rnd(5));
            break;
        default: {
            size_t len;
            const uint8_t *m = push_pull_reply(&len);
            wire_buf reply;
            wire_buf_init(&reply, 0);
            swim_addr from = h_addr((int)rnd(NPEERS));
            swim_handle_stream(H.core, H.now, &from, m, len, &reply);
            wire_buf_free(&reply);
            break;
        }
        }
        h_check_deadline(&H);
        CHECK(H.ndeadlines - before <= 1); /* once per call, at its end */
        moved += H.ndeadlines != before;
        harvest();
        h_clear(&H);
        if (step == 15000)
            swim_leave(H.core, H.now, 2000); /* the last stretch as a leaving node */
    }
    h_check_deadline(&H);
    fprintf(stderr, "random mix: the deadline moved in %u of 20000 steps\n", moved);
    CHECK(moved > 1000);
    h_free(&H);
}

int main(void)
{
    test_new();
    test_tick();
    test_packet();
    test_unmoved_calls();
    test_leave();
    test_stream_done();
    test_random_mix();
    return check_done("test_swim_deadline");
}
