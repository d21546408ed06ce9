/* wire_packet: UDP datagram framing (§5).
 *
 * Receive: label -> decrypt -> CRC -> compound / compress (recursively)
 * -> one callback per contained message. Send: compound -> compress (only
 * if smaller) -> CRC (if asked) -> encrypt (primary key) -> label.
 *
 * The config is a wire_frame_config (wire_frame.h); the same one serves
 * the stream layer. */
#ifndef MOONLIST_WIRE_PACKET_H
#define MOONLIST_WIRE_PACKET_H

#include "wire/wire.h"
#include "wire/wire_buf.h"
#include "wire/wire_crypt.h"
#include "wire/wire_frame.h"

/* What the receive path saw around one message. */
typedef struct wire_packet_info {
    bool labeled;        /* the datagram carried a label header */
    bool encrypted;      /* it was decrypted (false: plaintext, also when accepted
                            as plaintext because verify_incoming is off) */
    bool crc;            /* a hasCrc wrapper was checked */
    int depth;           /* containers around the message (compound/compress) */
    /* Containers as in the vectors' "path": "hasCrc>compound[1/3]>",
     * "compress>compound[0/2]>"; "" for a bare message. */
    char path[96];
} wire_packet_info;

/* Called once per message, msg pointing at its type byte (one of 00 01 02
 * 03 04 05 08 0b; decode it with wire_decode_msg). The bytes are only
 * valid until the callback returns: they may live in the receive
 * context's scratch, which the next compress container overwrites. A
 * non-zero return stops the walk and is returned by wire_packet_receive. */
typedef int (*wire_packet_fn)(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info);

/* Receive context: scratch buffers for the decrypted datagram and one
 * inflate buffer per nesting level, reused from datagram to datagram (so a
 * steady stream of packets allocates nothing). Owned by the caller: init
 * once, free once; one datagram at a time (not thread-safe). */
typedef struct wire_packet_rx {
    wire_buf plain;
    wire_buf inflate[WIRE_PACKET_MAX_DEPTH];
    size_t inflated;     /* budget used by the current datagram */
    /* Counters since init, for metrics: parts dropped by a truncated
     * compound length table (Go's "truncated" count). */
    uint64_t truncated_parts;
} wire_packet_rx;

void wire_packet_rx_init(wire_packet_rx *rx);
void wire_packet_rx_free(wire_packet_rx *rx);

/* Process one datagram. Returns WIRE_OK when every contained message was
 * handed to fn. Otherwise the first error (or fn's non-zero return): like
 * Go, parts of a compound before and after a bad part are still
 * delivered, but the datagram as a whole reports the error.
 * Errors: WIRE_ELABEL (label missing, malformed or not ours), WIRE_ECRYPT
 * (no key opens it and verify_incoming is on), WIRE_ECRC, WIRE_ETYPE
 * (unknown type, or 06 0a 0c 0d f4 where a message is expected),
 * WIRE_ETRUNC (cut compound table or parts, empty message), WIRE_EDEPTH,
 * WIRE_ELIMIT (inflate budget), WIRE_ELZW, msgpack errors from the compress
 * map. */
int wire_packet_receive(wire_packet_rx *rx, const wire_frame_config *cfg, const uint8_t *pkt, size_t n,
                        wire_packet_fn fn, void *arg);

/* Build one datagram into out (appended) from msgs[0..n): one message as
 * is, several as a compound (at most 255). Then compress if cfg->compress
 * and it gets smaller, CRC if crc is true (the peer is known to have
 * PMax >= 5), encrypt with the primary key if wire_frame_encrypts(cfg)
 * (nonce: 12 fresh random bytes, required then, else may be NULL), and
 * prepend the label. */
int wire_packet_build(wire_buf *out, const wire_frame_config *cfg, const wire_bytes *msgs, size_t n, bool crc,
                      const uint8_t *nonce);

/* Bytes the framing adds around a gossip payload, to subtract from the
 * 1400-byte budget: 29 when encrypting, 2 + label length with a label (Go's
 * overhead accounting; the CRC and compound headers are counted by the
 * caller as Go does). */
size_t wire_packet_overhead(const wire_frame_config *cfg);

#endif
