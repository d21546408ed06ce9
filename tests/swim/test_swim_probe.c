/* The probe loop (§10.1): direct ping and ack, indirect pings with nacks,
 * the TCP fallback, the [ping, suspect] compound to a suspect, Lifeguard
 * awareness (§10.5) and its stretching of the probe interval; answering
 * pings and relaying indirect pings (§4.1, §4.2). */
#include "harness.h"

static harness H;

typedef struct found {
    uint8_t type;
    size_t from;                 /* first packet index to look at */
    size_t pkt;                  /* where it was found */
    wire_msg m;
    bool ok;
    int count;
    int peer;                    /* -1: any */
} found;

static bool find_msg(harness *h, found *f)
{
    f->ok = false;
    f->count = 0;
    for (size_t i = f->from; i < h->npkts; i++) {
        const uint8_t *parts[64];
        size_t lens[64];
        size_t n = h_parts(h->pkts[i].data, h->pkts[i].len, parts, lens, 64);
        for (size_t k = 0; k < n; k++) {
            if (!lens[k] || parts[k][0] != f->type)
                continue;
            if (f->peer >= 0 && h_peer_of(&h->pkts[i].to) != f->peer)
                continue;
            if (!f->ok) {
                REQUIRE(wire_decode_msg(parts[k], lens[k], &f->m) == WIRE_OK);
                f->pkt = i;
                f->ok = true;
            }
            f->count++;
        }
    }
    return f->ok;
}

/* Run until the core sends a ping; returns its seq and target peer. */
static uint32_t next_ping_from(harness *h, size_t from, int *peer, swim_time *at)
{
    for (int guard = 0; guard < 10000; guard++) {
        found f = { .type = WIRE_PING, .from = from, .peer = -1 };
        if (find_msg(h, &f)) {
            *peer = h_peer_of(&h->pkts[f.pkt].to);
            *at = h->pkts[f.pkt].t;
            return f.m.u.ping.seq_no;
        }
        swim_time d = swim_next_deadline(h->core);
        h->now = d;
        swim_tick(h->core, d);
    }
    REQUIRE(0);
    return 0;
}

static uint32_t next_ping(harness *h, int *peer, swim_time *at)
{
    return next_ping_from(h, h->npkts, peer, at);
}

static void inject_ack(harness *h, int peer, uint32_t seq, const char *payload)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ack a = { payload ? wire_bytes_of(payload, strlen(payload)) : wire_bytes_of(NULL, 0), seq };
    REQUIRE(wire_encode_ack(&b, &a) == WIRE_OK);
    h_inject(h, peer, b.data, b.len);
    wire_buf_free(&b);
}

static void inject_nack(harness *h, int peer, uint32_t seq)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_nack a = { seq };
    REQUIRE(wire_encode_nack(&b, &a) == WIRE_OK);
    h_inject(h, peer, b.data, b.len);
    wire_buf_free(&b);
}

static void test_direct_ack(void)
{
    h_setup(&H, 4);
    int peer;
    swim_time at;
    uint32_t seq = next_ping(&H, &peer, &at);
    /* the ping names its target and carries our address (0.2.0+) */
    found f = { .type = WIRE_PING, .from = 0, .peer = peer };
    REQUIRE(find_msg(&H, &f));
    char want[8];
    snprintf(want, sizeof want, "p%d", peer);
    CHECK_MEM(f.m.u.ping.node.p, f.m.u.ping.node.n, want, strlen(want));
    CHECK_MEM(f.m.u.ping.source_node.p, f.m.u.ping.source_node.n, "me", 2);
    CHECK_EQ_INT(f.m.u.ping.source_port, 7946);
    /* sendMsg finds the node only when it is named by its IP: no CRC, as
     * in the serf capture of a ping (§4.1) */
    CHECK(!H.pkts[f.pkt].crc);
    H.now = at + 3;
    inject_ack(&H, peer, seq, "coord");
    const h_ev *e = h_last_event(&H, SWIM_EV_PING, want);
    REQUIRE(e);
    CHECK_EQ_INT(e->rtt, 3);
    CHECK_MEM(e->payload, e->payload_len, "coord", 5);
    CHECK_EQ_INT(swim_get_stats(H.core)->probes, 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->probe_failures, 0);
    /* an ack for an unknown seq is ignored */
    inject_ack(&H, peer, seq + 100, NULL);
    h_free(&H);
}

