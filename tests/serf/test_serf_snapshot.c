/* serf's snapshot file (serf_snapshot.h): files written by serf 0.9.4
 * (tests/fixtures/serf/snapshot, made by tools/gen_serf_snapshot_fixtures.sh)
 * replay to the members and clocks serf would restore; what we write
 * replays to what we recorded; compaction, leave, bad and huge lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "serf/serf_snapshot.h"
#include "serf/serf_node_internal.h"
#include "serf/serf_snapshot_internal.h"

typedef struct warnings {
    size_t n;
    size_t line_no[64];
    char last[256];
} warnings;

static void on_warn(void *ud, size_t line_no, const char *msg)
{
    warnings *w = ud;
    if (w->n < 64)
        w->line_no[w->n] = line_no;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void replay_bytes(serf_snapshot_replay *r, bool rejoin, warnings *w, const char *p, size_t n)
{
    serf_snapshot_replay_init(r, rejoin, on_warn, w);
    REQUIRE(serf_snapshot_replay_feed(r, (const uint8_t *)p, n) == 0);
    serf_snapshot_replay_end(r);
}

static const char *addr_of(const serf_snapshot_replay *r, const char *name)
{
    for (size_t i = 0; i < r->alive.cap; i++)
        if (r->alive.slots[i].name && strcmp(r->alive.slots[i].name, name) == 0)
            return r->alive.slots[i].addr;
    return NULL;
}

/* alpha was stopped with SIGTERM (no leave): it rejoins bravo; charlie
 * left before and is not-alive */
static void test_serf_terminated(void)
{
    size_t len;
    const char *file = read_file("serf/snapshot/go-serf-0.9.4-terminated.snap", &len);
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, len);
    CHECK_EQ_INT(w.n, 0);
    CHECK_EQ_INT(r.alive.count, 2);
    CHECK(addr_of(&r, "alpha") && strcmp(addr_of(&r, "alpha"), "127.0.0.1:27946") == 0);
    CHECK(addr_of(&r, "bravo") && strcmp(addr_of(&r, "bravo"), "127.0.0.1:27947") == 0);
    CHECK(!addr_of(&r, "charlie"));
    CHECK_EQ_INT(r.clock, 2);
    CHECK_EQ_INT(r.event_clock, 2);
    CHECK_EQ_INT(r.query_clock, 1);
    CHECK(!r.left);

    serf_snapshot_prev *prev;
    size_t n;
    REQUIRE(serf_snapshot_previous(&r, "alpha", 7, &prev, &n) == 0);
    REQUIRE(n == 1);
    CHECK(strcmp(prev[0].name, "bravo") == 0 && strcmp(prev[0].addr, "127.0.0.1:27947") == 0);
    serf_snapshot_prev_free(prev, n);

    /* the same, a byte at a time */
    warnings w1 = { 0 };
    serf_snapshot_replay r1;
    serf_snapshot_replay_init(&r1, false, on_warn, &w1);
    for (size_t i = 0; i < len; i++)
        REQUIRE(serf_snapshot_replay_feed(&r1, (const uint8_t *)file + i, 1) == 0);
    serf_snapshot_replay_end(&r1);
    CHECK_EQ_INT(w1.n, 0);
    CHECK_EQ_INT(r1.alive.count, 2);
    CHECK_EQ_INT(r1.clock, 2);
    CHECK_EQ_INT(r1.event_clock, 2);
    CHECK_EQ_INT(r1.query_clock, 1);
    CHECK_EQ_INT(r1.lines, 9);
    serf_snapshot_replay_free(&r1);
    serf_snapshot_replay_free(&r);
}

/* bravo was stopped with SIGINT (a graceful leave): no rejoin, clocks
 * zeroed by the leave but for the clock serf's ticker wrote after it;
 * with -rejoin, the leave is ignored */
