/* TCP stream writer (§6.1): [label] then compress, then encrypt. */
#include "wire/wire_stream.h"

#include "wire/wire_compress.h"

int wire_stream_frame(wire_buf *out, const wire_frame_config *cfg, bool initiator, const uint8_t *msg, size_t n,
                      const uint8_t *nonce)
{
    if (n == 0)
        return WIRE_ERANGE;
    bool enc = wire_frame_encrypts(cfg);
    if (enc && !nonce)
        return WIRE_ECRYPT;
    size_t start = out->len;
    wire_buf tmp;
    wire_buf_init(&tmp, 0);
    int rc = initiator ? wire_label_write(out, cfg) : WIRE_OK;
    const uint8_t *body = msg;
    size_t bn = n;
    if (!rc && cfg->compress) {
        /* streams compress unconditionally, even when it grows (§6.1) */
        rc = wire_compress_wrap(&tmp, msg, n);
        body = tmp.data;
        bn = tmp.len;
    }
    if (!rc && enc) {
        size_t max = cfg->max_encrypted < WIRE_STREAM_MAX_ENCRYPTED ? cfg->max_encrypted : WIRE_STREAM_MAX_ENCRYPTED;
        if (bn > max - WIRE_ENCRYPT_OVERHEAD || max < WIRE_ENCRYPT_OVERHEAD) {
            rc = WIRE_ELIMIT;
        } else {
            uint8_t aad[WIRE_STREAM_AAD_MAX];
            size_t an = wire_crypt_stream_aad(aad, (uint32_t)(bn + WIRE_ENCRYPT_OVERHEAD), cfg->label, cfg->label_len);
            rc = wire_buf_append(out, aad, WIRE_STREAM_ENCRYPT_HEADER);
            if (!rc)
                rc = wire_encrypt(out, cfg->keyring, nonce, body, bn, aad, an);
        }
    } else if (!rc) {
        rc = wire_buf_append(out, body, bn);
    }
    if (rc)
        out->len = start;
    wire_buf_free(&tmp);
    return rc;
}