static void test_indirect_nack_and_awareness(void)
{
    h_setup(&H, 4);
    int peer;
    swim_time at;
    uint32_t seq = next_ping(&H, &peer, &at);
    size_t mark = H.npkts;
    h_run(&H, at + 499);
    found f = { .type = WIRE_INDIRECT_PING, .from = mark, .peer = -1 };
    CHECK(!find_msg(&H, &f));
    h_run(&H, at + 500); /* ProbeTimeout */
    REQUIRE(find_msg(&H, &f));
    CHECK_EQ_INT(f.count, 3); /* IndirectChecks */
    CHECK(f.m.u.indirect_ping.nack);
    CHECK_EQ_INT(f.m.u.indirect_ping.seq_no, seq);
    CHECK_EQ_INT(f.m.u.indirect_ping.port, 7946);
    CHECK_EQ_INT(f.m.u.indirect_ping.target.n, 4);
    CHECK_EQ_INT(f.m.u.indirect_ping.target.p[3], peer + 2);
    CHECK(h_peer_of(&H.pkts[f.pkt].to) != peer);
    /* and the TCP fallback, due by the end of the probe */
    REQUIRE(H.nstreams == 1);
    CHECK_EQ_INT(H.streams[0].req.kind, SWIM_STREAM_PING);
    CHECK_EQ_INT(H.streams[0].req.deadline, at + 1000);
    CHECK_EQ_INT(H.streams[0].req.phase_timeout, 0); /* the probe's end bounds it all */
    CHECK(H.streams[0].req.want_reply);
    CHECK_EQ_INT(H.streams[0].msg[0], WIRE_PING);
    /* two of three relays nack; the TCP ping fails */
    int relays[3], nr = 0;
    for (size_t i = mark; i < H.npkts && nr < 3; i++)
        if (H.pkts[i].data[0] == WIRE_INDIRECT_PING ||
            (H.pkts[i].data[0] == WIRE_COMPOUND && H.pkts[i].len > 6 && H.pkts[i].data[4 + 2 * H.pkts[i].data[1] - 2] == WIRE_INDIRECT_PING))
            relays[nr++] = h_peer_of(&H.pkts[i].to);
    H.now = at + 700;
    inject_nack(&H, relays[0], seq);
    inject_nack(&H, relays[0 + (nr > 1)], seq);
    swim_stream_done(H.core, at + 900, H.streams[0].req.id, NULL, 0);
    char name[8];
    snprintf(name, sizeof name, "p%d", peer);
    h_run(&H, at + 999);
    CHECK_EQ_INT(h_state(&H, name), SWIM_ALIVE);
    h_run(&H, at + 1000);
    CHECK_EQ_INT(h_state(&H, name), SWIM_SUSPECT);
    /* expected 3 nacks, got 2: awareness + 1 */
    CHECK_EQ_INT(swim_health_score(H.core), 1);
    CHECK_EQ_INT(swim_get_stats(H.core)->probe_failures, 1);
    /* the suspect gets [ping, suspect] when probed, nothing else */
    H.auto_ack = true; /* the others answer from now on */
    H.down[peer] = true;
    mark = H.npkts;
    found g = { .type = WIRE_PING, .from = mark, .peer = peer };
    for (int guard = 0; guard < 100 && !find_msg(&H, &g); guard++)
        h_run(&H, H.now + 1000);
    REQUIRE(g.ok);
    const h_pkt *p = &H.pkts[g.pkt];
    REQUIRE(p->data[0] == WIRE_COMPOUND);
    CHECK_EQ_INT(p->data[1], 2);
    const uint8_t *parts[4];
    size_t lens[4];
    REQUIRE(h_parts(p->data, p->len, parts, lens, 4) == 2);
    CHECK_EQ_INT(parts[0][0], WIRE_PING);
    CHECK_EQ_INT(parts[1][0], WIRE_SUSPECT);
    wire_msg sm;
    REQUIRE(wire_decode_msg(parts[1], lens[1], &sm) == WIRE_OK);
    CHECK_MEM(sm.u.suspect.node.p, sm.u.suspect.node.n, name, strlen(name));
    CHECK_MEM(sm.u.suspect.from.p, sm.u.suspect.from.n, "me", 2);
    CHECK(p->crc);
    /* a success brings the score down */
    inject_ack(&H, peer, g.m.u.ping.seq_no, NULL);
    CHECK_EQ_INT(swim_health_score(H.core), 0);
    h_free(&H);
}

