/* serf_node_index: names to slots, for serf_node's member table and its
 * recent-intent buffer (serf's two maps keyed by node name). Open
 * addressing with linear probing, kept under half full; removing is
 * rare (reaps, prunes, intents timing out), so it refills. */
#include <stdlib.h>
#include <string.h>

#include "serf/serf_node_internal.h"

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* where `name` is, or the empty slot where it would go */
static size_t slot(const serf_node_index *ix, const char *name)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)name_hash(name) & mask;
    while (ix->v[i] && strcmp(ix->name_at(ix->tab, ix->v[i] - 1), name) != 0)
        i = (i + 1) & mask;
    return i;
}

long serf_node_index_find(const serf_node_index *ix, const char *name)
{
    if (!ix->cap)
        return -1;
    uint32_t v = ix->v[slot(ix, name)];
    return v ? (long)v - 1 : -1;
}

void serf_node_index_fill(serf_node_index *ix, size_t n)
{
    if (!ix->cap)
        return;
    memset(ix->v, 0, ix->cap * sizeof *ix->v);
    for (size_t k = 0; k < n; k++)
        ix->v[slot(ix, ix->name_at(ix->tab, k))] = (uint32_t)(k + 1);
}

int serf_node_index_add(serf_node_index *ix, size_t k)
{
    if (2 * (k + 1) >= ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        uint32_t *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        free(ix->v);
        ix->v = v;
        ix->cap = cap;
        serf_node_index_fill(ix, k);
    }
    ix->v[slot(ix, ix->name_at(ix->tab, k))] = (uint32_t)(k + 1);
    return 0;
}

void serf_node_index_free(serf_node_index *ix)
{
    free(ix->v);
    ix->v = NULL;
    ix->cap = 0;
}
