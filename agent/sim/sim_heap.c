/* sim_heap: a binary min-heap of pending simulator work, ordered by time
 * then scheduling sequence, which makes the run order total and so
 * deterministic. */
#include <assert.h>
#include <stdlib.h>

#include "sim/sim_internal.h"

static bool less(const sim_item *a, const sim_item *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

int sim_heap_push(sim_heap *h, const sim_item *it)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        sim_item *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(it, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = *it;
    /* the heap property where it changed: O(1), unlike a full walk */
    assert(i == 0 || !less(&h->v[i], &h->v[(i - 1) / 2]));
    return 0;
}

const sim_item *sim_heap_top(const sim_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

bool sim_heap_pop(sim_heap *h, sim_item *out)
{
    if (h->n == 0)
        return false;
    *out = h->v[0];
    sim_item last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_item *best = &last;
        if (l < h->n && less(&h->v[l], best)) {
            m = l;
            best = &h->v[l];
        }
        if (r < h->n && less(&h->v[r], best))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n)
        h->v[i] = last;
    /* what comes out is never after what stays */
    assert(h->n == 0 || !less(&h->v[0], out));
    assert(i >= h->n || 2 * i + 1 >= h->n || !less(&h->v[2 * i + 1], &h->v[i]));
    assert(i >= h->n || 2 * i + 2 >= h->n || !less(&h->v[2 * i + 2], &h->v[i]));
    return true;
}

void sim_heap_free(sim_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].data);
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