static void test_stretch(void)
{
    /* No nacks expected (relays speak protocol 3): a failed probe costs 1.
     * The probe lasts ProbeInterval * (score + 1); ProbeTimeout does not
     * stretch. */
    swim_config c;
    h_config(&c, "me");
    c.disable_tcp_pings = true;
    h_init(&H, &c);
    char name[8];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "p%d", i);
        wire_buf b;
        wire_buf_init(&b, 0);
        swim_addr a = h_addr(i);
        wire_alive m;
        memset(&m, 0, sizeof m);
        m.addr = wire_bytes_of(a.ip, 4);
        m.incarnation = 1;
        m.node = wire_bytes_of(name, strlen(name));
        m.port = 7946;
        uint8_t v[6] = { 1, 3, 2, 2, 5, 5 };
        memcpy(m.vsn.v, v, 6);
        m.vsn.len = 6;
        REQUIRE(wire_encode_alive(&b, &m) == WIRE_OK);
        h_inject(&H, i, b.data, b.len);
        wire_buf_free(&b);
    }
    /* three refutations: score 3 */
    size_t len;
    for (uint32_t inc = 1; inc <= 3; inc++) {
        const uint8_t *m = h_suspect("me", inc * 10, "p0", &len);
        h_inject(&H, 0, m, len);
    }
    REQUIRE(swim_health_score(H.core) == 3);
    h_clear(&H);
    int peer;
    swim_time at;
    (void)next_ping(&H, &peer, &at);
    size_t mark = H.npkts;
    h_run(&H, at + 500);
    found f = { .type = WIRE_INDIRECT_PING, .from = mark, .peer = -1 };
    REQUIRE(find_msg(&H, &f));
    CHECK(!f.m.u.indirect_ping.nack);
    snprintf(name, sizeof name, "p%d", peer);
    h_run(&H, at + 3999);
    CHECK_EQ_INT(h_state(&H, name), SWIM_ALIVE);
    mark = H.npkts;
    h_run(&H, at + 4000);
    CHECK_EQ_INT(h_state(&H, name), SWIM_SUSPECT);
    CHECK_EQ_INT(swim_health_score(H.core), 4);
    /* ticks missed meanwhile: the buffered one starts the next probe at
     * once */
    int peer2;
    swim_time at2;
    (void)next_ping_from(&H, mark, &peer2, &at2);
    CHECK_EQ_INT(at2, at + 4000);
    /* the score is capped at AwarenessMaxMultiplier - 1 */
    for (int i = 0; i < 10; i++) {
        const uint8_t *m = h_suspect("me", 100 + i * 10, "p0", &len);
        h_inject(&H, 0, m, len);
    }
    CHECK_EQ_INT(swim_health_score(H.core), 7);
    h_free(&H);
}

