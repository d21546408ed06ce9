/* swim_bucket: the entries of a broadcast queue that were sent as many
 * times and are as long as each other, newest first (id descending).
 *
 * Within one such bucket memberlist's send order is the id alone, and a
 * packet takes a prefix of it (if the first does not fit, no other does),
 * so the queue (swim_queue.c) keeps one bucket per (tier, length) and
 * never walks entries it cannot pick. A new entry is the newest: it goes
 * in front. The taken of one tier arrive in the next as a run, mostly in
 * front too (news newer than what that tier holds). The array has room on
 * both sides, and an entry goes in or out by moving the shorter side. */
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

/* Smallest array a bucket allocates: most hold a few entries. */
#define BUCKET_MIN_CAP 8

void swim_bucket_init(swim_bucket *k, uint32_t transmits, uint32_t len)
{
    memset(k, 0, sizeof *k);
    k->transmits = transmits;
    k->len = len;
}

void swim_bucket_free(swim_bucket *k)
{
    free(k->base);
    k->base = k->items = NULL;
    k->n = k->cap = 0;
}

/* At least `front` free slots before items and `back` after: the entries
 * moved into the middle of the slack, a larger array when less than a
 * quarter of them would be slack (each move is paid for by as many
 * inserts). */
static int make_room(swim_bucket *k, size_t front, size_t back)
{
    size_t have_front = k->base ? (size_t)(k->items - k->base) : 0;
    if (k->base && have_front >= front && k->cap - have_front - k->n >= back)
        return 0;
    size_t cap = k->cap;
    while (cap < BUCKET_MIN_CAP || cap - k->n < k->n / 4 + 4 + front + back)
        cap = cap ? cap + cap / 2 : BUCKET_MIN_CAP;
    swim_bcast **base = k->base;
    if (cap != k->cap) {
        base = malloc(cap * sizeof *base);
        if (!base)
            return -1;
    }
    size_t slack = cap - k->n - front - back;
    swim_bcast **items = base + front + slack / 2;
    if (k->n)
        memmove(items, k->items, k->n * sizeof *items);
    if (base != k->base) {
        free(k->base);
        k->base = base;
        k->cap = cap;
    }
    k->items = items;
    return 0;
}

/* A bucket that drained to under a quarter of its array gets a smaller
 * one: in a join burst each tier's bucket swells in turn (N entries, the
 * news of every node) and drains into the next, and arrays kept at their
 * peak held more than the entries themselves. Halving at a quarter leaves
 * twice the entries' room, so a bucket that refills soon pays little. */
static void maybe_shrink(swim_bucket *k)
{
    if (k->cap <= 64 || k->n >= k->cap / 4)
        return;
    size_t cap = k->cap / 2;
    swim_bcast **base = malloc(cap * sizeof *base);
    if (!base)
        return; /* keep the larger one */
    swim_bcast **items = base + (cap - k->n) / 2;
    if (k->n)
        memcpy(items, k->items, k->n * sizeof *items);
    free(k->base);
    k->base = base;
    k->items = items;
    k->cap = cap;
}

/* The first entry in [lo, hi) with a smaller id than `id` (hi if none):
 * ids fall along the bucket (newest first). */
static size_t first_older(const swim_bucket *k, size_t lo, size_t hi, uint64_t id)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->items[mid]->id > id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where an entry with this id goes: the first with a smaller id. */
static size_t position(const swim_bucket *k, uint64_t id)
{
    return first_older(k, 0, k->n, id);
}

static int insert_at(swim_bucket *k, size_t i, swim_bcast *b)
{
    bool left = i < k->n - i;
    if (make_room(k, left ? 1 : 0, left ? 0 : 1) != 0)
        return -1;
    if (left) {
        memmove(&k->items[-1], &k->items[0], i * sizeof *k->items);
        k->items--;
    } else {
        memmove(&k->items[i + 1], &k->items[i], (k->n - i) * sizeof *k->items);
    }
    k->items[i] = b;
    k->n++;
    return 0;
}

int swim_bucket_insert(swim_bucket *k, swim_bcast *b)
{
    return insert_at(k, position(k, b->id), b);
}

