/* libFuzzer target for the protocol core's handling of untrusted input:
 * the first byte's remainder by 3 routes the rest to swim_handle_packet
 * (0), to swim_handle_stream (1), or as the reply to our own join
 * push/pull (2); its quotient picks what else happens around it (SCENE_*
 * bits: we leave first, change our meta and queue broadcasts first,
 * force-leave a member after, fail every stream we open, report every
 * packet we send refused by the socket). Then virtual
 * time runs on for a minute, ticking at the deadlines io->deadline
 * reports, so that whatever state the input created (members,
 * suspicions, relays, queued broadcasts) is exercised. The core must
 * never crash, leak, read past its input or break one of its assertions
 * (live in the fuzz build: swim_check.c); the deadline it reports must be
 * its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

/* What happens around the input: bits of the first byte / 3. Seeds with
 * a first byte below 3 run none of them, as before these existed. */
enum {
    SCENE_LEAVE_FIRST = 1,       /* swim_leave before the input */
    SCENE_META_FIRST = 2,        /* swim_set_meta and two broadcasts before */
    SCENE_FORCE_LEAVE = 4,       /* swim_force_leave of n3 after */
    SCENE_STREAMS_FAIL = 8,      /* every stream we open fails */
    SCENE_SENDS_FAIL = 16,       /* every packet we send is refused (swim_send_failed) */
};

/* Refused packets kept to report after the call that sent them. */
#define FUZZ_MAX_REFUSED 16

/* Streams we opened that want an answer, kept to fail them. */
#define FUZZ_MAX_STREAMS 64

typedef struct ctx {
    uint64_t stream_id;
    int streams;
    uint64_t pending[FUZZ_MAX_STREAMS];
    int npending;
    swim_time deadline;          /* as io->deadline last reported */
    swim_addr refused[FUZZ_MAX_REFUSED];
    int nrefused;
} ctx;

static void send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    (void)msg; (void)len; (void)crc;
    ctx *c = ud;
    if (c->nrefused < FUZZ_MAX_REFUSED)
        c->refused[c->nrefused++] = *to;
}

static void open_stream(void *ud, const swim_stream_req *req)
{
    ctx *c = ud;
    if (req->kind == SWIM_STREAM_PUSH_PULL && !c->stream_id)
        c->stream_id = req->id;
    c->streams++;
    if (req->want_reply && c->npending < FUZZ_MAX_STREAMS)
        c->pending[c->npending++] = req->id;
}

static void deadline(void *ud, swim_time next)
{
    ctx *c = ud;
    if (next == c->deadline) /* reported only when it moved */
        __builtin_trap();
    c->deadline = next;
}

static void event(void *ud, const swim_event *ev)
{
    (void)ud; (void)ev;
}

static void local_state(void *ud, bool join, const uint8_t **out, size_t *len)
{
    (void)ud; (void)join;
    *out = (const uint8_t *)"state";
    *len = 5;
}

static void add_member(swim *s, const char *name, uint8_t last)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    uint8_t ip[4] = { 10, 0, 0, last };
    wire_alive a;
    memset(&a, 0, sizeof a);
    a.addr = wire_bytes_of(ip, 4);
    a.incarnation = 1;
    a.node = wire_bytes_of(name, strlen(name));
    a.port = 7946;
    uint8_t v[6] = { 1, 5, 2, 2, 5, 5 };
    memcpy(a.vsn.v, v, 6);
    a.vsn.len = 6;
    if (wire_encode_alive(&b, &a) == WIRE_OK) {
        swim_addr from = { { 10, 0, 0, last }, 4, 7946 };
        swim_handle_packet(s, 0, &from, b.data, b.len);
    }
    wire_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    swim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    swim_config_profile(&cfg, "lan");
    strcpy(cfg.name, "n2");
    uint8_t me[4] = { 127, 0, 0, 1 };
    memcpy(cfg.advertise.ip, me, 4);
    cfg.advertise.ip_len = 4;
    cfg.advertise.port = 7946;
    cfg.seed = 1;
    ctx c;
    memset(&c, 0, sizeof c);
    c.deadline = SWIM_NEVER;
    unsigned scene = data[0] / 3;
    swim_io io;
    memset(&io, 0, sizeof io);
    io.ud = &c;
    io.send_packet = send_packet;
    io.open_stream = open_stream;
    io.event = event;
    io.deadline = deadline;
    io.delegate.local_state = local_state;
    swim *s = swim_new(&cfg, &io, 0);
    if (!s)
        __builtin_trap();
    /* names that the seed messages use */
    add_member(s, "n1", 2);
    add_member(s, "n3", 3);
    add_member(s, "node-a", 4);
    if (scene & SCENE_META_FIRST) {
        swim_set_meta(s, 5, (const uint8_t *)"tags", 4);
        swim_broadcast(s, (const uint8_t *)"event", 5, "k");
        swim_broadcast(s, (const uint8_t *)"query", 5, NULL);
    }
    if (scene & SCENE_LEAVE_FIRST)
        swim_leave(s, 5, 3000);
    c.npending = 0; /* only the input's streams are failed below */
    swim_addr from = { { 127, 0, 0, 1 }, 4, 7947 };
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        swim_handle_packet(s, 10, &from, msg, len);
        break;
    case 1: {
        wire_buf reply;
        wire_buf_init(&reply, 0);
        swim_handle_stream(s, 10, &from, msg, len, &reply);
        wire_buf_free(&reply);
        break;
    }
    case 2:
        swim_join(s, 10, &from, 1);
        if (c.stream_id)
            swim_stream_done(s, 20, c.stream_id, msg, len);
        break;
    }
    if (scene & SCENE_FORCE_LEAVE)
        swim_force_leave(s, 30, "n3");
    for (int i = 0; i < 2000; i++) {
        if (c.deadline != swim_next_deadline(s))
            __builtin_trap();
        if (scene & SCENE_STREAMS_FAIL)
            while (c.npending > 0)
                swim_stream_done(s, c.deadline > 60000 ? 60000 : c.deadline, c.pending[--c.npending], NULL, 0);
        if (scene & SCENE_SENDS_FAIL) {
            int n = c.nrefused;
            swim_addr refused[FUZZ_MAX_REFUSED];
            memcpy(refused, c.refused, (size_t)n * sizeof *refused);
            c.nrefused = 0;
            for (int k = 0; k < n; k++)
                swim_send_failed(s, c.deadline > 60000 ? 60000 : c.deadline, &refused[k]);
        }
        c.nrefused = 0;
        swim_time d = c.deadline;
        if (d > 60000)
            break;
        swim_tick(s, d);
    }
    swim_free(s);
    return 0;
}
