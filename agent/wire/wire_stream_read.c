/* TCP stream reader (§6): accumulate, then parse as far as the bytes go,
 * resuming after the last complete item, until one message is complete. */
#include "wire/wire_stream.h"

#include <string.h>

#include "wire/wire_compress.h"
#include "wire/wire_msg.h"

enum { S_LABEL, S_TYPE, S_ENC, S_COMP, S_MSG, S_DONE, S_ERR };

/* Message parse progress over one buffer. */
typedef struct progress {
    int stage;          /* 0: at the type byte, 1: node states and raw tail */
    size_t off;
    int64_t nodes_left;
    int64_t tail;
} progress;

static int64_t clamp64(int64_t v, int64_t max)
{
    return v < max ? v : max;
}

/* WIRE_STREAM_DONE (*end set), WIRE_STREAM_MORE, or an error. */
static int parse_msg(const wire_frame_config *cfg, const uint8_t *b, size_t n, progress *pg, size_t *end)
{
    size_t used = 0;
    int rc;
    if (pg->stage == 0) {
        if (pg->off >= n)
            return WIRE_STREAM_MORE;
        uint8_t t = b[pg->off];
        const uint8_t *body = b + pg->off + 1;
        size_t bn = n - pg->off - 1;
        switch (t) {
        case WIRE_PING: {
            wire_ping m;
            rc = wire_decode_ping(body, bn, &m, &used);
            break;
        }
        case WIRE_ACK: {
            wire_ack m;
            rc = wire_decode_ack(body, bn, &m, &used);
            break;
        }
        case WIRE_ERR: {
            wire_errmsg m;
            rc = wire_decode_err(body, bn, &m, &used);
            break;
        }
        case WIRE_PUSH_PULL: {
            wire_push_pull_header h;
            rc = wire_decode_push_pull_header(body, bn, &h, &used);
            if (rc)
                break;
            if (h.nodes < 0 || h.user_state_len < 0)
                return WIRE_ERANGE;
            if (h.nodes > clamp64(cfg->max_nodes, WIRE_MAX_NODES) ||
                h.user_state_len > clamp64(cfg->max_user_state, WIRE_MAX_USER_STATE))
                return WIRE_ELIMIT;
            pg->nodes_left = h.nodes;
            pg->tail = h.user_state_len;
            break;
        }
        case WIRE_USER: {
            wire_user_msg_header h;
            rc = wire_decode_user_msg_header(body, bn, &h, &used);
            if (rc)
                break;
            if (h.user_msg_len < 0)
                return WIRE_ERANGE;
            if (h.user_msg_len > clamp64(cfg->max_user_msg, WIRE_MAX_USER_MSG))
                return WIRE_ELIMIT;
            pg->nodes_left = 0;
            pg->tail = h.user_msg_len;
            break;
        }
        default:
            return WIRE_ETYPE;
        }
        if (rc == WIRE_ETRUNC)
            return WIRE_STREAM_MORE;
        if (rc)
            return rc;
        pg->off += 1 + used;
        if (t != WIRE_PUSH_PULL && t != WIRE_USER) {
            *end = pg->off;
            return WIRE_STREAM_DONE;
        }
        pg->stage = 1;
    }
    while (pg->nodes_left > 0) {
        wire_push_node_state s;
        rc = wire_decode_push_node_state(b + pg->off, n - pg->off, &s, &used);
        if (rc == WIRE_ETRUNC)
            return WIRE_STREAM_MORE;
        if (rc)
            return rc;
        pg->off += used;
        pg->nodes_left--;
    }
    if ((uint64_t)(n - pg->off) < (uint64_t)pg->tail)
        return WIRE_STREAM_MORE;
    *end = pg->off + (size_t)pg->tail;
    return WIRE_STREAM_DONE;
}

/* The framing is read: from here on errors are the message's. */
static void at_message(wire_stream_reader *r, uint8_t type)
{
    r->stage = WIRE_STREAM_AT_MESSAGE;
    r->msg_type = type;
}