static void test_serf_left(void)
{
    size_t len;
    const char *file = read_file("serf/snapshot/go-serf-0.9.4-left.snap", &len);
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, len);
    CHECK_EQ_INT(w.n, 0);
    CHECK_EQ_INT(r.alive.count, 0);
    CHECK(r.left);
    CHECK_EQ_INT(r.clock, 3);
    CHECK_EQ_INT(r.event_clock, 0);
    CHECK_EQ_INT(r.query_clock, 0);
    serf_snapshot_prev *prev;
    size_t n;
    REQUIRE(serf_snapshot_previous(&r, "bravo", 1, &prev, &n) == 0);
    CHECK(n == 0 && prev == NULL);
    serf_snapshot_replay_free(&r);

    replay_bytes(&r, true, &w, file, len);
    CHECK_EQ_INT(r.alive.count, 2);
    CHECK(!r.left);
    CHECK_EQ_INT(r.leaves_ignored, 1);
    CHECK_EQ_INT(r.clock, 3);
    CHECK_EQ_INT(r.event_clock, 2);
    CHECK_EQ_INT(r.query_clock, 1);
    REQUIRE(serf_snapshot_previous(&r, "bravo", 1, &prev, &n) == 0);
    CHECK(n == 1 && strcmp(prev[0].name, "alpha") == 0);
    serf_snapshot_prev_free(prev, n);
    serf_snapshot_replay_free(&r);
}

static void take_all(serf_snapshot_writer *wr, uint64_t now, char *file, size_t *len, size_t cap)
{
    serf_snapshot_write out = serf_snapshot_writer_take(wr, now, true);
    if (out.kind == SERF_SNAPSHOT_WRITE_REWRITE)
        *len = 0;
    if (out.kind != SERF_SNAPSHOT_WRITE_NONE) {
        REQUIRE(*len + out.len <= cap);
        memcpy(file + *len, out.bytes, out.len);
        *len += out.len;
    }
    free(out.bytes);
}

/* what we write is what serf writes, and replays to what we recorded */
static void test_round_trip(void)
{
    serf_snapshot_writer wr;
    serf_snapshot_writer_init(&wr, NULL, 0, false, 1000);
    serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "a", "10.0.0.1:7946", 1);
    serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "b b", "[::1]:7946", 3);
    serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "c", "10.0.0.3:7946", 3);
    serf_snapshot_writer_user_event(&wr, 5);
    serf_snapshot_writer_user_event(&wr, 4);    /* older: nothing */
    serf_snapshot_writer_query(&wr, 7);
    serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_NOT_ALIVE, "c", NULL, 4);
    static char file[1 << 16];
    size_t len = 0;
    take_all(&wr, 1000, file, &len, sizeof file);
    const char *want = "alive: a 10.0.0.1:7946\n"
                       "alive: b b [::1]:7946\n"
                       "clock: 2\n"
                       "alive: c 10.0.0.3:7946\n"
                       "event-clock: 5\n"
                       "query-clock: 7\n"
                       "not-alive: c\n"
                       "clock: 3\n";
    CHECK_MEM(file, len, want, strlen(want));
    CHECK_EQ_INT(wr.offset, len);

    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, len);
    CHECK_EQ_INT(w.n, 0);
    CHECK_EQ_INT(r.alive.count, 2);
    CHECK(addr_of(&r, "b b") && strcmp(addr_of(&r, "b b"), "[::1]:7946") == 0);
    CHECK_EQ_INT(r.clock, 3);
    CHECK_EQ_INT(r.event_clock, 5);
    CHECK_EQ_INT(r.query_clock, 7);

    /* a restart: the writer goes on from the replay, appending */
    serf_snapshot_writer w2;
    REQUIRE(serf_snapshot_writer_init(&w2, &r, len, false, 5000) == 0);
    CHECK_EQ_INT(r.alive.count, 2);
    CHECK_EQ_INT(w2.alive.count, 2);
    serf_snapshot_writer_user_event(&w2, 5);    /* replayed already */
    serf_snapshot_writer_clock(&w2, 4);         /* last seen 3: written already */
    serf_snapshot_write out = serf_snapshot_writer_take(&w2, 5000, true);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_NONE);
    serf_snapshot_writer_member(&w2, SERF_SNAPSHOT_ALIVE, "a", "10.0.0.9:7946", 9);
    take_all(&w2, 5000, file, &len, sizeof file);
    serf_snapshot_replay_free(&r);
    replay_bytes(&r, false, &w, file, len);
    CHECK(addr_of(&r, "a") && strcmp(addr_of(&r, "a"), "10.0.0.9:7946") == 0);
    CHECK_EQ_INT(r.clock, 8);
    serf_snapshot_replay_free(&r);

    /* names we could not read back are refused, not written */
    serf_snapshot_writer_member(&w2, SERF_SNAPSHOT_ALIVE, "evil\nclock: 99", "1.2.3.4:1", 9);
    char longname[SERF_SNAPSHOT_LINE_MAX];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    serf_snapshot_writer_member(&w2, SERF_SNAPSHOT_ALIVE, longname, "1.2.3.4:1", 9);
    CHECK_EQ_INT(w2.refused, 2);
    out = serf_snapshot_writer_take(&w2, 9000, true);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_NONE);
    serf_snapshot_writer_free(&w2);
    serf_snapshot_writer_free(&wr);
}

