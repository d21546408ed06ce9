/* libFuzzer target: the UDP receive pipeline (wire_packet_receive).
 *
 * Input byte 0 picks the receiver's configuration so that every path is
 * reachable: bit 0 label "vectorgen", bit 1 keyring (both test keys of the
 * vectors, so the seed corpus decrypts), bit 2 verify_incoming off, bit 3
 * SkipInboundLabelCheck, bit 4 a tiny inflate budget. The rest is the
 * datagram. Every delivered message is decoded, and the packet is rebuilt
 * through the send path and received again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame_config.h"
#include "wire/wire_msg.h"
#include "wire/wire_packet.h"

typedef struct parts {
    size_t n;
    wire_buf copy;
    size_t off[255], len[255];
} parts;

static int on_msg(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    parts *p = arg;
    wire_msg m;
    (void)info;
    if (wire_decode_msg(msg, n, &m) == WIRE_OK && p->n < 255 && n <= 65535) {
        /* the callback's bytes die with it: copy to rebuild later */
        p->off[p->n] = p->copy.len;
        p->len[p->n] = n;
        if (wire_buf_append(&p->copy, msg, n) == WIRE_OK)
            p->n++;
    }
    return 0;
}

static int count(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    (void)msg;
    (void)n;
    (void)info;
    ++*(size_t *)arg;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wire_packet_rx rx;
    static int inited;
    if (!inited) {
        wire_packet_rx_init(&rx);
        inited = 1;
    }
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    wire_frame_config cfg;
    fuzz_frame_config(&cfg, sel);
    if (sel & 8)
        cfg.skip_inbound_label_check = true;
    if (sel & 16)
        cfg.max_udp_inflate = 64;

    /* an exact-size copy, so any over-read is caught */
    size_t n = size - 1;
    uint8_t *pkt = malloc(n ? n : 1);
    memcpy(pkt, data + 1, n);
    parts p = { 0 };
    wire_buf_init(&p.copy, 0);
    wire_packet_receive(&rx, &cfg, pkt, n, on_msg, &p);
    free(pkt);

    if (p.n > 0) {
        wire_bytes msgs[255];
        for (size_t i = 0; i < p.n; i++)
            msgs[i] = wire_bytes_of(p.copy.data + p.off[i], p.len[i]);
        static const uint8_t nonce[12] = { 1, 2, 3 };
        wire_buf out;
        wire_buf_init(&out, 0);
        cfg.skip_inbound_label_check = false;
        cfg.verify_incoming = true;
        cfg.max_udp_inflate = WIRE_MAX_INFLATE; /* parts may sum to more than a datagram's budget */
        if (wire_packet_build(&out, &cfg, msgs, p.n, sel & 32, nonce) == WIRE_OK) {
            size_t got = 0;
            if (wire_packet_receive(&rx, &cfg, out.data, out.len, count, &got) != WIRE_OK || got != p.n)
                abort(); /* what we build, we must read back */
        }
        wire_buf_free(&out);
    }
    wire_buf_free(&p.copy);
    return 0;
}