/* A buffer that must hold exactly one message (decrypted or inflated). */
static int parse_whole(wire_stream_reader *r, const uint8_t *b, size_t n)
{
    /* memberlist's readStream: "decompressed message is empty" */
    if (n == 0)
        return WIRE_ETRUNC;
    at_message(r, b[0]);
    progress pg = { 0 };
    size_t end = 0;
    int rc = parse_msg(r->cfg, b, n, &pg, &end);
    if (rc == WIRE_STREAM_MORE)
        return WIRE_ETRUNC;
    if (rc < 0)
        return rc;
    if (end != n)
        return WIRE_EFORMAT; /* bytes after the message */
    r->msg = wire_bytes_of(b, n);
    return WIRE_STREAM_DONE;
}

static int inflate_whole(wire_stream_reader *r, const uint8_t *b, size_t n)
{
    size_t max = r->cfg->max_stream_inflate < WIRE_MAX_INFLATE ? r->cfg->max_stream_inflate : WIRE_MAX_INFLATE;
    size_t used = 0;
    wire_buf_reset(&r->inflated);
    int rc = wire_compress_unwrap(&r->inflated, b, n, max, &used);
    if (rc)
        return rc;
    if (used != n)
        return WIRE_EFORMAT;
    r->compressed = true;
    /* one level only: Go reads the inflated type byte as a message */
    return parse_whole(r, r->inflated.data, r->inflated.len);
}

void wire_stream_reader_init(wire_stream_reader *r, const wire_frame_config *cfg, bool from_initiator)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->from_initiator = from_initiator;
    r->msg_type = -1;
    size_t enc = cfg->max_encrypted < WIRE_STREAM_MAX_ENCRYPTED ? cfg->max_encrypted : WIRE_STREAM_MAX_ENCRYPTED;
    size_t plain = cfg->max_stream_plain < WIRE_MAX_INFLATE ? cfg->max_stream_plain : WIRE_MAX_INFLATE;
    size_t body = enc + WIRE_STREAM_ENCRYPT_HEADER > plain ? enc + WIRE_STREAM_ENCRYPT_HEADER : plain;
    wire_buf_init(&r->in, WIRE_LABEL_HEADER + WIRE_LABEL_MAX + body);
    wire_buf_init(&r->plain, enc);
    wire_buf_init(&r->inflated, WIRE_MAX_INFLATE);
    r->state = S_LABEL;
}

void wire_stream_reader_free(wire_stream_reader *r)
{
    wire_buf_free(&r->in);
    wire_buf_free(&r->plain);
    wire_buf_free(&r->inflated);
    r->msg = wire_bytes_of(NULL, 0);
}

static int fail(wire_stream_reader *r, int rc)
{
    r->state = S_ERR;
    r->err = rc;
    return rc;
}

