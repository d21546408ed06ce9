/* wire_crypt: the AES-GCM envelope (§7), pure functions.
 *
 *   vsn:u8  nonce[12]  ciphertext  tag[16]
 *
 * Version 1 seals the plaintext as is; version 0 (senders with PCur 1)
 * first pads it PKCS#7-style to a multiple of 16. We send version 1; both
 * decode. The nonce is the caller's: the agent passes 12 random bytes per
 * message (never reuse one with the same key), tests pass recorded nonces.
 *
 * Additional data: UDP uses the label (or nothing); TCP uses the 5 header
 * bytes 0a + BE length followed by the label (wire_crypt_stream_aad). */
#ifndef MOONLIST_WIRE_CRYPT_H
#define MOONLIST_WIRE_CRYPT_H

#include "wire/wire.h"
#include "wire/wire_buf.h"
#include "wire/wire_keyring.h"

#define WIRE_NONCE_LEN 12
#define WIRE_TAG_LEN 16
/* version byte + nonce + tag: what version 1 adds, and the shortest valid
 * envelope. The gossip budget shrinks by this much (§11). */
#define WIRE_ENCRYPT_OVERHEAD 29
/* version 0 adds up to 16 bytes of padding */
#define WIRE_ENCRYPT_OVERHEAD_V0 45
/* memberlist rejects encrypted stream bodies above 20 MiB (§6.1, §14). */
#define WIRE_STREAM_MAX_ENCRYPTED ((size_t)20 << 20)
/* 0a + 4-byte length */
#define WIRE_STREAM_ENCRYPT_HEADER 5
/* 0a + length + the longest label */
#define WIRE_STREAM_AAD_MAX (WIRE_STREAM_ENCRYPT_HEADER + 255)

/* Append the envelope of pt sealed with key under nonce and aad (aad may
 * be NULL when aadlen is 0). version: 1 (what we send) or 0 (tests). */
int wire_encrypt_with(wire_buf *out, const wire_key *key, int version, const uint8_t nonce[WIRE_NONCE_LEN],
                      const uint8_t *pt, size_t n, const uint8_t *aad, size_t aadlen);

/* wire_encrypt_with the keyring's primary key. WIRE_ECRYPT if it is empty. */
int wire_encrypt(wire_buf *out, const wire_keyring *kr, const uint8_t nonce[WIRE_NONCE_LEN],
                 const uint8_t *pt, size_t n, const uint8_t *aad, size_t aadlen);

/* Open an envelope, trying every key of kr, primary first; append the
 * plaintext to out. WIRE_ECRYPT for an unknown version, a short envelope,
 * bad padding, or when no key authenticates it. *key_index (may be NULL)
 * gets the index of the key that worked. */
int wire_decrypt(wire_buf *out, const wire_keyring *kr, const uint8_t *env, size_t n,
                 const uint8_t *aad, size_t aadlen, size_t *key_index);

/* Write the TCP additional data for an envelope of env_len bytes into
 * aad[WIRE_STREAM_AAD_MAX]: 0a, env_len as u32 BE, then the label. Returns
 * its length. */
size_t wire_crypt_stream_aad(uint8_t *aad, uint32_t env_len, const uint8_t *label, size_t label_len);

#endif
