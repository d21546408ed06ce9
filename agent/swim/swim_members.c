/* swim_members: the member table. A hash table by name for lookups, and
 * memberlist's `nodes` array, which is also the probe order: new nodes go
 * to a random position, and the array is reshuffled (after reaping the
 * long-dead) each time the probe index wraps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Initial bucket count; the table doubles when the load passes 1. */
#define MEMBERS_MIN_BUCKETS 64

static uint32_t name_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 16777619u;
    }
    return h;
}

int swim_members_init(swim_members *m)
{
    memset(m, 0, sizeof *m);
    m->nbuckets = MEMBERS_MIN_BUCKETS;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    return m->buckets ? 0 : -1;
}

static void node_free(swim_node *n)
{
    if (!n)
        return;
    swim_suspicion_free(swim_node_susp(n));
    if (n->meta_len > SWIM_META_INLINE)
        free(n->meta.p);
    free(n);
}

void swim_members_free(swim_members *m)
{
    for (size_t i = 0; i < m->n; i++)
        node_free(m->nodes[i]);
    free(m->nodes);
    free(m->buckets);
    memset(m, 0, sizeof *m);
}

swim_node *swim_members_find(const swim_members *m, const char *name, size_t len)
{
    return swim_members_find_hashed(m, name, len, name_hash(name, len));
}

swim_node *swim_members_find_hashed(const swim_members *m, const char *name, size_t len, uint32_t h)
{
    assert(h == name_hash(name, len));
    for (swim_node *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->hnext)
        if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
            return n;
    return NULL;
}

uint32_t swim_members_prefetch(const swim_members *m, const char *name, size_t len)
{
    uint32_t h = name_hash(name, len);
    __builtin_prefetch(&m->buckets[h & (m->nbuckets - 1)]);
    return h;
}

/* The lines a lookup and an alive compare read: the node's first two,
 * and the one holding the end of its name (a node is 16-byte aligned, not
 * 64, so with a name of 10 bytes a quarter of them end on a third line).
 * Not n->name_len: reading the node would wait for the very load this
 * starts; the name looked up has the same length when it is this node. */
static void prefetch_lines(const swim_node *n, size_t len)
{
    __builtin_prefetch(n);
    __builtin_prefetch((const char *)n + 64);
    __builtin_prefetch((const char *)n + offsetof(swim_node, name) + len);
}

void swim_members_prefetch_node(const swim_members *m, uint32_t hash, size_t len)
{
    const swim_node *n = m->buckets[hash & (m->nbuckets - 1)];
    if (n)
        prefetch_lines(n, len);
}

void swim_members_prefetch_next(const swim_members *m, uint32_t hash, size_t len)
{
    /* by now the head is in the cache: if it is another name, its
     * successor is the likely one (chains average under 1.5) */
    const swim_node *n = m->buckets[hash & (m->nbuckets - 1)];
    if (n && n->hash != hash && n->hnext)
        prefetch_lines(n->hnext, len);
}

