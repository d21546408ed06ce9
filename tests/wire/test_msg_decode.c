/* wire_msg decoders on hand-made bodies: what Go accepts we accept (§3:
 * any key order, unknown keys, any int/raw format, nil, Vsn as an array),
 * and hostile input fails fast with the right error (overflow, negative
 * unsigned, deep nesting, huge declared counts). Each body is copied to an
 * exact-size heap block so the sanitizer build catches any overrun. */
#include <string.h>
#include <time.h>

#include "check.h"
#include "wire/wire_msg.h"
#include "wire/wire_mp.h"

/* A body is written as hex with spaces allowed, and "'text'" for ASCII. */
static size_t build(const char *spec, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*spec && n < cap) {
        if (*spec == ' ') {
            spec++;
        } else if (*spec == '\'') {
            spec++;
            while (*spec && *spec != '\'' && n < cap)
                out[n++] = (uint8_t)*spec++;
            if (*spec)
                spec++;
        } else {
            unsigned v;
            if (sscanf(spec, "%2x", &v) != 1)
                break;
            out[n++] = (uint8_t)v;
            spec += 2;
        }
    }
    return n;
}

/* The current input: an exact-size heap copy of the spec, kept alive so
 * the views a decoder returns can be inspected; freed by the caller. */
static size_t keep_n;
static uint8_t *mk(const char *spec)
{
    uint8_t tmp[4096];
    keep_n = build(spec, tmp, sizeof tmp);
    uint8_t *p = malloc(keep_n ? keep_n : 1);
    REQUIRE(p);
    memcpy(p, tmp, keep_n);
    return p;
}

#define DEC(spec, fn, out, usedp) (keep = mk(spec), fn(keep, keep_n, out, usedp))

static bool eq(wire_bytes b, const char *s)
{
    return b.p && b.n == strlen(s) && !memcmp(b.p, s, b.n);
}

static void test_raw_formats(void)
{
    uint8_t *keep;
    wire_ping m;
    size_t used;
    /* Node as d9 (str8), SourceNode as str32, SourceAddr as bin8 (§3.3) */
    CHECK(DEC("84 a4'Node' d9 02 'n2' a5'SeqNo' 05 aa'SourceAddr' c4 04 7f000001"
              " aa'SourceNode' db 00000002 'n1'", wire_decode_ping, &m, &used) == WIRE_OK);
    CHECK(eq(m.node, "n2") && m.seq_no == 5 && eq(m.source_node, "n1") && m.source_addr.n == 4);
    free(keep);
    /* bin16/bin32 in string fields too (0.5.1 accepts, we are lenient) */
    wire_suspect s;
    CHECK(DEC("83 a4'From' c5 0002 'ab' ab'Incarnation' 01 a4'Node' c6 00000001 'c'", wire_decode_suspect, &s,
              &used) == WIRE_OK);
    CHECK(eq(s.from, "ab") && eq(s.node, "c"));
    free(keep);
    /* str16 for a short value, keys as str8 */
    CHECK(DEC("81 d9 04 'From' da 0001 'x'", wire_decode_suspect, &s, &used) == WIRE_OK && eq(s.from, "x"));
    free(keep);
}

