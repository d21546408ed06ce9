/* The direct writer of alive messages and push/pull node states
 * (wire_msg_fast.c) against the table encoder: the same bytes for random
 * and edge values (NULL and empty views, lengths 0 to 40 across the fix
 * raw limit of 31, integers at every msgpack form's bounds, states out of
 * the fixint range, both integer styles), and the same refusal when the
 * buffer's limit is too small. */
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

static void test_alive(void)
{
    for (int i = 0; i < 20000; i++) {
        wire_alive m;
        memset(&m, 0, sizeof m);
        m.addr = view(rand());
        m.meta = view(rand());
        m.node = view(rand());
        if (m.node.p == NULL && i % 2)
            m.node = wire_bytes_of("", 0);
        m.incarnation = rand() % 3 ? ints[rand() % 10] : (uint32_t)rand();
        m.port = (uint16_t)(rand() % 2 ? ints[rand() % 7] : (uint32_t)rand());
        for (int k = 0; k < 6; k++)
            m.vsn.v[k] = (uint8_t)rand();
        m.vsn.len = (uint8_t)(rand() % 8);
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

int main(void)
{
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)(i * 37 + 1);
    srand(12);
    test_alive();
    test_push_node_state();
    return check_done("test_msg_fast");
}