static void test_tcp_fallback_success(void)
{
    h_setup(&H, 4);
    int peer;
    swim_time at;
    uint32_t seq = next_ping(&H, &peer, &at);
    h_run(&H, at + 500);
    REQUIRE(H.nstreams == 1);
    /* the peer answers over TCP only */
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_ack a = { wire_bytes_of(NULL, 0), seq };
    REQUIRE(wire_encode_ack(&b, &a) == WIRE_OK);
    H.now = at + 600;
    swim_stream_done(H.core, H.now, H.streams[0].req.id, b.data, b.len);
    wire_buf_free(&b);
    size_t mark = H.npkts;
    h_run(&H, at + 1000);
    char name[8];
    snprintf(name, sizeof name, "p%d", peer);
    CHECK_EQ_INT(h_state(&H, name), SWIM_ALIVE);
    CHECK_EQ_INT(swim_get_stats(H.core)->probe_failures, 0);
    CHECK_EQ_INT(swim_health_score(H.core), 0);
    /* a TCP reply with the wrong seq is a failure */
    int peer2;
    swim_time at2;
    uint32_t seq2 = next_ping_from(&H, mark, &peer2, &at2);
    h_run(&H, at2 + 500);
    REQUIRE(H.nstreams == 2);
    wire_buf_init(&b, 0);
    wire_ack bad = { wire_bytes_of(NULL, 0), seq2 + 1 };
    REQUIRE(wire_encode_ack(&b, &bad) == WIRE_OK);
    swim_stream_done(H.core, at2 + 600, H.streams[1].req.id, b.data, b.len);
    wire_buf_free(&b);
    h_run(&H, at2 + 1000);
    snprintf(name, sizeof name, "p%d", peer2);
    CHECK_EQ_INT(h_state(&H, name), SWIM_SUSPECT);
    h_free(&H);
}

static void test_relay(void)
{
    h_setup(&H, 4);
    H.now = 100;
    /* p0 asks us to probe p1 */
    wire_indirect_ping ind;
    memset(&ind, 0, sizeof ind);
    swim_addr req = h_addr(0), tgt = h_addr(1);
    ind.nack = true;
    ind.node = wire_bytes_of("p1", 2);
    ind.port = 7946;
    ind.seq_no = 777;
    ind.source_addr = wire_bytes_of(req.ip, 4);
    ind.source_node = wire_bytes_of("p0", 2);
    ind.source_port = 7946;
    ind.target = wire_bytes_of(tgt.ip, 4);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(wire_encode_indirect_ping(&b, &ind) == WIRE_OK);
    h_inject(&H, 3, b.data, b.len); /* the datagram source does not matter */
    found f = { .type = WIRE_PING, .from = 0, .peer = 1 };
    REQUIRE(find_msg(&H, &f));
    uint32_t relay_seq = f.m.u.ping.seq_no;
    CHECK(relay_seq != 777);
    CHECK_MEM(f.m.u.ping.node.p, f.m.u.ping.node.n, "p1", 2);
    size_t mark = H.npkts;
    H.now = 150;
    inject_ack(&H, 1, relay_seq, "target-payload");
    found g = { .type = WIRE_ACK, .from = mark, .peer = 0 };
    REQUIRE(find_msg(&H, &g));
    CHECK_EQ_INT(g.m.u.ack.seq_no, 777);
    CHECK(g.m.u.ack.payload.p == NULL); /* not forwarded */
    /* no nack after an ack */
    mark = H.npkts;
    h_run(&H, 1000);
    found n0 = { .type = WIRE_NACK, .from = mark, .peer = -1 };
    CHECK(!find_msg(&H, &n0));

    /* the target stays silent: a nack after ProbeTimeout */
    H.now = 2000;
    wire_buf_reset(&b);
    ind.seq_no = 778;
    REQUIRE(wire_encode_indirect_ping(&b, &ind) == WIRE_OK);
    mark = H.npkts;
    h_inject(&H, 0, b.data, b.len);
    h_run(&H, 2499);
    found n1 = { .type = WIRE_NACK, .from = mark, .peer = 0 };
    CHECK(!find_msg(&H, &n1));
    h_run(&H, 2500);
    REQUIRE(find_msg(&H, &n1));
    CHECK_EQ_INT(n1.m.u.nack.seq_no, 778);
    CHECK_EQ_INT(n1.count, 1);
    /* without Nack: silence */
    H.now = 3000;
    wire_buf_reset(&b);
    ind.seq_no = 779;
    ind.nack = false;
    REQUIRE(wire_encode_indirect_ping(&b, &ind) == WIRE_OK);
    mark = H.npkts;
    h_inject(&H, 0, b.data, b.len);
    h_run(&H, 4000);
    found n2 = { .type = WIRE_NACK, .from = mark, .peer = -1 };
    CHECK(!find_msg(&H, &n2));
    wire_buf_free(&b);
    h_free(&H);
}