/* lines reach the file at most every flush interval, sooner when the
 * buffer is full; clocks every clock interval */
static void test_flush_and_clock(void)
{
    serf_snapshot_writer wr;
    serf_snapshot_writer_init(&wr, NULL, 0, false, 10000);
    serf_snapshot_writer_user_event(&wr, 1);
    serf_snapshot_write out = serf_snapshot_writer_take(&wr, 10000, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_APPEND && !out.sync);   /* first: at once */
    free(out.bytes);
    serf_snapshot_writer_user_event(&wr, 2);
    out = serf_snapshot_writer_take(&wr, 10100, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_NONE);
    CHECK_EQ_INT(serf_snapshot_writer_tick(&wr, 10100, 0), 10000 + SERF_SNAPSHOT_FLUSH_INTERVAL_MS);
    out = serf_snapshot_writer_take(&wr, 10000 + SERF_SNAPSHOT_FLUSH_INTERVAL_MS, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_APPEND);
    CHECK_MEM(out.bytes, out.len, "event-clock: 2\n", 15);
    free(out.bytes);
    /* a full buffer goes out at once */
    uint64_t t = 10600;
    for (uint64_t e = 3; wr.pending_len < SERF_SNAPSHOT_BUFFER; e++)
        serf_snapshot_writer_user_event(&wr, e);
    out = serf_snapshot_writer_take(&wr, t, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_APPEND && out.len >= SERF_SNAPSHOT_BUFFER);
    free(out.bytes);
    /* the clock: checked when the interval passed (at 10500), written
     * if it moved, then not before the next interval */
    CHECK_EQ_INT(serf_snapshot_writer_tick(&wr, t, 50), t + SERF_SNAPSHOT_CLOCK_INTERVAL_MS);
    CHECK_EQ_INT(wr.last_clock, 49);
    CHECK_EQ_INT(serf_snapshot_writer_tick(&wr, t + 100, 60), t + SERF_SNAPSHOT_FLUSH_INTERVAL_MS);
    CHECK_EQ_INT(wr.last_clock, 49);
    CHECK(serf_snapshot_writer_take(&wr, t + 100, false).kind == SERF_SNAPSHOT_WRITE_NONE);
    out = serf_snapshot_writer_take(&wr, t + SERF_SNAPSHOT_FLUSH_INTERVAL_MS, false);
    CHECK_MEM(out.bytes, out.len, "clock: 49\n", 10);
    free(out.bytes);
    serf_snapshot_writer_free(&wr);
}

/* serf compacts when the file outgrows max(128 KiB, 2 x 128 x members):
 * the whole file again, members then clocks */
static void test_compaction(void)
{
    serf_snapshot_writer wr;
    serf_snapshot_writer_init(&wr, NULL, 0, false, 0);
    CHECK_EQ_INT(serf_snapshot_writer_max_size(&wr), SERF_SNAPSHOT_SIZE_LIMIT);
    serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "keep", "10.0.0.1:7946", 2);
    uint64_t now = 1000;
    size_t appended = 0, cycles = 0;
    serf_snapshot_write out = { 0 };
    for (;;) {
        char name[32];
        snprintf(name, sizeof name, "flappy-%zu", cycles % 7);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, name, "10.0.0.2:7946", 0);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_NOT_ALIVE, name, NULL, 0);
        cycles++;
        now += 600;
        out = serf_snapshot_writer_take(&wr, now, false);
        if (out.kind == SERF_SNAPSHOT_WRITE_REWRITE)
            break;
        REQUIRE(out.kind == SERF_SNAPSHOT_WRITE_APPEND);
        appended += out.len;
        free(out.bytes);
    }
    /* it happened as the file passed the limit, not before */
    CHECK(appended <= SERF_SNAPSHOT_SIZE_LIMIT);
    CHECK(appended + 80 > SERF_SNAPSHOT_SIZE_LIMIT);
    const char *want = "alive: keep 10.0.0.1:7946\nclock: 1\nevent-clock: 0\nquery-clock: 0\n";
    CHECK_MEM(out.bytes, out.len, want, strlen(want));
    CHECK(out.sync);
    CHECK_EQ_INT(wr.offset, strlen(want));
    free(out.bytes);
    CHECK(serf_snapshot_writer_take(&wr, now, true).kind == SERF_SNAPSHOT_WRITE_NONE);

    /* the threshold follows the members: 2 x 128 bytes each */
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%04d", i);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, name, "10.1.2.3:7946", 0);
    }
    CHECK_EQ_INT(serf_snapshot_writer_max_size(&wr), 1001 * 256);
    size_t len;
    char *c = serf_snapshot_writer_compacted(&wr, &len);
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, c, len);
    CHECK_EQ_INT(r.alive.count, 1001);
    CHECK_EQ_INT(w.n, 0);
    serf_snapshot_replay_free(&r);
    free(c);

    /* a failed write asks for a compaction, at most every 30 s */
    out = serf_snapshot_writer_take(&wr, now, true);
    free(out.bytes);
    serf_snapshot_writer_failed(&wr, now);
    out = serf_snapshot_writer_take(&wr, now, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_REWRITE);
    free(out.bytes);
    serf_snapshot_writer_failed(&wr, now + 1000);
    CHECK(serf_snapshot_writer_take(&wr, now + 1000, false).kind == SERF_SNAPSHOT_WRITE_NONE);
    serf_snapshot_writer_failed(&wr, now + SERF_SNAPSHOT_ERROR_RECOVERY_MS + 1);
    out = serf_snapshot_writer_take(&wr, now + SERF_SNAPSHOT_ERROR_RECOVERY_MS + 1, false);
    CHECK(out.kind == SERF_SNAPSHOT_WRITE_REWRITE);
    free(out.bytes);
    serf_snapshot_writer_free(&wr);
}

