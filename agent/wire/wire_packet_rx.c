/* UDP receive pipeline (§5.2): label -> decrypt -> CRC -> dispatch. */
#include "wire/wire_packet.h"

#include <stdio.h>
#include <string.h>

#include "wire/wire_compound.h"
#include "wire/wire_compress.h"
#include "wire/wire_crc.h"

void wire_packet_rx_init(wire_packet_rx *rx)
{
    memset(rx, 0, sizeof *rx);
    /* a datagram is at most 64 KiB: decrypting never needs more */
    wire_buf_init(&rx->plain, 1 << 17);
    for (int i = 0; i < WIRE_PACKET_MAX_DEPTH; i++)
        wire_buf_init(&rx->inflate[i], WIRE_MAX_INFLATE);
}

void wire_packet_rx_free(wire_packet_rx *rx)
{
    wire_buf_free(&rx->plain);
    for (int i = 0; i < WIRE_PACKET_MAX_DEPTH; i++)
        wire_buf_free(&rx->inflate[i]);
}

typedef struct walk {
    wire_packet_rx *rx;
    const wire_frame_config *cfg;
    wire_packet_fn fn;
    void *arg;
    wire_packet_info info;
    int err;      /* first error seen in any part */
    int stop;     /* the callback's non-zero return */
} walk;

static void note(walk *w, int rc)
{
    if (rc && !w->err)
        w->err = rc;
}

static bool is_leaf(uint8_t t)
{
    switch (t) {
    case WIRE_PING: case WIRE_INDIRECT_PING: case WIRE_ACK: case WIRE_SUSPECT:
    case WIRE_ALIVE: case WIRE_DEAD: case WIRE_USER: case WIRE_NACK:
        return true;
    default:
        /* 06 0a 0c 0d f4 are stream-only or outer wrappers; Go drops them
         * and anything unknown as "not supported" */
        return false;
    }
}

static void dispatch(walk *w, const uint8_t *p, size_t n, int depth);

static void path_push(walk *w, size_t *saved, const char *fmt, unsigned a, unsigned b)
{
    *saved = strlen(w->info.path);
    snprintf(w->info.path + *saved, sizeof w->info.path - *saved, fmt, a, b);
}

static void compound(walk *w, const uint8_t *p, size_t n, int depth)
{
    wire_compound_iter it;
    int rc = wire_compound_begin(&it, p, n);
    if (rc) {
        note(w, rc);
        return;
    }
    wire_bytes part;
    while (!w->stop && (rc = wire_compound_next(&it, &part)) == 1) {
        size_t saved;
        path_push(w, &saved, "compound[%u/%u]>", it.index - 1, it.count);
        dispatch(w, part.p, part.n, depth + 1);
        w->info.path[saved] = 0;
    }
    if (rc < 0) {
        /* Go processes the parts that fit and counts the rest */
        w->rx->truncated_parts += it.count - it.index;
        note(w, rc);
    }
}

static void compressed(walk *w, const uint8_t *p, size_t n, int depth)
{
    wire_buf *b = &w->rx->inflate[depth];
    wire_buf_reset(b);
    size_t budget = w->cfg->max_udp_inflate;
    if (budget > WIRE_MAX_INFLATE)
        budget = WIRE_MAX_INFLATE;
    budget = budget > w->rx->inflated ? budget - w->rx->inflated : 0;
    int rc = wire_compress_unwrap(b, p, n, budget, NULL);
    w->rx->inflated += b->len;
    if (rc) {
        note(w, rc);
        return;
    }
    size_t saved;
    path_push(w, &saved, "compress>", 0, 0);
    dispatch(w, b->data, b->len, depth + 1);
    w->info.path[saved] = 0;
}

static void dispatch(walk *w, const uint8_t *p, size_t n, int depth)
{
    if (n == 0) {
        note(w, WIRE_ETRUNC);
        return;
    }
    if (p[0] == WIRE_COMPOUND || p[0] == WIRE_COMPRESS) {
        if (depth >= WIRE_PACKET_MAX_DEPTH) {
            note(w, WIRE_EDEPTH);
            return;
        }
        if (p[0] == WIRE_COMPOUND)
            compound(w, p, n, depth);
        else
            compressed(w, p, n, depth);
        return;
    }
    if (!is_leaf(p[0])) {
        note(w, WIRE_ETYPE);
        return;
    }
    w->info.depth = depth;
    int rc = w->fn(w->arg, p, n, &w->info);
    if (rc)
        w->stop = rc;
}

int wire_packet_receive(wire_packet_rx *rx, const wire_frame_config *cfg, const uint8_t *pkt, size_t n,
                        wire_packet_fn fn, void *arg)
{
    walk w = { .rx = rx, .cfg = cfg, .fn = fn, .arg = arg };
    rx->inflated = 0;

    wire_bytes label;
    size_t used;
    int rc = wire_label_read(pkt, n, &label, &used);
    if (rc)
        return WIRE_ELABEL;
    rc = wire_label_accept(cfg, label);
    if (rc)
        return rc;
    w.info.labeled = used > 0;
    const uint8_t *body = pkt + used;
    size_t bn = n - used;

    if (wire_frame_decrypts(cfg)) {
        /* the AAD is our label: an accepted label equals it, and with
         * SkipInboundLabelCheck it is used although not on the wire */
        wire_buf_reset(&rx->plain);
        rc = wire_decrypt(&rx->plain, cfg->keyring, body, bn, cfg->label, cfg->label_len, NULL);
        if (rc == WIRE_OK) {
            body = rx->plain.data;
            bn = rx->plain.len;
            w.info.encrypted = true;
        } else if (cfg->verify_incoming) {
            return rc;
        }
        /* else: rolling encryption out, take it as plaintext (§5.2) */
    }

    if (bn >= 5 && body[0] == WIRE_HAS_CRC) {
        wire_bytes payload;
        rc = wire_crc_check(body, bn, &payload);
        if (rc)
            return rc;
        body = payload.p;
        bn = payload.n;
        w.info.crc = true;
        strcpy(w.info.path, "hasCrc>");
    }

    dispatch(&w, body, bn, 0);
    return w.stop ? w.stop : w.err;
}