static void test_answer_ping(void)
{
    h_setup(&H, 2);
    H.ack_payload = "coordinate";
    wire_buf b;
    wire_buf_init(&b, 0);
    swim_addr src = h_addr(1);
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.node = wire_bytes_of("me", 2);
    p.seq_no = 42;
    p.source_addr = wire_bytes_of(src.ip, 4);
    p.source_node = wire_bytes_of("p1", 2);
    p.source_port = 7946;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, 0, b.data, b.len); /* datagram from p0, SourceAddr says p1 */
    found f = { .type = WIRE_ACK, .from = 0, .peer = 1 };
    REQUIRE(find_msg(&H, &f));
    CHECK_EQ_INT(f.m.u.ack.seq_no, 42);
    CHECK_MEM(f.m.u.ack.payload.p, f.m.u.ack.payload.n, "coordinate", 10);
    /* a ping for someone else is not answered */
    size_t mark = H.npkts;
    wire_buf_reset(&b);
    p.node = wire_bytes_of("other", 5);
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, 0, b.data, b.len);
    CHECK_EQ_INT(H.npkts, mark);
    /* no Source*: the ack goes to the datagram source */
    wire_buf_reset(&b);
    memset(&p, 0, sizeof p);
    p.seq_no = 43;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    h_inject(&H, 0, b.data, b.len);
    found g = { .type = WIRE_ACK, .from = mark, .peer = 0 };
    REQUIRE(find_msg(&H, &g));
    CHECK_EQ_INT(g.m.u.ack.seq_no, 43);
    /* over TCP: ack with a nil payload */
    wire_buf_reset(&b);
    p.node = wire_bytes_of("me", 2);
    p.seq_no = 44;
    REQUIRE(wire_encode_ping(&b, &p) == WIRE_OK);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    CHECK(swim_handle_stream(H.core, H.now, &src, b.data, b.len, &reply));
    wire_msg m;
    REQUIRE(wire_decode_msg(reply.data, reply.len, &m) == WIRE_OK);
    CHECK_EQ_INT(m.type, WIRE_ACK);
    CHECK_EQ_INT(m.u.ack.seq_no, 44);
    CHECK(m.u.ack.payload.p == NULL);
    wire_buf_free(&reply);
    wire_buf_free(&b);
    h_free(&H);
}

