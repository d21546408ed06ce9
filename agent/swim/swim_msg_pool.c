/* swim_msg_pool: the bytes of queued broadcasts, shared by every queue of
 * the cores that run in one thread (the simulator's). A join burst makes
 * each of N cores queue an alive about each of N nodes, and the N copies
 * about one node are the same bytes: gossiped on as they came. Shared,
 * 10,000 simulated nodes hold 10^4 messages instead of 10^8, and taking
 * them for a packet reads a set small enough for the cache. A core alone
 * (the agent) has no pool: each entry then owns a private copy. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Initial chain count; the table doubles when the load passes 1/4. A hit
 * costs a cache miss on every message its walk reads (each its own
 * malloc): at 5,000 simulated nodes the join burst's 25 million puts made
 * this lookup 9 % of the run at loads of 1/2 to 1 (docs/sim-speed.md). The
 * pool is one per simulator, so the room is 64 bytes per message at most
 * (8 buckets a message just after a doubling). */
#define POOL_MIN_BUCKETS 1024
#define POOL_LOAD_DIV 4

struct swim_msg_pool {
    swim_msg **buckets;
    size_t nbuckets;             /* power of two */
    size_t n;
    swim_msg *last;              /* the last got, while it lives */
};

swim_msg_pool *swim_msg_pool_new(void)
{
    swim_msg_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->nbuckets = POOL_MIN_BUCKETS;
    p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
    if (!p->buckets) {
        free(p);
        return NULL;
    }
    return p;
}

void swim_msg_pool_free(swim_msg_pool *p)
{
    if (!p)
        return;
    /* every queue using it is gone first, and released what it held */
    assert(p->n == 0);
    free(p->buckets);
    free(p);
}

size_t swim_msg_pool_count(const swim_msg_pool *p) { return p ? p->n : 0; }

/* 8 bytes a step: a message is hashed at every queue put */
static uint32_t bytes_hash(uint64_t h, const uint8_t *p, size_t n)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    for (; n > 0; p++, n--)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= h >> 32;
    return (uint32_t)h;
}

static bool same(const swim_msg *m, uint32_t hash, const uint8_t *msg, size_t len, const char *key, size_t klen)
{
    return m->hash == hash && m->len == len && m->klen == klen && memcmp(m->data, msg, len) == 0 &&
           (klen == 0 || memcmp(m->data + len, key, klen) == 0);
}

static void grow(swim_msg_pool *p)
{
    size_t nb = p->nbuckets * 2;
    swim_msg **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the old table: slower, still correct */
    for (size_t i = 0; i < p->nbuckets; i++) {
        swim_msg *m = p->buckets[i];
        while (m) {
            swim_msg *next = m->next;
            m->next = b[m->hash & (nb - 1)];
            b[m->hash & (nb - 1)] = m;
            m = next;
        }
    }
    free(p->buckets);
    p->buckets = b;
    p->nbuckets = nb;
}

/* The simulator's cores put the same messages in the same order: each
 * joiner merges the seed's table, entry by entry, and queues an alive for
 * each, the one after another, thousands of times over. A message and its
 * bucket are out of the cache by then (two misses a put, 9 % of a 5,000-
 * node run), so each message remembers the one got after it last time,
 * and getting it starts loading that one and its bucket: by the next put,
 * most often for that very message, they are in. A hint only: a follow
 * freed since is only prefetched, never read. */
static void follow(swim_msg_pool *p, swim_msg *m)
{
    if (p->last && p->last != m) {
        p->last->follow = m;
        p->last->follow_hash = m->hash;
    }
    p->last = m;
    if (m->follow) {
        /* the header, and the bytes `same` compares: an alive and its key
         * end 100 to 130 bytes into a message, past its first line */
        __builtin_prefetch(m->follow);
        __builtin_prefetch((const char *)m->follow + 64);
        __builtin_prefetch((const char *)m->follow + 128);
        __builtin_prefetch(&p->buckets[m->follow_hash & (p->nbuckets - 1)]);
    }
}

swim_msg *swim_msg_get(swim_msg_pool *p, const uint8_t *msg, size_t len, const char *key)
{
    size_t klen = key ? strlen(key) + 1 : 0;
    if (len > UINT32_MAX || klen > UINT32_MAX)
        return NULL;
    uint32_t hash = 0;
    if (p) {
        hash = bytes_hash(bytes_hash(0x5eedULL, msg, len), (const uint8_t *)key, klen);
        for (swim_msg *m = p->buckets[hash & (p->nbuckets - 1)]; m; m = m->next) {
            if (same(m, hash, msg, len, key, klen)) {
                m->refs++;
                follow(p, m);
                return m;
            }
        }
    }
    swim_msg *m = malloc(offsetof(swim_msg, data) + len + klen);
    if (!m)
        return NULL;
    m->pool = p;
    m->refs = 1;
    m->hash = hash;
    m->len = (uint32_t)len;
    m->klen = (uint32_t)klen;
    memcpy(m->data, msg, len);
    if (klen)
        memcpy(m->data + len, key, klen);
    m->next = NULL;
    m->follow = NULL;
    m->follow_hash = 0;
    if (p) {
        if ((p->n + 1) * POOL_LOAD_DIV > p->nbuckets)
            grow(p);
        size_t b = hash & (p->nbuckets - 1);
        m->next = p->buckets[b];
        p->buckets[b] = m;
        p->n++;
        follow(p, m);
    }
    return m;
}

void swim_msg_release(swim_msg *m)
{
    if (!m || --m->refs > 0)
        return;
    swim_msg_pool *p = m->pool;
    if (p) {
        if (p->last == m)
            p->last = NULL;
        swim_msg **pp = &p->buckets[m->hash & (p->nbuckets - 1)];
        while (*pp && *pp != m)
            pp = &(*pp)->next;
        if (*pp) {
            *pp = m->next;
            p->n--;
        }
    }
    free(m);
}

void swim_set_msg_pool(swim *s, swim_msg_pool *p)
{
    s->bq.pool = p;
    s->uq.pool = p;
}
