/* libFuzzer target for the protocol core's handling of untrusted input:
 * the first byte routes the rest to swim_handle_packet (0), to
 * swim_handle_stream (1), or as the reply to our own join push/pull (2);
 * then virtual time runs on for a minute so that whatever state the input
 * created (members, suspicions, relays, queued broadcasts) is exercised.
 * The core must never crash, leak or read past its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

typedef struct ctx {
    uint64_t stream_id;
    int streams;
} ctx;

static void send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    (void)ud; (void)to; (void)msg; (void)len; (void)crc;
}

static void open_stream(void *ud, const swim_stream_req *req)
{
    ctx *c = ud;
    if (req->kind == SWIM_STREAM_PUSH_PULL && !c->stream_id)
        c->stream_id = req->id;
    c->streams++;
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
    ctx c = { 0, 0 };
    swim_io io;
    memset(&io, 0, sizeof io);
    io.ud = &c;
    io.send_packet = send_packet;
    io.open_stream = open_stream;
    io.event = event;
    io.delegate.local_state = local_state;
    swim *s = swim_new(&cfg, &io, 0);
    if (!s)
        __builtin_trap();
    /* names that the seed messages use */
    add_member(s, "n1", 2);
    add_member(s, "n3", 3);
    add_member(s, "node-a", 4);
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
    for (int i = 0; i < 2000; i++) {
        swim_time d = swim_next_deadline(s);
        if (d > 60000)
            break;
        swim_tick(s, d);
    }
    swim_free(s);
    return 0;
}
