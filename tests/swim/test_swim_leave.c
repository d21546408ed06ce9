/* The leave's end on virtual time (§12): SWIM_EV_LEAVE_DONE comes serf's
 * LeavePropagateDelay (1 s) after our leave has been sent its full
 * retransmit count, and meanwhile the core still answers pings; when the
 * broadcast never finishes, at the timeout with no delay (serf's Leave
 * returns its error without sleeping); alone, at once. */
#include "harness.h"
#include "swim/swim_internal.h"

static harness H;

static void setup_ten(void)
{
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peers(&H, 9);
    h_run(&H, 2000);
    h_clear(&H);
}

typedef struct ack_count {
    uint32_t seq;
    int peer, n;
} ack_count;

static void count_ack(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    ack_count *c = ud;
    wire_msg m;
    if (len && msg[0] == WIRE_ACK && wire_decode_msg(msg, len, &m) == WIRE_OK && m.u.ack.seq_no == c->seq &&
        h_peer_of(&p->to) == c->peer)
        c->n++;
}

/* Acks sent to peer `peer` with this seq. */
static int acks_to(uint32_t seq, int peer)
{
    ack_count c = { seq, peer, 0 };
    h_each_msg(&H, count_ack, &c);
    return c.n;
}

static void inject_ping(int peer, uint32_t seq)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.node = wire_bytes_of("me", 2);
    p.seq_no = seq;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, peer, b.data, b.len);
    wire_buf_free(&b);
}

static void test_propagate_delay(void)
{
    setup_ten();
    swim_leave(H.core, H.now, 5000);
    /* step from deadline to deadline until the leave is out of our queue */
    swim_time out = SWIM_NEVER;
    while (H.now < 10000 && out == SWIM_NEVER) {
        h_run(&H, H.deadline);
        if (!H.core->leave_waiting)
            out = H.now;
    }
    REQUIRE(out != SWIM_NEVER);
    CHECK(!swim_queue_has(&H.core->bq, "me"));
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 0);
    /* the core's next deadline is the end of the delay, at the latest */
    CHECK(swim_next_deadline(H.core) <= out + SWIM_LEAVE_PROPAGATE_DELAY_MS);
    /* still answering probes meanwhile */
    h_run(&H, out + SWIM_LEAVE_PROPAGATE_DELAY_MS / 2);
    inject_ping(3, 4242);
    CHECK_EQ_INT(acks_to(4242, 3), 1);
    h_run(&H, out + SWIM_LEAVE_PROPAGATE_DELAY_MS - 1);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 0);
    h_run(&H, out + SWIM_LEAVE_PROPAGATE_DELAY_MS);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    const h_ev *e = h_last_event(&H, SWIM_EV_LEAVE_DONE, NULL);
    REQUIRE(e);
    CHECK_EQ_INT(e->t, out + SWIM_LEAVE_PROPAGATE_DELAY_MS);
    h_run(&H, H.now + 10000);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_free(&H);
}

/* A leave that cannot drain (a retransmit count far beyond 300 ms of
 * gossip): done at its timeout exactly, with no delay after it. */
static void test_timeout_no_delay(void)
{
    swim_config c;
    h_config(&c, "me");
    c.retransmit_mult = 1000;
    h_init(&H, &c);
    H.auto_ack = true;
    h_add_peer(&H, "p0", 0, 1);
    h_run(&H, 1000);
    swim_leave(H.core, H.now, 300);
    h_run(&H, 1299);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 0);
    h_run(&H, 1300);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_run(&H, 5000);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_free(&H);
}

/* Alone: nobody to tell, nobody probing us: at once. */
static void test_alone(void)
{
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    swim_leave(H.core, 0, 1000);
    CHECK_EQ_INT(h_count_events(&H, SWIM_EV_LEAVE_DONE, NULL), 1);
    h_free(&H);
}

int main(void)
{
    test_propagate_delay();
    test_timeout_no_delay();
    test_alone();
    wire_buf_free(&h_buf);
    return check_done("test_swim_leave");
}
