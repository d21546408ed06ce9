#include "wire/wire_frame.h"

#include <string.h>

#include "wire/wire_buf.h"
#include "wire/wire_crypt.h"

void wire_frame_config_init(wire_frame_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    /* Go memberlist's DefaultLANConfig: GossipVerifyIncoming/Outgoing and
     * EnableCompression are all true. */
    cfg->encrypt_outgoing = true;
    cfg->verify_incoming = true;
    cfg->compress = true;
    cfg->max_nodes = WIRE_MAX_NODES;
    cfg->max_user_state = WIRE_MAX_USER_STATE;
    cfg->max_user_msg = WIRE_MAX_USER_MSG;
    cfg->max_encrypted = WIRE_STREAM_MAX_ENCRYPTED;
    cfg->max_stream_inflate = WIRE_MAX_INFLATE;
    /* a plain message may not be larger than we would accept compressed */
    cfg->max_stream_plain = WIRE_MAX_INFLATE;
    cfg->max_udp_inflate = WIRE_UDP_MAX_INFLATE_DEFAULT;
}

int wire_frame_config_set_label(wire_frame_config *cfg, const void *label, size_t len)
{
    if (len > WIRE_LABEL_MAX)
        return WIRE_ELABEL;
    cfg->label_len = (uint8_t)len;
    if (len)
        memcpy(cfg->label, label, len);
    return WIRE_OK;
}

bool wire_frame_decrypts(const wire_frame_config *cfg)
{
    return cfg->keyring && cfg->keyring->n > 0;
}

bool wire_frame_encrypts(const wire_frame_config *cfg)
{
    return wire_frame_decrypts(cfg) && cfg->encrypt_outgoing;
}

int wire_label_write(wire_buf *out, const wire_frame_config *cfg)
{
    if (cfg->label_len == 0)
        return WIRE_OK;
    int rc = wire_buf_reserve(out, WIRE_LABEL_HEADER + cfg->label_len);
    if (rc)
        return rc;
    wire_buf_append_byte(out, WIRE_HAS_LABEL);
    wire_buf_append_byte(out, cfg->label_len);
    return wire_buf_append(out, cfg->label, cfg->label_len);
}

int wire_label_read(const uint8_t *p, size_t n, wire_bytes *label, size_t *used)
{
    *label = wire_bytes_of(NULL, 0);
    *used = 0;
    if (n == 0 || p[0] != WIRE_HAS_LABEL)
        return WIRE_OK;
    if (n < WIRE_LABEL_HEADER)
        return WIRE_ETRUNC;
    size_t len = p[1];
    if (len == 0)
        return WIRE_ELABEL;
    if (n - WIRE_LABEL_HEADER < len)
        return WIRE_ETRUNC;
    *label = wire_bytes_of(p + WIRE_LABEL_HEADER, len);
    *used = WIRE_LABEL_HEADER + len;
    return WIRE_OK;
}

int wire_label_accept(const wire_frame_config *cfg, wire_bytes seen)
{
    if (cfg->skip_inbound_label_check)
        return seen.p ? WIRE_ELABEL : WIRE_OK;
    if (seen.n != cfg->label_len || (seen.n && memcmp(seen.p, cfg->label, seen.n) != 0))
        return WIRE_ELABEL;
    return WIRE_OK;
}
