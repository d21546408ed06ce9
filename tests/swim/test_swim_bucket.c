/* swim_bucket (one tier and length of the broadcast queue, newest first)
 * against a sorted model: random inserts, runs merged in front, behind
 * and in the middle, removals anywhere, prefixes taken, the oldest popped;
 * after every step the same ids in the same order, and room on both sides
 * kept inside the array. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

#define STEPS 20000
#define MAX 600

static swim_bcast pool[STEPS * 4];
static size_t used;

static swim_bcast *entry(uint64_t id)
{
    swim_bcast *b = &pool[used++];
    memset(b, 0, sizeof *b);
    b->id = id;
    return b;
}

/* model: ids in descending order */
static uint64_t model[MAX * 2];
static size_t nmodel;

static void model_add(uint64_t id)
{
    size_t i = 0;
    while (i < nmodel && model[i] > id)
        i++;
    memmove(&model[i + 1], &model[i], (nmodel - i) * sizeof *model);
    model[i] = id;
    nmodel++;
}

static bool model_has(uint64_t id)
{
    for (size_t i = 0; i < nmodel; i++)
        if (model[i] == id)
            return true;
    return false;
}

int main(void)
{
    swim_bucket k;
    swim_bucket_init(&k, 2, 40);
    CHECK(k.transmits == 2 && k.len == 40 && k.n == 0);
    CHECK(swim_bucket_pop_back(&k) == NULL);
    srand(7);
    uint64_t next = 1000000; /* ids to come: the largest yet */
    int bad = 0;
    for (int step = 0; step < STEPS && bad < 5 && used + 64 < sizeof pool / sizeof *pool; step++) {
        int op = rand() % 8;
        if (op <= 1 && nmodel < MAX) {
            /* the newest, or an id anywhere below it not taken yet */
            uint64_t id = op == 0 ? ++next : (uint64_t)(rand() % 1000000) + 1;
            if (model_has(id))
                continue;
            REQUIRE(swim_bucket_insert(&k, entry(id)) == 0);
            model_add(id);
        } else if (op <= 3 && nmodel < MAX) {
            /* a run, newest first: above all, below all, or anywhere */
            size_t m = 1 + (size_t)(rand() % 20);
            swim_bcast *run[20];
            uint64_t base = op == 2 ? next + 1 : (uint64_t)(rand() % 1000000) + 1;
            if (op == 3 && rand() % 3 == 0 && nmodel)
                base = model[nmodel - 1] > 40 ? model[nmodel - 1] - 40 : 1;   /* behind */
            size_t got = 0;
            for (size_t r = 0; r < m; r++) {
                uint64_t id = base + 2 * (m - r);    /* descending, gaps for later */
                if (!model_has(id))
                    run[got++] = entry(id);
            }
            if (op == 2)
                next = base + 2 * m + 1;
            REQUIRE(swim_bucket_merge(&k, run, got) == 0);
            for (size_t r = 0; r < got; r++)
                model_add(run[r]->id);
        } else if (op == 4 && nmodel) {
            size_t i = (size_t)rand() % nmodel;
            swim_bcast *b = k.items[i];
            CHECK(swim_bucket_remove(&k, b));
            memmove(&model[i], &model[i + 1], (nmodel - i - 1) * sizeof *model);
            nmodel--;
            CHECK(!swim_bucket_remove(&k, b));   /* not there any more */
        } else if (op == 5 && nmodel) {
            size_t m = (size_t)rand() % (nmodel + 1);
            swim_bucket_drop_front(&k, m);
            memmove(&model[0], &model[m], (nmodel - m) * sizeof *model);
            nmodel -= m;
        } else if (op == 6 && nmodel) {
            swim_bcast *b = swim_bucket_pop_back(&k);
            CHECK(b && b->id == model[nmodel - 1]);
            nmodel--;
        } else {
            continue;
        }
        CHECK_EQ_INT(k.n, nmodel);
        CHECK(k.n <= k.cap && (k.n == 0 || (k.items >= k.base && (size_t)(k.items - k.base) + k.n <= k.cap)));
        for (size_t i = 0; i < k.n && i < nmodel; i++)
            if (k.items[i]->id != model[i]) {
                CHECKF(false, "step %d: entry %zu is id %llu, the model has %llu", step, i,
                       (unsigned long long)k.items[i]->id, (unsigned long long)model[i]);
                bad++;
                break;
            }
    }
    swim_bucket_free(&k);
    CHECK(k.n == 0 && k.base == NULL);
    return check_done("test_swim_bucket");
}
