/* -snapshot on a libuv loop: a file serf 0.9.4 wrote is replayed (members
 * to rejoin, clocks into the serf node), what happens next is appended,
 * a leave is recorded, a file past its threshold is compacted into
 * PATH.compact and renamed over, and close writes everything out. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base_log.h"
#include "check.h"
#include "daemon/daemon_snapshot.h"
#include "net/loop_wait.h"

static char dir[] = "/tmp/test_daemon_snapshot.XXXXXX";

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    REQUIRE(in && out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        REQUIRE(fwrite(buf, 1, n, out) == n);
    fclose(in);
    fclose(out);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    size_t cap = 1 << 20;
    char *b = malloc(cap);
    REQUIRE(b);
    *len = fread(b, 1, cap, f);
    fclose(f);
    return b;
}

static void replay_path(const char *path, bool rejoin, serf_snapshot_replay *r)
{
    size_t len;
    char *b = slurp(path, &len);
    serf_snapshot_replay_init(r, rejoin, NULL, NULL);
    REQUIRE(serf_snapshot_replay_feed(r, (uint8_t *)b, len) == 0);
    serf_snapshot_replay_end(r);
    free(b);
}

static bool alive(const serf_snapshot_replay *r, const char *name, const char *addr)
{
    for (size_t i = 0; i < r->alive.cap; i++)
        if (r->alive.slots[i].name && strcmp(r->alive.slots[i].name, name) == 0)
            return !addr || strcmp(r->alive.slots[i].addr, addr) == 0;
    return false;
}

static serf_node *new_node(const char *name)
{
    serf_node_config cfg = { .name = name, .gossip_interval_ms = 200, .seed = 1 };
    serf_node_io io = { 0 };
    serf_node *sn = serf_node_new(&cfg, &io, 0);
    REQUIRE(sn);
    return sn;
}

static serf_node_event member_event(serf_node_event_type t, const char *name, const char *ip4, uint16_t port)
{
    serf_node_event ev = { .type = t };
    ev.member.name = name;
    ev.member.status = t == SERF_EV_MEMBER_JOIN ? SERF_MEMBER_ALIVE : SERF_MEMBER_LEFT;
    if (ip4) {
        unsigned a, b, c, d;
        REQUIRE(sscanf(ip4, "%u.%u.%u.%u", &a, &b, &c, &d) == 4);
        ev.member.addr = (swim_addr){ .ip = { (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d }, .ip_len = 4,
                                      .port = port };
    }
    return ev;
}

/* a restart after serf stopped without leaving */
static void test_replay_and_append(uv_loop_t *loop)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/alpha.snap", dir);
    copy_file("serf/snapshot/go-serf-0.9.4-terminated.snap", path);
    daemon_snapshot *s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    serf_snapshot_prev *prev;
    size_t n;
    REQUIRE(daemon_snapshot_previous_nodes(s, "alpha", 3, &prev, &n) == 0);
    REQUIRE(n == 1);
    CHECK(strcmp(prev[0].name, "bravo") == 0 && strcmp(prev[0].addr, "127.0.0.1:27947") == 0);
    serf_snapshot_prev_free(prev, n);

    serf_node *sn = new_node("alpha");
    daemon_snapshot_start(s, sn);
    serf_node_clocks c = serf_node_get_clocks(sn);
    CHECK_EQ_INT(c.member, 3);
    CHECK_EQ_INT(c.event, 3);
    CHECK_EQ_INT(c.query, 2);
    /* still known after start, for the rejoin that comes after the joins */
    REQUIRE(daemon_snapshot_previous_nodes(s, "alpha", 3, &prev, &n) == 0);
    CHECK_EQ_INT(n, 1);
    serf_snapshot_prev_free(prev, n);

    serf_node_event ev = member_event(SERF_EV_MEMBER_JOIN, "delta", "10.0.0.4", 7946);
    daemon_snapshot_on_serf_event(s, &ev);
    ev = member_event(SERF_EV_MEMBER_FAILED, "bravo", NULL, 0);
    daemon_snapshot_on_serf_event(s, &ev);
    ev = (serf_node_event){ .type = SERF_EV_USER, .ltime = 10 };
    daemon_snapshot_on_serf_event(s, &ev);
    ev = (serf_node_event){ .type = SERF_EV_QUERY, .ltime = 5 };
    daemon_snapshot_on_serf_event(s, &ev);
    /* an IPv6 member, printed as Go prints it */
    ev = (serf_node_event){ .type = SERF_EV_MEMBER_JOIN };
    ev.member.name = "echo";
    ev.member.addr = (swim_addr){ .ip = { [15] = 1 }, .ip_len = 16, .port = 8000 };
    daemon_snapshot_on_serf_event(s, &ev);
    daemon_snapshot_close(s);
    uv_run(loop, UV_RUN_DEFAULT);   /* until the last write is done */
    serf_node_free(sn);

    serf_snapshot_replay r;
    replay_path(path, false, &r);
    CHECK_EQ_INT(r.bad_lines, 0);
    CHECK_EQ_INT(r.alive.count, 3);
    CHECK(alive(&r, "alpha", "127.0.0.1:27946"));
    CHECK(alive(&r, "delta", "10.0.0.4:7946"));
    CHECK(alive(&r, "echo", "[::1]:8000"));
    CHECK(!alive(&r, "bravo", NULL));
    CHECK_EQ_INT(r.event_clock, 10);
    CHECK_EQ_INT(r.query_clock, 5);
    serf_snapshot_replay_free(&r);
    /* appended to serf's lines, which are still there */
    size_t len;
    char *b = slurp(path, &len);
    CHECK(len > 23 && memcmp(b, "alive: alpha 127.0.0.1:27946\n", 29) == 0);
    CHECK(strstr(b, "not-alive: charlie\nalive: delta 10.0.0.4:7946\nnot-alive: bravo\nevent-clock: 10\n") != NULL);
    free(b);
}