/* a graceful leave: "leave" synced at once, nothing but clocks after it;
 * a restart does not rejoin unless -rejoin */
static void test_leave(void)
{
    for (int rejoin = 0; rejoin < 2; rejoin++) {
        serf_snapshot_writer wr;
        serf_snapshot_writer_init(&wr, NULL, 0, rejoin, 0);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "me", "10.0.0.1:7946", 1);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_ALIVE, "peer", "10.0.0.2:7946", 3);
        serf_snapshot_writer_user_event(&wr, 4);
        static char file[4096];
        size_t len = 0;
        take_all(&wr, 0, file, &len, sizeof file);
        serf_snapshot_writer_leave(&wr);
        serf_snapshot_write out = serf_snapshot_writer_take(&wr, 1, false);
        CHECK(out.kind == SERF_SNAPSHOT_WRITE_APPEND && out.sync);
        CHECK_MEM(out.bytes, out.len, "leave\n", 6);
        memcpy(file + len, out.bytes, out.len);
        len += out.len;
        free(out.bytes);
        CHECK_EQ_INT(wr.alive.count, rejoin ? 2 : 0);
        serf_snapshot_writer_member(&wr, SERF_SNAPSHOT_NOT_ALIVE, "peer", NULL, 3);
        serf_snapshot_writer_user_event(&wr, 9);
        serf_snapshot_writer_tick(&wr, SERF_SNAPSHOT_CLOCK_INTERVAL_MS, 6);
        take_all(&wr, 2000, file, &len, sizeof file);
        CHECK(len > 6 && memcmp(file + len - 15, "leave\nclock: 5\n", 15) == 0);

        for (int replay_rejoin = 0; replay_rejoin < 2; replay_rejoin++) {
            warnings w = { 0 };
            serf_snapshot_replay r;
            replay_bytes(&r, replay_rejoin, &w, file, len);
            CHECK_EQ_INT(r.alive.count, replay_rejoin ? 2 : 0);
            CHECK_EQ_INT(r.event_clock, replay_rejoin ? 4 : 0);
            CHECK_EQ_INT(r.clock, 5);
            CHECK(r.left == !replay_rejoin);
            serf_snapshot_replay_free(&r);
        }
        /* rejoined later: the members after the leave count again */
        const char *later = "alive: other 10.0.0.7:7946\n";
        memcpy(file + len, later, strlen(later));
        len += strlen(later);
        warnings w = { 0 };
        serf_snapshot_replay r;
        replay_bytes(&r, false, &w, file, len);
        CHECK_EQ_INT(r.alive.count, 1);
        CHECK(!r.left);
        serf_snapshot_replay_free(&r);
        serf_snapshot_writer_free(&wr);
    }
}

/* bad lines are reported with their number and skipped, as serf skips
 * them; the good ones around them count */
