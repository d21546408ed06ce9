/* swim_queue: memberlist's TransmitLimitedQueue (§11.1).
 *
 * Entries are kept in one array sorted as memberlist's btree is: fewest
 * transmissions first, then largest, then newest. Taking broadcasts for a
 * packet walks that order once, picking every entry that still fits (the
 * same picks memberlist's per-tier search makes), then merges the picked
 * entries back one tier down. A key table finds the entry a newer message
 * about the same node (or with the same application key) replaces. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

#define QUEUE_KEY_BUCKETS 256 /* grows with the queue, load <= 1 */
/* How far ahead of the entry it looks at taking for a packet asks for the
 * next entries: about what one comparison and copy take to cover a miss. */
#define TAKE_PREFETCH 4

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

static void bcast_free(swim_bcast *b)
{
    swim_msg_release(b->m);
    free(b);
}

void swim_queue_free(swim_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        bcast_free(q->items[i]);
    free(q->base);
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

/* a sorts before b */
static bool before(const swim_bcast *a, const swim_bcast *b)
{
    if (a->transmits != b->transmits)
        return a->transmits < b->transmits;
    if (a->len != b->len)
        return a->len > b->len;
    return a->id > b->id;
}

static size_t position(const swim_queue *q, const swim_bcast *b)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(q->items[mid], b))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first of v[0..m) that sorts after x, m if none: all from there on
 * do. Searched in steps that double, then halved: the taken go back one
 * tier down, often far into a long queue, and every comparison reads an
 * entry that is rarely in the cache. */
