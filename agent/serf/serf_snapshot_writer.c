/* serf's Snapshotter once started: member events and clocks become lines,
 * buffered and flushed as serf flushes them, compacted as serf compacts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_snapshot_internal.h"

int serf_snapshot_writer_init(serf_snapshot_writer *w, const serf_snapshot_replay *r, uint64_t file_size,
                              bool rejoin_after_leave, uint64_t now)
{
    memset(w, 0, sizeof *w);
    int rc = 0;
    if (r) {
        for (size_t i = 0; i < r->alive.cap && rc == 0; i++) {
            const serf_snapshot_node *s = &r->alive.slots[i];
            if (s->name)
                rc = serf_snapshot_nodes_put(&w->alive, s->name, strlen(s->name), s->addr, strlen(s->addr));
        }
        w->last_clock = r->clock;
        w->last_event_clock = r->event_clock;
        w->last_query_clock = r->query_clock;
    }
    w->offset = file_size;
    w->min_compact_size = SERF_SNAPSHOT_SIZE_LIMIT;
    w->rejoin_after_leave = rejoin_after_leave;
    /* serf's lastFlush starts at the zero time: the first line goes out at once */
    w->last_flush = 0;
    w->next_clock = now + SERF_SNAPSHOT_CLOCK_INTERVAL_MS;
    return rc;
}

void serf_snapshot_writer_free(serf_snapshot_writer *w)
{
    serf_snapshot_nodes_free(&w->alive);
    free(w->pending);
    memset(w, 0, sizeof *w);
}

uint64_t serf_snapshot_writer_max_size(const serf_snapshot_writer *w)
{
    uint64_t threshold = (uint64_t)w->alive.count * SERF_SNAPSHOT_BYTES_PER_NODE * SERF_SNAPSHOT_COMPACTION_THRESHOLD;
    return threshold < w->min_compact_size ? w->min_compact_size : threshold;
}

/* serf's appendLine: buffer it, count it, compact past the threshold. */
static void append_line(serf_snapshot_writer *w, const char *line, size_t n)
{
    if (w->pending_len + n > w->pending_cap) {
        size_t cap = w->pending_cap ? w->pending_cap : SERF_SNAPSHOT_BUFFER;
        while (cap < w->pending_len + n)
            cap *= 2;
        char *p = realloc(w->pending, cap);
        if (!p) {
            w->refused++;
            return;
        }
        w->pending = p;
        w->pending_cap = cap;
    }
    memcpy(w->pending + w->pending_len, line, n);
    w->pending_len += n;
    w->offset += n;
    if (w->offset > serf_snapshot_writer_max_size(w))
        w->compact_wanted = true;
}

static void append_clock(serf_snapshot_writer *w, const char *what, uint64_t v)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%s: %" PRIu64 "\n", what, v);
    append_line(w, line, (size_t)n);
}

/* a name (or address) we could not read back: a newline or NUL would cut
 * the line, and a line longer than our replay takes would be skipped */
static bool writable(const char *name, const char *addr)
{
    size_t n = strlen(name), a = addr ? strlen(addr) : 0;
    if (strchr(name, '\n') || (addr && strchr(addr, '\n')) || (addr && strchr(addr, ' ')))
        return false;
    return n + a + sizeof "not-alive: " <= SERF_SNAPSHOT_LINE_MAX;
}

void serf_snapshot_writer_clock(serf_snapshot_writer *w, uint64_t member_clock)
{
    if (member_clock == 0)
        return;
    uint64_t last_seen = member_clock - 1;
    if (last_seen > w->last_clock) {
        w->last_clock = last_seen;
        append_clock(w, "clock", last_seen);
    }
}

void serf_snapshot_writer_member(serf_snapshot_writer *w, serf_snapshot_member_change change, const char *name,
                                 const char *addr, uint64_t member_clock)
{
    if (w->leaving)
        return;
    if (!writable(name, change == SERF_SNAPSHOT_ALIVE ? addr : NULL)) {
        w->refused++;
    } else if (change == SERF_SNAPSHOT_ALIVE) {
        if (serf_snapshot_nodes_put(&w->alive, name, strlen(name), addr, strlen(addr)) != 0) {
            w->refused++;
        } else {
            char line[SERF_SNAPSHOT_LINE_MAX + 2];
            int n = snprintf(line, sizeof line, "alive: %s %s\n", name, addr);
            append_line(w, line, (size_t)n);
        }
    } else {
        serf_snapshot_nodes_del(&w->alive, name, strlen(name));
        char line[SERF_SNAPSHOT_LINE_MAX + 2];
        int n = snprintf(line, sizeof line, "not-alive: %s\n", name);
        append_line(w, line, (size_t)n);
    }
    serf_snapshot_writer_clock(w, member_clock);
}

