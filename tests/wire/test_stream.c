/* TCP stream framing (§6): every stream direction of every vector read
 * whole, byte by byte and in random chunks, rebuilt byte for byte by the
 * writer, truncated, bit-flipped, and the limits. */
#include "check.h"
#include "fixture_config.h"
#include "fixture_lines.h"

#include "wire/wire_compress.h"
#include "wire/wire_msg.h"
#include "wire/wire_stream.h"

/* Feed p in chunks (chunk 0: random sizes from seed); returns the last result. */
static int feed_chunks(wire_stream_reader *r, const uint8_t *p, size_t n, size_t chunk, uint64_t *seed, int *early)
{
    int rc = WIRE_STREAM_MORE;
    size_t off = 0;
    *early = 0;
    while (off < n) {
        size_t c = chunk ? chunk : 1 + fx_rand(seed) % 64;
        if (c > n - off)
            c = n - off;
        /* heap copy of exactly the chunk: over-reads are ASan errors */
        uint8_t *b = malloc(c);
        memcpy(b, p + off, c);
        rc = wire_stream_reader_feed(r, b, c);
        free(b);
        off += c;
        if (rc != WIRE_STREAM_MORE && off < n)
            (*early)++;
        if (rc < 0)
            break;
    }
    return rc;
}

static void test_vectors(void)
{
    size_t dirs = 0, rebuilt = 0, cuts = 0;
    uint64_t seed = 77;
    for (size_t vi = 0; vi < FX_NVECTORS; vi++) {
        fx_vector v;
        REQUIRE(fx_load_vector(fx_vector_names[vi], &v) == 0);
        wire_keyring kr;
        wire_frame_config cfg;
        fx_vector_config(&v, &kr, &cfg);
        for (size_t fi = 0; fi < v.nframes; fi++) {
            fx_frame *f = &v.frames[fi];
            if (strncmp(f->kind, "tcp", 3))
                continue;
            bool initiator = !strcmp(f->kind, "tcp-i");
            REQUIRE(f->nmsgs == 1);
            dirs++;
            for (size_t chunk = 0; chunk <= 1; chunk++) {
                for (int rep = 0; rep < (chunk ? 1 : 3); rep++) {
                    wire_stream_reader r;
                    wire_stream_reader_init(&r, &cfg, initiator);
                    int early;
                    /* chunk 1: byte by byte; 0: random chunks; first rep: all at once */
                    size_t ch = chunk ? 1 : (rep == 0 ? f->wire_n : 0);
                    int rc = feed_chunks(&r, f->wire, f->wire_n, ch, &seed, &early);
                    CHECKF(rc == WIRE_STREAM_DONE, "%s frame %s: %d (%s)", fx_vector_names[vi], f->id, rc,
                           rc < 0 ? wire_strerror(rc) : "more");
                    CHECK_EQ_INT(early, 0);
                    CHECK_MEM(r.msg.p, r.msg.n, f->msgs[0].p, f->msgs[0].n);
                    CHECK_EQ_INT(r.encrypted, strstr(f->msgs[0].path, "encrypt>") != NULL);
                    CHECK_EQ_INT(r.compressed, strstr(f->msgs[0].path, "compress>") != NULL);
                    CHECK_EQ_INT(r.labeled, initiator && v.label_len > 0);
                    CHECK_EQ_INT(wire_stream_reader_eof(&r), WIRE_STREAM_DONE);
                    /* anything after the message is refused, the message stays */
                    CHECK_EQ_INT(wire_stream_reader_feed(&r, f->wire, 1), WIRE_EFORMAT);
                    CHECK_MEM(r.msg.p, r.msg.n, f->msgs[0].p, f->msgs[0].n);
                    wire_stream_reader_free(&r);
                }
            }
            /* the writer reproduces Go's bytes (recorded nonce) */
            wire_frame_config c2 = cfg;
            c2.compress = strstr(f->msgs[0].path, "compress>") != NULL;
            size_t lab = initiator && v.label_len ? 2 + v.label_len : 0;
            const uint8_t *nonce = f->wire + lab + 5 + 1;
            wire_buf out;
            wire_buf_init(&out, 0);
            CHECK_EQ_INT(wire_stream_frame(&out, &c2, initiator, f->msgs[0].p, f->msgs[0].n, nonce), WIRE_OK);
            CHECKF(out.len == f->wire_n && !memcmp(out.data, f->wire, out.len), "%s frame %s not rebuilt",
                   fx_vector_names[vi], f->id);
            rebuilt += out.len == f->wire_n && !memcmp(out.data, f->wire, out.len);
            wire_buf_free(&out);

            /* every truncation is incomplete at EOF, never a message */
            for (size_t cut = 0; cut < f->wire_n; cut++, cuts++) {
                wire_stream_reader r;
                wire_stream_reader_init(&r, &cfg, initiator);
                int early;
                int rc = feed_chunks(&r, f->wire, cut, 0, &seed, &early);
                CHECK(rc != WIRE_STREAM_DONE);
                CHECK(wire_stream_reader_eof(&r) < 0);
                wire_stream_reader_free(&r);
            }
            /* random bit flips: any verdict, no crash */
            uint8_t *c = malloc(f->wire_n);
            for (int k = 0; k < 40; k++) {
                memcpy(c, f->wire, f->wire_n);
                int flips = 1 + (int)(fx_rand(&seed) % 3);
                for (int j = 0; j < flips; j++)
                    c[fx_rand(&seed) % f->wire_n] ^= (uint8_t)(1u << (fx_rand(&seed) % 8));
                wire_stream_reader r;
                wire_stream_reader_init(&r, &cfg, initiator);
                int early;
                feed_chunks(&r, c, f->wire_n, 0, &seed, &early);
                wire_stream_reader_eof(&r);
                wire_stream_reader_free(&r);
            }
            free(c);
        }
        fx_free_vector(&v);
    }
    CHECK(dirs > 100);
    CHECK_EQ_INT(rebuilt, dirs);
    fprintf(stderr, "stream: %zu directions read (whole, random chunks, byte by byte), %zu rebuilt byte-exact, "
            "%zu truncations\n", dirs, rebuilt, cuts);
}

