/* The direct writer of alive messages and push/pull node states
 * (wire_msg_fast.c) against the table encoder: the same bytes for random
 * and edge values (NULL and empty views, lengths 0 to 40 across the fix
 * raw limit of 31, integers at every msgpack form's bounds, states out of
 * the fixint range, both integer styles), and the same refusal when the
 * buffer's limit is too small. And the direct reader of the same two
 * messages (wire_fast_read_*, behind wire_decode_alive and
 * wire_decode_push_node_state) against the general map reader:
 * the same result, fields and bytes used for what we write, for it cut at
 * every length, with a byte changed anywhere, and for the other forms a
 * peer may write (str8 keys, nil values, negative states, array Vsn). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire/wire_msg.h"

static const uint32_t ints[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 0x7fffffffu, 0xffffffffu };
static const int64_t states[] = { 0, 1, 2, 3, 127, 128, -1, 300, 70000 };

static uint8_t pool[64];

/* NULL, or len bytes of the pool */
static wire_bytes view(int r)
{
    if (r % 9 == 0)
        return wire_bytes_of(NULL, 0);
    size_t len = (size_t)(rand() % 41);
    return wire_bytes_of(pool + rand() % 8, len);
}

static void same_bytes(const wire_buf *a, int ra, const wire_buf *b, int rb, const char *what, int i)
{
    CHECKF(ra == rb, "%s %d: results %d and %d", what, i, ra, rb);
    CHECKF(a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0),
           "%s %d: other bytes (%zu and %zu)", what, i, a->len, b->len);
}

/* An alive of random and edge values */
static wire_alive random_alive(void)
{
    wire_alive m;
    memset(&m, 0, sizeof m);
    m.addr = view(rand());
    m.meta = view(rand());
    m.node = view(rand());
    m.incarnation = rand() % 3 ? ints[rand() % 10] : (uint32_t)rand();
    m.port = (uint16_t)(rand() % 2 ? ints[rand() % 7] : (uint32_t)rand());
    for (int k = 0; k < 6; k++)
        m.vsn.v[k] = (uint8_t)rand();
    m.vsn.len = (uint8_t)(rand() % 8);
    return m;
}

/* A push/pull node state of random and edge values */
static wire_push_node_state random_node_state(void)
{
    wire_push_node_state s;
    memset(&s, 0, sizeof s);
    s.addr = view(rand());
    s.meta = view(rand());
    s.name = view(rand());
    s.incarnation = rand() % 3 ? ints[rand() % 10] : (uint32_t)rand();
    s.port = (uint16_t)(rand() % 2 ? ints[rand() % 7] : (uint32_t)rand());
    s.state = states[rand() % 9];
    for (int k = 0; k < 6; k++)
        s.vsn.v[k] = (uint8_t)rand();
    s.vsn.len = 6;
    return s;
}

static void test_alive(void)
{
    for (int i = 0; i < 20000; i++) {
        wire_alive m = random_alive();
        if (m.node.p == NULL && i % 2)
            m.node = wire_bytes_of("", 0);
        wire_buf a, b;
        /* a small limit now and then: both must refuse alike */
        size_t max = i % 50 == 0 ? (size_t)(10 + rand() % 60) : 0;
        wire_buf_init(&a, max);
        wire_buf_init(&b, max);
        int ra = wire_encode_alive(&a, &m);
        int rb = wire_encode_alive_table(&b, &m);
        same_bytes(&a, ra, &b, rb, "alive", i);
        wire_buf_free(&a);
        wire_buf_free(&b);
    }
}

