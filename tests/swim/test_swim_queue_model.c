/* The broadcast queue against a plain model of memberlist's
 * TransmitLimitedQueue: random puts (keys that replace), random takes
 * (budgets that skip the large, walks that span several tiers), and after
 * every step the same picks and the same order. The queue keeps its
 * entries in buckets per tier and length and moves the taken between them
 * (swim_queue.c, swim_bucket.c); the model sorts one array. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

#define STEPS 20000
#define KEYS 40
#define MAX_ITEMS 256

typedef struct item {
    uint32_t transmits;
    size_t len;
    uint64_t id;
    int key;
} item;

typedef struct model {
    item v[MAX_ITEMS];
    size_t n;
    uint64_t next_id;
    size_t min_len;
} model;

static bool before(const item *a, const item *b)
{
    if (a->transmits != b->transmits)
        return a->transmits < b->transmits;
    if (a->len != b->len)
        return a->len > b->len;
    return a->id > b->id;
}

static int cmp(const void *a, const void *b) { return before(a, b) ? -1 : before(b, a) ? 1 : 0; }

static void model_put(model *m, int key, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].key == key) {
            m->v[i] = m->v[--m->n];
            break;
        }
    m->v[m->n++] = (item){ 0, len, ++m->next_id, key };
    if (m->min_len == 0 || len < m->min_len)
        m->min_len = len;
    qsort(m->v, m->n, sizeof *m->v, cmp);
}

/* memberlist's walk: every entry that fits, in order, until nothing can */
static size_t model_take(model *m, size_t overhead, size_t limit, uint32_t tl, uint64_t *ids, size_t *nids)
{
    size_t used = 0;
    *nids = 0;
    item out[MAX_ITEMS];
    size_t nout = 0;
    for (size_t i = 0; i < m->n; i++) {
        item it = m->v[i];
        if (used + overhead + m->min_len <= limit && it.len <= limit - used - overhead) {
            used += overhead + it.len;
            ids[(*nids)++] = it.id;
            if (++it.transmits >= tl)
                continue;
        }
        out[nout++] = it;
    }
    memcpy(m->v, out, nout * sizeof *out);
    m->n = nout;
    qsort(m->v, m->n, sizeof *m->v, cmp);
    return used;
}

typedef struct got {
    uint64_t ids[MAX_ITEMS];
    size_t n;
} got;

/* messages are "<id as 8 bytes>" then padding: the id says which it was */
static void take(void *ud, const uint8_t *msg, size_t len)
{
    got *g = ud;
    uint64_t id;
    memcpy(&id, msg, sizeof id);
    g->ids[g->n++] = id;
}

int main(void)
{
    swim_queue q;
    swim_queue_init(&q);
    model m;
    memset(&m, 0, sizeof m);
    srand(2026);
    int mismatches = 0;
    for (int step = 0; step < STEPS && mismatches < 5; step++) {
        if (rand() % 3 != 0 || q.n == 0) {
            int key = rand() % KEYS;
            size_t len = 8 + (size_t)(rand() % 120);
            uint8_t msg[128] = { 0 };
            uint64_t id = m.next_id + 1;
            memcpy(msg, &id, sizeof id);
            char k[16];
            snprintf(k, sizeof k, "k%d", key);
            REQUIRE(swim_queue_put(&q, k, msg, len, false) == 0);
            model_put(&m, key, len);
        } else {
            size_t limit = 20 + (size_t)(rand() % 600);
            uint32_t tl = 2 + (uint32_t)(rand() % 6);
            got g = { .n = 0 };
            uint64_t want[MAX_ITEMS];
            size_t nwant;
            size_t used = swim_queue_take(&q, 2, limit, tl, take, &g);
            size_t wused = model_take(&m, 2, limit, tl, want, &nwant);
            CHECK_EQ_INT(used, wused);
            CHECK_EQ_INT(g.n, nwant);
            if (g.n == nwant && memcmp(g.ids, want, nwant * sizeof *want) != 0) {
                CHECKF(false, "step %d: other picks", step);
                mismatches++;
            }
        }
        swim_queue_check(&q);   /* its own invariants, where asserts are on */
        CHECK_EQ_INT(q.n, m.n);
        for (size_t i = 0; i < q.n && i < m.n; i++)
            if (swim_queue_at(&q, i)->id != m.v[i].id || swim_queue_at(&q, i)->transmits != m.v[i].transmits) {
                CHECKF(false, "step %d: entry %zu is id %llu, the model has %llu", step, i,
                       (unsigned long long)swim_queue_at(&q, i)->id, (unsigned long long)m.v[i].id);
                mismatches++;
                break;
            }
    }
    swim_queue_free(&q);
    return check_done("test_swim_queue_model");
}