static int step(wire_stream_reader *r)
{
    const wire_frame_config *cfg = r->cfg;
    const uint8_t *in = r->in.data;
    size_t n = r->in.len;
    int rc;
    /* unencrypted bodies have their own, possibly lower, cap */
    size_t plain_max = cfg->max_stream_plain < WIRE_MAX_INFLATE ? cfg->max_stream_plain : WIRE_MAX_INFLATE;
    for (;;) {
        switch (r->state) {
        case S_LABEL: {
            if (n == 0)
                return WIRE_STREAM_MORE;
            size_t used = 0;
            wire_bytes label = wire_bytes_of(NULL, 0);
            if (r->from_initiator) {
                rc = wire_label_read(in, n, &label, &used);
                if (rc == WIRE_ETRUNC)
                    return WIRE_STREAM_MORE;
                if (rc)
                    return WIRE_ELABEL;
                rc = wire_label_accept(cfg, label);
                if (rc)
                    return rc;
            }
            r->labeled = used > 0;
            r->body_off = used;
            r->state = S_TYPE;
            break;
        }
        case S_TYPE: {
            if (n <= r->body_off)
                return WIRE_STREAM_MORE;
            uint8_t t = in[r->body_off];
            r->stage = WIRE_STREAM_AT_FRAMING;
            if (t == WIRE_ENCRYPT) {
                if (!wire_frame_decrypts(cfg))
                    return WIRE_ECRYPT; /* encrypted, but we have no keys */
                r->state = S_ENC;
            } else if (wire_frame_decrypts(cfg) && cfg->verify_incoming) {
                return WIRE_ECRYPT; /* plaintext while encryption is required */
            } else if (t == WIRE_COMPRESS) {
                r->state = S_COMP;
            } else {
                at_message(r, t);
                r->parse_off = r->body_off;
                r->state = S_MSG;
            }
            break;
        }
        case S_ENC: {
            size_t h = r->body_off;
            if (n - h < WIRE_STREAM_ENCRYPT_HEADER)
                return WIRE_STREAM_MORE;
            uint32_t len = (uint32_t)in[h + 1] << 24 | (uint32_t)in[h + 2] << 16 | (uint32_t)in[h + 3] << 8 | in[h + 4];
            size_t max = cfg->max_encrypted < WIRE_STREAM_MAX_ENCRYPTED ? cfg->max_encrypted : WIRE_STREAM_MAX_ENCRYPTED;
            if (len > max)
                return WIRE_ELIMIT;
            size_t have = n - h - WIRE_STREAM_ENCRYPT_HEADER;
            if (have < len)
                return WIRE_STREAM_MORE;
            if (have > len)
                return WIRE_EFORMAT; /* bytes after the message */
            uint8_t aad[WIRE_STREAM_AAD_MAX];
            size_t an = wire_crypt_stream_aad(aad, len, cfg->label, cfg->label_len);
            wire_buf_reset(&r->plain);
            rc = wire_decrypt(&r->plain, cfg->keyring, in + h + WIRE_STREAM_ENCRYPT_HEADER, len, aad, an, NULL);
            if (rc)
                return rc;
            r->encrypted = true;
            if (r->plain.len > 0 && r->plain.data[0] == WIRE_COMPRESS)
                return inflate_whole(r, r->plain.data, r->plain.len);
            return parse_whole(r, r->plain.data, r->plain.len);
        }
        case S_COMP: {
            if (n - r->body_off > plain_max)
                return WIRE_ELIMIT;
            /* parse the map only (cheap: Buf is a view) until it is all here */
            wire_compress m;
            size_t used = 0;
            rc = wire_decode_compress(in + r->body_off + 1, n - r->body_off - 1, &m, &used);
            if (rc == WIRE_ETRUNC)
                return WIRE_STREAM_MORE;
            if (rc)
                return rc;
            if (r->body_off + 1 + used != n)
                return WIRE_EFORMAT; /* bytes after the message */
            return inflate_whole(r, in + r->body_off, n - r->body_off);
        }
        case S_MSG: {
            if (n - r->body_off > plain_max)
                return WIRE_ELIMIT;
            progress pg = { r->msg_stage, r->parse_off, r->nodes_left, r->tail_len };
            size_t end = 0;
            rc = parse_msg(cfg, in, n, &pg, &end);
            r->msg_stage = pg.stage;
            r->parse_off = pg.off;
            r->nodes_left = pg.nodes_left;
            r->tail_len = pg.tail;
            if (rc != WIRE_STREAM_DONE)
                return rc;
            if (end != n)
                return WIRE_EFORMAT; /* bytes after the message */
            r->msg = wire_bytes_of(in + r->body_off, n - r->body_off);
            return WIRE_STREAM_DONE;
        }
        default:
            return WIRE_EFORMAT;
        }
    }
}

int wire_stream_reader_feed(wire_stream_reader *r, const uint8_t *p, size_t n)
{
    if (r->state == S_ERR)
        return r->err;
    if (r->state == S_DONE)
        return n ? WIRE_EFORMAT : WIRE_STREAM_DONE;
    if (n) {
        int rc = wire_buf_append(&r->in, p, n);
        if (rc)
            return fail(r, rc);
    }
    int rc = step(r);
    if (rc < 0)
        return fail(r, rc);
    if (rc == WIRE_STREAM_DONE)
        r->state = S_DONE;
    return rc;
}

int wire_stream_reader_eof(wire_stream_reader *r)
{
    if (r->state == S_ERR)
        return r->err;
    if (r->state == S_DONE)
        return WIRE_STREAM_DONE;
    return fail(r, WIRE_ETRUNC);
}
