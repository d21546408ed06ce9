/* libFuzzer target for serf's own message layer (agent/serf/serf_msg*.h)
 * and what consumes it. The first byte picks, modulo 12:
 *   0-9  the decoder of that serf message type, fed the rest (which
 *        starts with the message's own type byte, as in the seeds made by
 *        tools/gen_serf_fixtures.py);
 *   10   a query filter, decoded and applied (serf_query_filters_pass);
 *   11   a regular expression (length byte, expression, value) through
 *        serf_query_regex_match, and the rest as events and queries for
 *        the recent-events and recent-queries buffers.
 * Whatever decodes must encode, and what that encoding decodes to must
 * encode to the same bytes again (so the codec is stable on any input it
 * accepts). Push/pull states are also merged into an event buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_events.h"
#include "serf/serf_msg_any.h"
#include "serf/serf_query.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)


/* decode, encode, decode that, encode again: the two encodings agree */
static void round_trip(int kind, const uint8_t *p, size_t n)
{
    serf_msg_any m, m2;
    if (serf_msg_any_decode(kind, p, n, &m) != WIRE_OK)
        return;
    wire_buf a, b;
    wire_buf_init(&a, 0);
    wire_buf_init(&b, 0);
    ASSERT(serf_msg_any_encode(kind, &a, &m) == WIRE_OK);
    ASSERT(serf_msg_any_decode(kind, a.data, a.len, &m2) == WIRE_OK);
    ASSERT(serf_msg_any_encode(kind, &b, &m2) == WIRE_OK);
    ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    serf_msg_any_free(kind, &m2);

    if (kind == SERF_MSG_PUSH_PULL) {
        serf_events ev;
        if (serf_events_init(&ev, 8) == 0) {
            (void)serf_events_merge(&ev, &m.push_pull, (n & 1) != 0, NULL, NULL);
            serf_events_free(&ev);
        }
    }
    if (kind == SERF_MSG_QUERY) {
        serf_tags tags = { 0 };
        (void)serf_tags_set(&tags, "role", 4, "web", 3);
        (void)serf_query_filters_pass(&m.query.filters, m.query.source_node, &tags);
        serf_tags_free(&tags);
    }
    serf_msg_any_free(kind, &m);
    wire_buf_free(&a);
    wire_buf_free(&b);
}

static void bookkeeping(const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    size_t k = p[0];
    if (k > n - 1)
        k = n - 1;
    (void)serf_query_regex_match(wire_bytes_of(p + 1, k), wire_bytes_of(p + 1 + k, n - 1 - k));

    serf_events ev;
    serf_queries q;
    if (serf_events_init(&ev, 4) || serf_queries_init(&q, 4)) {
        serf_events_free(&ev);
        return;
    }
    for (size_t i = 1; i + 1 < n; i += 2) {
        uint64_t lt = p[i];
        serf_event_verdict v = serf_events_receive(&ev, lt, wire_bytes_of(p + i + 1, 1), wire_bytes_of(p, i & 3));
        ASSERT(v <= SERF_EVENT_NOMEM);
        (void)serf_queries_receive(&q, lt, p[i + 1]);
    }
    serf_queries_free(&q);
    serf_events_free(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % 12;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (sel == 11) {
        bookkeeping(p, n);
        return 0;
    }
    round_trip(sel, p, n);
    if (sel == SERF_ANY_FILTER && n) {
        serf_raw_list l = { (wire_bytes[]){ wire_bytes_of(p, n) }, 1 };
        (void)serf_query_filters_pass(&l, wire_bytes_of("n1", 2), NULL);
    }
    return 0;
}
