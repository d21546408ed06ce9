#include "serf/serf_relay.h"

#include <stdlib.h>
#include <string.h>

typedef struct relay_entry {
    char *node;                  /* owned */
    uint64_t ltime;
    uint64_t used;               /* last touched, by r->tick */
} relay_entry;

struct serf_relay {
    relay_entry *e;
    size_t n, cap;
    uint64_t tick;
};

serf_relay *serf_relay_new(size_t cap)
{
    if (cap == 0)
        return NULL;
    serf_relay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->e = calloc(cap, sizeof *r->e);
    if (!r->e) {
        free(r);
        return NULL;
    }
    r->cap = cap;
    return r;
}

void serf_relay_free(serf_relay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->e[i].node);
    free(r->e);
    free(r);
}

size_t serf_relay_count(const serf_relay *r)
{
    return r->n;
}

/* Intents come one per join or leave: a linear scan is cheap enough. */
static relay_entry *find(serf_relay *r, const char *node)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->e[i].node, node) == 0)
            return &r->e[i];
    return NULL;
}

static relay_entry *slot(serf_relay *r)
{
    if (r->n < r->cap)
        return &r->e[r->n++];
    relay_entry *old = &r->e[0];
    for (size_t i = 1; i < r->n; i++)
        if (r->e[i].used < old->used)
            old = &r->e[i];
    free(old->node);
    old->node = NULL;
    return old;
}

int serf_relay_observe(serf_relay *r, const char *self, const char *node, uint64_t ltime)
{
    relay_entry *e = find(r, node);
    if (e) {
        e->used = ++r->tick;
        if (ltime <= e->ltime)
            return 0;
        e->ltime = ltime;
    } else {
        char *copy = strdup(node);
        if (!copy)
            return -1;
        e = slot(r);
        e->node = copy;
        e->ltime = ltime;
        e->used = ++r->tick;
    }
    return strcmp(node, self) != 0;
}
