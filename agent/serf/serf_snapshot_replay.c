/* serf's snapshot replay (Snapshotter.replay), line by line on bounded
 * buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_snapshot_internal.h"

void serf_snapshot_replay_init(serf_snapshot_replay *r, bool rejoin_after_leave, serf_snapshot_warn_fn warn,
                               void *ud)
{
    memset(r, 0, sizeof *r);
    r->rejoin_after_leave = rejoin_after_leave;
    r->warn = warn;
    r->ud = ud;
}

void serf_snapshot_replay_free(serf_snapshot_replay *r)
{
    serf_snapshot_nodes_free(&r->alive);
}

/* Report line r->lines: why, and the start of the line, escaped so that a
 * hostile file cannot write control bytes into the log. */
static void warn(serf_snapshot_replay *r, const char *why, const char *line, size_t len)
{
    r->bad_lines++;
    if (!r->warn)
        return;
    char quoted[100];
    size_t q = 0;
    for (size_t i = 0; i < len && q + 8 < sizeof quoted; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            quoted[q++] = (char)c;
        else
            q += (size_t)snprintf(quoted + q, sizeof quoted - q, "\\x%02x", c);
    }
    quoted[q] = '\0';
    char msg[200];
    snprintf(msg, sizeof msg, "%s: \"%s\"%s", why, quoted, q + 8 >= sizeof quoted ? "..." : "");
    r->warn(r->ud, r->lines, msg);
}

static bool has_prefix(const char *s, size_t n, const char *p, size_t *plen)
{
    *plen = strlen(p);
    return n >= *plen && memcmp(s, p, *plen) == 0;
}

/* Go's strconv.ParseUint(s, 10, 64): digits only (no sign, no space),
 * at least one, no overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int clock_line(serf_snapshot_replay *r, const char *s, size_t n, const char *line, size_t len,
                      uint64_t *clock, const char *what)
{
    uint64_t v;
    if (!parse_u64(s, n, &v)) {
        warn(r, what, line, len);
        return 0;
    }
    *clock = v;
    return 0;
}

/* One line, newline removed: serf's replay, case by case. */
static int replay_line(serf_snapshot_replay *r, const char *line, size_t len)
{
    size_t p;
    if (memchr(line, '\0', len)) {
        warn(r, "NUL byte in snapshot line", line, len);
        return 0;
    }
    if (has_prefix(line, len, "alive: ", &p)) {
        const char *info = line + p;
        size_t n = len - p;
        const char *sp = NULL;
        for (size_t i = n; i-- > 0;)
            if (info[i] == ' ') {
                sp = info + i;
                break;
            }
        if (!sp) {
            warn(r, "failed to parse address", line, len);
            return 0;
        }
        size_t name_len = (size_t)(sp - info);
        if (r->alive.count >= SERF_SNAPSHOT_NODES_MAX && !serf_snapshot_nodes_has(&r->alive, info, name_len)) {
            warn(r, "too many alive members, skipped", line, len);
            return 0;
        }
        if (serf_snapshot_nodes_put(&r->alive, info, name_len, sp + 1, n - name_len - 1) != 0)
            return -1;
        r->left = false;
    } else if (has_prefix(line, len, "not-alive: ", &p)) {
        serf_snapshot_nodes_del(&r->alive, line + p, len - p);
    } else if (has_prefix(line, len, "clock: ", &p)) {
        return clock_line(r, line + p, len - p, line, len, &r->clock, "failed to convert clock time");
    } else if (has_prefix(line, len, "event-clock: ", &p)) {
        return clock_line(r, line + p, len - p, line, len, &r->event_clock, "failed to convert event clock time");
    } else if (has_prefix(line, len, "query-clock: ", &p)) {
        return clock_line(r, line + p, len - p, line, len, &r->query_clock, "failed to convert query clock time");
    } else if (has_prefix(line, len, "coordinate: ", &p)) {
        /* old serf persisted coordinates; serf re-converges instead */
    } else if (len == 5 && memcmp(line, "leave", 5) == 0) {
        if (r->rejoin_after_leave) {
            r->leaves_ignored++;
            return 0;
        }
        serf_snapshot_nodes_clear(&r->alive);
        r->clock = r->event_clock = r->query_clock = 0;
        r->left = true;
    } else if (len > 0 && line[0] == '#') {
        /* a comment */
    } else {
        warn(r, "unrecognized snapshot line", line, len);
    }
    return 0;
}

int serf_snapshot_replay_feed(serf_snapshot_replay *r, const uint8_t *p, size_t n)
{
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!r->line_too_long) {
            if (r->line_len + take > sizeof r->line) {
                /* keep its start, to quote it */
                memcpy(r->line + r->line_len, p, sizeof r->line - r->line_len);
                r->line_len = sizeof r->line;
                r->line_too_long = true;
            } else {
                memcpy(r->line + r->line_len, p, take);
                r->line_len += take;
            }
        }
        if (!nl)
            return 0;
        p += take + 1;
        n -= take + 1;
        r->lines++;
        if (r->line_too_long) {
            char why[64];
            snprintf(why, sizeof why, "line longer than %d bytes", SERF_SNAPSHOT_LINE_MAX);
            warn(r, why, r->line, r->line_len);
        } else if (replay_line(r, r->line, r->line_len) != 0) {
            r->line_len = 0;
            return -1;
        }
        r->line_len = 0;
        r->line_too_long = false;
    }
    return 0;
}

void serf_snapshot_replay_end(serf_snapshot_replay *r)
{
    if (r->line_len > 0 || r->line_too_long) {
        r->lines++;
        warn(r, "unterminated last line ignored", r->line, r->line_len);
    }
    r->line_len = 0;
    r->line_too_long = false;
}

/* serf's AliveNodes shuffle (for each i, swap with a j <= i), on
 * splitmix64 from the seed */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void serf_snapshot_prev_free(serf_snapshot_prev *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].addr);
    }
    free(p);
}

int serf_snapshot_previous(const serf_snapshot_replay *r, const char *self, uint64_t seed,
                           serf_snapshot_prev **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!r->alive.count)
        return 0;
    serf_snapshot_prev *v = calloc(r->alive.count, sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < r->alive.cap; i++) {
        const serf_snapshot_node *s = &r->alive.slots[i];
        if (!s->name || (self && strcmp(s->name, self) == 0))
            continue;
        v[k].name = strdup(s->name);
        v[k].addr = strdup(s->addr);
        k++;
        if (!v[k - 1].name || !v[k - 1].addr) {
            serf_snapshot_prev_free(v, k);
            return -1;
        }
    }
    for (size_t i = 1; i < k; i++) {
        size_t j = (size_t)(next_rand(&seed) % (i + 1));
        serf_snapshot_prev t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    if (!k) {
        free(v);
        return 0;
    }
    *out = v;
    *n = k;
    return 0;
}