static void test_malformed(void)
{
    const char file[] = "alive: a 10.0.0.1:7946\n"        /* 1 */
                        "alive: nospace\n"                 /* 2 bad */
                        "clock: abc\n"                     /* 3 bad */
                        "clock: -1\n"                      /* 4 bad */
                        "clock: 18446744073709551616\n"    /* 5 bad: overflow */
                        "clock: 18446744073709551615\n"    /* 6 */
                        "event-clock: \n"                  /* 7 bad */
                        "query-clock:  3\n"                /* 8 bad */
                        "bogus\n"                          /* 9 bad */
                        "clock: 5\r\n"                     /* 10 bad, as Go */
                        "coordinate: {\"Vec\":[1]}\n"      /* 11 */
                        "# comment\n"                      /* 12 */
                        "\n"                               /* 13 bad */
                        "alive: n\0ul 10.0.0.1:1\n"        /* 14 bad */
                        "leave \n"                         /* 15 bad */
                        "not-alive: nobody\n"              /* 16 */
                        "query-clock: 007\n"               /* 17 */
                        "alive: b 10.0.0.2:7946";          /* 18 bad: unterminated */
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, sizeof file - 1);
    size_t want[] = { 2, 3, 4, 5, 7, 8, 9, 10, 13, 14, 15, 18 };
    CHECK_EQ_INT(w.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < w.n && i < sizeof want / sizeof want[0]; i++)
        CHECK_EQ_INT(w.line_no[i], want[i]);
    CHECK_EQ_INT(r.bad_lines, w.n);
    CHECK_EQ_INT(r.lines, 18);
    CHECK_EQ_INT(r.alive.count, 1);
    CHECK(r.clock == UINT64_MAX);
    CHECK_EQ_INT(r.query_clock, 7);
    CHECK(strstr(w.last, "unterminated") != NULL);
    serf_snapshot_replay_free(&r);

    /* the message escapes what it quotes */
    warnings w2 = { 0 };
    replay_bytes(&r, false, &w2, "\x1b[31mred\n", 9);
    CHECK(strstr(w2.last, "\\x1b[31mred") != NULL);
    serf_snapshot_replay_free(&r);
}

/* lines past the bound are skipped whole, the next line is read */
static void test_huge_lines(void)
{
    size_t big = 10u << 20;
    char *file = malloc(big + 100);
    REQUIRE(file);
    memcpy(file, "alive: ", 7);
    memset(file + 7, 'x', big - 7);
    memcpy(file + big, " 1.2.3.4:5\nclock: 9\n", 20);
    warnings w = { 0 };
    serf_snapshot_replay r;
    serf_snapshot_replay_init(&r, false, on_warn, &w);
    for (size_t off = 0; off < big + 20; off += 65536) {
        size_t n = big + 20 - off < 65536 ? big + 20 - off : 65536;
        REQUIRE(serf_snapshot_replay_feed(&r, (uint8_t *)file + off, n) == 0);
    }
    serf_snapshot_replay_end(&r);
    CHECK_EQ_INT(w.n, 1);
    CHECK_EQ_INT(w.line_no[0], 1);
    CHECK(strstr(w.last, "longer than") != NULL);
    CHECK_EQ_INT(r.alive.count, 0);
    CHECK_EQ_INT(r.clock, 9);
    serf_snapshot_replay_free(&r);

    /* exactly the bound is a line; one more is not */
    for (int extra = 0; extra < 2; extra++) {
        size_t n = SERF_SNAPSHOT_LINE_MAX + (size_t)extra;
        memcpy(file, "alive: ", 7);
        memset(file + 7, 'y', n - 7 - 10);
        memcpy(file + n - 10, " 1.2.3.4:5\n", 11);
        warnings w3 = { 0 };
        replay_bytes(&r, false, &w3, file, n + 1);
        CHECK_EQ_INT(r.alive.count, extra ? 0 : 1);
        CHECK_EQ_INT(w3.n, extra ? 1 : 0);
        serf_snapshot_replay_free(&r);
    }
    free(file);

    /* members past the bound are not kept */
    size_t cap = (size_t)(SERF_SNAPSHOT_NODES_MAX + 2) * 32;
    char *many = malloc(cap);
    REQUIRE(many);
    size_t len = 0;
    for (int i = 0; i < SERF_SNAPSHOT_NODES_MAX + 1; i++)
        len += (size_t)snprintf(many + len, cap - len, "alive: m%d 1.2.3.4:5\n", i);
    len += (size_t)snprintf(many + len, cap - len, "alive: m0 1.2.3.4:6\n");
    warnings w4 = { 0 };
    replay_bytes(&r, false, &w4, many, len);
    CHECK_EQ_INT(r.alive.count, SERF_SNAPSHOT_NODES_MAX);
    CHECK_EQ_INT(w4.n, 1);
    CHECK(addr_of(&r, "m0") && strcmp(addr_of(&r, "m0"), "1.2.3.4:6") == 0);
    serf_snapshot_replay_free(&r);
    free(many);
}

