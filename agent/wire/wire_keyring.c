#include "wire/wire_keyring.h"

#include <stdio.h>
#include <string.h>

void wire_keyring_init(wire_keyring *kr)
{
    memset(kr, 0, sizeof *kr);
}

static bool key_len_ok(size_t len)
{
    return len == 16 || len == 24 || len == 32;
}

static int find(const wire_keyring *kr, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < kr->n; i++)
        if (kr->keys[i].len == len && memcmp(kr->keys[i].bytes, key, len) == 0)
            return (int)i;
    return -1;
}

int wire_keyring_add(wire_keyring *kr, const uint8_t *key, size_t len)
{
    if (!key_len_ok(len))
        return WIRE_ERANGE;
    if (find(kr, key, len) >= 0)
        return WIRE_OK;
    if (kr->n == WIRE_KEYRING_MAX)
        return WIRE_ELIMIT;
    kr->keys[kr->n].len = (uint8_t)len;
    memcpy(kr->keys[kr->n].bytes, key, len);
    kr->n++;
    return WIRE_OK;
}

int wire_keyring_use(wire_keyring *kr, const uint8_t *key, size_t len)
{
    int i = find(kr, key, len);
    if (i < 0)
        return WIRE_ERANGE;
    wire_key k = kr->keys[i];
    memmove(&kr->keys[1], &kr->keys[0], (size_t)i * sizeof k);
    kr->keys[0] = k;
    return WIRE_OK;
}

int wire_keyring_remove(wire_keyring *kr, const uint8_t *key, size_t len)
{
    int i = find(kr, key, len);
    if (i == 0)
        return WIRE_EFORMAT;
    if (i < 0)
        return WIRE_OK;
    memmove(&kr->keys[i], &kr->keys[i + 1], (kr->n - (size_t)i - 1) * sizeof kr->keys[0]);
    kr->n--;
    memset(&kr->keys[kr->n], 0, sizeof kr->keys[0]);
    return WIRE_OK;
}

size_t wire_key_to_base64(const uint8_t *key, size_t len, char out[WIRE_KEY_B64_MAX])
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len > WIRE_KEY_MAX)
        len = WIRE_KEY_MAX;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)key[i] << 16;
        if (i + 1 < len) v |= (uint32_t)key[i + 1] << 8;
        if (i + 2 < len) v |= key[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static void set_err(char *err, size_t errlen, const char *msg, size_t got)
{
    if (errlen)
        snprintf(err, errlen, msg, got);
}

/* Go's base64.StdEncoding: padded, canonical; a key is short so anything
 * longer than a 32-byte key's 44 characters is refused before decoding. */
int wire_key_from_base64(const char *b64, wire_key *key, char *err, size_t errlen)
{
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 44) {
        if (len > 44 || (len > 0 && len % 4 == 0))
            set_err(err, errlen, "key must be 16, 24 or 32 bytes once decoded (base64 of %zu characters is too long)",
                    len);
        else
            set_err(err, errlen, "key is not valid base64 (length %zu is not a multiple of 4)", len);
        return WIRE_ERANGE;
    }
    uint8_t out[33];
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = b64[i + (size_t)j];
            if (c == '=' && i + 4 == len && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            v[j] = pad ? -1 : b64_value((unsigned char)c);
            if (v[j] < 0) {
                set_err(err, errlen, "key is not valid base64 (bad character at offset %zu)", i + (size_t)j);
                return WIRE_ERANGE;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* canonical: the bits under the padding must be zero */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))) {
            set_err(err, errlen, "key is not valid base64 (non-zero padding bits near offset %zu)", i);
            return WIRE_ERANGE;
        }
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    if (!key_len_ok(o)) {
        set_err(err, errlen, "key must be 16, 24 or 32 bytes, got %zu", o);
        return WIRE_ERANGE;
    }
    key->len = (uint8_t)o;
    memcpy(key->bytes, out, o);
    if (errlen)
        err[0] = 0;
    return WIRE_OK;
}

int wire_keyring_add_base64(wire_keyring *kr, const char *b64, char *err, size_t errlen)
{
    wire_key k;
    int rc = wire_key_from_base64(b64, &k, err, errlen);
    if (rc)
        return rc;
    rc = wire_keyring_add(kr, k.bytes, k.len);
    if (rc == WIRE_ELIMIT)
        set_err(err, errlen, "keyring is full (%zu keys)", (size_t)WIRE_KEYRING_MAX);
    return rc;
}