/* Where an entry with this id goes, at or after `from`: searched in steps
 * that double from there, then halved. The entries of a run land close to
 * each other, and every comparison reads an entry rarely in the cache. */
static size_t position_from(const swim_bucket *k, size_t from, uint64_t id)
{
    size_t lo = from, hi = k->n, step = 1;
    while (lo < hi) {
        size_t j = hi - lo > step ? lo + step - 1 : hi - 1;
        if (k->items[j]->id < id) {
            hi = j;
            break;
        }
        lo = j + 1;
        step *= 2;
    }
    return first_older(k, lo, hi, id);
}

/* Entries one merge puts in place at once (their positions on the stack). */
#define MERGE_CHUNK 64

/* m <= MERGE_CHUNK entries, newest first, into the middle of k, which has
 * room for m on either side: their positions found in one forward sweep,
 * then the shorter side moved once, each stretch of it by as many places
 * as entries go in beyond it (not every entry moving the side again). */
static void merge_chunk(swim_bucket *k, swim_bcast *const *run, size_t m)
{
    size_t pos[MERGE_CHUNK];
    size_t at = 0;
    for (size_t r = 0; r < m; r++)
        pos[r] = at = position_from(k, at, run[r]->id);
    size_t n = k->n;
    if (pos[m - 1] < n - pos[0]) {
        /* the front moves down by m, stretch by stretch, from the first */
        swim_bcast **old = k->items;
        k->items -= m;
        size_t from = 0;
        for (size_t r = 0; r < m; r++) {
            /* old[from..pos[r]) goes down by m - r: old[x] is items[x + m],
             * so it lands at items[x + r] (indexed from the new front,
             * never a pointer below it) */
            memmove(&k->items[from + r], &old[from], (pos[r] - from) * sizeof *old);
            k->items[pos[r] + r] = run[r];
            from = pos[r];
        }
    } else {
        /* the back moves up by m, stretch by stretch, from the last */
        size_t to = n;
        for (size_t r = m; r > 0; r--) {
            /* items[pos[r-1]..to) goes up by r */
            memmove(&k->items[pos[r - 1] + r], &k->items[pos[r - 1]], (to - pos[r - 1]) * sizeof *k->items);
            k->items[pos[r - 1] + r - 1] = run[r - 1];
            to = pos[r - 1];
        }
    }
    k->n = n + m;
}

int swim_bucket_merge(swim_bucket *k, swim_bcast *const *run, size_t m)
{
    if (m == 0)
        return 0;
    if (k->n == 0 || run[m - 1]->id > k->items[0]->id) {
        /* all newer than what is there: in front, in one piece */
        if (make_room(k, m, 0) != 0)
            return -1;
        k->items -= m;
        memcpy(k->items, run, m * sizeof *run);
        k->n += m;
        return 0;
    }
    if (run[0]->id < k->items[k->n - 1]->id) {
        /* all older: behind */
        if (make_room(k, 0, m) != 0)
            return -1;
        memcpy(&k->items[k->n], run, m * sizeof *run);
        k->n += m;
        return 0;
    }
    /* room for all on either side first: then nothing fails halfway */
    if (make_room(k, m, m) != 0)
        return -1;
    for (size_t done = 0; done < m; done += MERGE_CHUNK)
        merge_chunk(k, run + done, m - done < MERGE_CHUNK ? m - done : MERGE_CHUNK);
    return 0;
}

bool swim_bucket_remove(swim_bucket *k, const swim_bcast *b)
{
    size_t i = position(k, b->id);
    if (i >= k->n || k->items[i] != b)
        return false;
    if (i < k->n - i - 1) {
        memmove(&k->items[1], &k->items[0], i * sizeof *k->items);
        k->items++;
    } else {
        memmove(&k->items[i], &k->items[i + 1], (k->n - i - 1) * sizeof *k->items);
    }
    k->n--;
    maybe_shrink(k);
    return true;
}

void swim_bucket_drop_front(swim_bucket *k, size_t m)
{
    k->items += m;
    k->n -= m;
    maybe_shrink(k);
}

swim_bcast *swim_bucket_pop_back(swim_bucket *k)
{
    if (!k->n)
        return NULL;
    swim_bcast *b = k->items[--k->n];
    maybe_shrink(k);
    return b;
}
