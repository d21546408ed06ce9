/* serf_tags: serf tags <-> node meta.
 *
 * serf (protocol >= 3) encodes its tags as the byte ff followed by a
 * msgpack map string -> string in go-msgpack's old-spec raw strings (§16).
 * We write the tags in the order they were given (serf writes Go map order,
 * which is random, and reads any order). With no tags the meta is `ff 80`,
 * exactly what a serf agent without tags sends. memberlist limits meta to
 * 512 bytes (§14): more is an error, never truncated. */
#ifndef MOONLIST_SERF_TAGS_H
#define MOONLIST_SERF_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_buf.h"

#define SERF_TAGS_META_MAX 512   /* memberlist's node meta limit (§14) */
#define SERF_TAGS_MAGIC 0xff      /* serf's tag magic byte */

/* key and value are NUL-terminated for convenience, but meta from the
 * network may hold NUL bytes: the lengths are authoritative. */
typedef struct serf_tag {
    char *key;
    char *value;
    size_t klen, vlen;
} serf_tag;

/* A list of tags; owns its strings. Zero-initialise, release with
 * serf_tags_free(). */
typedef struct serf_tags {
    serf_tag *v;
    size_t n;
} serf_tags;

void serf_tags_free(serf_tags *t);
/* Set key to value (copied); a key set again keeps its place and takes the
 * new value, as a Go map would. Returns 0 or -1 (out of memory). */
int serf_tags_set(serf_tags *t, const char *key, size_t klen, const char *value, size_t vlen);
/* Parse "key=value" (split at the first '='; the key must not be empty).
 * Returns 0, or -1 with a message in err. */
int serf_tags_parse_kv(serf_tags *t, const char *kv, char *err, size_t errlen);

/* Encode as serf meta into out (appended). Returns 0, or -1 with a message
 * in err when over SERF_TAGS_META_MAX bytes. */
int serf_tags_encode(const serf_tags *t, wire_buf *out, char *err, size_t errlen);
/* Whether t would encode within SERF_TAGS_META_MAX: 0, or -1 with the
 * reason in err (encodes into a scratch buffer it frees). */
int serf_tags_check(const serf_tags *t, char *err, size_t errlen);
/* Decode meta from the network as serf does: empty -> no tags; not starting
 * with ff -> the whole meta is the legacy "role" tag; else the msgpack map.
 * Returns 0, or -1 if the map is malformed (t holds what came before). */
int serf_tags_decode(serf_tags *t, const uint8_t *meta, size_t len);

#endif
