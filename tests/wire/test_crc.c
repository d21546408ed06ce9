/* hasCrc (§5.4), label header and compound table helpers. */
#include "check.h"

#include "wire/wire_compound.h"
#include "wire/wire_crc.h"
#include "wire/wire_frame.h"

static void test_crc(void)
{
    /* §5.4 example: vectorgen-0.2.2-plain seq 19 */
    static const uint8_t msg[] = { 0x08, 'h', 'e', 'l', 'l', 'o', '-', 'u', 'd', 'p' };
    static const uint8_t want[] = { 0x0c, 0xf6, 0x59, 0xae, 0x0a, 0x08, 'h', 'e', 'l', 'l', 'o', '-', 'u', 'd', 'p' };
    CHECK_EQ_INT(wire_crc32(msg, sizeof msg), 0xf659ae0a);
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_crc_wrap(&b, msg, sizeof msg), WIRE_OK);
    CHECK_MEM(b.data, b.len, want, sizeof want);
    wire_bytes p;
    CHECK_EQ_INT(wire_crc_check(b.data, b.len, &p), WIRE_OK);
    CHECK_MEM(p.p, p.n, msg, sizeof msg);
    for (size_t cut = 0; cut < 5; cut++)
        CHECK_EQ_INT(wire_crc_check(b.data, cut, &p), WIRE_ETRUNC);
    CHECK_EQ_INT(wire_crc_check(b.data, b.len - 1, &p), WIRE_ECRC);
    for (size_t i = 1; i < b.len; i++) {
        b.data[i] ^= 0x01;
        CHECK_EQ_INT(wire_crc_check(b.data, b.len, &p), WIRE_ECRC);
        b.data[i] ^= 0x01;
    }
    b.data[0] = 0x07;
    CHECK_EQ_INT(wire_crc_check(b.data, b.len, &p), WIRE_ETYPE);
    /* CRC of nothing is 0: 0c 00000000 is a valid empty wrapper */
    static const uint8_t empty[] = { 0x0c, 0, 0, 0, 0 };
    CHECK_EQ_INT(wire_crc_check(empty, sizeof empty, &p), WIRE_OK);
    CHECK_EQ_INT(p.n, 0);
    wire_buf_free(&b);
}

static void test_label(void)
{
    wire_frame_config cfg;
    wire_frame_config_init(&cfg);
    CHECK(cfg.verify_incoming && cfg.encrypt_outgoing && cfg.compress);
    CHECK(!wire_frame_decrypts(&cfg));
    char big[256];
    memset(big, 'l', sizeof big);
    CHECK_EQ_INT(wire_frame_config_set_label(&cfg, big, 256), WIRE_ELABEL);
    CHECK_EQ_INT(wire_frame_config_set_label(&cfg, big, 255), WIRE_OK);
    CHECK_EQ_INT(wire_frame_config_set_label(&cfg, "vectorgen", 9), WIRE_OK);
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_label_write(&b, &cfg), WIRE_OK);
    static const uint8_t want[] = { 0xf4, 9, 'v', 'e', 'c', 't', 'o', 'r', 'g', 'e', 'n' };
    CHECK_MEM(b.data, b.len, want, sizeof want);
    wire_bytes l;
    size_t used;
    CHECK_EQ_INT(wire_label_read(b.data, b.len, &l, &used), WIRE_OK);
    CHECK_EQ_INT(used, 11);
    CHECK_MEM(l.p, l.n, "vectorgen", 9);
    CHECK_EQ_INT(wire_label_accept(&cfg, l), WIRE_OK);
    for (size_t cut = 1; cut < b.len; cut++)
        CHECK_EQ_INT(wire_label_read(b.data, cut, &l, &used), WIRE_ETRUNC);
    static const uint8_t zero[] = { 0xf4, 0, 0 };
    CHECK_EQ_INT(wire_label_read(zero, sizeof zero, &l, &used), WIRE_ELABEL);
    static const uint8_t none[] = { 0x00, 0x80 };
    CHECK_EQ_INT(wire_label_read(none, sizeof none, &l, &used), WIRE_OK);
    CHECK(l.p == NULL && used == 0);
    /* unlabeled traffic is label "": refused when we have one */
    CHECK_EQ_INT(wire_label_accept(&cfg, l), WIRE_ELABEL);
    CHECK_EQ_INT(wire_label_accept(&cfg, wire_bytes_of("vectorgex", 9)), WIRE_ELABEL);
    cfg.skip_inbound_label_check = true;
    CHECK_EQ_INT(wire_label_accept(&cfg, l), WIRE_OK);
    CHECK_EQ_INT(wire_label_accept(&cfg, wire_bytes_of("vectorgen", 9)), WIRE_ELABEL);
    wire_buf_free(&b);
}

static void test_compound(void)
{
    static const uint8_t a[] = { 0x0b, 0x81 }, c[] = { 0x08, 'x', 'y' };
    wire_bytes parts[2] = { wire_bytes_of(a, sizeof a), wire_bytes_of(c, sizeof c) };
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_compound_build(&b, parts, 2), WIRE_OK);
    static const uint8_t want[] = { 0x07, 2, 0, 2, 0, 3, 0x0b, 0x81, 0x08, 'x', 'y' };
    CHECK_MEM(b.data, b.len, want, sizeof want);
    wire_compound_iter it;
    wire_bytes p;
    CHECK_EQ_INT(wire_compound_begin(&it, b.data, b.len), WIRE_OK);
    CHECK_EQ_INT(wire_compound_next(&it, &p), 1);
    CHECK_MEM(p.p, p.n, a, sizeof a);
    CHECK_EQ_INT(wire_compound_next(&it, &p), 1);
    CHECK_MEM(p.p, p.n, c, sizeof c);
    CHECK_EQ_INT(wire_compound_next(&it, &p), 0);
    /* cut inside the length table: the whole compound goes */
    for (size_t cut = 0; cut < 6; cut++)
        CHECK_EQ_INT(wire_compound_begin(&it, b.data, cut), WIRE_ETRUNC);
    /* cut inside the second part: the first still comes out */
    CHECK_EQ_INT(wire_compound_begin(&it, b.data, b.len - 1), WIRE_OK);
    CHECK_EQ_INT(wire_compound_next(&it, &p), 1);
    CHECK_EQ_INT(wire_compound_next(&it, &p), WIRE_ETRUNC);
    /* limits */
    wire_bytes many[256];
    for (int i = 0; i < 256; i++)
        many[i] = parts[0];
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_compound_build(&b, many, 256), WIRE_ELIMIT);
    CHECK_EQ_INT(wire_compound_build(&b, many, 255), WIRE_OK);
    CHECK_EQ_INT(b.data[1], 255);
    CHECK_EQ_INT(wire_compound_build(&b, many, 0), WIRE_ERANGE);
    wire_buf_free(&b);
}

int main(void)
{
    test_crc();
    test_label();
    test_compound();
    return check_done("test_crc");
}
