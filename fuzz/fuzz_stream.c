/* libFuzzer target: the TCP stream reader, fed in random-sized chunks.
 *
 * Byte 0 picks the configuration: bit 0 label "vectorgen", bit 1 keyring
 * (the vectors' test keys), bit 2 verify_incoming off, bit 3 reading from
 * the initiator (label header allowed), bit 4 small limits. Byte 1 seeds
 * the chunk sizes. The rest is the stream. A message read is re-framed
 * with the writer and must read back identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame_config.h"
#include "wire/wire_msg.h"
#include "wire/wire_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t sel = data[0];
    uint32_t seed = data[1] * 2654435761u + 1;
    wire_frame_config cfg;
    fuzz_frame_config(&cfg, sel);
    if (sel & 16) {
        cfg.max_nodes = 3;
        cfg.max_user_state = 64;
        cfg.max_user_msg = 64;
        cfg.max_encrypted = 256;
        cfg.max_stream_inflate = 256;
        cfg.max_stream_plain = 256;
    }
    bool from_initiator = sel & 8;
    data += 2;
    size -= 2;

    wire_stream_reader r;
    wire_stream_reader_init(&r, &cfg, from_initiator);
    int rc = WIRE_STREAM_MORE;
    size_t off = 0;
    while (off < size && rc == WIRE_STREAM_MORE) {
        seed = seed * 1103515245u + 12345u;
        size_t c = 1 + (seed >> 16) % 97;
        if (c > size - off)
            c = size - off;
        uint8_t *chunk = malloc(c);
        memcpy(chunk, data + off, c);
        rc = wire_stream_reader_feed(&r, chunk, c);
        free(chunk);
        off += c;
    }
    if (rc == WIRE_STREAM_MORE)
        rc = wire_stream_reader_eof(&r);
    /* with the small limits, a re-framed message may legitimately not fit */
    if (rc == WIRE_STREAM_DONE && !(sel & 16)) {
        /* the message is complete by itself: frame it again, read it back */
        static const uint8_t nonce[12] = { 4, 5, 6 };
        wire_buf out;
        wire_buf_init(&out, 0);
        cfg.verify_incoming = true;
        if (wire_stream_frame(&out, &cfg, from_initiator, r.msg.p, r.msg.n, nonce) == WIRE_OK) {
            wire_stream_reader r2;
            wire_stream_reader_init(&r2, &cfg, from_initiator);
            if (wire_stream_reader_feed(&r2, out.data, out.len) != WIRE_STREAM_DONE || r2.msg.n != r.msg.n ||
                memcmp(r2.msg.p, r.msg.p, r.msg.n) != 0)
                abort();
            wire_stream_reader_free(&r2);
        }
        wire_buf_free(&out);
    }
    wire_stream_reader_free(&r);
    return 0;
}
