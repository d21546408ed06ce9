/* Encryption (§7): every envelope in the vectors reproduced from its
 * plaintext and recorded nonce, opened again, and the keyring rules. */
#include "check.h"
#include "fixture_lines.h"

#include "wire/wire_crypt.h"
#include "wire/wire_keyring.h"

static void test_vectors(void)
{
    FILE *f = fopen("frames/crypt.txt", "r");
    REQUIRE(f);
    char *line = NULL;
    size_t cap = 0;
    int count = 0, v0 = 0, with_aad = 0;
    while (getline(&line, &cap, f) > 0) {
        char *fl[7];
        if (line[0] == '#' || fx_fields(line, fl, 7) != 7)
            continue;
        int version = atoi(fl[1]);
        size_t kn, nn, an, pn, en;
        uint8_t *key = fx_unhex(fl[2], &kn), *nonce = fx_unhex(fl[3], &nn), *aad = fx_unhex(fl[4], &an);
        uint8_t *pt = fx_unhex(fl[5], &pn), *env = fx_unhex(fl[6], &en);
        wire_keyring kr;
        wire_keyring_init(&kr);
        REQUIRE(wire_keyring_add(&kr, key, kn) == WIRE_OK);
        wire_buf b;
        wire_buf_init(&b, 0);
        CHECK_EQ_INT(wire_encrypt_with(&b, &kr.keys[0], version, nonce, pt, pn, aad, an), WIRE_OK);
        CHECK_MEM(b.data, b.len, env, en);
        if (version == 1) {
            wire_buf_reset(&b);
            CHECK_EQ_INT(wire_encrypt(&b, &kr, nonce, pt, pn, aad, an), WIRE_OK);
            CHECK_MEM(b.data, b.len, env, en);
            CHECK_EQ_INT(en, pn + WIRE_ENCRYPT_OVERHEAD);
        }
        wire_buf_reset(&b);
        size_t idx = 99;
        CHECK_EQ_INT(wire_decrypt(&b, &kr, env, en, aad, an, &idx), WIRE_OK);
        CHECK_MEM(b.data, b.len, pt, pn);
        CHECK_EQ_INT(idx, 0);
        /* a wrong AAD, a flipped bit or a cut envelope never decrypts */
        wire_buf_reset(&b);
        uint8_t extra = 'x';
        CHECK_EQ_INT(wire_decrypt(&b, &kr, env, en, an ? aad : &extra, an ? an - 1 : 1, NULL), WIRE_ECRYPT);
        env[en / 2] ^= 0x10;
        CHECK_EQ_INT(wire_decrypt(&b, &kr, env, en, aad, an, NULL), WIRE_ECRYPT);
        env[en / 2] ^= 0x10;
        CHECK_EQ_INT(wire_decrypt(&b, &kr, env, en - 1, aad, an, NULL), WIRE_ECRYPT);
        CHECK_EQ_INT(b.len, 0);
        /* another key first in the ring: still opens, with the second key */
        wire_keyring kr2;
        wire_keyring_init(&kr2);
        uint8_t other[16] = { 0xee };
        wire_keyring_add(&kr2, other, sizeof other);
        wire_keyring_add(&kr2, key, kn);
        CHECK_EQ_INT(wire_decrypt(&b, &kr2, env, en, aad, an, &idx), WIRE_OK);
        CHECK_EQ_INT(idx, 1);
        CHECK_MEM(b.data, b.len, pt, pn);
        wire_buf_free(&b);
        v0 += version == 0;
        with_aad += an > 0;
        count++;
        free(key); free(nonce); free(aad); free(pt); free(env);
    }
    free(line);
    fclose(f);
    CHECK(count > 500);
    CHECK(v0 > 0);
    CHECK(with_aad > 0);
    fprintf(stderr, "crypt: %d envelopes (%d version 0, %d with AAD)\n", count, v0, with_aad);
}

