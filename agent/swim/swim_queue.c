/* swim_queue: memberlist's TransmitLimitedQueue (§11.1).
 *
 * memberlist keeps its entries in a btree sorted by fewest transmissions,
 * then largest, then newest, and a packet takes, walking that order once,
 * every entry that still fits. Here the entries sit in buckets, one per
 * (transmissions, length), newest first (swim_bucket.c), and the buckets
 * in that order: the walk skips a bucket that does not fit in one step
 * and takes a prefix of one that does, where a sorted array walked every
 * entry too long for the room left (most of them, a packet's end; at
 * 1,000 simulated nodes a quarter of the run). The picks are the same:
 * the order is total, so the same set of entries gives the same walk.
 * The taken go one tier down, into the bucket of the next tier and the
 * same length. A key table finds the entry a newer message about the same
 * node (or with the same application key) replaces. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

#define QUEUE_KEY_BUCKETS 256 /* grows with the queue, load <= 1 */

uint32_t swim_retransmit_limit(uint32_t mult, size_t n)
{
    /* memberlist: mult * ceil(log10(n + 1)), here in integers (no libm on
     * this path: base_libm.c): the smallest k with 10^k >= n + 1 */
    uint32_t k = 0;
    for (uint64_t p = 1; (uint64_t)n >= p; k++) {
        if (p > UINT64_MAX / 10) {
            k++;
            break;
        }
        p *= 10;
    }
    return mult * k;
}

void swim_queue_init(swim_queue *q)
{
    memset(q, 0, sizeof *q);
}

/* Entries come from slabs of the queue's own, not one malloc each: a
 * burst join makes every simulated core queue thousands at once (25
 * million puts at 5,000 nodes, malloc and free 5 % of the run), and an
 * entry was 48 bytes of heap for its 40 (32 now). The newest entries, the ones a
 * packet takes together, are neighbours. Freed entries are reused by this
 * queue; the slabs go back when its last entry does, so a queue that
 * empties holds no memory. */
/* Entries per slab: 64 x 32 bytes, 2 KiB, a few pages' worth of the
 * malloc calls they replace; a queue of a handful of entries (an idle
 * agent's) holds one. */
#define QUEUE_SLAB 64

typedef struct swim_bcast_slab {
    struct swim_bcast_slab *next;
    swim_bcast items[QUEUE_SLAB];
} swim_bcast_slab;

static swim_bcast *bcast_new(swim_queue *q)
{
    swim_bcast *b = q->free_bcasts;
    if (b) {
        q->free_bcasts = b->knext;
    } else {
        if (!q->slabs || q->slab_used == QUEUE_SLAB) {
            swim_bcast_slab *sl = malloc(sizeof *sl);
            if (!sl)
                return NULL;
            sl->next = q->slabs;
            q->slabs = sl;
            q->slab_used = 0;
        }
        b = &q->slabs->items[q->slab_used++];
    }
    q->live_bcasts++;
    memset(b, 0, sizeof *b);
    return b;
}

static void slabs_free(swim_queue *q)
{
    while (q->slabs) {
        swim_bcast_slab *next = q->slabs->next;
        free(q->slabs);
        q->slabs = next;
    }
    q->free_bcasts = NULL;
    q->slab_used = 0;
}

static void bcast_free(swim_queue *q, swim_bcast *b)
{
    swim_msg_release(b->m);
    b->knext = q->free_bcasts;
    q->free_bcasts = b;
    if (--q->live_bcasts == 0)
        slabs_free(q);
}

void swim_queue_free(swim_queue *q)
{
    for (size_t j = 0; j < q->nbuckets; j++) {
        swim_bucket *k = &q->buckets[j];
        for (size_t i = 0; i < k->n; i++)
            swim_msg_release(k->items[i]->m);
        swim_bucket_free(k);
    }
    slabs_free(q);
    free(q->buckets);
    free(q->scratch);
    free(q->kbuckets);
    memset(q, 0, sizeof *q);
}

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++) {
        h ^= (uint8_t)*k;
        h *= 16777619u;
    }
    return h;
}

/* Bucket (t, len) sorts before bucket (bt, blen): fewer sends, then longer. */
static bool bucket_before(uint32_t t, uint32_t len, uint32_t bt, uint32_t blen)
{
    if (t != bt)
        return t < bt;
    return len > blen;
}

