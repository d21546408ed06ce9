/* swim_repair (docs/protocol.md §12.1): a stale accusation about us is
 * answered with our alive straight to its accuser and to the member that
 * passed it on, once per such member per probe interval; a ping from a node we do not know, or hold dead, starts
 * a push/pull with it, once per probe interval; nothing else does. */
#include "harness.h"

static harness H;

/* Packets since `from` to fake peer `peer` that carry an alive about
 * `node` at incarnation `inc` (a packet counts once: the answer and a
 * gossiped copy of the same refutation may share it). */
static int alive_to(harness *h, size_t from, int peer, const char *node, uint32_t inc)
{
    int n = 0;
    for (size_t i = from; i < h->npkts; i++) {
        if (h_peer_of(&h->pkts[i].to) != peer)
            continue;
        const uint8_t *parts[64];
        size_t lens[64];
        size_t k = h_parts(h->pkts[i].data, h->pkts[i].len, parts, lens, 64);
        for (size_t j = 0; j < k; j++) {
            wire_msg m;
            if (!lens[j] || parts[j][0] != WIRE_ALIVE || wire_decode_msg(parts[j], lens[j], &m) != WIRE_OK)
                continue;
            if (m.u.alive.node.n == strlen(node) && memcmp(m.u.alive.node.p, node, m.u.alive.node.n) == 0 &&
                m.u.alive.incarnation == inc) {
                n++;
                break;
            }
        }
    }
    return n;
}

static void inject_suspect(const char *node, uint32_t inc, const char *from, int via)
{
    size_t len;
    const uint8_t *m = h_suspect(node, inc, from, &len);
    h_inject(&H, via, m, len);
}

static void inject_dead(const char *node, uint32_t inc, const char *from, int via)
{
    size_t len;
    const uint8_t *m = h_dead(node, inc, from, &len);
    h_inject(&H, via, m, len);
}

static void test_stale_accusation(void)
{
    h_setup(&H, 4);
    /* a fresh accusation is refuted by gossip, as memberlist does: no
     * packet straight to the accuser */
    inject_suspect("me", 1, "p0", 0);
    CHECK_EQ_INT(h_inc(&H, "me"), 2);
    CHECK_EQ_INT(alive_to(&H, 0, 0, "me", 2), 0);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, 0);

    /* p1 accuses us at 1 (it missed the refutation) and p2 gossips the
     * accusation on to us (so p2 missed it too): both get our alive at 2
     * at once */
    size_t mark = H.npkts;
    inject_suspect("me", 1, "p1", 2);
    CHECK_EQ_INT(alive_to(&H, mark, 1, "me", 2), 1);
    CHECK_EQ_INT(alive_to(&H, mark, 2, "me", 2), 1);
    CHECK_EQ_INT(h_inc(&H, "me"), 2); /* no new refutation */
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, 2);

    /* again within the probe interval, from p1 itself: not answered twice */
    mark = H.npkts;
    inject_suspect("me", 1, "p1", 1);
    inject_dead("me", 1, "p1", 1);
    CHECK_EQ_INT(alive_to(&H, mark, 1, "me", 2), 0);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, 2);

    /* a stale dead from another accuser, passed on by p0 */
    mark = H.npkts;
    inject_dead("me", 1, "p3", 0);
    CHECK_EQ_INT(alive_to(&H, mark, 3, "me", 2), 1);
    CHECK_EQ_INT(alive_to(&H, mark, 0, "me", 2), 1);
    CHECK_EQ_INT(h_state(&H, "me"), SWIM_ALIVE);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, 4);

    /* a probe interval later, p1 is answered again */
    h_run(&H, H.now + 1000);
    mark = H.npkts;
    inject_suspect("me", 1, "p1", 1);
    CHECK(alive_to(&H, mark, 1, "me", 2) >= 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, 5);

    /* accusers we cannot or need not answer: a stranger, ourselves, a
     * member we hold dead (passed on by p1, answered just now) */
    uint64_t before = swim_get_stats(H.core)->stale_answers;
    inject_suspect("me", 1, "stranger", 1);
    inject_suspect("me", 1, "me", 1);
    inject_dead("p2", 1, "p0", 0);
    CHECK_EQ_INT(h_state(&H, "p2"), SWIM_DEAD);
    inject_suspect("me", 1, "p2", 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, before);
    /* but whoever passes such an accusation on is answered */
    mark = H.npkts;
    inject_suspect("me", 1, "stranger", 3);
    CHECK_EQ_INT(alive_to(&H, mark, 3, "me", 2), 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->stale_answers, before + 1);
    h_free(&H);
}

static void ping_from(const char *source, int peer, uint32_t seq)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    swim_addr src = h_addr(peer);
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.node = wire_bytes_of("me", 2);
    p.seq_no = seq;
    p.source_addr = wire_bytes_of(src.ip, 4);
    p.source_node = wire_bytes_of(source, strlen(source));
    p.source_port = src.port;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, peer, b.data, b.len);
    wire_buf_free(&b);
}

/* Push/pulls opened since stream index `from` to fake peer `peer`. */
static int push_pulls_to(size_t from, int peer)
{
    int n = 0;
    for (size_t i = from; i < H.nstreams; i++)
        n += H.streams[i].req.kind == SWIM_STREAM_PUSH_PULL && h_peer_of(&H.streams[i].req.to) == peer;
    return n;
}

static void test_unknown_pinger(void)
{
    h_setup(&H, 3);
    /* a member we know alive: only the ack */
    ping_from("p0", 0, 1);
    CHECK_EQ_INT(push_pulls_to(0, 0), 0);

    /* a stranger: a push/pull with it, at the address its ack goes to */
    ping_from("newcomer", 5, 2);
    CHECK_EQ_INT(push_pulls_to(0, 5), 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->repair_push_pulls, 1);
    /* a second within the probe interval waits */
    ping_from("other", 6, 3);
    CHECK_EQ_INT(push_pulls_to(0, 6), 0);

    /* a member we hold dead */
    size_t len;
    const uint8_t *m = h_dead("p1", 1, "p0", &len);
    h_inject(&H, 0, m, len);
    CHECK_EQ_INT(h_state(&H, "p1"), SWIM_DEAD);
    H.now += 1000;
    size_t mark = H.nstreams;
    ping_from("p1", 1, 4);
    CHECK_EQ_INT(push_pulls_to(mark, 1), 1);

    /* a member that left: its leave is what we know */
    m = h_dead("p2", 1, "p2", &len);
    h_inject(&H, 0, m, len);
    CHECK_EQ_INT(h_state(&H, "p2"), SWIM_LEFT);
    H.now += 1000;
    mark = H.nstreams;
    ping_from("p2", 2, 5);
    CHECK_EQ_INT(push_pulls_to(mark, 2), 0);
    CHECK_EQ_INT(swim_get_stats(H.core)->repair_push_pulls, 2);

    /* while we leave, nothing */
    H.now += 1000;
    swim_leave(H.core, H.now, 5000);
    mark = H.nstreams;
    ping_from("late", 7, 6);
    CHECK_EQ_INT(push_pulls_to(mark, 7), 0);
    h_free(&H);
}

int main(void)
{
    test_stale_accusation();
    test_unknown_pinger();
    return check_done("test_swim_repair");
}
