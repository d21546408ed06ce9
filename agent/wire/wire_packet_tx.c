/* UDP send pipeline (§5.1): compound -> compress -> CRC -> encrypt -> label. */
#include "wire/wire_packet.h"

#include "wire/wire_compound.h"
#include "wire/wire_compress.h"
#include "wire/wire_crc.h"

int wire_packet_build(wire_buf *out, const wire_frame_config *cfg, const wire_bytes *msgs, size_t n, bool crc,
                      const uint8_t *nonce)
{
    if (n == 0)
        return WIRE_ERANGE;
    if (wire_frame_encrypts(cfg) && !nonce)
        return WIRE_ECRYPT;
    /* two scratch buffers, each stage writing into the other */
    wire_buf s[2];
    wire_buf_init(&s[0], 0);
    wire_buf_init(&s[1], 0);
    const uint8_t *cur;
    size_t curn;
    int rc = WIRE_OK, k = 0;

    if (n == 1) {
        if (msgs[0].n == 0)
            return WIRE_ERANGE;
        cur = msgs[0].p;
        curn = msgs[0].n;
    } else {
        rc = wire_compound_build(&s[k], msgs, n);
        cur = s[k].data;
        curn = s[k].len;
        k ^= 1;
    }
    if (!rc && cfg->compress) {
        /* only if that makes it smaller (§5.1 step 2) */
        rc = wire_compress_wrap(&s[k], cur, curn);
        if (!rc && s[k].len < curn) {
            cur = s[k].data;
            curn = s[k].len;
            k ^= 1;
        }
    }
    if (!rc && crc) {
        wire_buf_reset(&s[k]);
        rc = wire_crc_wrap(&s[k], cur, curn);
        cur = s[k].data;
        curn = s[k].len;
        k ^= 1;
    }
    size_t start = out->len;
    if (!rc)
        rc = wire_label_write(out, cfg);
    if (!rc) {
        if (wire_frame_encrypts(cfg))
            rc = wire_encrypt(out, cfg->keyring, nonce, cur, curn, cfg->label, cfg->label_len);
        else
            rc = wire_buf_append(out, cur, curn);
    }
    if (rc)
        out->len = start;
    wire_buf_free(&s[0]);
    wire_buf_free(&s[1]);
    return rc;
}

size_t wire_packet_overhead(const wire_frame_config *cfg)
{
    size_t o = 0;
    if (wire_frame_encrypts(cfg))
        o += WIRE_ENCRYPT_OVERHEAD;
    if (cfg->label_len)
        o += WIRE_LABEL_HEADER + cfg->label_len;
    return o;
}