static void test_integer_ranges(void)
{
    uint8_t *keep;
    size_t used;
    wire_alive a;
    /* Port 70000 does not fit uint16 */
    CHECK_EQ_INT(DEC("81 a4'Port' ce 00011170", wire_decode_alive, &a, &used), WIRE_ERANGE);
    free(keep);
    CHECK(DEC("81 a4'Port' cd ffff", wire_decode_alive, &a, &used) == WIRE_OK && a.port == 65535);
    free(keep);
    /* a signed 16-bit form of a port is fine */
    CHECK(DEC("81 a4'Port' d1 1b59", wire_decode_alive, &a, &used) == WIRE_OK && a.port == 7001);
    free(keep);
    wire_ack k;
    /* negative SeqNo, in every signed form */
    const char *negs[] = { "ff", "e0", "d0 ff", "d1 ffff", "d2 ffffffff", "d3 ffffffffffffffff" };
    for (size_t i = 0; i < sizeof negs / sizeof negs[0]; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "82 a7'Payload' c0 a5'SeqNo' %s", negs[i]);
        CHECKF(DEC(spec, wire_decode_ack, &k, &used) == WIRE_ERANGE, "SeqNo %s", negs[i]);
        free(keep);
    }
    CHECK_EQ_INT(DEC("81 a5'SeqNo' cf 0000000100000000", wire_decode_ack, &k, &used), WIRE_ERANGE);
    free(keep);
    CHECK(DEC("81 a5'SeqNo' cf 00000000ffffffff", wire_decode_ack, &k, &used) == WIRE_OK &&
          k.seq_no == UINT32_MAX);
    free(keep);
    /* Algo is a Go uint8 */
    wire_compress c;
    CHECK_EQ_INT(DEC("81 a4'Algo' cd 0100", wire_decode_compress, &c, &used), WIRE_ERANGE);
    free(keep);
    /* Go int fields: the full int64 range, v2 signed forms, negatives kept
     * for the stream layer to refuse */
    wire_push_pull_header h;
    CHECK(DEC("83 a4'Join' c2 a5'Nodes' d2 00010000 ac'UserStateLen' d1 00c8", wire_decode_push_pull_header, &h,
              &used) == WIRE_OK && h.nodes == 65536 && h.user_state_len == 200);
    free(keep);
    CHECK(DEC("81 a5'Nodes' ff", wire_decode_push_pull_header, &h, &used) == WIRE_OK && h.nodes == -1);
    free(keep);
    CHECK_EQ_INT(DEC("81 a5'Nodes' cf 8000000000000000", wire_decode_push_pull_header, &h, &used), WIRE_ERANGE);
    free(keep);
    wire_push_node_state ns;
    CHECK(DEC("81 a5'State' d3 0000000000000003", wire_decode_push_node_state, &ns, &used) == WIRE_OK &&
          ns.state == 3);
    free(keep);
}