static void test_push_node_state(void)
{
    for (int i = 0; i < 20000; i++) {
        wire_push_node_state s = random_node_state();
        wire_int_style style = i % 2 ? WIRE_INT_GO_MSGPACK_V2 : WIRE_INT_GO_MSGPACK_V0;
        wire_buf a, b;
        size_t max = i % 50 == 0 ? (size_t)(10 + rand() % 60) : 0;
        wire_buf_init(&a, max);
        wire_buf_init(&b, max);
        /* after other bytes, as in a push/pull */
        wire_buf_append(&a, "\x06", 1);
        wire_buf_append(&b, "\x06", 1);
        int ra = wire_encode_push_node_state(&a, &s, style);
        int rb = wire_encode_push_node_state_table(&b, &s, style);
        same_bytes(&a, ra, &b, rb, "node state", i);
        /* and what it wrote decodes to what went in */
        wire_push_node_state back;
        size_t used = 0;
        if (ra == WIRE_OK && a.len > 1) {
            CHECK(wire_decode_push_node_state(a.data + 1, a.len - 1, &back, &used) == WIRE_OK);
            CHECK(used == a.len - 1 && back.incarnation == s.incarnation && back.port == s.port &&
                  back.state == s.state && back.name.n == s.name.n);
        }
        wire_buf_free(&a);
        wire_buf_free(&b);
    }
}

static bool same_view(wire_bytes a, wire_bytes b)
{
    return a.p == b.p && a.n == b.n;
}

static bool same_vsn(const wire_vsn *a, const wire_vsn *b)
{
    return a->len == b->len && memcmp(a->v, b->v, sizeof a->v) == 0;
}

/* Both readers of an alive on the same bytes: same result, same used,
 * every field the same (views to the same bytes); the objects start full
 * of garbage, so a field one reader leaves unset shows. */
static void same_alive(const uint8_t *p, size_t n, const char *what, int i)
{
    wire_alive a, b;
    memset(&a, 0x5a, sizeof a);
    memset(&b, 0xa5, sizeof b);
    size_t ua = 7, ub = 7;
    int ra = wire_decode_alive(p, n, &a, &ua);
    int rb = wire_decode_alive_map(p, n, &b, &ub);
    bool same = same_view(a.addr, b.addr) && a.incarnation == b.incarnation && same_view(a.meta, b.meta) &&
                same_view(a.node, b.node) && a.port == b.port && same_vsn(&a.vsn, &b.vsn);
    CHECKF(ra == rb && ua == ub && same, "alive %s %d: %d/%zu against %d/%zu", what, i, ra, ua, rb, ub);
}

static void same_node_state(const uint8_t *p, size_t n, const char *what, int i)
{
    wire_push_node_state a, b;
    memset(&a, 0x5a, sizeof a);
    memset(&b, 0xa5, sizeof b);
    size_t ua = 7, ub = 7;
    int ra = wire_decode_push_node_state(p, n, &a, &ua);
    int rb = wire_decode_push_node_state_map(p, n, &b, &ub);
    bool same = same_view(a.addr, b.addr) && a.incarnation == b.incarnation && same_view(a.meta, b.meta) &&
                same_view(a.name, b.name) && a.port == b.port && a.state == b.state && same_vsn(&a.vsn, &b.vsn);
    CHECKF(ra == rb && ua == ub && same, "node state %s %d: %d/%zu against %d/%zu", what, i, ra, ua, rb, ub);
}

/* Every prefix, and copies with one byte set to a random value or to a
 * form byte a peer might use instead (nil, str8, negative fixint, ...). */
static void mutants(const uint8_t *p, size_t n, void (*same)(const uint8_t *, size_t, const char *, int), int i)
{
    static const uint8_t forms[] = { 0xc0, 0xd9, 0xc4, 0xda, 0xff, 0xe0, 0x96, 0xdc, 0x00, 0x7f, 0x80, 0xa0 };
    uint8_t copy[300];
    if (n > sizeof copy)
        return;
    for (size_t k = 0; k <= n; k++)
        same(p, k, "prefix", i);
    for (int k = 0; k < 40; k++) {
        memcpy(copy, p, n);
        copy[rand() % n] = k % 2 ? (uint8_t)rand() : forms[rand() % sizeof forms];
        same(copy, n, "changed", i);
    }
}