static int read_all(const wire_frame_config *cfg, bool from_initiator, const uint8_t *p, size_t n, wire_buf *msg)
{
    wire_stream_reader r;
    wire_stream_reader_init(&r, cfg, from_initiator);
    int rc = wire_stream_reader_feed(&r, p, n);
    if (rc == WIRE_STREAM_DONE && msg) {
        wire_buf_reset(msg);
        wire_buf_append(msg, r.msg.p, r.msg.n);
    }
    if (rc == WIRE_STREAM_MORE)
        rc = wire_stream_reader_eof(&r);
    wire_stream_reader_free(&r);
    return rc;
}

static void push_pull(wire_buf *b, int64_t nodes, int64_t usl, int real_nodes)
{
    wire_buf_reset(b);
    wire_push_pull_header h = { .join = true, .nodes = nodes, .user_state_len = usl };
    REQUIRE(wire_encode_push_pull_header(b, &h, WIRE_INT_GO_MSGPACK_V2) == WIRE_OK);
    for (int i = 0; i < real_nodes; i++) {
        wire_push_node_state s = { .addr = wire_bytes_of("\x7f\0\0\1", 4), .incarnation = 1,
                                   .name = wire_bytes_of("n1", 2), .port = 7946,
                                   .vsn = { { 1, 5, 2, 2, 5, 5 }, 6 } };
        REQUIRE(wire_encode_push_node_state(b, &s, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    }
}

static void test_limits(void)
{
    wire_frame_config cfg;
    wire_frame_config_init(&cfg);
    cfg.compress = false;
    wire_buf b, m;
    wire_buf_init(&b, 0);
    wire_buf_init(&m, 0);

    push_pull(&b, 2, 3, 2);
    wire_buf_append(&b, "abc", 3);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, b.data, b.len);
    /* byte by byte it is the same */
    {
        wire_stream_reader r;
        wire_stream_reader_init(&r, &cfg, true);
        int rc = 0;
        for (size_t i = 0; i < b.len; i++) {
            rc = wire_stream_reader_feed(&r, b.data + i, 1);
            if (i + 1 < b.len)
                CHECK_EQ_INT(rc, WIRE_STREAM_MORE);
        }
        CHECK_EQ_INT(rc, WIRE_STREAM_DONE);
        wire_stream_reader_free(&r);
    }
    /* one byte more than the message */
    wire_buf_append_byte(&b, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_EFORMAT);

    push_pull(&b, WIRE_MAX_NODES + 1, 0, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_ELIMIT);
    push_pull(&b, -1, 0, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_ERANGE);
    push_pull(&b, 0, -1, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_ERANGE);
    push_pull(&b, 0, WIRE_MAX_USER_STATE + 1, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_ELIMIT);
    push_pull(&b, 0, WIRE_MAX_USER_STATE, 0);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, NULL), WIRE_ETRUNC); /* allowed, just not all here */
    /* configured caps are lower */
    wire_frame_config small = cfg;
    small.max_nodes = 1;
    push_pull(&b, 2, 0, 2);
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);
    small.max_nodes = WIRE_MAX_NODES * 4; /* clamped to the protocol maximum */
    push_pull(&b, WIRE_MAX_NODES + 1, 0, 0);
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);
    small = cfg;
    small.max_user_state = 2;
    push_pull(&b, 0, 3, 0);
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);
    small = cfg;
    small.max_stream_plain = 20;
    push_pull(&b, 2, 0, 2);
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);

    /* user messages */
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_encode_user_tcp(&b, (const uint8_t *)"hello", 5, WIRE_INT_GO_MSGPACK_V0), WIRE_OK);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, b.data, b.len);
    small = cfg;
    small.max_user_msg = 4;
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);
    static const uint8_t huge_user[] = { 0x08, 0x81, 0xaa, 'U', 's', 'e', 'r', 'M', 's', 'g', 'L', 'e', 'n',
                                         0xce, 0x01, 0x40, 0x00, 0x01 };
    CHECK_EQ_INT(read_all(&cfg, true, huge_user, sizeof huge_user, NULL), WIRE_ELIMIT);
    static const uint8_t neg_user[] = { 0x08, 0x81, 0xaa, 'U', 's', 'e', 'r', 'M', 's', 'g', 'L', 'e', 'n', 0xff };
    CHECK_EQ_INT(read_all(&cfg, true, neg_user, sizeof neg_user, NULL), WIRE_ERANGE);

    /* types a stream cannot carry */
    static const uint8_t alive[] = { 0x04, 0x80 }, nested[] = { 0x07, 0x00 }, label_reply[] = { 0xf4, 0x01, 'x', 0x00, 0x80 };
    CHECK_EQ_INT(read_all(&cfg, true, alive, sizeof alive, NULL), WIRE_ETYPE);
    CHECK_EQ_INT(read_all(&cfg, true, nested, sizeof nested, NULL), WIRE_ETYPE);
    /* a reply never carries a label */
    CHECK_EQ_INT(read_all(&cfg, false, label_reply, sizeof label_reply, NULL), WIRE_ETYPE);
    /* compress of compress is one level too many */
    static const uint8_t ping[] = { 0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'a', 0xa5, 'S', 'e', 'q', 'N', 'o', 0x01 };
    wire_buf_reset(&b);
    wire_compress_wrap(&b, ping, sizeof ping);
    CHECK_EQ_INT(read_all(&cfg, true, b.data, b.len, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, ping, sizeof ping);
    small = cfg;
    small.max_stream_inflate = sizeof ping - 1;
    CHECK_EQ_INT(read_all(&small, true, b.data, b.len, NULL), WIRE_ELIMIT);
    wire_buf_reset(&m);
    wire_compress_wrap(&m, b.data, b.len);
    CHECK_EQ_INT(read_all(&cfg, true, m.data, m.len, NULL), WIRE_ETYPE);
    wire_buf_free(&b);
    wire_buf_free(&m);
}

