#include "wire/wire_crypt.h"

#include <limits.h>
#include <string.h>

#include "wire/wire_crypto_lib.h"

/* GCM block size, for version 0's PKCS#7 padding */
#define PAD_BLOCK 16

static bool key_len_ok(const wire_key *key)
{
    return key->len == 16 || key->len == 24 || key->len == 32;
}

static const EVP_CIPHER *cipher_for(const wire_crypto_lib *lc, const wire_key *key)
{
    switch (key->len) {
    case 16: return lc->aes_128_gcm();
    case 24: return lc->aes_192_gcm();
    case 32: return lc->aes_256_gcm();
    default: return NULL;
    }
}

/* Seal or open with OpenSSL (loaded on the first call: wire_crypto_lib.h;
 * WIRE_ECRYPT if it cannot be); the GCM default IV length is the 12 bytes
 * Go's cipher.NewGCM uses. */
static int gcm(bool seal, const wire_key *key, const uint8_t *nonce, const uint8_t *in, size_t n,
               const uint8_t *aad, size_t aadlen, uint8_t *out, uint8_t *tag)
{
    const wire_crypto_lib *lc = wire_crypto_lib_get();
    if (!lc)
        return WIRE_ECRYPT;
    const EVP_CIPHER *c = cipher_for(lc, key);
    if (!c || n > INT_MAX || aadlen > INT_MAX)
        return WIRE_ECRYPT;
    EVP_CIPHER_CTX *ctx = lc->cipher_ctx_new();
    if (!ctx)
        return WIRE_ENOMEM;
    int ok = 0, len = 0;
    if (seal) {
        ok = lc->encrypt_init_ex(ctx, c, NULL, key->bytes, nonce) == 1 &&
             (aadlen == 0 || lc->encrypt_update(ctx, NULL, &len, aad, (int)aadlen) == 1) &&
             (n == 0 || lc->encrypt_update(ctx, out, &len, in, (int)n) == 1) &&
             lc->encrypt_final_ex(ctx, out + (n ? len : 0), &len) == 1 &&
             lc->cipher_ctx_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WIRE_TAG_LEN, tag) == 1;
    } else {
        ok = lc->decrypt_init_ex(ctx, c, NULL, key->bytes, nonce) == 1 &&
             (aadlen == 0 || lc->decrypt_update(ctx, NULL, &len, aad, (int)aadlen) == 1) &&
             (n == 0 || lc->decrypt_update(ctx, out, &len, in, (int)n) == 1) &&
             lc->cipher_ctx_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WIRE_TAG_LEN, tag) == 1 &&
             lc->decrypt_final_ex(ctx, out + (n ? len : 0), &len) == 1;
    }
    lc->cipher_ctx_free(ctx);
    return ok ? WIRE_OK : WIRE_ECRYPT;
}

int wire_encrypt_with(wire_buf *out, const wire_key *key, int version, const uint8_t nonce[WIRE_NONCE_LEN],
                      const uint8_t *pt, size_t n, const uint8_t *aad, size_t aadlen)
{
    if ((version != 0 && version != 1) || !nonce || !key_len_ok(key))
        return WIRE_ECRYPT;
    size_t pad = version == 0 ? PAD_BLOCK - n % PAD_BLOCK : 0;
    if (n > SIZE_MAX - WIRE_ENCRYPT_OVERHEAD_V0)
        return WIRE_ELIMIT;
    size_t start = out->len;
    size_t total = 1 + WIRE_NONCE_LEN + n + pad + WIRE_TAG_LEN;
    int rc = wire_buf_reserve(out, total);
    if (rc)
        return rc;
    uint8_t *e = out->data + start;
    e[0] = (uint8_t)version;
    memcpy(e + 1, nonce, WIRE_NONCE_LEN);
    uint8_t *body = e + 1 + WIRE_NONCE_LEN;
    /* build the (padded) plaintext in place, then seal it in place */
    if (n)
        memmove(body, pt, n);
    memset(body + n, (int)pad, pad);
    rc = gcm(true, key, nonce, body, n + pad, aad, aadlen, body, body + n + pad);
    if (rc)
        return rc;
    out->len = start + total;
    return WIRE_OK;
}

int wire_encrypt(wire_buf *out, const wire_keyring *kr, const uint8_t nonce[WIRE_NONCE_LEN], const uint8_t *pt,
                 size_t n, const uint8_t *aad, size_t aadlen)
{
    if (!kr || kr->n == 0)
        return WIRE_ECRYPT;
    return wire_encrypt_with(out, &kr->keys[0], 1, nonce, pt, n, aad, aadlen);
}

int wire_decrypt(wire_buf *out, const wire_keyring *kr, const uint8_t *env, size_t n, const uint8_t *aad,
                 size_t aadlen, size_t *key_index)
{
    if (!kr || kr->n == 0 || n < 1)
        return WIRE_ECRYPT;
    int version = env[0];
    if (version > 1)
        return WIRE_ECRYPT;
    if (n < (version == 0 ? WIRE_ENCRYPT_OVERHEAD_V0 : WIRE_ENCRYPT_OVERHEAD))
        return WIRE_ECRYPT;
    const uint8_t *nonce = env + 1;
    const uint8_t *ct = env + 1 + WIRE_NONCE_LEN;
    size_t ctlen = n - WIRE_ENCRYPT_OVERHEAD;
    const uint8_t *tag = ct + ctlen;

    size_t start = out->len;
    int rc = wire_buf_reserve(out, ctlen ? ctlen : 1);
    if (rc)
        return rc;
    uint8_t *pt = out->data + start;
    for (size_t k = 0; k < kr->n; k++) {
        /* the tag is passed as a copy: OpenSSL wants a writable pointer */
        uint8_t t[WIRE_TAG_LEN];
        memcpy(t, tag, WIRE_TAG_LEN);
        if (gcm(false, &kr->keys[k], nonce, ct, ctlen, aad, aadlen, pt, t) != WIRE_OK)
            continue;
        size_t len = ctlen;
        if (version == 0) {
            uint8_t pad = len ? pt[len - 1] : 0;
            if (pad < 1 || pad > PAD_BLOCK || pad > len)
                return WIRE_ECRYPT;
            len -= pad;
        }
        out->len = start + len;
        if (key_index)
            *key_index = k;
        return WIRE_OK;
    }
    return WIRE_ECRYPT;
}

size_t wire_crypt_stream_aad(uint8_t *aad, uint32_t env_len, const uint8_t *label, size_t label_len)
{
    if (label_len > WIRE_STREAM_AAD_MAX - WIRE_STREAM_ENCRYPT_HEADER)
        label_len = WIRE_STREAM_AAD_MAX - WIRE_STREAM_ENCRYPT_HEADER;
    aad[0] = WIRE_ENCRYPT;
    aad[1] = (uint8_t)(env_len >> 24);
    aad[2] = (uint8_t)(env_len >> 16);
    aad[3] = (uint8_t)(env_len >> 8);
    aad[4] = (uint8_t)env_len;
    if (label_len)
        memcpy(aad + WIRE_STREAM_ENCRYPT_HEADER, label, label_len);
    return WIRE_STREAM_ENCRYPT_HEADER + label_len;
}