static void grow_buckets(swim_members *m, size_t nb)
{
    swim_node **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the old table: slower, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        swim_node *n = m->buckets[i];
        while (n) {
            swim_node *next = n->hnext;
            n->hnext = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* The sizes the buckets grow through, from MEMBERS_MIN_BUCKETS, doubling
 * (a power of two: a mask picks the bucket). */
static size_t cap_for(size_t cap, size_t n)
{
    if (cap == 0)
        cap = 16;
    while (cap < n)
        cap *= 2;
    return cap;
}

/* The probe order grows by half when an add finds it full: doubling
 * left it up to half empty, and every simulated core holds one (at 5,000
 * nodes, 8,192 slots each for 5,000 members: 130 MB). */
static size_t nodes_grown(size_t cap) { return cap < 16 ? 16 : cap + cap / 2; }

void swim_members_reserve(swim_members *m, size_t n)
{
    if (n > m->cap) {
        /* a push/pull reserves for the alive entries it brings; a few
         * more members may come soon after (a burst's last joiners, by
         * gossip): a sixteenth more room, rather than an add's growth */
        size_t cap = n + n / 16;
        swim_node **nodes = realloc(m->nodes, cap * sizeof *nodes);
        if (!nodes)
            return; /* a hint: the adds will grow it, or fail, as before */
        m->nodes = nodes;
        m->cap = cap;
    }
    if (n > m->nbuckets)
        grow_buckets(m, cap_for(m->nbuckets, n));
}

swim_node *swim_members_add(swim_members *m, swim_rng *r, const char *name, size_t len)
{
    if (m->n == m->cap) {
        size_t cap = nodes_grown(m->cap);
        swim_node **nodes = realloc(m->nodes, cap * sizeof *nodes);
        if (!nodes)
            return NULL;
        m->nodes = nodes;
        m->cap = cap;
    }
    /* the name lives right after the node: one allocation, one cache
     * line less to fetch in a lookup */
    if (len > SWIM_NODE_FIELD_MAX)
        return NULL;
    swim_node *n = calloc(1, offsetof(swim_node, name) + len + 1);
    if (!n)
        return NULL;
    memcpy(n->name, name, len);
    n->name[len] = 0;
    n->name_len = (uint16_t)len;
    n->hash = name_hash(name, len);
    n->state = SWIM_DEAD;
    if (m->n + 1 > m->nbuckets)
        grow_buckets(m, m->nbuckets * 2);
    size_t b = n->hash & (m->nbuckets - 1);
    n->hnext = m->buckets[b];
    m->buckets[b] = n;
    /* Append, then swap with a random slot: a node appended last would be
     * probed last, and the failure detection bound would suffer. */
    size_t off = (size_t)swim_rng_below(r, m->n);
    m->nodes[m->n] = n;
    if (m->n > 0) {
        m->nodes[m->n] = m->nodes[off];
        m->nodes[off] = n;
    }
    m->n++;
    m->gen++;
    return n;
}

static void unlink_node(swim_members *m, swim_node *n)
{
    swim_node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = n->hnext;
}

void swim_members_reset(swim_members *m, swim_rng *r, swim_time now, swim_time grace, const swim_node *self)
{
    /* moveDeadNodes: swap the expired to the end, then drop them. */
    size_t n = m->n, ndead = 0;
    for (size_t i = 0; i < n - ndead; i++) {
        swim_node *x = m->nodes[i];
        if (x == self || (x->state != SWIM_DEAD && x->state != SWIM_LEFT))
            continue;
        if (now - swim_node_state_change(x) <= grace)
            continue;
        m->nodes[i] = m->nodes[n - ndead - 1];
        m->nodes[n - ndead - 1] = x;
        ndead++;
        i--;
    }
    for (size_t i = n - ndead; i < n; i++) {
        unlink_node(m, m->nodes[i]);
        node_free(m->nodes[i]);
        m->nodes[i] = NULL;
    }
    m->n = n - ndead;
    m->gen++;
    /* Fisher-Yates, as Go's rand.Shuffle. */
    for (size_t i = m->n; i > 1; i--) {
        size_t j = (size_t)swim_rng_below(r, i);
        swim_node *t = m->nodes[i - 1];
        m->nodes[i - 1] = m->nodes[j];
        m->nodes[j] = t;
    }
}

int swim_node_set_meta(swim_node *n, const uint8_t *meta, size_t len)
{
    if (n->meta_len == len && (len == 0 || memcmp(swim_node_meta(n), meta, len) == 0))
        return 0;
    if (len > SWIM_NODE_FIELD_MAX)
        return -1;
    uint8_t *p = NULL;
    if (len > SWIM_META_INLINE) {
        p = malloc(len);
        if (!p)
            return -1;
        memcpy(p, meta, len);
    }
    if (n->meta_len > SWIM_META_INLINE)
        free(n->meta.p);
    if (p)
        n->meta.p = p;
    else if (len)
        memcpy(n->meta.in, meta, len);
    n->meta_len = (uint16_t)len;
    return 0;
}

void swim_node_view(const swim_node *n, swim_member *out)
{
    out->name = n->name;
    out->addr = n->addr;
    out->state = (swim_state)n->state;
    out->incarnation = n->incarnation;
    out->meta = n->meta_len ? swim_node_meta(n) : NULL;
    out->meta_len = n->meta_len;
    memcpy(out->vsn, n->vsn, 6);
    out->state_change = swim_node_state_change(n);
}