static void test_decode_in_order(void)
{
    int taken = 0;
    for (int i = 0; i < 3000; i++) {
        wire_alive m = random_alive();
        wire_buf a;
        wire_buf_init(&a, 0);
        if (wire_encode_alive(&a, &m) == WIRE_OK && a.len > 1) {
            same_alive(a.data + 1, a.len - 1, "as written", i);
            mutants(a.data + 1, a.len - 1, same_alive, i);
            taken++;
        }
        wire_buf_free(&a);

        wire_push_node_state s = random_node_state();
        wire_buf_init(&a, 0);
        if (wire_encode_push_node_state(&a, &s, i % 2 ? WIRE_INT_GO_MSGPACK_V2 : WIRE_INT_GO_MSGPACK_V0) == WIRE_OK) {
            same_node_state(a.data, a.len, "as written", i);
            mutants(a.data, a.len, same_node_state, i);
        }
        wire_buf_free(&a);
    }
    CHECK(taken > 2000);
    /* the other forms, whole: a str8 key, nil values, an array Vsn, a
     * negative State, a repeated key, an unknown key, keys out of order */
    static const struct {
        const char *bytes;
        size_t n;
    } odd[] = {
#define ODD(s) { s, sizeof(s) - 1 }
        ODD("\x87\xd9\x04" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Port\x05\xa5State\x00\xa3Vsn\xa6" "123456"),
        ODD("\x87\xa4" "Addr\xc0\xabIncarnation\xc0\xa4Meta\xc0\xa4Name\xc0\xa4Port\xc0\xa5State\xc0\xa3Vsn\xc0"),
        ODD("\x87\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Port\x05\xa5State\xff\xa3Vsn\x96\x01\x02\x03\x04\x05\x06"),
        ODD("\x87\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Port\x05\xa5State\xd3\x80\0\0\0\0\0\0\0\xa3Vsn\xa6" "123456"),
        ODD("\x87\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Name\xa1m\xa5State\x00\xa3Vsn\xa6" "123456"),
        ODD("\x87\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Pert\x05\xa5State\x00\xa3Vsn\xa6" "123456"),
        ODD("\x87\xa4" "Name\xa1n\xabIncarnation\x01\xa4Meta\xc0\xa4" "Addr\xc0\xa4Port\x05\xa5State\x00\xa3Vsn\xa6" "123456"),
        ODD("\x88\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Name\xa1n\xa4Port\x05\xa5State\x00\xa3Vsn\xa6" "123456\xa1x\x01"),
        ODD("\x86\xa4" "Addr\xc0\xabIncarnation\xce\xff\xff\xff\xff\xa4Meta\xc0\xa4Node\xa1n\xa4Port\xcd\xff\xff\xa3Vsn\xa6" "123456"),
        ODD("\x86\xa4" "Addr\xc0\xabIncarnation\xcf\0\0\0\1\0\0\0\0\xa4Meta\xc0\xa4Node\xa1n\xa4Port\x05\xa3Vsn\xa6" "123456"),
        ODD("\x86\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Node\xa1n\xa4Port\xce\0\1\0\0\xa3Vsn\xa6" "123456"),
        ODD("\x86\xa4" "Addr\xc0\xabIncarnation\x01\xa4Meta\xc0\xa4Node\xa1n\xa4Port\x05\xa3Vsn\xa3" "123"),
#undef ODD
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        same_node_state((const uint8_t *)odd[i].bytes, odd[i].n, "odd", (int)i);
        same_alive((const uint8_t *)odd[i].bytes, odd[i].n, "odd", (int)i);
        mutants((const uint8_t *)odd[i].bytes, odd[i].n, same_node_state, (int)i);
        mutants((const uint8_t *)odd[i].bytes, odd[i].n, same_alive, (int)i);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)(i * 37 + 1);
    srand(12);
    test_alive();
    test_push_node_state();
    test_decode_in_order();
    return check_done("test_msg_fast");
}
