/* Node names as memberlist takes them (§4.6): any length (memberlist has
 * no limit of its own; only the message carrying a name bounds it), kept
 * whole everywhere: a silent member with a 300- or 1000-byte name is
 * probed, asked about through relays under its whole name, suspected and
 * declared dead; the alive filter and the merge filter see the whole name.
 * A name holding a NUL byte is refused as invalid (it would collide with
 * its prefix as a queue key and as the C string the application gets),
 * from an alive and from a push/pull; a suspect's From holding a NUL is
 * compared with its length, so "z\0a" and "z\0b" are two confirmers and
 * "z\0a" twice is one. */
#include "harness.h"
#include "swim/swim_internal.h"

static harness H;

static const uint8_t *suspect_from(const char *node, uint32_t inc, const char *from, size_t flen, size_t *len)
{
    wire_suspect m = { wire_bytes_of(from, flen), inc, wire_bytes_of(node, strlen(node)) };
    return h_buf_encoded(wire_encode_suspect(h_buf_fresh(), &m), len);
}

/* An alive about a name of nlen bytes, from its own address; a suspect
 * from `peer` */
static void inject_alive(const char *node, size_t nlen, int peer, uint32_t inc)
{
    size_t len;
    const uint8_t *m = h_alive_ex(node, nlen, peer, inc, NULL, h_vsn, &len);
    h_inject(&H, peer, m, len);
}

static void inject_suspect(int peer, const char *node, uint32_t inc, const char *from, size_t flen)
{
    size_t len;
    const uint8_t *m = suspect_from(node, inc, from, flen, &len);
    h_inject(&H, peer, m, len);
}

static char *long_name(size_t n)
{
    char *s = malloc(n + 1);
    REQUIRE(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    /* the first 255 bytes alone name nobody: the truncation could only
     * ever find nothing */
    s[n] = 0;
    return s;
}

static void setup(int npeers)
{
    h_setup(&H, npeers);
    H.auto_ack = true;
}

typedef struct asked_about {
    const char *name;
    size_t len;
    bool whole;                  /* an indirect ping named it whole */
} asked_about;

static void note_asked(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    (void)p;
    asked_about *q = ud;
    wire_msg w;
    if (len && msg[0] == WIRE_INDIRECT_PING && wire_decode_msg(msg, len, &w) == WIRE_OK &&
        w.u.indirect_ping.node.n == q->len && memcmp(w.u.indirect_ping.node.p, q->name, q->len) == 0)
        q->whole = true;
}

/* A silent member with a long name: its failed probes go to the relays
 * under its whole name, it becomes suspect, then dead. */
static void long_name_suspected(size_t nlen)
{
    setup(3);
    char *name = long_name(nlen);
    inject_alive(name, nlen, 9, 1);
    REQUIRE(swim_member_count(H.core) == 5);
    H.down[9] = true;
    h_clear(&H);
    swim_member mem;
    bool suspected = false;
    while (H.now < 120000 && !suspected) {
        h_run(&H, H.now + 100);
        REQUIRE(swim_member_get(H.core, name, &mem));
        suspected = mem.state != SWIM_ALIVE;
    }
    CHECKF(suspected, "a member with a %zu-byte name was never suspected", nlen);
    /* the relays were asked about it under its whole name */
    asked_about q = { name, nlen, false };
    h_each_msg(&H, note_asked, &q);
    CHECK(q.whole);
    /* dead once the suspicion runs out unconfirmed (5 members: k = 2, so
     * the full 6 x 4 s, §10.4) */
    h_run(&H, H.now + 24000);
    REQUIRE(swim_member_get(H.core, name, &mem));
    CHECK_EQ_INT(mem.state, SWIM_DEAD);
    free(name);
    h_free(&H);
}

/* The alive filter gets the whole name: vetoing the 300-byte name vetoes
 * that node (a truncated copy matched nothing and let it in). */
static void alive_filter_whole_name(void)
{
    setup(0);
    char *name = long_name(300);
    H.veto_name = name;
    inject_alive(name, 300, 4, 1);
    swim_member mem;
    CHECK(!swim_member_get(H.core, name, &mem));
    CHECK_EQ_INT(swim_member_count(H.core), 1);
    H.veto_name = NULL;
    inject_alive(name, 300, 4, 1);
    CHECK(swim_member_get(H.core, name, &mem));
    free(name);
    h_free(&H);
}

/* An alive naming "x\0y" is refused (and counted dropped), over UDP and in
 * a push/pull; "x" itself stays a separate, unharmed member. */
static void nul_name_refused(void)
{
    setup(1);
    inject_alive("x", 1, 3, 1);
    REQUIRE(swim_member_count(H.core) == 3);
    uint64_t dropped = swim_get_stats(H.core)->dropped_by_type[WIRE_ALIVE];
    inject_alive("x\0y", 3, 5, 7);
    CHECK_EQ_INT(swim_member_count(H.core), 3);
    CHECK_EQ_INT(swim_get_stats(H.core)->dropped_by_type[WIRE_ALIVE], dropped + 1);
    swim_member mem;
    REQUIRE(swim_member_get(H.core, "x", &mem));
    CHECK_EQ_INT(mem.incarnation, 1);
    CHECK(mem.addr.ip[3] == 5); /* h_addr(3): 10.0.0.5 */

    /* the same name in a push/pull: skipped, the rest merged */
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header hd = { false, 2, 0 };
    REQUIRE(wire_encode_push_pull_header(&b, &hd, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    const char *names[2] = { "q\0r", "q" };
    for (int i = 0; i < 2; i++)
        h_node_state(&b, names[i], i ? 1 : 3, 6 + i, 1, WIRE_STATE_ALIVE, WIRE_INT_GO_MSGPACK_V0);
    swim_addr from = h_addr(6);
    wire_buf reply;
    wire_buf_init(&reply, 0);
    CHECK(swim_handle_stream(H.core, H.now, &from, b.data, b.len, &reply));
    CHECK_EQ_INT(swim_member_count(H.core), 4);
    REQUIRE(swim_member_get(H.core, "q", &mem));
    CHECK(mem.addr.ip[3] == 9); /* h_addr(7), not the NUL name's h_addr(6) */
    wire_buf_free(&b);
    wire_buf_free(&reply);
    h_free(&H);
}

/* Confirmations of a suspicion are counted by From with its length. */
static void nul_from_keyed_by_length(void)
{
    setup(5); /* 6 members: k = SuspicionMult - 2 = 2 confirmations expected */
    inject_suspect(0, "p4", 1, "p0", 2);
    REQUIRE(h_state(&H, "p4") == SWIM_SUSPECT);
    swim_node *n = swim_members_find(&H.core->members, "p4", 2);
    REQUIRE(n && swim_node_susp(n));
    CHECK_EQ_INT(swim_node_susp(n)->k, 2);
    inject_suspect(1, "p4", 1, "z\0a", 3);
    CHECK_EQ_INT(swim_node_susp(n)->n, 1);
    inject_suspect(1, "p4", 1, "z\0a", 3);
    CHECK_EQ_INT(swim_node_susp(n)->n, 1); /* the same confirmer again */
    inject_suspect(1, "p4", 1, "z", 1);
    CHECK_EQ_INT(swim_node_susp(n)->n, 2); /* "z" is another one */
    h_free(&H);
}

int main(void)
{
    long_name_suspected(300);
    long_name_suspected(1000);
    alive_filter_whole_name();
    nul_name_refused();
    nul_from_keyed_by_length();
    wire_buf_free(&h_buf);
    return check_done("test_swim_names");
}