/* a graceful leave is synced at once; a restart then rejoins nobody,
 * unless -rejoin */
static void test_leave(uv_loop_t *loop)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/alpha.snap", dir);
    daemon_snapshot *s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    serf_node *sn = new_node("alpha");
    daemon_snapshot_start(s, sn);
    daemon_snapshot_leave(s);
    uv_run(loop, UV_RUN_NOWAIT);
    serf_node_event ev = member_event(SERF_EV_MEMBER_JOIN, "late", "10.0.0.9", 7946);
    daemon_snapshot_on_serf_event(s, &ev);   /* after the leave: not recorded */
    daemon_snapshot_close(s);
    uv_run(loop, UV_RUN_DEFAULT);
    serf_node_free(sn);

    serf_snapshot_replay r;
    replay_path(path, false, &r);
    CHECK(r.left);
    CHECK_EQ_INT(r.alive.count, 0);
    serf_snapshot_replay_free(&r);

    s = daemon_snapshot_open(loop, path, true, err, sizeof err);
    REQUIRE(s);
    serf_snapshot_prev *prev;
    size_t n;
    REQUIRE(daemon_snapshot_previous_nodes(s, "alpha", 3, &prev, &n) == 0);
    CHECK_EQ_INT(n, 2);   /* delta and echo (we are alpha) */
    serf_snapshot_prev_free(prev, n);
    daemon_snapshot_close(s);   /* never started: nothing written */
    uv_run(loop, UV_RUN_DEFAULT);
}

/* past 128 KiB the file is compacted: PATH.compact renamed over PATH */
static void test_compaction(uv_loop_t *loop)
{
    char path[256], tmp[300], err[512];
    snprintf(path, sizeof path, "%s/compact.snap", dir);
    snprintf(tmp, sizeof tmp, "%s%s", path, SERF_SNAPSHOT_TMP_EXT);
    daemon_snapshot *s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    serf_node *sn = new_node("self");
    daemon_snapshot_start(s, sn);
    serf_node_event ev = member_event(SERF_EV_MEMBER_JOIN, "stays", "10.0.0.1", 7946);
    daemon_snapshot_on_serf_event(s, &ev);
    size_t written = 0;
    for (int i = 0; written < 3 * SERF_SNAPSHOT_SIZE_LIMIT; i++) {
        char name[32];
        snprintf(name, sizeof name, "flappy-%d", i % 5);
        ev = member_event(SERF_EV_MEMBER_JOIN, name, "10.0.0.2", 7946);
        daemon_snapshot_on_serf_event(s, &ev);
        ev = member_event(SERF_EV_MEMBER_LEAVE, name, NULL, 0);
        daemon_snapshot_on_serf_event(s, &ev);
        written += 60;
        if (i % 100 == 0)
            uv_run(loop, UV_RUN_NOWAIT);
    }
    ev = member_event(SERF_EV_MEMBER_JOIN, "last", "10.0.0.3", 7946);
    daemon_snapshot_on_serf_event(s, &ev);
    daemon_snapshot_close(s);
    uv_run(loop, UV_RUN_DEFAULT);
    serf_node_free(sn);

    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK(st.st_size < SERF_SNAPSHOT_SIZE_LIMIT);
    CHECK(stat(tmp, &st) != 0);
    serf_snapshot_replay r;
    replay_path(path, false, &r);
    CHECK_EQ_INT(r.bad_lines, 0);
    CHECK_EQ_INT(r.alive.count, 2);
    CHECK(alive(&r, "stays", "10.0.0.1:7946"));
    CHECK(alive(&r, "last", "10.0.0.3:7946"));
    serf_snapshot_replay_free(&r);
    size_t len;
    char *b = slurp(path, &len);
    CHECK(strstr(b, "event-clock: 0\nquery-clock: 0\n") != NULL);   /* serf's compacted tail */
    free(b);
}

/* a file that cannot be opened stops the agent with its name; bad lines
 * are skipped */
