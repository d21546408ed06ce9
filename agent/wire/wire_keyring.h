/* wire_keyring: the AES keys of a cluster (§7).
 *
 * 1..WIRE_KEYRING_MAX keys of 16, 24 or 32 bytes (AES-128/192/256). The
 * first key is the primary: it encrypts everything we send. Every key is
 * tried, primary first, on receive, so keys can be rotated like serf's
 * `keys -install/-use/-remove`. The keyring is a plain value: no
 * allocation, copy it freely. */
#ifndef MOONLIST_WIRE_KEYRING_H
#define MOONLIST_WIRE_KEYRING_H

#include "wire/wire.h"

/* serf installs a handful of keys during a rotation; 16 leaves ample room
 * while keeping the struct a fixed, small value. */
#define WIRE_KEYRING_MAX 16
#define WIRE_KEY_MAX 32

typedef struct wire_key {
    uint8_t len;                 /* 16, 24 or 32 */
    uint8_t bytes[WIRE_KEY_MAX];
} wire_key;

typedef struct wire_keyring {
    size_t n;                    /* 0: no encryption */
    wire_key keys[WIRE_KEYRING_MAX];
} wire_keyring;

void wire_keyring_init(wire_keyring *kr);

/* Append a key (the first one added is the primary). WIRE_ERANGE for a bad
 * length, WIRE_ELIMIT when full. Adding a key already present is a no-op. */
int wire_keyring_add(wire_keyring *kr, const uint8_t *key, size_t len);

/* Make an installed key the primary (moved to the front). WIRE_ERANGE if
 * it is not installed. */
int wire_keyring_use(wire_keyring *kr, const uint8_t *key, size_t len);

/* Drop a key, as memberlist's RemoveKey: WIRE_EFORMAT if it is the
 * primary (serf refuses that: "Removing the primary key is not allowed",
 * since everything we send is encrypted with it); a key not installed is
 * a no-op. The other keys keep their order. */
int wire_keyring_remove(wire_keyring *kr, const uint8_t *key, size_t len);

/* The bytes of a key as standard padded base64 (serf's keyring file and
 * list-keys answers), NUL-terminated. out must hold
 * WIRE_KEY_B64_MAX bytes. Returns the length written. */
#define WIRE_KEY_B64_MAX 45
size_t wire_key_to_base64(const uint8_t *key, size_t len, char out[WIRE_KEY_B64_MAX]);

/* Decode a key as serf's -encrypt flag and keyring file give it: standard
 * base64 with padding, 16/24/32 bytes once decoded. On error, a message
 * ("key is not valid base64", "key must be 16, 24 or 32 bytes, got 20")
 * is written to err (errlen bytes, may be 0). */
int wire_key_from_base64(const char *b64, wire_key *key, char *err, size_t errlen);

/* wire_key_from_base64 then wire_keyring_add. */
int wire_keyring_add_base64(wire_keyring *kr, const char *b64, char *err, size_t errlen);

#endif
