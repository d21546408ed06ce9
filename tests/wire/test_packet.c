/* UDP framing (§5): every datagram of every vector through the receive
 * path, rebuilt byte for byte by the send path, then truncated, bit-flipped
 * and hand-made hostile packets. */
#include "check.h"
#include "fixture_config.h"
#include "fixture_lines.h"

#include "wire/wire_compound.h"
#include "wire/wire_compress.h"
#include "wire/wire_crc.h"
#include "wire/wire_msg.h"
#include "wire/wire_packet.h"

typedef struct got {
    size_t n;
    char path[64][96];
    uint8_t *msg[64];
    size_t len[64];
    int decode_errors;
} got;

static int collect(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    got *g = arg;
    wire_msg m;
    /* every delivered message starts with a type the dispatcher accepts */
    if (wire_decode_msg(msg, n, &m) != WIRE_OK)
        g->decode_errors++;
    if (g->n < 64) {
        snprintf(g->path[g->n], sizeof g->path[g->n], "%s", info->path);
        g->msg[g->n] = malloc(n);
        memcpy(g->msg[g->n], msg, n);
        g->len[g->n] = n;
    }
    g->n++;
    return 0;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n && i < 64; i++)
        free(g->msg[i]);
    g->n = 0;
}

static int ignore(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    (void)arg;
    (void)info;
    /* touch every byte so ASan sees any over-read */
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= msg[i];
    *(volatile uint8_t *)arg = x;
    wire_msg m;
    wire_decode_msg(msg, n, &m);
    return 0;
}

static int receive_copy(wire_packet_rx *rx, const wire_frame_config *cfg, const uint8_t *p, size_t n)
{
    /* an exact-size heap copy: reading past it is an ASan error */
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    volatile uint8_t sink = 0;
    int rc = wire_packet_receive(rx, cfg, c, n, ignore, (void *)&sink);
    free(c);
    return rc;
}

static void test_vectors(void)
{
    wire_packet_rx rx;
    wire_packet_rx_init(&rx);
    size_t frames = 0, msgs = 0, rebuilt = 0, skipped = 0, cuts = 0;
    uint64_t seed = 0x5eed;
    for (size_t vi = 0; vi < FX_NVECTORS; vi++) {
        fx_vector v;
        REQUIRE(fx_load_vector(fx_vector_names[vi], &v) == 0);
        wire_keyring kr;
        wire_frame_config cfg;
        fx_vector_config(&v, &kr, &cfg);
        for (size_t fi = 0; fi < v.nframes; fi++) {
            fx_frame *f = &v.frames[fi];
            if (strcmp(f->kind, "udp"))
                continue;
            frames++;
            got g = { 0 };
            int rc = wire_packet_receive(&rx, &cfg, f->wire, f->wire_n, collect, &g);
            CHECKF(rc == WIRE_OK, "%s frame %s: %s", fx_vector_names[vi], f->id, wire_strerror(rc));
            CHECKF(g.n == f->nmsgs, "%s frame %s: %zu messages, want %zu", fx_vector_names[vi], f->id, g.n, f->nmsgs);
            CHECK_EQ_INT(g.decode_errors, 0);
            for (size_t i = 0; i < g.n && i < f->nmsgs && i < 64; i++) {
                CHECKF(!strcmp(g.path[i], f->msgs[i].path), "%s frame %s: path %s, want %s", fx_vector_names[vi],
                       f->id, g.path[i], f->msgs[i].path);
                CHECK_MEM(g.msg[i], g.len[i], f->msgs[i].p, f->msgs[i].n);
            }
            msgs += g.n;
            got_free(&g);

            /* the send path rebuilds Go's datagram byte for byte */
            bool crc = !strncmp(f->msgs[0].path, "hasCrc>", 7);
            bool compressed = strstr(f->msgs[0].path, "compress>") != NULL;
            bool in_compound = strstr(f->msgs[0].path, "compound[") != NULL;
            if (in_compound == (f->nmsgs > 1)) {
                wire_bytes parts[64];
                for (size_t i = 0; i < f->nmsgs && i < 64; i++)
                    parts[i] = wire_bytes_of(f->msgs[i].p, f->msgs[i].n);
                wire_frame_config c2 = cfg;
                c2.compress = compressed;
                const uint8_t *nonce = f->wire + (cfg.label_len ? 2 + cfg.label_len : 0) + 1;
                wire_buf out;
                wire_buf_init(&out, 0);
                rc = wire_packet_build(&out, &c2, parts, f->nmsgs, crc, nonce);
                CHECK_EQ_INT(rc, WIRE_OK);
                CHECKF(out.len == f->wire_n && !memcmp(out.data, f->wire, out.len), "%s frame %s not rebuilt",
                       fx_vector_names[vi], f->id);
                wire_buf_free(&out);
                rebuilt++;
            } else {
                skipped++;
            }

            /* every truncation: an error or fewer messages, never a crash */
            for (size_t cut = 0; cut < f->wire_n; cut++, cuts++)
                receive_copy(&rx, &cfg, f->wire, cut);
            /* random bit flips */
            uint8_t *c = malloc(f->wire_n);
            for (int k = 0; k < 30; k++) {
                memcpy(c, f->wire, f->wire_n);
                int flips = 1 + (int)(fx_rand(&seed) % 4);
                for (int j = 0; j < flips; j++)
                    c[fx_rand(&seed) % f->wire_n] ^= (uint8_t)(1u << (fx_rand(&seed) % 8));
                receive_copy(&rx, &cfg, c, f->wire_n);
            }
            free(c);
        }
        fx_free_vector(&v);
    }
    wire_packet_rx_free(&rx);
    CHECK(frames > 900);
    CHECK(skipped * 50 < rebuilt);
    fprintf(stderr, "packet: %zu datagrams, %zu messages, %zu rebuilt byte-exact (%zu single-part compounds skipped), "
            "%zu truncations\n", frames, msgs, rebuilt, skipped, cuts);
}