void serf_snapshot_writer_user_event(serf_snapshot_writer *w, uint64_t ltime)
{
    if (w->leaving || ltime <= w->last_event_clock)
        return;
    w->last_event_clock = ltime;
    append_clock(w, "event-clock", ltime);
}

void serf_snapshot_writer_query(serf_snapshot_writer *w, uint64_t ltime)
{
    if (w->leaving || ltime <= w->last_query_clock)
        return;
    w->last_query_clock = ltime;
    append_clock(w, "query-clock", ltime);
}

void serf_snapshot_writer_leave(serf_snapshot_writer *w)
{
    w->leaving = true;
    if (!w->rejoin_after_leave)
        serf_snapshot_nodes_clear(&w->alive);
    append_line(w, "leave\n", 6);
    w->sync_wanted = true;
}

uint64_t serf_snapshot_writer_tick(serf_snapshot_writer *w, uint64_t now, uint64_t member_clock)
{
    /* serf's clock ticker keeps running after a leave */
    if (now >= w->next_clock) {
        serf_snapshot_writer_clock(w, member_clock);
        w->next_clock = now + SERF_SNAPSHOT_CLOCK_INTERVAL_MS;
    }
    uint64_t next = w->next_clock;
    if (w->compact_wanted)
        return now;
    if (w->pending_len) {
        uint64_t flush = w->last_flush + SERF_SNAPSHOT_FLUSH_INTERVAL_MS;
        if (flush < next)
            next = flush < now ? now : flush;
    }
    return next;
}

char *serf_snapshot_writer_compacted(const serf_snapshot_writer *w, size_t *len)
{
    const serf_snapshot_node **v = serf_snapshot_nodes_sorted(&w->alive);
    if (w->alive.count && !v)
        return NULL;
    size_t cap = 3 * 48;
    for (size_t i = 0; i < w->alive.count; i++)
        cap += strlen(v[i]->name) + strlen(v[i]->addr) + sizeof "alive:   \n";
    char *out = malloc(cap);
    if (!out) {
        free(v);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < w->alive.count; i++)
        n += (size_t)snprintf(out + n, cap - n, "alive: %s %s\n", v[i]->name, v[i]->addr);
    n += (size_t)snprintf(out + n, cap - n, "clock: %" PRIu64 "\n", w->last_clock);
    n += (size_t)snprintf(out + n, cap - n, "event-clock: %" PRIu64 "\n", w->last_event_clock);
    n += (size_t)snprintf(out + n, cap - n, "query-clock: %" PRIu64 "\n", w->last_query_clock);
    free(v);
    *len = n;
    return out;
}

serf_snapshot_write serf_snapshot_writer_take(serf_snapshot_writer *w, uint64_t now, bool force)
{
    serf_snapshot_write out = { 0 };
    if (w->compact_wanted) {
        size_t len;
        char *file = serf_snapshot_writer_compacted(w, &len);
        if (file) {
            /* the pending lines went into the old file, which this replaces */
            w->pending_len = 0;
            w->compact_wanted = false;
            w->offset = len;
            w->last_flush = now;
            out = (serf_snapshot_write){ SERF_SNAPSHOT_WRITE_REWRITE, file, len, true };
            w->sync_wanted = false;
            return out;
        }
        /* no memory for it now: append, and compact on a later take */
    }
    if (!w->pending_len)
        return out;
    if (!force && !w->sync_wanted && w->pending_len < SERF_SNAPSHOT_BUFFER &&
        now < w->last_flush + SERF_SNAPSHOT_FLUSH_INTERVAL_MS)
        return out;
    char *bytes = malloc(w->pending_len);
    if (!bytes)
        return out;
    memcpy(bytes, w->pending, w->pending_len);
    out = (serf_snapshot_write){ SERF_SNAPSHOT_WRITE_APPEND, bytes, w->pending_len, w->sync_wanted };
    w->pending_len = 0;
    w->sync_wanted = false;
    w->last_flush = now;
    return out;
}

void serf_snapshot_writer_failed(serf_snapshot_writer *w, uint64_t now)
{
    if (w->attempted_compaction && now - w->last_attempted_compaction <= SERF_SNAPSHOT_ERROR_RECOVERY_MS)
        return;
    w->attempted_compaction = true;
    w->last_attempted_compaction = now;
    w->compact_wanted = true;
}
