#include "wire/wire_crypto_lib.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

#include <openssl/crypto.h>

#include "base/base_dl.h"

/* What OPENSSL_init_crypto gets once loaded: no openssl.cnf and no error
 * strings (never printed), as memberlist's Go crypto reads no config. */
#define INIT_OPTS (OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS)

/* each function's slot in wire_crypto_lib */
static const base_dl_sym syms[] = {
    { "EVP_CIPHER_CTX_new", offsetof(wire_crypto_lib, cipher_ctx_new) },
    { "EVP_CIPHER_CTX_free", offsetof(wire_crypto_lib, cipher_ctx_free) },
    { "EVP_CIPHER_CTX_ctrl", offsetof(wire_crypto_lib, cipher_ctx_ctrl) },
    { "EVP_EncryptInit_ex", offsetof(wire_crypto_lib, encrypt_init_ex) },
    { "EVP_EncryptUpdate", offsetof(wire_crypto_lib, encrypt_update) },
    { "EVP_EncryptFinal_ex", offsetof(wire_crypto_lib, encrypt_final_ex) },
    { "EVP_DecryptInit_ex", offsetof(wire_crypto_lib, decrypt_init_ex) },
    { "EVP_DecryptUpdate", offsetof(wire_crypto_lib, decrypt_update) },
    { "EVP_DecryptFinal_ex", offsetof(wire_crypto_lib, decrypt_final_ex) },
    { "EVP_aes_128_gcm", offsetof(wire_crypto_lib, aes_128_gcm) },
    { "EVP_aes_192_gcm", offsetof(wire_crypto_lib, aes_192_gcm) },
    { "EVP_aes_256_gcm", offsetof(wire_crypto_lib, aes_256_gcm) },
    { "RAND_bytes", offsetof(wire_crypto_lib, rand_bytes) },
};

/* written once, under call_once, before `loaded` is set; read-only after */
static wire_crypto_lib lib;
static const wire_crypto_lib *loaded;
static char why[300];
static once_flag once = ONCE_FLAG_INIT;

static void load(void)
{
    wire_crypto_lib t;
    void *h = base_dl_load(WIRE_CRYPTO_LIB_NAME, syms, sizeof syms / sizeof syms[0], &t, sizeof t,
                           " (not OpenSSL 3?)", why, sizeof why);
    if (!h)
        return;
    __typeof__(&OPENSSL_init_crypto) init;
    void *p = dlsym(h, "OPENSSL_init_crypto");
    memcpy(&init, &p, sizeof p);
    if (!p || init(INIT_OPTS, NULL) != 1) {
        snprintf(why, sizeof why, "cannot load %s: OPENSSL_init_crypto %s", WIRE_CRYPTO_LIB_NAME,
                 p ? "failed" : "is missing");
        return;   /* left loaded: a half-initialised libcrypto may have registered its atexit */
    }
    lib = t;
    loaded = &lib;
}

const wire_crypto_lib *wire_crypto_lib_get(void)
{
    call_once(&once, load);
    return loaded;
}

const char *wire_crypto_lib_error(void)
{
    call_once(&once, load);
    return why;
}

int wire_crypto_lib_load(char *err, size_t errlen)
{
    if (wire_crypto_lib_get())
        return 0;
    if (errlen)
        snprintf(err, errlen, "%s", why);
    return -1;
}

int wire_crypto_random(uint8_t *buf, size_t n)
{
    const wire_crypto_lib *c = wire_crypto_lib_get();
    if (!c || n > INT_MAX)
        return -1;
    return c->rand_bytes(buf, (int)n) == 1 ? 0 : -1;
}