static void test_doc_examples(void)
{
    /* §7 verified examples, key 00..0f */
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    wire_keyring kr;
    wire_keyring_init(&kr);
    wire_keyring_add(&kr, key, 16);
    size_t n;
    uint8_t *pt = fx_unhex("0cf659ae0a0868656c6c6f2d756470", &n);
    uint8_t *nonce = fx_unhex("d8d9dadbdcdddedfe0e1e2e3", &(size_t){0});
    size_t wn;
    uint8_t *want = fx_unhex("01d8d9dadbdcdddedfe0e1e2e3712e2ea8c970e68d03b24c9195fb02095f423532da9acf9da4e1d8c7e54987", &wn);
    wire_buf b;
    wire_buf_init(&b, 0);
    CHECK_EQ_INT(wire_encrypt(&b, &kr, nonce, pt, n, NULL, 0), WIRE_OK);
    CHECK_MEM(b.data, b.len, want, wn);
    /* with label "vectorgen" as AAD: same ciphertext, other tag */
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_encrypt(&b, &kr, nonce, pt, n, (const uint8_t *)"vectorgen", 9), WIRE_OK);
    CHECK_MEM(b.data, b.len - 16, want, wn - 16);
    size_t tn;
    uint8_t *tag = fx_unhex("bf8ac41621693fe96d34be88fa3c75ac", &tn);
    CHECK_MEM(b.data + b.len - 16, 16, tag, tn);
    free(pt); free(nonce); free(want); free(tag);

    /* TCP seq 20: AAD = 0a 00000034 (+ label) */
    pt = fx_unhex("0881aa557365724d73674c656e0968656c6c6f2d746370", &n);
    nonce = fx_unhex("e4e5e6e7e8e9eaebecedeeef", &(size_t){0});
    want = fx_unhex("01e4e5e6e7e8e9eaebecedeeef7da1298eadc701f5941421d877bc0ce540aba32ad491899fba83162b3fa0ee7141b442da076777", &wn);
    uint8_t aad[WIRE_STREAM_AAD_MAX];
    size_t an = wire_crypt_stream_aad(aad, (uint32_t)wn, NULL, 0);
    CHECK_EQ_INT(an, 5);
    CHECK_EQ_INT(wn, 0x34);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_encrypt(&b, &kr, nonce, pt, n, aad, an), WIRE_OK);
    CHECK_MEM(b.data, b.len, want, wn);
    an = wire_crypt_stream_aad(aad, (uint32_t)wn, (const uint8_t *)"vectorgen", 9);
    size_t xn;
    uint8_t *xaad = fx_unhex("0a00000034766563746f7267656e", &xn);
    CHECK_MEM(aad, an, xaad, xn);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_encrypt(&b, &kr, nonce, pt, n, aad, an), WIRE_OK);
    tag = fx_unhex("636fac94784f3491cebe64ede14bc8b4", &tn);
    CHECK_MEM(b.data + b.len - 16, 16, tag, tn);
    free(pt); free(nonce); free(want); free(tag); free(xaad);
    wire_buf_free(&b);
}

static void test_envelope_rules(void)
{
    uint8_t key[32] = { 1 }, nonce[12] = { 2 };
    wire_keyring kr;
    wire_keyring_init(&kr);
    wire_keyring_add(&kr, key, 32);
    wire_buf b, o;
    wire_buf_init(&b, 0);
    wire_buf_init(&o, 0);
    /* empty plaintext: v1 29 bytes, v0 45 (a whole block of padding) */
    CHECK_EQ_INT(wire_encrypt_with(&b, &kr.keys[0], 1, nonce, NULL, 0, NULL, 0), WIRE_OK);
    CHECK_EQ_INT(b.len, 29);
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, b.len, NULL, 0, NULL), WIRE_OK);
    CHECK_EQ_INT(o.len, 0);
    wire_buf_reset(&b);
    CHECK_EQ_INT(wire_encrypt_with(&b, &kr.keys[0], 0, nonce, NULL, 0, NULL, 0), WIRE_OK);
    CHECK_EQ_INT(b.len, 45);
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, b.len, NULL, 0, NULL), WIRE_OK);
    CHECK_EQ_INT(o.len, 0);
    /* version 2 and short envelopes are refused */
    b.data[0] = 2;
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, b.len, NULL, 0, NULL), WIRE_ECRYPT);
    b.data[0] = 0;
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, 44, NULL, 0, NULL), WIRE_ECRYPT);
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, 0, NULL, 0, NULL), WIRE_ECRYPT);
    /* v0 with an invalid pad byte (sealed, so authentic): refused */
    uint8_t blk[16];
    memset(blk, 0, sizeof blk);
    wire_buf_reset(&b);
    /* seal 16 zero bytes as "version 1" then relabel as 0: pad byte 0 */
    CHECK_EQ_INT(wire_encrypt_with(&b, &kr.keys[0], 1, nonce, blk, 16, NULL, 0), WIRE_OK);
    b.data[0] = 0;
    CHECK_EQ_INT(wire_decrypt(&o, &kr, b.data, b.len, NULL, 0, NULL), WIRE_ECRYPT);
    /* empty keyring: nothing to encrypt or decrypt with */
    wire_keyring empty;
    wire_keyring_init(&empty);
    CHECK_EQ_INT(wire_encrypt(&b, &empty, nonce, blk, 1, NULL, 0), WIRE_ECRYPT);
    CHECK_EQ_INT(wire_decrypt(&o, &empty, b.data, b.len, NULL, 0, NULL), WIRE_ECRYPT);
    wire_buf_free(&b);
    wire_buf_free(&o);
}