static void test_errors(uv_loop_t *loop)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/no/such/dir.snap", dir);
    CHECK(daemon_snapshot_open(loop, path, false, err, sizeof err) == NULL);
    CHECK(strstr(err, path) != NULL);

    snprintf(path, sizeof path, "%s/bad.snap", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("alive: x 1.2.3.4:5\ngarbage\nclock: nope\nalive: y 1.2.3.4:6\n", f);
    fclose(f);
    daemon_snapshot *s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    serf_snapshot_prev *prev;
    size_t n;
    REQUIRE(daemon_snapshot_previous_nodes(s, "z", 1, &prev, &n) == 0);
    CHECK_EQ_INT(n, 2);
    serf_snapshot_prev_free(prev, n);
    daemon_snapshot_close(s);
    uv_run(loop, UV_RUN_DEFAULT);

    /* NULL: no -snapshot, nothing happens */
    daemon_snapshot_start(NULL, NULL);
    daemon_snapshot_on_serf_event(NULL, NULL);
    daemon_snapshot_leave(NULL);
    daemon_snapshot_rejoin(NULL, NULL, "x", 1);
    daemon_snapshot_close(NULL);
    REQUIRE(daemon_snapshot_previous_nodes(NULL, "x", 1, &prev, &n) == 0);
    CHECK(n == 0 && prev == NULL);
}

static net *start_net(uv_loop_t *loop, const char *name, uint64_t seed)
{
    net_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c.swim, "local") == 0);
    snprintf(c.swim.name, sizeof c.swim.name, "%s", name);
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    memcpy(c.swim.vsn, vsn, 6);
    c.swim.seed = seed;
    snprintf(c.bind_host, sizeof c.bind_host, "127.0.0.1");
    wire_frame_config_init(&c.frame);
    wire_keyring_init(&c.keyring);
    net_handlers h = { 0 };
    char err[256];
    net *n = net_start(loop, &c, &h, err, sizeof err);
    if (!n)
        fprintf(stderr, "net_start: %s\n", err);
    REQUIRE(n);
    return n;
}

static net *rejoiner;
static int attempts, rejoins, gave_up, self_tried;

static void count_lines(void *ud, base_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)level;
    char l[512];
    snprintf(l, sizeof l, "%.*s", (int)(len < 511 ? len : 511), line);
    attempts += strstr(l, "attempting re-join") != NULL;
    rejoins += strstr(l, "re-joined to previously known node") != NULL;
    gave_up += strstr(l, "failed to re-join any previously known node") != NULL;
    self_tried += strstr(l, "known node: b:") != NULL;
}

static int rejoined(void *ud)
{
    (void)ud;
    return rejoins > 0 && swim_alive_count(net_core(rejoiner)) == 2;
}

static int given_up(void *ud)
{
    (void)ud;
    return gave_up > 0;
}

/* serf's handleRejoin: the known members one at a time (a dead one first
 * or not, by the shuffle) until one answers; never ourselves */
static void test_rejoin(uv_loop_t *loop)
{
    int sub = base_log_subscribe(count_lines, NULL, BASE_LOG_DEBUG);
    REQUIRE(sub >= 0);
    loop_wait lw;
    loop_wait_init(&lw, loop);
    net *a = start_net(loop, "a", 1), *b = start_net(loop, "b", 2);
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/b.snap", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fprintf(f, "alive: ghost 127.0.0.1:1\nalive: a %s\nalive: b %s\n", net_bind_text(a), net_bind_text(b));
    fclose(f);
    daemon_snapshot *s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    rejoiner = b;
    daemon_snapshot_rejoin(s, b, "b", 5);
    CHECK(loop_wait_run(&lw, rejoined, NULL, 5000));
    CHECK_EQ_INT(rejoins, 1);
    CHECK(attempts >= 1 && attempts <= 2);
    CHECK_EQ_INT(self_tried, 0);
    CHECK_EQ_INT(gave_up, 0);
    daemon_snapshot_close(s);

    /* nobody answers: each tried once, then it gives up */
    f = fopen(path, "wb");
    REQUIRE(f);
    fprintf(f, "alive: ghost 127.0.0.1:1\nalive: ghost2 127.0.0.1:2\n");
    fclose(f);
    attempts = rejoins = 0;
    s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    daemon_snapshot_rejoin(s, a, "a", 1);
    CHECK(loop_wait_run(&lw, given_up, NULL, 5000));
    CHECK_EQ_INT(attempts, 2);
    CHECK_EQ_INT(rejoins, 0);
    daemon_snapshot_close(s);

    /* closed while a join is in flight: freed once the net answers it */
    s = daemon_snapshot_open(loop, path, false, err, sizeof err);
    REQUIRE(s);
    daemon_snapshot_rejoin(s, a, "a", 1);
    uv_run(loop, UV_RUN_NOWAIT);
    daemon_snapshot_close(s);
    net_close(a);
    net_close(b);
    loop_wait_close(&lw);
    uv_run(loop, UV_RUN_DEFAULT);
    base_log_unsubscribe(sub);
}

int main(void)
{
    REQUIRE(mkdtemp(dir));
    uv_loop_t loop;
    uv_loop_init(&loop);
    test_replay_and_append(&loop);
    test_leave(&loop);
    test_compaction(&loop);
    test_errors(&loop);
    test_rejoin(&loop);
    uv_loop_close(&loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("test_daemon_snapshot");
}
