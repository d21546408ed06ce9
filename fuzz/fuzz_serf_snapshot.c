/* libFuzzer target for serf's snapshot file (agent/serf/serf_snapshot.h),
 * which moonlist reads at start from a file anyone with write access to it
 * may have written. The first byte: bit 0 is rejoin_after_leave, the rest
 * picks the size of the pieces the file is fed in (so that lines split
 * across reads are covered); the rest is the file.
 * Whatever replays must stay within the bounds, and the compacted file of
 * what it replayed must replay to the same members and clocks (so a
 * compaction never changes what a restart rejoins). Seeds: the snapshot
 * files serf 0.9.4 wrote (tests/fixtures/serf/snapshot). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_snapshot.h"
#include "serf/serf_snapshot_internal.h"

#define ASSERT(c) do { if (!(c)) { __builtin_trap(); } } while (0)

static void count_warn(void *ud, size_t line_no, const char *msg)
{
    size_t *n = ud;
    ASSERT(line_no > 0 && msg && strlen(msg) < 200);
    (*n)++;
}

static void same_members(const serf_snapshot_nodes *a, const serf_snapshot_nodes *b)
{
    ASSERT(a->count == b->count);
    for (size_t i = 0; i < a->cap; i++) {
        const serf_snapshot_node *s = &a->slots[i];
        if (!s->name)
            continue;
        bool found = false;
        for (size_t j = 0; j < b->cap && !found; j++)
            if (b->slots[j].name && strcmp(b->slots[j].name, s->name) == 0) {
                ASSERT(strcmp(b->slots[j].addr, s->addr) == 0);
                found = true;
            }
        ASSERT(found);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool rejoin = data[0] & 1;
    size_t piece = 1 + (size_t)(data[0] >> 1) * 37;
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    size_t warnings = 0;
    serf_snapshot_replay r;
    serf_snapshot_replay_init(&r, rejoin, count_warn, &warnings);
    for (size_t off = 0; off < n; off += piece)
        if (serf_snapshot_replay_feed(&r, p + off, n - off < piece ? n - off : piece) != 0)
            break;
    serf_snapshot_replay_end(&r);
    ASSERT(warnings == r.bad_lines);
    ASSERT(r.alive.count <= SERF_SNAPSHOT_NODES_MAX);
    ASSERT(r.lines <= n + 1);
    for (size_t i = 0; i < r.alive.cap; i++)
        if (r.alive.slots[i].name)
            ASSERT(strlen(r.alive.slots[i].name) + strlen(r.alive.slots[i].addr) < SERF_SNAPSHOT_LINE_MAX);

    serf_snapshot_prev *prev;
    size_t nprev;
    if (serf_snapshot_previous(&r, "self", 1, &prev, &nprev) == 0) {
        ASSERT(nprev <= r.alive.count);
        serf_snapshot_prev_free(prev, nprev);
    }

    /* the writer goes on from it; its compaction replays to the same */
    uint64_t clock = r.clock, event_clock = r.event_clock, query_clock = r.query_clock;
    serf_snapshot_writer w;
    if (serf_snapshot_writer_init(&w, &r, n, rejoin, 0) == 0)
        same_members(&w.alive, &r.alive);
    size_t len;
    char *file = serf_snapshot_writer_compacted(&w, &len);
    if (file) {
        size_t bad = 0;
        serf_snapshot_replay back;
        serf_snapshot_replay_init(&back, false, count_warn, &bad);
        if (serf_snapshot_replay_feed(&back, (const uint8_t *)file, len) == 0) {
            serf_snapshot_replay_end(&back);
            ASSERT(bad == 0);
            same_members(&w.alive, &back.alive);
            ASSERT(back.clock == clock && back.event_clock == event_clock && back.query_clock == query_clock);
        }
        serf_snapshot_replay_free(&back);
        free(file);
    }
    serf_snapshot_writer_free(&w);
    serf_snapshot_replay_free(&r);
    return 0;
}
