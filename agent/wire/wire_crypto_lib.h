/* wire_crypto_lib: OpenSSL's libcrypto, loaded when a key is first used.
 *
 * Only encryption needs libcrypto (AES-GCM, the nonces), and most agents
 * run without a key: linked, it would be mapped by every agent (1.5 MiB
 * of its pages resident, docs/footprint.md). So it is not linked: the
 * first caller that needs it (an -encrypt agent at start, or the first
 * seal or open) loads libcrypto.so.3 with dlopen and gets a table of the
 * few functions wire_crypt.c uses. The headers still come from OpenSSL's
 * -dev package at build time, for the types and constants.
 *
 * Loading happens once per process, whoever asks first and from whatever
 * thread; a failure is remembered too (the library does not appear later). */
#ifndef MOONLIST_WIRE_CRYPTO_LIB_H
#define MOONLIST_WIRE_CRYPTO_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* the soname of OpenSSL 3's libcrypto, whose ABI the table below is */
#define WIRE_CRYPTO_LIB_NAME "libcrypto.so.3"

/* each slot has the type of the function it holds, as OpenSSL's headers
 * declare it (typeof references nothing: no link to libcrypto) */
typedef struct wire_crypto_lib {
    __typeof__(&EVP_CIPHER_CTX_new) cipher_ctx_new;
    __typeof__(&EVP_CIPHER_CTX_free) cipher_ctx_free;
    __typeof__(&EVP_CIPHER_CTX_ctrl) cipher_ctx_ctrl;
    __typeof__(&EVP_EncryptInit_ex) encrypt_init_ex;
    __typeof__(&EVP_EncryptUpdate) encrypt_update;
    __typeof__(&EVP_EncryptFinal_ex) encrypt_final_ex;
    __typeof__(&EVP_DecryptInit_ex) decrypt_init_ex;
    __typeof__(&EVP_DecryptUpdate) decrypt_update;
    __typeof__(&EVP_DecryptFinal_ex) decrypt_final_ex;
    __typeof__(&EVP_aes_128_gcm) aes_128_gcm;
    __typeof__(&EVP_aes_192_gcm) aes_192_gcm;
    __typeof__(&EVP_aes_256_gcm) aes_256_gcm;
    __typeof__(&RAND_bytes) rand_bytes;
} wire_crypto_lib;

/* The table, libcrypto loaded and initialised on the first call; NULL if
 * it cannot be (wire_crypto_lib_error says why). */
const wire_crypto_lib *wire_crypto_lib_get(void);

/* Why wire_crypto_lib_get returns NULL (trying to load first, if nobody
 * has), one sentence naming the library: "cannot load libcrypto.so.3:
 * <dlerror>"; "" when it loaded. */
const char *wire_crypto_lib_error(void);

/* wire_crypto_lib_get for a caller that wants to fail early (the agent at
 * start, when it has a key): 0, or -1 with wire_crypto_lib_error in err. */
int wire_crypto_lib_load(char *err, size_t errlen);

/* n bytes from libcrypto's CSPRNG (RAND_bytes), for nonces: 0, or -1 if
 * libcrypto cannot be loaded or fails. */
int wire_crypto_random(uint8_t *buf, size_t n);

#endif
