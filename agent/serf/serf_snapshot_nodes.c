/* The snapshot's alive members, name -> address: open addressing with
 * linear probing and backward-shift deletion (a snapshot deletes as often
 * as it adds, and tombstones would pile up). */
#include <stdlib.h>
#include <string.h>

#include "serf/serf_snapshot_internal.h"

/* FNV-1a: the names are short and this is not on a hot path */
static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static char *copy(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* the slot holding name, or the empty slot where it would go */
static size_t find_slot(const serf_snapshot_nodes *t, const char *name, size_t n, uint32_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const serf_snapshot_node *s = &t->slots[i];
        if (!s->name || (s->hash == h && strlen(s->name) == n && memcmp(s->name, name, n) == 0))
            return i;
    }
}

/* Grow so that the table stays at most half full (probes stay short). */
static int grow(serf_snapshot_nodes *t)
{
    if (t->cap && (t->count + 1) * 2 <= t->cap)
        return 0;
    size_t ncap = t->cap ? t->cap * 2 : 16;
    serf_snapshot_node *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    serf_snapshot_nodes nt = { ns, ncap, t->count };
    for (size_t i = 0; i < t->cap; i++) {
        serf_snapshot_node *s = &t->slots[i];
        if (s->name)
            ns[find_slot(&nt, s->name, strlen(s->name), s->hash)] = *s;
    }
    free(t->slots);
    *t = nt;
    return 0;
}

int serf_snapshot_nodes_put(serf_snapshot_nodes *t, const char *name, size_t name_len, const char *addr,
                            size_t addr_len)
{
    if (grow(t) != 0)
        return -1;
    uint32_t h = name_hash(name, name_len);
    serf_snapshot_node *s = &t->slots[find_slot(t, name, name_len, h)];
    char *a = copy(addr, addr_len);
    if (!a)
        return -1;
    if (s->name) {
        free(s->addr);
        s->addr = a;
        return 0;
    }
    char *n = copy(name, name_len);
    if (!n) {
        free(a);
        return -1;
    }
    *s = (serf_snapshot_node){ n, a, h };
    t->count++;
    return 0;
}

bool serf_snapshot_nodes_has(const serf_snapshot_nodes *t, const char *name, size_t name_len)
{
    return t->cap && t->slots[find_slot(t, name, name_len, name_hash(name, name_len))].name;
}

bool serf_snapshot_nodes_del(serf_snapshot_nodes *t, const char *name, size_t name_len)
{
    if (!t->cap)
        return false;
    size_t mask = t->cap - 1;
    size_t i = find_slot(t, name, name_len, name_hash(name, name_len));
    if (!t->slots[i].name)
        return false;
    free(t->slots[i].name);
    free(t->slots[i].addr);
    t->slots[i] = (serf_snapshot_node){ 0 };
    t->count--;
    /* shift back the entries after it that probed past it */
    for (size_t j = (i + 1) & mask; t->slots[j].name; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* j's entry may move to i if its home is not in (i, j] (cyclically) */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            t->slots[j] = (serf_snapshot_node){ 0 };
            i = j;
        }
    }
    return true;
}

void serf_snapshot_nodes_clear(serf_snapshot_nodes *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i].name);
        free(t->slots[i].addr);
        t->slots[i] = (serf_snapshot_node){ 0 };
    }
    t->count = 0;
}

void serf_snapshot_nodes_free(serf_snapshot_nodes *t)
{
    serf_snapshot_nodes_clear(t);
    free(t->slots);
    *t = (serf_snapshot_nodes){ 0 };
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const serf_snapshot_node *const *)a)->name, (*(const serf_snapshot_node *const *)b)->name);
}

const serf_snapshot_node **serf_snapshot_nodes_sorted(const serf_snapshot_nodes *t)
{
    if (!t->count)
        return NULL;
    const serf_snapshot_node **v = malloc(t->count * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].name)
            v[k++] = &t->slots[i];
    qsort(v, k, sizeof *v, by_name);
    return v;
}