static int count_only(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    (void)msg;
    (void)n;
    (void)info;
    (*(int *)arg)++;
    return 0;
}

static const uint8_t NACK[] = { 0x0b, 0x81, 0xa5, 'S', 'e', 'q', 'N', 'o', 0x05 };

static void test_rules(void)
{
    wire_packet_rx rx;
    wire_packet_rx_init(&rx);
    wire_frame_config cfg;
    wire_frame_config_init(&cfg);
    int count = 0;

    /* stream-only and wrapper types are refused where a message is expected */
    static const uint8_t bad_types[] = { 0x06, 0x0a, 0x0c, 0x0d, 0xf4, 0x0e, 0xff };
    for (size_t i = 0; i < sizeof bad_types; i++) {
        uint8_t pkt[] = { bad_types[i], 0x80 };
        count = 0;
        int rc = wire_packet_receive(&rx, &cfg, pkt, sizeof pkt, count_only, &count);
        CHECKF(rc == WIRE_ETYPE || (bad_types[i] == 0xf4 && rc == WIRE_ELABEL), "type %02x: %d", bad_types[i], rc);
        CHECK_EQ_INT(count, 0);
        /* inside a compound: the bad part is refused, the good ones delivered */
        wire_bytes parts[3] = { wire_bytes_of(NACK, sizeof NACK), wire_bytes_of(pkt, sizeof pkt),
                                wire_bytes_of(NACK, sizeof NACK) };
        wire_buf b;
        wire_buf_init(&b, 0);
        wire_compound_build(&b, parts, 3);
        count = 0;
        CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, b.data, b.len, count_only, &count), WIRE_ETYPE);
        CHECK_EQ_INT(count, 2);
        /* and inside a compress container */
        wire_buf z;
        wire_buf_init(&z, 0);
        wire_compress_wrap(&z, b.data, b.len);
        count = 0;
        CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, z.data, z.len, count_only, &count), WIRE_ETYPE);
        CHECK_EQ_INT(count, 2);
        wire_buf_free(&z);
        wire_buf_free(&b);
    }
    /* empty datagram, empty compound part */
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, NACK, 0, count_only, &count), WIRE_ETRUNC);
    static const uint8_t emptypart[] = { 0x07, 0x02, 0x00, 0x00, 0x00, 0x02, 0x0b, 0x80 };
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, emptypart, sizeof emptypart, count_only, &count), WIRE_ETRUNC);
    CHECK_EQ_INT(count, 1);
    /* compound lengths past the end: parts that fit are delivered, the rest counted */
    static const uint8_t cut[] = { 0x07, 0x03, 0x00, 0x02, 0x00, 0x09, 0x00, 0x02, 0x0b, 0x80, 0x0b };
    count = 0;
    uint64_t before = rx.truncated_parts;
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, cut, sizeof cut, count_only, &count), WIRE_ETRUNC);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(rx.truncated_parts - before, 2);
    /* cut length table: nothing delivered */
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, cut, 5, count_only, &count), WIRE_ETRUNC);
    CHECK_EQ_INT(count, 0);

    /* nesting: compound in compound ... beyond the cap */
    wire_buf a, b;
    wire_buf_init(&a, 0);
    wire_buf_init(&b, 0);
    wire_buf_append(&a, NACK, sizeof NACK);
    for (int depth = 1; depth <= WIRE_PACKET_MAX_DEPTH + 1; depth++) {
        wire_bytes one = wire_bytes_of(a.data, a.len);
        wire_buf_reset(&b);
        wire_compound_build(&b, &one, 1);
        wire_buf t = a;
        a = b;
        b = t;
        count = 0;
        int rc = wire_packet_receive(&rx, &cfg, a.data, a.len, count_only, &count);
        CHECK_EQ_INT(rc, depth <= WIRE_PACKET_MAX_DEPTH ? WIRE_OK : WIRE_EDEPTH);
        CHECK_EQ_INT(count, depth <= WIRE_PACKET_MAX_DEPTH ? 1 : 0);
    }
    /* compress with Algo 1 is refused */
    static const uint8_t algo1[] = { 0x09, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0x01, 0xa3, 'B', 'u', 'f', 0xa3, 0x00, 0x03, 0x02 };
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, algo1, sizeof algo1, count_only, &count), WIRE_ERANGE);
    uint8_t algo0[sizeof algo1];
    memcpy(algo0, algo1, sizeof algo1);
    algo0[7] = 0;
    /* Clear + EOF inflates to nothing: an empty message */
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, algo0, sizeof algo0, count_only, &count), WIRE_ETRUNC);

    /* the inflate budget: a 1 MiB run of nack bytes compressed */
    size_t big = 2 << 20;
    uint8_t *m = malloc(big);
    memset(m, 0x0b, big);
    wire_buf_reset(&a);
    wire_compress_wrap(&a, m, big);
    CHECK(a.len < 65536);
    CHECK_EQ_INT(wire_packet_receive(&rx, &cfg, a.data, a.len, count_only, &count), WIRE_ELIMIT);
    wire_frame_config small = cfg;
    small.max_udp_inflate = 100;
    wire_buf_reset(&a);
    wire_compress_wrap(&a, NACK, sizeof NACK);
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &small, a.data, a.len, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 1);
    wire_bytes many[20];
    for (int i = 0; i < 20; i++)
        many[i] = wire_bytes_of(a.data, a.len);
    wire_buf_reset(&b);
    wire_compound_build(&b, many, 20);
    count = 0;
    /* 20 x 9 inflated bytes > 100: the budget is per datagram */
    CHECK_EQ_INT(wire_packet_receive(&rx, &small, b.data, b.len, count_only, &count), WIRE_ELIMIT);
    CHECK(count >= 10 && count < 20);
    free(m);
    wire_buf_free(&a);
    wire_buf_free(&b);
    wire_packet_rx_free(&rx);
}