static void test_keyring(void)
{
    wire_keyring kr;
    wire_keyring_init(&kr);
    char err[128];
    /* serf's test key */
    CHECK_EQ_INT(wire_keyring_add_base64(&kr, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", err, sizeof err), WIRE_OK);
    CHECK_EQ_INT(kr.n, 1);
    CHECK_EQ_INT(kr.keys[0].len, 32);
    CHECK_EQ_INT(kr.keys[0].bytes[31], 0x1f);
    CHECK_EQ_INT(wire_keyring_add_base64(&kr, "AAECAwQFBgcICQoLDA0ODw==", err, sizeof err), WIRE_OK);
    CHECK_EQ_INT(kr.n, 2);
    CHECK_EQ_INT(kr.keys[1].len, 16);
    /* adding again: no duplicate */
    CHECK_EQ_INT(wire_keyring_add_base64(&kr, "AAECAwQFBgcICQoLDA0ODw==", err, sizeof err), WIRE_OK);
    CHECK_EQ_INT(kr.n, 2);
    /* 24-byte key */
    CHECK_EQ_INT(wire_keyring_add_base64(&kr, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", err, sizeof err), WIRE_OK);
    CHECK_EQ_INT(kr.keys[2].len, 24);
    /* make the 16-byte key primary */
    CHECK_EQ_INT(wire_keyring_use(&kr, kr.keys[1].bytes, 16), WIRE_OK);
    CHECK_EQ_INT(kr.keys[0].len, 16);
    CHECK_EQ_INT(kr.keys[1].len, 32);
    uint8_t nope[16] = { 9 };
    CHECK_EQ_INT(wire_keyring_use(&kr, nope, 16), WIRE_ERANGE);

    /* bad keys get a clear message */
    static const char *bad[] = { "", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "AAECAwQFBgcICQoLDA0OD!==",
                                 "AAECAwQFBgcICQoLDA0ODxAREhM=", "AAECAwQFBgcICQoLDA0ODx==",
                                 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", "=AAA" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECKF(wire_keyring_add_base64(&kr, bad[i], err, sizeof err) == WIRE_ERANGE, "key %s", bad[i]);
        CHECKF(err[0] != 0, "no message for %s", bad[i]);
    }
    CHECK_EQ_INT(kr.n, 3);
    wire_key k;
    CHECK_EQ_INT(wire_key_from_base64("AAECAwQFBgcICQoLDA0ODxAREhM=", &k, err, sizeof err), WIRE_ERANGE);
    CHECK(strstr(err, "got 20") != NULL);
    CHECK_EQ_INT(wire_key_from_base64("AAECAwQFBgcICQoLDA0OD*==", &k, err, sizeof err), WIRE_ERANGE);
    CHECK(strstr(err, "base64") != NULL);
    uint8_t k17[17] = { 0 };
    CHECK_EQ_INT(wire_keyring_add(&kr, k17, 17), WIRE_ERANGE);
    for (int i = 0; kr.n < WIRE_KEYRING_MAX; i++) {
        uint8_t kk[16] = { (uint8_t)i, 0x55 };
        CHECK_EQ_INT(wire_keyring_add(&kr, kk, 16), WIRE_OK);
    }
    uint8_t last[16] = { 0x77 };
    CHECK_EQ_INT(wire_keyring_add(&kr, last, 16), WIRE_ELIMIT);
}

int main(void)
{
    test_vectors();
    test_doc_examples();
    test_envelope_rules();
    test_keyring();
    return check_done("test_crypt");
}