static void test_crypt_label(void)
{
    uint8_t key[32] = { 3 }, nonce[12] = { 9 };
    wire_keyring kr;
    wire_keyring_init(&kr);
    wire_keyring_add(&kr, key, 32);
    wire_frame_config enc, plain;
    wire_frame_config_init(&enc);
    enc.keyring = &kr;
    wire_frame_config_set_label(&enc, "green", 5);
    wire_frame_config_init(&plain);
    wire_frame_config_set_label(&plain, "green", 5);

    static const uint8_t ping[] = { 0x00, 0x82, 0xa4, 'N', 'o', 'd', 'e', 0xa1, 'a', 0xa5, 'S', 'e', 'q', 'N', 'o', 0x01 };
    static const uint8_t ack[] = { 0x02, 0x82, 0xa7, 'P', 'a', 'y', 'l', 'o', 'a', 'd', 0xc0, 0xa5, 'S', 'e', 'q', 'N', 'o', 0x01 };
    wire_buf req, rep, m;
    wire_buf_init(&req, 0);
    wire_buf_init(&rep, 0);
    wire_buf_init(&m, 0);
    CHECK_EQ_INT(wire_stream_frame(&req, &enc, true, ping, sizeof ping, NULL), WIRE_ECRYPT);
    CHECK_EQ_INT(wire_stream_frame(&req, &enc, true, ping, sizeof ping, nonce), WIRE_OK);
    CHECK_EQ_INT(req.data[0], 0xf4);
    CHECK_EQ_INT(req.data[7], 0x0a);
    CHECK_EQ_INT(wire_stream_frame(&rep, &enc, false, ack, sizeof ack, nonce), WIRE_OK);
    CHECK_EQ_INT(rep.data[0], 0x0a);
    CHECK_EQ_INT(read_all(&enc, true, req.data, req.len, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, ping, sizeof ping);
    CHECK_EQ_INT(read_all(&enc, false, rep.data, rep.len, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, ack, sizeof ack);
    /* the reply's AAD holds the label: a peer with another label cannot read it */
    wire_frame_config other = enc;
    wire_frame_config_set_label(&other, "blue", 4);
    CHECK_EQ_INT(read_all(&other, false, rep.data, rep.len, NULL), WIRE_ECRYPT);
    CHECK_EQ_INT(read_all(&other, true, req.data, req.len, NULL), WIRE_ELABEL);
    /* skip_inbound_label_check: no header allowed, label still in the AAD */
    other = enc;
    other.skip_inbound_label_check = true;
    CHECK_EQ_INT(read_all(&other, true, req.data, req.len, NULL), WIRE_ELABEL);
    CHECK_EQ_INT(read_all(&other, true, req.data + 7, req.len - 7, &m), WIRE_STREAM_DONE);
    CHECK_MEM(m.data, m.len, ping, sizeof ping);
    /* encrypted to a node without keys; plaintext to one that requires them */
    CHECK_EQ_INT(read_all(&plain, true, req.data, req.len, NULL), WIRE_ECRYPT);
    wire_buf_reset(&m);
    CHECK_EQ_INT(wire_stream_frame(&m, &plain, true, ping, sizeof ping, NULL), WIRE_OK);
    CHECK_EQ_INT(read_all(&enc, true, m.data, m.len, NULL), WIRE_ECRYPT);
    other = enc;
    other.verify_incoming = false;
    wire_buf_reset(&rep);
    CHECK_EQ_INT(read_all(&other, true, m.data, m.len, &rep), WIRE_STREAM_DONE);
    CHECK_MEM(rep.data, rep.len, ping, sizeof ping);
    /* a tampered envelope */
    req.data[req.len - 3] ^= 1;
    CHECK_EQ_INT(read_all(&enc, true, req.data, req.len, NULL), WIRE_ECRYPT);
    /* encrypted length over 20 MiB, or a configured lower cap */
    static const uint8_t big[] = { 0x0a, 0x01, 0x40, 0x00, 0x01, 0x01 };
    CHECK_EQ_INT(read_all(&other, false, big, sizeof big, NULL), WIRE_ELIMIT);
    other.max_encrypted = 100;
    other.compress = false;
    wire_buf_reset(&m);
    uint8_t pad[200] = { 0x08 };
    CHECK_EQ_INT(wire_stream_frame(&m, &other, false, pad, sizeof pad, nonce), WIRE_ELIMIT);
    CHECK_EQ_INT(m.len, 0);
    wire_frame_config big_ok = other;
    big_ok.max_encrypted = WIRE_STREAM_MAX_ENCRYPTED;
    static const uint8_t user[] = { 0x08, 0x81, 0xaa, 'U', 's', 'e', 'r', 'M', 's', 'g', 'L', 'e', 'n', 0xcc, 0x80 };
    wire_buf_reset(&req);
    wire_buf_append(&req, user, sizeof user);
    wire_buf_append(&req, pad, 128);
    CHECK_EQ_INT(wire_stream_frame(&m, &big_ok, false, req.data, req.len, nonce), WIRE_OK);
    CHECK_EQ_INT(read_all(&big_ok, false, m.data, m.len, NULL), WIRE_STREAM_DONE);
    CHECK_EQ_INT(read_all(&other, false, m.data, m.len, NULL), WIRE_ELIMIT);
    wire_buf_free(&req);
    wire_buf_free(&rep);
    wire_buf_free(&m);
}

int main(void)
{
    test_vectors();
    test_limits();
    test_crypt_label();
    return check_done("test_stream");
}