/* the table against a plain array, through adds and deletes that wrap */
static void test_table(void)
{
    serf_snapshot_nodes t = { 0 };
    bool ref[300] = { 0 };
    uint64_t s = 1;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((s >> 33) % 300);
        char name[16];
        int n = snprintf(name, sizeof name, "k%d", k);
        if ((s >> 20) & 1) {
            REQUIRE(serf_snapshot_nodes_put(&t, name, (size_t)n, "a", 1) == 0);
            ref[k] = true;
        } else {
            CHECK(serf_snapshot_nodes_del(&t, name, (size_t)n) == ref[k]);
            ref[k] = false;
        }
    }
    size_t count = 0;
    for (int k = 0; k < 300; k++) {
        char name[16];
        int n = snprintf(name, sizeof name, "k%d", k);
        CHECK(serf_snapshot_nodes_has(&t, name, (size_t)n) == ref[k]);
        count += ref[k];
    }
    CHECK_EQ_INT(t.count, count);
    serf_snapshot_nodes_free(&t);
}

/* the rejoin order is shuffled by the seed, never includes us */
static void test_previous(void)
{
    const char file[] = "alive: me 10.0.0.1:1\nalive: a 10.0.0.2:1\nalive: b 10.0.0.3:1\nalive: c 10.0.0.4:1\n";
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, sizeof file - 1);
    bool orders_differ = false;
    char first[8] = "";
    for (uint64_t seed = 0; seed < 20; seed++) {
        serf_snapshot_prev *p;
        size_t n;
        REQUIRE(serf_snapshot_previous(&r, "me", seed, &p, &n) == 0);
        CHECK_EQ_INT(n, 3);
        for (size_t i = 0; i < n; i++)
            CHECK(strcmp(p[i].name, "me") != 0);
        if (seed == 0)
            snprintf(first, sizeof first, "%s", p[0].name);
        else if (strcmp(first, p[0].name) != 0)
            orders_differ = true;
        serf_snapshot_prev_free(p, n);
    }
    CHECK(orders_differ);
    serf_snapshot_replay_free(&r);
}

/* serf's Create: clocks past the replayed ones, and nothing at or before
 * them delivered again */
static void test_restore(void)
{
    size_t len;
    const char *file = read_file("serf/snapshot/go-serf-0.9.4-terminated.snap", &len);
    warnings w = { 0 };
    serf_snapshot_replay r;
    replay_bytes(&r, false, &w, file, len);
    serf_node_config cfg = { .name = "alpha", .gossip_interval_ms = 200, .seed = 1 };
    serf_node_io io = { 0 };
    serf_node *sn = serf_node_new(&cfg, &io, 0);
    REQUIRE(sn);
    serf_snapshot_restore(sn, &r);
    serf_node_clocks c = serf_node_get_clocks(sn);
    CHECK_EQ_INT(c.member, 3);
    CHECK_EQ_INT(c.event, 3);
    CHECK_EQ_INT(c.query, 2);
    CHECK_EQ_INT(sn->nq.events.min_time, 3);
    CHECK_EQ_INT(sn->nq.queries.min_time, 2);
    CHECK(serf_events_receive(&sn->nq.events, 2, (wire_bytes){ (const uint8_t *)"deploy", 6 },
                              (wire_bytes){ (const uint8_t *)"v2", 2 }) == SERF_EVENT_BEFORE_MIN);
    CHECK(serf_events_receive(&sn->nq.events, 3, (wire_bytes){ (const uint8_t *)"deploy", 6 },
                              (wire_bytes){ (const uint8_t *)"v3", 2 }) == SERF_EVENT_NEW);
    serf_node_free(sn);
    serf_snapshot_replay_free(&r);
}

int main(void)
{
    test_restore();
    test_serf_terminated();
    test_serf_left();
    test_round_trip();
    test_flush_and_clock();
    test_compaction();
    test_leave();
    test_malformed();
    test_huge_lines();
    test_table();
    test_previous();
    return check_done("test_serf_snapshot");
}