/* The index of bucket (t, len), or where it would go. */
static size_t bucket_position(const swim_queue *q, uint32_t t, uint32_t len)
{
    size_t lo = 0, hi = q->nbuckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const swim_bucket *k = &q->buckets[mid];
        if (bucket_before(k->transmits, k->len, t, len))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static swim_bucket *bucket_find(swim_queue *q, uint32_t t, uint32_t len)
{
    size_t i = bucket_position(q, t, len);
    if (i < q->nbuckets && q->buckets[i].transmits == t && q->buckets[i].len == len)
        return &q->buckets[i];
    return NULL;
}

/* Bucket (t, len), made (empty) if there is none. Moves the buckets after
 * it: pointers into q->buckets are stale after. NULL if out of memory. */
static swim_bucket *bucket_get(swim_queue *q, uint32_t t, uint32_t len)
{
    size_t i = bucket_position(q, t, len);
    if (i < q->nbuckets && q->buckets[i].transmits == t && q->buckets[i].len == len)
        return &q->buckets[i];
    if (q->nbuckets == q->capbuckets) {
        size_t cap = q->capbuckets ? q->capbuckets * 2 : 16;
        swim_bucket *v = realloc(q->buckets, cap * sizeof *v);
        if (!v)
            return NULL;
        q->buckets = v;
        q->capbuckets = cap;
    }
    memmove(&q->buckets[i + 1], &q->buckets[i], (q->nbuckets - i) * sizeof *q->buckets);
    q->nbuckets++;
    swim_bucket_init(&q->buckets[i], t, len);
    return &q->buckets[i];
}

/* Drop the empty buckets (their arrays freed: a queue that empties holds
 * no memory). */
static void buckets_sweep(swim_queue *q)
{
    size_t w = 0;
    for (size_t j = 0; j < q->nbuckets; j++) {
        if (q->buckets[j].n == 0)
            swim_bucket_free(&q->buckets[j]);
        else
            q->buckets[w++] = q->buckets[j];
    }
    q->nbuckets = w;
    if (w == 0) {
        free(q->buckets);
        q->buckets = NULL;
        q->capbuckets = 0;
    }
}

/* Take b out of its bucket (not freed). */
static void unqueue(swim_queue *q, swim_bcast *b)
{
    swim_bucket *k = bucket_find(q, b->transmits, swim_bcast_len(b));
    if (k && swim_bucket_remove(k, b)) {
        q->n--;
        if (k->n == 0)
            buckets_sweep(q);
    }
}

const swim_bcast *swim_queue_at(const swim_queue *q, size_t i)
{
    for (size_t j = 0; j < q->nbuckets; j++) {
        if (i < q->buckets[j].n)
            return q->buckets[j].items[i];
        i -= q->buckets[j].n;
    }
    return NULL;
}

static void key_unlink(swim_queue *q, swim_bcast *b)
{
    if (!b->m->klen || !q->kbuckets)
        return;
    swim_bcast **pp = &q->kbuckets[b->khash & (q->nkbuckets - 1)];
    while (*pp && *pp != b)
        pp = &(*pp)->knext;
    if (*pp)
        *pp = b->knext;
}

static void key_link(swim_queue *q, swim_bcast *b)
{
    size_t i = b->khash & (q->nkbuckets - 1);
    b->knext = q->kbuckets[i];
    q->kbuckets[i] = b;
}

static int key_grow(swim_queue *q)
{
    size_t nb = q->nkbuckets ? q->nkbuckets * 2 : QUEUE_KEY_BUCKETS;
    swim_bcast **kb = calloc(nb, sizeof *kb);
    if (!kb)
        return -1;
    swim_bcast **old = q->kbuckets;
    size_t oldn = q->nkbuckets;
    q->kbuckets = kb;
    q->nkbuckets = nb;
    for (size_t i = 0; i < oldn; i++) {
        swim_bcast *b = old[i];
        while (b) {
            swim_bcast *next = b->knext;
            key_link(q, b);
            b = next;
        }
    }
    free(old);
    return 0;
}

static void finished(swim_queue *q, swim_bcast *b)
{
    if (b->notify)
        q->notify_finished = true;
    bcast_free(q, b);
}

static swim_bcast *key_find(const swim_queue *q, const char *key, uint32_t h)
{
    if (!q->kbuckets)
        return NULL;
    assert(h == key_hash(key));
    swim_bcast *b = q->kbuckets[h & (q->nkbuckets - 1)];
    while (b && (b->khash != h || strcmp(swim_bcast_key(b), key) != 0))
        b = b->knext;
    return b;
}

bool swim_queue_has(const swim_queue *q, const char *key)
{
    return key && key_find(q, key, key_hash(key)) != NULL;
}

int swim_queue_put(swim_queue *q, const char *key, const uint8_t *msg, size_t len, bool notify)
{
    return swim_queue_put_hashed(q, key, key ? key_hash(key) : 0, msg, len, notify);
}

void swim_queue_prefetch_key(const swim_queue *q, uint32_t khash)
{
    if (q->kbuckets)
        __builtin_prefetch(&q->kbuckets[khash & (q->nkbuckets - 1)]);
}

void swim_queue_prefetch_key_head(const swim_queue *q, uint32_t khash)
{
    if (!q->kbuckets)
        return;
    const swim_bcast *b = q->kbuckets[khash & (q->nkbuckets - 1)];
    if (b)
        __builtin_prefetch(b);
}

int swim_queue_put_hashed(swim_queue *q, const char *key, uint32_t khash, const uint8_t *msg, size_t len,
                          bool notify)
{
    if (key) {
        swim_bcast *old = key_find(q, key, khash);
        if (old) {
            unqueue(q, old);
            key_unlink(q, old);
            finished(q, old);
        }
    }
    if (len > UINT32_MAX)
        return -1;
    if (key && q->n + 1 > q->nkbuckets && key_grow(q) != 0)
        return -1;
    swim_bcast *b = bcast_new(q);
    if (!b)
        return -1;
    b->m = swim_msg_get(q->pool, msg, len, key);
    if (!b->m) {
        bcast_free(q, b);
        return -1;
    }
    if (key)
        b->khash = khash;
    b->id = ++q->next_id;
    if (q->min_len == 0 || len < q->min_len)
        q->min_len = len;
    b->notify = notify;
    /* the newest: in front of its bucket */
    swim_bucket *k = bucket_get(q, 0, (uint32_t)len);
    if (!k || swim_bucket_merge(k, &b, 1) != 0) {
        if (k && k->n == 0)
            buckets_sweep(q);
        bcast_free(q, b);
        return -1;
    }
    q->n++;
    if (key)
        key_link(q, b);
    return 0;
}

void swim_queue_prune(swim_queue *q, size_t keep)
{
    /* the tail of the send order (most sent, then smallest, then oldest)
     * is what memberlist's Prune drops too */
    while (q->n > keep && q->nbuckets) {
        swim_bucket *k = &q->buckets[q->nbuckets - 1];
        swim_bcast *b = swim_bucket_pop_back(k);
        q->n--;
        if (k->n == 0) {
            swim_bucket_free(k);
            q->nbuckets--;
        }
        key_unlink(q, b);
        finished(q, b);
    }
    if (q->nbuckets == 0)
        buckets_sweep(q);
}

/* The picked entries of one bucket, scratch[from..to), sent once more:
 * retired at the limit, else into the bucket one tier down. */
static void requeue(swim_queue *q, size_t from, size_t to, uint32_t transmit_limit)
{
    swim_bcast *first = q->scratch[from];
    uint32_t t = first->transmits + 1;
    swim_bucket *k = t < transmit_limit ? bucket_get(q, t, swim_bcast_len(first)) : NULL;
    if (k) {
        for (size_t r = from; r < to; r++)
            q->scratch[r]->transmits = t;
        if (swim_bucket_merge(k, &q->scratch[from], to - from) == 0) {
            q->n += to - from;
            return;
        }
        /* out of memory: retired instead (the merge took none) */
    }
    for (size_t r = from; r < to; r++) {
        swim_bcast *b = q->scratch[r];
        key_unlink(q, b);
        finished(q, b);
    }
}

size_t swim_queue_take(swim_queue *q, size_t overhead, size_t limit, uint32_t transmit_limit,
                       void (*take)(void *ud, const uint8_t *msg, size_t len), void *ud)
{
    size_t used = 0, npicked = 0;
    if (q->n == 0)
        return 0;
    /* each pick costs overhead + min_len at least: room for that many */
    size_t unit = overhead + q->min_len;
    size_t most = unit ? limit / unit + 1 : q->n;
    if (most > q->n)
        most = q->n;
    if (most > q->capscratch) {
        swim_bcast **scr = realloc(q->scratch, most * sizeof *scr);
        if (!scr)
            return 0; /* nothing taken: the packet goes without gossip */
        q->scratch = scr;
        q->capscratch = most;
    }
    /* Pass 1: walk the buckets in send order; of each that fits, the
     * newest as many as fit (all of one length: if one does not fit, the
     * next does not either). Their entries come out of the bucket. */
    for (size_t j = 0; j < q->nbuckets; j++) {
        if (used + overhead + q->min_len > limit)
            break; /* nothing can fit any more */
        swim_bucket *k = &q->buckets[j];
        size_t cost = overhead + k->len;
        if (k->len > limit - used - overhead)
            continue;
        size_t m = cost ? (limit - used) / cost : k->n; /* empty messages cost nothing */
        if (m > k->n)
            m = k->n;
        /* The entries and their bytes are scattered over the heap (and the
         * bytes shared with other cores): ask for all of them before the
         * first is read, not one miss after the other. */
        for (size_t i = 0; i < m; i++)
            __builtin_prefetch(k->items[i]);
        for (size_t i = 0; i < m; i++)
            __builtin_prefetch(k->items[i]->m);
        for (size_t i = 0; i < m; i++) {
            swim_bcast *b = k->items[i];
            used += cost;
            take(ud, swim_bcast_msg(b), k->len);
            q->scratch[npicked++] = b;
        }
        swim_bucket_drop_front(k, m);
        q->n -= m;
    }
    if (npicked == 0)
        return 0;
    /* Pass 2: each bucket's picks (adjacent in scratch) one tier down or
     * retired; then the emptied buckets go. */
    for (size_t from = 0; from < npicked;) {
        size_t to = from + 1;
        while (to < npicked && q->scratch[to]->transmits == q->scratch[from]->transmits &&
               swim_bcast_len(q->scratch[to]) == swim_bcast_len(q->scratch[from]))
            to++;
        requeue(q, from, to, transmit_limit);
        from = to;
    }
    buckets_sweep(q);
    return used;
}

#ifndef NDEBUG
void swim_queue_check(const swim_queue *q)
{
    size_t keyed = 0, total = 0;
    for (size_t j = 0; j < q->nbuckets; j++) {
        const swim_bucket *k = &q->buckets[j];
        /* no empty bucket, the buckets in send order */
        assert(k->n > 0 && k->n <= k->cap);
        assert(k->items >= k->base && (size_t)(k->items - k->base) + k->n <= k->cap);
        assert(j == 0 || bucket_before(q->buckets[j - 1].transmits, q->buckets[j - 1].len,
                                       k->transmits, k->len));
        total += k->n;
        for (size_t i = 0; i < k->n; i++) {
            const swim_bcast *b = k->items[i];
            assert(b->transmits == k->transmits && swim_bcast_len(b) == k->len);
            /* taking for a packet stops at the first gap below min_len */
            assert(swim_bcast_len(b) >= q->min_len);
            assert(b->id != 0 && b->id <= q->next_id);
            assert(i == 0 || k->items[i - 1]->id > b->id); /* newest first */
            if (b->m->klen) {
                assert(b->khash == key_hash(swim_bcast_key(b)));
                assert(key_find(q, swim_bcast_key(b), b->khash) == b); /* one entry per key */
                keyed++;
            }
        }
    }
    assert(total == q->n);
    size_t chained = 0;
    for (size_t k = 0; k < q->nkbuckets; k++)
        for (const swim_bcast *b = q->kbuckets[k]; b; b = b->knext)
            chained++;
    assert(chained == keyed);
}
#else
void swim_queue_check(const swim_queue *q)
{
    (void)q;
}
#endif