static void test_keys_and_zero_values(void)
{
    uint8_t *keep;
    size_t used;
    wire_alive a;
    /* any order, unknown keys of every kind skipped, case-sensitive match */
    CHECK(DEC("8a a3'Vsn' a6 010502020505 a4'Port' cd 461a a4'node' a2'no'"
              " a5'Extra' 82 a1'a' 93 01 c3 ca3f800000 a1'b' c7 02 05 aabb"
              " a4'Node' a2'n1' a4'Meta' c0 a5'Float' cb 3ff0000000000000"
              " ab'Incarnation' 07 a4'Addr' a4 7f000001 a3'Ext' d6 01 00000000",
              wire_decode_alive, &a, &used) == WIRE_OK);
    CHECK(eq(a.node, "n1") && a.port == 17946 && a.incarnation == 7 && a.addr.n == 4 && !a.meta.p);
    CHECK(a.vsn.len == 6 && a.vsn.v[0] == 1 && a.vsn.v[5] == 5);
    free(keep);
    /* missing keys are zero; an empty map is a valid all-zero message */
    CHECK(DEC("80", wire_decode_alive, &a, &used) == WIRE_OK && used == 1);
    CHECK(!a.addr.p && !a.node.p && a.port == 0 && a.incarnation == 0 && a.vsn.len == 0);
    free(keep);
    /* nil for any field is its zero value (go-msgpack) */
    wire_indirect_ping ip;
    CHECK(DEC("84 a4'Nack' c0 a4'Port' c0 a5'SeqNo' c0 a4'Node' c0", wire_decode_indirect_ping, &ip, &used) ==
          WIRE_OK);
    CHECK(!ip.nack && ip.port == 0 && ip.seq_no == 0 && !ip.node.p);
    free(keep);
    /* bool as fixint 0/1, anything else refused */
    CHECK(DEC("81 a4'Nack' 01", wire_decode_indirect_ping, &ip, &used) == WIRE_OK && ip.nack);
    free(keep);
    CHECK_EQ_INT(DEC("81 a4'Nack' 02", wire_decode_indirect_ping, &ip, &used), WIRE_EFORMAT);
    free(keep);
    CHECK_EQ_INT(DEC("81 a4'Nack' a0", wire_decode_indirect_ping, &ip, &used), WIRE_EFORMAT);
    free(keep);
    /* a repeated key: the last one wins, as in Go */
    wire_nack nk;
    CHECK(DEC("82 a5'SeqNo' 01 a5'SeqNo' 02", wire_decode_nack, &nk, &used) == WIRE_OK && nk.seq_no == 2);
    free(keep);
    /* a nil key is go-msgpack's "": unknown, skipped */
    CHECK(DEC("82 c0 05 a5'SeqNo' 03", wire_decode_nack, &nk, &used) == WIRE_OK && nk.seq_no == 3);
    free(keep);
    /* a non-string key, a wrong-kind value, a non-map body */
    CHECK_EQ_INT(DEC("81 01 02", wire_decode_nack, &nk, &used), WIRE_EFORMAT);
    free(keep);
    CHECK_EQ_INT(DEC("81 a4'Node' 05", wire_decode_alive, &a, &used), WIRE_EFORMAT);
    free(keep);
    CHECK_EQ_INT(DEC("81 a4'Port' a3'abc'", wire_decode_alive, &a, &used), WIRE_EFORMAT);
    free(keep);
    CHECK_EQ_INT(DEC("91 01", wire_decode_nack, &nk, &used), WIRE_EFORMAT);
    free(keep);
    CHECK_EQ_INT(DEC("", wire_decode_nack, &nk, &used), WIRE_ETRUNC);
    free(keep);
    CHECK_EQ_INT(DEC("81 a5'SeqNo' c1", wire_decode_nack, &nk, &used), WIRE_EFORMAT);
    free(keep);
    /* map16/map32 headers, and `used` stops at the end of the map */
    CHECK(DEC("de 0001 a5'SeqNo' 09 ff ff", wire_decode_nack, &nk, &used) == WIRE_OK && nk.seq_no == 9 &&
          used == 10);
    free(keep);
    CHECK(DEC("df 00000001 a5'SeqNo' 09", wire_decode_nack, &nk, &used) == WIRE_OK && used == 12);
    free(keep);
    /* on error the output is zeroed, never half a message */
    CHECK_EQ_INT(DEC("82 a5'SeqNo' 09 a5'Extra' 93", wire_decode_nack, &nk, &used), WIRE_ETRUNC);
    CHECK_EQ_INT(nk.seq_no, 0);
    free(keep);
}

static void test_vsn(void)
{
    uint8_t *keep;
    size_t used;
    wire_alive a;
    /* Go decodes an array of small ints into []uint8 */
    CHECK(DEC("81 a3'Vsn' 96 01 05 02 02 05 05", wire_decode_alive, &a, &used) == WIRE_OK);
    CHECK(a.vsn.len == 6 && !memcmp(a.vsn.v, "\x01\x05\x02\x02\x05\x05", 6));
    free(keep);
    CHECK(DEC("81 a3'Vsn' dc 0006 01 05 cc02 d002 05 05", wire_decode_alive, &a, &used) == WIRE_OK &&
          a.vsn.len == 6 && a.vsn.v[3] == 2);
    free(keep);
    CHECK_EQ_INT(DEC("81 a3'Vsn' 92 01 cd0100", wire_decode_alive, &a, &used), WIRE_ERANGE);
    free(keep);
    CHECK_EQ_INT(DEC("81 a3'Vsn' 92 01 ff", wire_decode_alive, &a, &used), WIRE_ERANGE);
    free(keep);
    CHECK_EQ_INT(DEC("81 a3'Vsn' 92 01 a0", wire_decode_alive, &a, &used), WIRE_EFORMAT);
    free(keep);
    /* short and long: the length the peer sent is recorded */
    CHECK(DEC("81 a3'Vsn' a3 010502", wire_decode_alive, &a, &used) == WIRE_OK && a.vsn.len == 3 &&
          a.vsn.v[2] == 2 && a.vsn.v[3] == 0);
    free(keep);
    CHECK(DEC("81 a3'Vsn' a8 0105020205050909", wire_decode_alive, &a, &used) == WIRE_OK && a.vsn.len == 8 &&
          a.vsn.v[5] == 5);
    free(keep);
    CHECK(DEC("81 a3'Vsn' 98 01 05 02 02 05 05 09 09", wire_decode_alive, &a, &used) == WIRE_OK &&
          a.vsn.len == 8);
    free(keep);
    CHECK(DEC("81 a3'Vsn' c0", wire_decode_alive, &a, &used) == WIRE_OK && a.vsn.len == 0);
    free(keep);
    CHECK(DEC("81 a3'Vsn' c4 06 010502020505", wire_decode_alive, &a, &used) == WIRE_OK && a.vsn.len == 6);
    free(keep);
}