static int stop_at_two(void *arg, const uint8_t *msg, size_t n, const wire_packet_info *info)
{
    (void)msg;
    (void)n;
    (void)info;
    return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_label_crypt(void)
{
    wire_packet_rx rx;
    wire_packet_rx_init(&rx);
    uint8_t key[16] = { 0 }, other[32] = { 1 }, nonce[12] = { 7 };
    wire_keyring kr, kr2, wrong;
    wire_keyring_init(&kr);
    wire_keyring_add(&kr, key, 16);
    wire_keyring_init(&kr2);
    wire_keyring_add(&kr2, other, 32);
    wire_keyring_add(&kr2, key, 16);
    wire_keyring_init(&wrong);
    wire_keyring_add(&wrong, other, 32);

    wire_frame_config snd, rcv;
    wire_frame_config_init(&snd);
    snd.keyring = &kr;
    wire_frame_config_set_label(&snd, "blue", 4);
    rcv = snd;
    CHECK_EQ_INT(wire_packet_overhead(&snd), 29 + 2 + 4);
    wire_bytes parts[3] = { wire_bytes_of(NACK, sizeof NACK), wire_bytes_of(NACK, sizeof NACK),
                            wire_bytes_of(NACK, sizeof NACK) };
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_packet_build(&b, &snd, parts, 3, true, NULL), WIRE_ECRYPT); /* nonce required */
    CHECK_EQ_INT(wire_packet_build(&b, &snd, parts, 3, true, nonce), WIRE_OK);
    CHECK_EQ_INT(b.data[0], 0xf4);
    int count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 3);
    /* the callback can stop the walk */
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, stop_at_two, &count), 42);
    CHECK_EQ_INT(count, 2);
    /* second key of a ring opens it */
    rcv.keyring = &kr2;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_OK);
    rcv.keyring = &wrong;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_ECRYPT);
    /* verify_incoming off: an undecryptable packet is taken as plaintext
     * (here it then fails as a message of type 01 with garbage) */
    rcv.verify_incoming = false;
    count = 0;
    wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count);
    rcv.keyring = &kr;
    rcv.verify_incoming = true;
    /* other label, no label, label check skipped */
    wire_frame_config_set_label(&rcv, "red", 3);
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_ELABEL);
    wire_frame_config_set_label(&rcv, NULL, 0);
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_ELABEL);
    wire_frame_config_set_label(&rcv, "blue", 4);
    rcv.skip_inbound_label_check = true;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_ELABEL);
    /* skip: no header on the wire, label still the AAD */
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data + 6, b.len - 6, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 3);
    rcv.skip_inbound_label_check = false;

    /* a version 0 (padded) envelope from a PCur 1 sender is accepted too */
    wire_buf_reset(&b);
    wire_buf_append(&b, "\xf4\x04" "blue", 6);
    CHECK_EQ_INT(wire_encrypt_with(&b, &kr.keys[0], 0, nonce, NACK, sizeof NACK, (const uint8_t *)"blue", 4), WIRE_OK);
    CHECK_EQ_INT(b.len, 6 + 1 + 12 + 16 + 16);
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 1);

    /* plaintext into an encrypting receiver */
    wire_frame_config plain;
    wire_frame_config_init(&plain);
    wire_frame_config_set_label(&plain, "blue", 4);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_packet_build(&b, &plain, parts, 2, false, NULL), WIRE_OK);
    CHECK_EQ_INT(wire_packet_overhead(&plain), 6);
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_ECRYPT);
    rcv.verify_incoming = false;
    count = 0;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 2);
    /* encrypt_outgoing off: plaintext is sent even with keys */
    snd.encrypt_outgoing = false;
    CHECK_EQ_INT(wire_packet_overhead(&snd), 6);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_packet_build(&b, &snd, parts, 1, false, NULL), WIRE_OK);
    static const uint8_t want[] = { 0xf4, 4, 'b', 'l', 'u', 'e' };
    CHECK_MEM(b.data, 6, want, 6);
    CHECK_MEM(b.data + 6, b.len - 6, NACK, sizeof NACK); /* too small to gain from LZW */

    /* compression only when smaller; more than 255 parts refused */
    wire_bytes lots[256];
    for (int i = 0; i < 256; i++)
        lots[i] = parts[0];
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_packet_build(&b, &plain, lots, 256, false, NULL), WIRE_ELIMIT);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(wire_packet_build(&b, &plain, lots, 255, true, NULL), WIRE_OK);
    CHECK(b.len < 255 * sizeof NACK); /* 255 identical parts compress well */
    CHECK_EQ_INT(b.data[6], 0x0c);
    CHECK_EQ_INT(b.data[11], 0x09);
    count = 0;
    rcv = plain;
    CHECK_EQ_INT(wire_packet_receive(&rx, &rcv, b.data, b.len, count_only, &count), WIRE_OK);
    CHECK_EQ_INT(count, 255);
    wire_buf_free(&b);
    wire_packet_rx_free(&rx);
}

int main(void)
{
    test_vectors();
    test_rules();
    test_label_crypt();
    return check_done("test_packet");
}