static size_t first_after(swim_bcast *const *v, size_t m, const swim_bcast *x)
{
    size_t lo = 0, hi = m, step = 1;
    while (lo < hi) {
        size_t k = hi - lo > step ? lo + step - 1 : hi - 1;
        if (before(x, v[k])) {
            hi = k;
            break;
        }
        lo = k + 1;
        step *= 2;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (before(x, v[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* first_after searched from the end, in steps that double, then halved:
 * for the picked merged from the back, each next one lands near the last. */
static size_t first_after_back(swim_bcast *const *v, size_t m, const swim_bcast *x)
{
    size_t lo = 0, hi = m, step = 1;
    while (lo < hi) {
        size_t k = hi - lo > step ? hi - step : lo;
        if (!before(x, v[k])) {
            lo = k + 1;
            break;
        }
        hi = k;
        step *= 2;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (before(x, v[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
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
    bcast_free(b);
}

/* The array has room before items as well as after, and an entry goes in
 * or out by moving the shorter side: a new entry sorts near the front
 * (fewest sends, the newest first), so a push/pull merging N members, each
 * queued, moves a few pointers each instead of the whole queue (at 5,000
 * simulated nodes, 100 MB per join). */
static void remove_at(swim_queue *q, size_t i)
{
    if (i < q->n - i - 1) {
        memmove(&q->items[1], &q->items[0], i * sizeof *q->items);
        q->items++;
    } else {
        memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof *q->items);
    }
    q->n--;
}

/* Room for one more entry on both sides of items: the entries moved to
 * the middle of base, a larger one when less than a quarter of it would
 * be room. So each side gets an eighth of the entries at least, and
 * moving them to the middle is paid for by as many inserts. */
static int make_room(swim_queue *q)
{
    size_t cap = q->cap;
    while (cap < 64 || cap - q->n < q->n / 4 + 4)
        cap = cap ? cap * 2 : 64;
    swim_bcast **base = q->base;
    if (cap != q->cap) {
        base = malloc(cap * sizeof *base);
        if (!base)
            return -1;
    }
    swim_bcast **items = base + (cap - q->n) / 2;
    if (q->n)
        memmove(items, q->items, q->n * sizeof *items);
    if (base != q->base) {
        free(q->base);
        q->base = base;
        q->cap = cap;
    }
    q->items = items;
    return 0;
}

static int insert_at(swim_queue *q, size_t i, swim_bcast *b)
{
    bool left = i < q->n - i;
    size_t front = q->base ? (size_t)(q->items - q->base) : 0;
    if (!q->base || (left && front == 0) || (!left && front + q->n == q->cap)) {
        if (make_room(q) != 0)
            return -1;
    }
    if (left) {
        memmove(&q->items[-1], &q->items[0], i * sizeof *q->items);
        q->items--;
    } else {
        memmove(&q->items[i + 1], &q->items[i], (q->n - i) * sizeof *q->items);
    }
    q->items[i] = b;
    q->n++;
    return 0;
}

static swim_bcast *key_find(const swim_queue *q, const char *key)
{
    if (!q->kbuckets)
        return NULL;
    uint32_t h = key_hash(key);
    swim_bcast *b = q->kbuckets[h & (q->nkbuckets - 1)];
    while (b && (b->khash != h || strcmp(swim_bcast_key(b), key) != 0))
        b = b->knext;
    return b;
}

bool swim_queue_has(const swim_queue *q, const char *key)
{
    return key && key_find(q, key) != NULL;
}

int swim_queue_put(swim_queue *q, const char *key, const uint8_t *msg, size_t len, bool notify)
{
    if (key) {
        swim_bcast *old = key_find(q, key);
        if (old) {
            size_t i = position(q, old);
            if (i < q->n && q->items[i] == old)
                remove_at(q, i);
            key_unlink(q, old);
            finished(q, old);
        }
    }
    if (len > UINT32_MAX)
        return -1;
    if (key && q->n + 1 > q->nkbuckets && key_grow(q) != 0)
        return -1;
    swim_bcast *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->m = swim_msg_get(q->pool, msg, len, key);
    if (!b->m) {
        free(b);
        return -1;
    }
    if (key)
        b->khash = key_hash(key);
    b->len = (uint32_t)len;
    b->id = ++q->next_id;
    if (q->min_len == 0 || len < q->min_len)
        q->min_len = len;
    b->notify = notify;
    if (insert_at(q, position(q, b), b) != 0) {
        bcast_free(b);
        return -1;
    }
    if (key)
        key_link(q, b);
    return 0;
}

void swim_queue_prune(swim_queue *q, size_t keep)
{
    /* the tail of the send order (most sent, then smallest, then oldest)
     * is what memberlist's Prune drops too */
    while (q->n > keep) {
        swim_bcast *b = q->items[--q->n];
        key_unlink(q, b);
        finished(q, b);
    }
}

/* Pass 3 the other way, when every picked entry sorts after the unpicked
 * of the walked part (c == 0): those few move up to close the gap, which
 * becomes room before items, and the picked are merged in from the back,
 * moving what sorts after them up (room after items needed). While a join
 * burst fills tier 0, the picked go to tier 1, past all of tier 0: this
 * moves the tiers after it, not tier 0 (the whole queue) every packet. */
static void merge_back(swim_queue *q, size_t i, size_t kept, size_t nre)
{
    size_t gap = i - kept;
    memmove(&q->items[gap], &q->items[0], kept * sizeof *q->items);
    q->items += gap;
    q->n -= gap;
    size_t rd = q->n;
    for (size_t r = nre; r > 0; r--) {
        swim_bcast *x = q->scratch[r - 1];
        size_t p = first_after_back(q->items, rd, x);
        memmove(&q->items[p + r], &q->items[p], (rd - p) * sizeof *q->items);
        q->items[p + r - 1] = x;
        rd = p;
    }
    q->n += nre;
}

/* Whether merge_back moves fewer entries than the forward merge, and
 * there is room after items for it. */
static bool back_is_cheaper(const swim_queue *q, size_t i, size_t kept, size_t npicked, size_t nre)
{
    size_t front = (size_t)(q->items - q->base);
    if (front + q->n + nre > q->cap)
        return false;
    size_t rest = q->n - i;
    size_t first = nre ? first_after(&q->items[i], rest, q->scratch[0]) : rest;
    size_t last = nre ? first_after(&q->items[i], rest, q->scratch[nre - 1]) : 0;
    size_t back = kept + (rest - first);
    size_t fwd = last + (npicked > nre ? rest - last : 0);
    return back < fwd;
}

size_t swim_queue_take(swim_queue *q, size_t overhead, size_t limit, uint32_t transmit_limit,
                       void (*take)(void *ud, const uint8_t *msg, size_t len), void *ud)
{
    size_t used = 0, kept = 0, npicked = 0;
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
    /* Pass 1: pick in order, compacting the unpicked of the part walked to
     * the front of items and collecting the picked in scratch (still
     * sorted); what was not walked stays where it is. */
    size_t i = 0;
    for (; i < q->n; i++) {
        swim_bcast *b = q->items[i];
        /* the entries are scattered: ask for the ones a few steps on now */
        if (i + TAKE_PREFETCH < q->n)
            __builtin_prefetch(q->items[i + TAKE_PREFETCH]);
        if (used + overhead + q->min_len > limit)
            break; /* nothing can fit any more */
        if (b->len <= limit - used - overhead) {
            used += overhead + b->len;
            take(ud, swim_bcast_msg(b), b->len);
            q->scratch[npicked++] = b;
        } else {
            q->items[kept++] = b;
        }
    }
    if (npicked == 0)
        return 0;
    /* Pass 2: retire the picked that reached the limit, bump the others. */
    size_t nre = 0;
    for (size_t k = 0; k < npicked; k++) {
        swim_bcast *b = q->scratch[k];
        if (b->transmits + 1 >= transmit_limit) {
            key_unlink(q, b);
            finished(q, b);
        } else {
            b->transmits++;
            q->scratch[nre++] = b;
        }
    }
    /* Pass 3: merge the picked (sorted, one tier down now) back into the
     * rest: the unpicked of the walked part, items[0..kept), then a gap of
     * npicked slots, then the part not walked, items[i..n). The first c
     * picked sort before some of the walked part (it can span tiers):
     * merged from the back, that part moves up into the gap. The others
     * go forward into the part not walked: each run of it that goes
     * before a picked one moves down into what is left of the gap, and
     * once the gap is filled the rest is in place already. So the tail is
     * moved once at most, and not at all when nothing retired. */
    size_t c = kept ? first_after(q->scratch, nre, q->items[kept - 1]) : 0;
    if (c == 0 && back_is_cheaper(q, i, kept, npicked, nre)) {
        merge_back(q, i, kept, nre);
        return used;
    }
    size_t a = kept, out = kept + c;
    for (size_t r = c; r > 0; r--) {
        swim_bcast *x = q->scratch[r - 1];
        size_t p = first_after(q->items, a, x);
        out -= a - p;
        memmove(&q->items[out], &q->items[p], (a - p) * sizeof *q->items);
        a = p;
        q->items[--out] = x;
    }
    size_t w = kept + c, rd = i;
    for (size_t r = c; r < nre; r++) {
        swim_bcast *x = q->scratch[r];
        size_t p = rd + first_after(&q->items[rd], q->n - rd, x);
        if (w != rd)
            memmove(&q->items[w], &q->items[rd], (p - rd) * sizeof *q->items);
        w += p - rd;
        rd = p;
        q->items[w++] = x;
    }
    if (w != rd)
        memmove(&q->items[w], &q->items[rd], (q->n - rd) * sizeof *q->items);
    q->n = w + (q->n - rd);
    return used;
}

#ifndef NDEBUG
void swim_queue_check(const swim_queue *q)
{
    assert(q->n <= q->cap);
    assert(!q->n || (q->items >= q->base && (size_t)(q->items - q->base) + q->n <= q->cap));
    size_t keyed = 0;
    for (size_t i = 0; i < q->n; i++) {
        const swim_bcast *b = q->items[i];
        /* taking for a packet stops at the first gap below min_len */
        assert(b->len >= q->min_len);
        assert(b->id != 0 && b->id <= q->next_id);
        /* the send order, which take and prune rely on */
        assert(i == 0 || before(q->items[i - 1], b));
        if (b->m->klen) {
            assert(b->khash == key_hash(swim_bcast_key(b)));
            assert(key_find(q, swim_bcast_key(b)) == b); /* one entry per key */
            keyed++;
        }
    }
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