static void test_hostile(void)
{
    uint8_t *keep;
    size_t used;
    wire_ping m;
    /* a map declaring 4 billion entries in 5 bytes: refused at the header */
    clock_t t0 = clock();
    CHECK_EQ_INT(DEC("df ffffffff", wire_decode_ping, &m, &used), WIRE_ETRUNC);
    free(keep);
    /* the same inside an unknown key's value, as a map and as an array */
    CHECK_EQ_INT(DEC("81 a1'X' df ffffffff", wire_decode_ping, &m, &used), WIRE_ETRUNC);
    free(keep);
    CHECK_EQ_INT(DEC("81 a1'X' dd ffffffff 00", wire_decode_ping, &m, &used), WIRE_ETRUNC);
    free(keep);
    CHECK_EQ_INT(DEC("81 a1'X' db ffffffff", wire_decode_ping, &m, &used), WIRE_ETRUNC);
    free(keep);
    /* a byte field declaring 4 GiB */
    CHECK_EQ_INT(DEC("81 a4'Node' db fffffff0 'abc'", wire_decode_ping, &m, &used), WIRE_ETRUNC);
    free(keep);
    CHECK(clock() - t0 < CLOCKS_PER_SEC);   /* "fast": no work per declared entry */

    /* an unknown key whose value nests 50 000 deep: WIRE_EDEPTH, no stack
     * overflow; exactly the limit is still fine */
    size_t deep = 50000;
    uint8_t *p = malloc(deep + 16);
    REQUIRE(p);
    size_t hdr = build("81 a1'X'", p, 16);
    memset(p + hdr, 0x91, deep);
    p[hdr + deep] = 0xc0;
    CHECK_EQ_INT(wire_decode_ping(p, hdr + deep + 1, &m, &used), WIRE_EDEPTH);
    memset(p + hdr, 0x81, deep);   /* maps nested in the key position */
    CHECK_EQ_INT(wire_decode_ping(p, hdr + deep + 1, &m, &used), WIRE_EDEPTH);
    memset(p + hdr, 0x91, WIRE_MP_MAX_DEPTH);
    p[hdr + WIRE_MP_MAX_DEPTH] = 0xc0;
    CHECK_EQ_INT(wire_decode_ping(p, hdr + WIRE_MP_MAX_DEPTH + 1, &m, &used), WIRE_OK);
    free(p);
}

static void test_decode_msg(void)
{
    uint8_t *keep;
    wire_msg m;
    /* trailing bytes after the map are ignored, as Go does for a packet */
    keep = mk("0b 81 a5'SeqNo' 11 ff ff ff");
    CHECK(wire_decode_msg(keep, keep_n, &m) == WIRE_OK && m.u.nack.seq_no == 0x11);
    free(keep);
    uint8_t user[] = { 0x08 };
    CHECK(wire_decode_msg(user, 1, &m) == WIRE_OK && m.type == WIRE_USER && m.u.user.n == 0);
    uint8_t bad[] = { 0x04, 0x81, 0xa4, 'P', 'o', 'r', 't', 0xce, 0, 1, 0x11, 0x70 };
    CHECK_EQ_INT(wire_decode_msg(bad, sizeof bad, &m), WIRE_ERANGE);
    CHECK_EQ_INT(m.u.alive.port, 0);
}

int main(void)
{
    test_raw_formats();
    test_integer_ranges();
    test_keys_and_zero_values();
    test_vsn();
    test_hostile();
    test_decode_msg();
    return check_done("test_msg_decode");
}
