#include "serf/serf_tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_mp.h"

void serf_tags_free(serf_tags *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].key);
        free(t->v[i].value);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Not strndup: a peer's tag bytes may hold NUL and klen/vlen keep them all. */
static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int serf_tags_set(serf_tags *t, const char *key, size_t klen, const char *value, size_t vlen)
{
    char *v = dup_n(value, vlen);
    if (!v)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].klen == klen && memcmp(t->v[i].key, key, klen) == 0) {
            free(t->v[i].value);
            t->v[i].value = v;
            t->v[i].vlen = vlen;
            return 0;
        }
    }
    char *k = dup_n(key, klen);
    serf_tag *nv = k ? realloc(t->v, (t->n + 1) * sizeof *nv) : NULL;
    if (!nv) {
        free(k);
        free(v);
        return -1;
    }
    nv[t->n].key = k;
    nv[t->n].value = v;
    nv[t->n].klen = klen;
    nv[t->n].vlen = vlen;
    t->v = nv;
    t->n++;
    return 0;
}

int serf_tags_parse_kv(serf_tags *t, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errlen, "tag must be key=value with a non-empty key: '%s'", kv);
        return -1;
    }
    if (serf_tags_set(t, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1)) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int serf_tags_encode(const serf_tags *t, wire_buf *out, char *err, size_t errlen)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, SERF_TAGS_MAGIC);
    wire_mp_container m;
    wire_mp_map_begin(&w, &m);
    for (size_t i = 0; i < t->n; i++) {
        wire_mp_pack_raw(&w, t->v[i].key, t->v[i].klen);
        wire_mp_pack_raw(&w, t->v[i].value, t->v[i].vlen);
    }
    wire_mp_map_end(&w, &m);
    size_t len = wire_mp_written(&w);
    if (wire_mp_error(&w) == WIRE_OK && len > SERF_TAGS_META_MAX) {
        snprintf(err, errlen, "tags encode to %zu bytes of node meta; memberlist allows at most %d", len,
                 SERF_TAGS_META_MAX);
        wire_mp_fail(&w, WIRE_ELIMIT);
        (void)wire_mp_finish(&w);
        return -1;
    }
    if (wire_mp_finish(&w)) {
        snprintf(err, errlen, "out of memory encoding tags");
        return -1;
    }
    return 0;
}

int serf_tags_decode(serf_tags *t, const uint8_t *meta, size_t len)
{
    if (len == 0)
        return 0;
    if (meta[0] != SERF_TAGS_MAGIC)
        return serf_tags_set(t, "role", 4, (const char *)meta, len);
    wire_mp_reader r;
    wire_mp_reader_init(&r, meta + 1, len - 1);
    uint32_t n;
    if (wire_mp_read_map(&r, &n))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        wire_bytes k, v;
        if (wire_mp_read_str(&r, &k) || wire_mp_read_str(&r, &v))
            return -1;
        if (serf_tags_set(t, (const char *)k.p, k.n, (const char *)v.p, v.n))
            return -1;
    }
    return 0;
}

int serf_tags_check(const serf_tags *t, char *err, size_t errlen)
{
    wire_buf meta;
    wire_buf_init(&meta, 0);
    int rc = serf_tags_encode(t, &meta, err, errlen);
    wire_buf_free(&meta);
    return rc;
}