static void test_crc_choice(void)
{
    /* a node named by its IP is found by sendMsg's lookup: CRC on pings */
    swim_config c;
    h_config(&c, "me");
    h_init(&H, &c);
    h_add_peer(&H, "10.0.0.2", 0, 1);
    h_clear(&H);
    int peer;
    swim_time at;
    (void)next_ping(&H, &peer, &at);
    found f = { .type = WIRE_PING, .from = 0, .peer = 0 };
    REQUIRE(find_msg(&H, &f));
    CHECK(H.pkts[f.pkt].crc);
    h_free(&H);
    /* gossip knows its target node: CRC for PMax 5 */
    h_setup(&H, 2);
    H.auto_ack = true;
    h_run(&H, 20000); /* the membership gossip is over */
    h_clear(&H);
    CHECK(swim_broadcast(H.core, (const uint8_t *)"x", 1, NULL) == 0);
    h_run(&H, 20200);
    bool gossip_seen = false;
    for (size_t i = 0; i < H.npkts; i++)
        if (H.pkts[i].data[0] == WIRE_USER) {
            gossip_seen = true;
            CHECK(H.pkts[i].crc);
        }
    CHECK(gossip_seen);
    h_free(&H);
}

/* memberlist's probeNode on a failed UDP write (failedRemote): straight to
 * the indirect and TCP pings, without the ProbeTimeout wait; the probe
 * still ends at its interval; a success then leaves the score alone (the
 * ping never went out). Reports about other addresses, or once the probe
 * is indirect, change nothing. */
static void test_send_failure_goes_indirect(void)
{
    h_setup(&H, 4);
    int peer;
    swim_time at;
    uint32_t seq = next_ping(&H, &peer, &at);
    size_t mark = H.npkts;
    swim_addr other = h_addr(peer == 0 ? 1 : 0);
    swim_send_failed(H.core, at, &other);
    found f = { .type = WIRE_INDIRECT_PING, .from = mark, .peer = -1 };
    CHECK(!find_msg(&H, &f));
    CHECK_EQ_INT(H.nstreams, 0);
    swim_addr target = h_addr(peer);
    swim_send_failed(H.core, at, &target);
    REQUIRE(find_msg(&H, &f));
    CHECK_EQ_INT(f.count, 3);
    CHECK_EQ_INT(f.m.u.indirect_ping.seq_no, seq);
    CHECK_EQ_INT(H.pkts[f.pkt].t, at); /* at once, not at + ProbeTimeout */
    CHECK_EQ_INT(H.nstreams, 1);       /* the TCP ping too */
    /* a second report, or the ProbeTimeout passing, asks nobody again */
    swim_send_failed(H.core, at + 1, &target);
    h_run(&H, at + 600);
    f.from = mark;
    REQUIRE(find_msg(&H, &f));
    CHECK_EQ_INT(f.count, 3);
    CHECK_EQ_INT(H.nstreams, 1);
    /* no ack: suspect at the interval's end, as always */
    swim_stream_done(H.core, at + 700, H.streams[0].req.id, NULL, 0);
    char name[8];
    snprintf(name, sizeof name, "p%d", peer);
    h_run(&H, at + 999);
    CHECK_EQ_INT(h_state(&H, name), SWIM_ALIVE);
    h_run(&H, at + 1000);
    CHECK_EQ_INT(h_state(&H, name), SWIM_SUSPECT);
    h_free(&H);

    /* a relayed ack after a failed write: success, and the score stays */
    h_setup(&H, 4);
    size_t len;
    const uint8_t *m = h_suspect("me", 1, "p0", &len);
    h_inject(&H, 0, m, len); /* refuting raises the score to 1 */
    REQUIRE(swim_health_score(H.core) == 1);
    seq = next_ping(&H, &peer, &at);
    target = h_addr(peer);
    swim_send_failed(H.core, at, &target);
    H.now = at + 100;
    inject_ack(&H, peer == 0 ? 1 : 0, seq, NULL);
    CHECK_EQ_INT(swim_get_stats(H.core)->probe_failures, 0);
    CHECK_EQ_INT(swim_health_score(H.core), 1);
    h_free(&H);
}

int main(void)
{
    test_crc_choice();
    test_direct_ack();
    test_indirect_nack_and_awareness();
    test_stretch();
    test_tcp_fallback_success();
    test_relay();
    test_answer_ping();
    test_send_failure_goes_indirect();
    wire_buf_free(&h_buf);
    return check_done("test_swim_probe");
}
