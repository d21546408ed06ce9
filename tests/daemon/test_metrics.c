/* The metrics endpoint: daemon_stats' Prometheus text from a real core and
 * serf node (families, labels, numbers that move), and daemon_metrics'
 * HTTP server on 127.0.0.1:0 with a fake render on a loop of its own
 * thread (the protocol thread's stand-in), scraped by a plain socket
 * client: fresh numbers per scrape, a stuck loop answered within the
 * bound with the last numbers marked stale, 503 before any, 404, 405,
 * bad addresses refused with a sentence. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_metrics.h"
#include "daemon/daemon_stats.h"
#include "serf/serf_node.h"
#include "swim/swim.h"

/* ---- a strict enough reading of the text format (0.0.4) ---------------- */

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/* Every line a # HELP, a # TYPE (before the family's first sample, once)
 * or a sample `name{label="v",...} number` of the family typed last (a
 * histogram's as name_bucket with le, name_sum, name_count); counters end
 * in _total. Returns the number of samples, -1 on the first bad line
 * (printed). */
static int parse_exposition(const char *text)
{
    char typed[256][128];
    bool histogram = false;   /* the family typed last */
    size_t ntyped = 0;
    int samples = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end) {
            fprintf(stderr, "no newline at the end: %s\n", line);
            return -1;
        }
        char buf[1024];
        size_t n = (size_t)(end - line);
        if (n >= sizeof buf)
            return -1;
        memcpy(buf, line, n);
        buf[n] = '\0';
        line = end + 1;
        char fam[128], kind[32];
        if (strncmp(buf, "# HELP ", 7) == 0)
            continue;
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            if (sscanf(buf + 7, "%127s %31s", fam, kind) != 2 ||
                (strcmp(kind, "counter") != 0 && strcmp(kind, "gauge") != 0 && strcmp(kind, "histogram") != 0)) {
                fprintf(stderr, "bad TYPE line: %s\n", buf);
                return -1;
            }
            if (strcmp(kind, "counter") == 0 && (strlen(fam) < 6 || strcmp(fam + strlen(fam) - 6, "_total") != 0)) {
                fprintf(stderr, "a counter without _total: %s\n", buf);
                return -1;
            }
            for (size_t i = 0; i < ntyped; i++)
                if (strcmp(typed[i], fam) == 0) {
                    fprintf(stderr, "family typed twice: %s\n", buf);
                    return -1;
                }
            if (ntyped == 256)
                return -1;
            snprintf(typed[ntyped++], sizeof typed[0], "%s", fam);
            histogram = strcmp(kind, "histogram") == 0;
            continue;
        }
        size_t i = 0;
        while (name_char(buf[i], i == 0))
            i++;
        if (i == 0) {
            fprintf(stderr, "bad sample: %s\n", buf);
            return -1;
        }
        memcpy(fam, buf, i);
        fam[i] = '\0';
        bool known = false;   /* samples follow their TYPE */
        if (ntyped && !histogram) {
            known = strcmp(typed[ntyped - 1], fam) == 0;
        } else if (ntyped) {
            size_t fl = strlen(typed[ntyped - 1]);
            const char *suffix = fam + fl;
            known = strncmp(typed[ntyped - 1], fam, fl) == 0 &&
                    (strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_count") == 0 ||
                     (strcmp(suffix, "_bucket") == 0 && buf[i] == '{' && strncmp(buf + i, "{le=\"", 5) == 0));
        }
        if (!known) {
            fprintf(stderr, "sample outside its family: %s\n", buf);
            return -1;
        }
        if (buf[i] == '{') {
            i++;
            while (buf[i] != '}') {
                size_t j = i;
                while (name_char(buf[i], i == j))
                    i++;
                if (i == j || buf[i] != '=' || buf[i + 1] != '"') {
                    fprintf(stderr, "bad label: %s\n", buf);
                    return -1;
                }
                i += 2;
                while (buf[i] && buf[i] != '"')
                    i += buf[i] == '\\' ? 2 : 1;
                if (buf[i] != '"')
                    return -1;
                i++;
                if (buf[i] == ',')
                    i++;
            }
            i++;
        }
        if (buf[i] != ' ' || buf[i + 1] < '0' || buf[i + 1] > '9') {
            fprintf(stderr, "bad value: %s\n", buf);
            return -1;
        }
        bool dot = false;
        for (i++; buf[i]; i++)
            if (buf[i] == '.' && !dot && buf[i + 1]) {
                dot = true;
            } else if (buf[i] < '0' || buf[i] > '9') {
                fprintf(stderr, "bad value: %s\n", buf);
                return -1;
            }
        samples++;
    }
    return samples;
}

/* The value of the sample line that starts with `prefix ` (name and
 * labels); -1 if absent. */
static long long sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

/* A second opinion from prometheus_client's parser when the machine has
 * it (Debian's python3-prometheus-client); skipped otherwise. */
static void python_parse(const char *text)
{
    if (system("/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "(prometheus_client not installed: its parser skipped)\n");
        return;
    }
    char path[] = "/tmp/moonlist-metrics-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as f; "
             "n = sum(len(m.samples) for m in f(open(sys.argv[1]).read())); assert n > 0' %s",
             path);
    CHECKF(system(cmd) == 0, "prometheus_client refused the text");
    unlink(path);
}

/* ---- the renderer on a real core and serf node --------------------------- */

static void no_send(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
}

static void test_render(void)
{
    swim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    REQUIRE(swim_config_profile(&cfg, "lan") == 0);
    snprintf(cfg.name, sizeof cfg.name, "n1");
    cfg.advertise.ip_len = 4;
    cfg.advertise.ip[0] = 10;
    cfg.advertise.ip[3] = 1;
    cfg.advertise.port = 7946;
    cfg.seed = 1;
    serf_node_config sc = { .name = "n1", .gossip_interval_ms = cfg.gossip_interval, .seed = 1 };
    serf_node *sn = serf_node_new(&sc, NULL, 0);
    REQUIRE(sn);
    swim_io io;
    memset(&io, 0, sizeof io);
    io.send_packet = no_send;
    io.delegate = serf_node_swim_delegate(sn, NULL);
    swim *core = swim_new(&cfg, &io, 0);
    REQUIRE(core);

    daemon_stats st;
    daemon_stats_sources src = { .core = core, .sn = sn };
    daemon_stats_gather(&src, &st);
    CHECK(!st.has_net && !st.has_lua && !st.has_rpc && st.has_serf);
    wire_buf out;
    wire_buf_init(&out, 0);
    REQUIRE(daemon_stats_render_prometheus(&st, &out) == 0);
    REQUIRE(wire_buf_append_byte(&out, 0) == 0);
    const char *text = (const char *)out.data;
    CHECKF(parse_exposition(text) > 40, "%s", text);
    python_parse(text);
    CHECK_EQ_INT(sample(text, "moonlist_members{status=\"alive\"}"), 1);
    CHECK_EQ_INT(sample(text, "moonlist_members{status=\"dead\"}"), 0);
    CHECK_EQ_INT(sample(text, "moonlist_serf_members{status=\"alive\"}"), 1);
    CHECK_EQ_INT(sample(text, "moonlist_messages_received_total{type=\"ping\"}"), 0);
    CHECK_EQ_INT(sample(text, "moonlist_lua_script"), 0);
    CHECK(strstr(text, "# TYPE moonlist_messages_sent_total counter\n"));
    CHECK(!strstr(text, "moonlist_packets_total"));   /* no net: not shown as zeros */
    CHECK(!strstr(text, "moonlist_lua_hook_errors_total"));

    /* a ping whose body is not msgpack: received, then dropped, by type */
    static const uint8_t bad_ping[] = { WIRE_PING, 0xc1 };
    swim_addr from = cfg.advertise;
    from.ip[3] = 2;
    swim_handle_packet(core, 1, &from, bad_ping, sizeof bad_ping);
    daemon_stats_gather(&src, &st);
    wire_buf_reset(&out);
    REQUIRE(daemon_stats_render_prometheus(&st, &out) == 0);
    REQUIRE(wire_buf_append_byte(&out, 0) == 0);
    text = (const char *)out.data;
    CHECK(parse_exposition(text) > 40);
    CHECK_EQ_INT(sample(text, "moonlist_messages_dropped_total{type=\"ping\"}"), 1);
    CHECK(sample(text, "moonlist_dropped_messages_total") >= 1);
    CHECK_EQ_INT(sample(text, "moonlist_message_bytes_received_total{type=\"ping\"}"), (long long)sizeof bad_ping);
    /* our own alive waits in the membership queue (nobody to gossip to) */
    CHECK(sample(text, "moonlist_broadcast_queue_depth{queue=\"membership\"}") >= 1);
    CHECK_EQ_INT(sample(text, "moonlist_broadcast_queue_depth{queue=\"application\"}"), 0);

    /* a full buffer: an error, and the buffer as it was */
    wire_buf small;
    wire_buf_init(&small, 100);
    REQUIRE(wire_buf_append(&small, "x", 1) == 0);
    CHECK(daemon_stats_render_prometheus(&st, &small) != 0);
    CHECK_EQ_INT(small.len, 1);
    wire_buf_free(&small);

    wire_buf_free(&out);
    swim_free(core);
    serf_node_free(sn);
}

/* The Lua host's counters and its call times as a histogram: buckets
 * that count the calls within each bound, the sum in seconds. */
static void test_render_lua(void)
{
    daemon_stats st;
    memset(&st, 0, sizeof st);
    st.members_total = 1;
    st.members_by_state[SWIM_ALIVE] = 1;
    st.has_lua = true;
    st.lua.hooks_run = 10;
    st.lua.hook_errors = 2;
    st.lua.events_dropped = 3;
    st.lua.hook_us = 2500123;
    st.lua.hooks_over_1ms = 4;
    st.lua.hooks_over_10ms = 3;
    st.lua.hooks_over_100ms = 2;
    st.lua.hooks_over_1s = 1;
    st.lua_queue_depth = 7;
    wire_buf out;
    wire_buf_init(&out, 0);
    REQUIRE(daemon_stats_render_prometheus(&st, &out) == 0);
    REQUIRE(wire_buf_append_byte(&out, 0) == 0);
    const char *text = (const char *)out.data;
    CHECKF(parse_exposition(text) > 30, "%s", text);
    python_parse(text);
    CHECK_EQ_INT(sample(text, "moonlist_lua_script"), 1);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_errors_total"), 2);
    CHECK_EQ_INT(sample(text, "moonlist_lua_events_dropped_total"), 3);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hooks_run_total"), 10);
    CHECK_EQ_INT(sample(text, "moonlist_lua_event_queue_depth"), 7);
    CHECK(strstr(text, "# TYPE moonlist_lua_hook_duration_seconds histogram\n"));
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_bucket{le=\"0.001\"}"), 6);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_bucket{le=\"0.01\"}"), 7);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_bucket{le=\"0.1\"}"), 8);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_bucket{le=\"1\"}"), 9);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_bucket{le=\"+Inf\"}"), 10);
    CHECK_EQ_INT(sample(text, "moonlist_lua_hook_duration_seconds_count"), 10);
    CHECK(strstr(text, "\nmoonlist_lua_hook_duration_seconds_sum 2.500123\n"));
    CHECK(!strstr(text, "hook_us") && !strstr(text, "hooks_over"));   /* only as the histogram */
    wire_buf_free(&out);
}

/* ---- the server, with a fake protocol loop on its own thread -------------- */

typedef struct fake {
    uv_loop_t loop;
    uv_async_t ctl;                /* commands from the test thread */
    pthread_t thread;
    daemon_metrics *m;
    volatile int cmd;              /* CMD_* for ctl */
    sem_t stalled, release, closed;
    int renders;
    bool refuse;                   /* render says it has nothing */
} fake;

enum { CMD_NONE, CMD_STALL, CMD_CLOSE };

static int fake_render(void *ud, wire_buf *out)
{
    fake *f = ud;
    if (f->refuse)
        return -1;
    char s[200];
    int n = snprintf(s, sizeof s, "# HELP fake_renders_total renders so far\n# TYPE fake_renders_total counter\n"
                                  "fake_renders_total %d\n", ++f->renders);
    return wire_buf_append(out, s, (size_t)n);
}

static void on_ctl(uv_async_t *h)
{
    fake *f = h->data;
    if (f->cmd == CMD_STALL) {
        /* the protocol loop stuck (a slow callback): nothing runs on it
         * until the test lets it go */
        sem_post(&f->stalled);
        sem_wait(&f->release);
    } else if (f->cmd == CMD_CLOSE) {
        daemon_metrics_close(f->m);
        uv_close((uv_handle_t *)&f->ctl, NULL);
    }
    f->cmd = CMD_NONE;
}

static void *loop_main(void *ud)
{
    fake *f = ud;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    sem_post(&f->closed);
    return NULL;
}

static void fake_start(fake *f, const char *addr)
{
    memset(f, 0, sizeof *f);
    REQUIRE(uv_loop_init(&f->loop) == 0);
    REQUIRE(uv_async_init(&f->loop, &f->ctl, on_ctl) == 0);
    f->ctl.data = f;
    sem_init(&f->stalled, 0, 0);
    sem_init(&f->release, 0, 0);
    sem_init(&f->closed, 0, 0);
    char err[200];
    f->m = daemon_metrics_start(&f->loop, addr, fake_render, f, err, sizeof err);
    REQUIRE(f->m);
    REQUIRE(pthread_create(&f->thread, NULL, loop_main, f) == 0);
}

static void fake_send(fake *f, int cmd)
{
    f->cmd = cmd;
    uv_async_send(&f->ctl);
}

static void fake_stop(fake *f)
{
    fake_send(f, CMD_CLOSE);
    sem_wait(&f->closed);
    pthread_join(f->thread, NULL);
    CHECK(uv_loop_close(&f->loop) == 0);   /* every handle closed, the server freed */
    sem_destroy(&f->stalled);
    sem_destroy(&f->release);
    sem_destroy(&f->closed);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One HTTP/1.0 request, the whole answer read to EOF (10 s bound on each
 * read, far over any answer here). Returns the status; *body points into
 * resp. */
static int http(const char *addr, const char *method, const char *path, char *resp, size_t len, const char **body)
{
    char host[64];
    unsigned port;
    REQUIRE(sscanf(addr, "%63[^:]:%u", host, &port) == 2);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &sa.sin_addr);
    REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: %s\r\n\r\n", method, path, addr);
    REQUIRE(write(fd, req, (size_t)n) == n);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < len && (r = read(fd, resp + got, len - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    const char *b = strstr(resp, "\r\n\r\n");
    *body = b ? b + 4 : resp + got;
    return status;
}

static void test_server(void)
{
    fake f;
    fake_start(&f, "127.0.0.1:0");
    const char *addr = daemon_metrics_addr_text(f.m);
    CHECKF(strncmp(addr, "127.0.0.1:", 10) == 0 && strcmp(addr, "127.0.0.1:0") != 0, "%s", addr);

    static char resp[1 << 16];
    const char *body;
    CHECK_EQ_INT(http(addr, "GET", "/metrics", resp, sizeof resp, &body), 200);
    CHECK(strstr(resp, "text/plain; version=0.0.4"));
    CHECKF(parse_exposition(body) == 3, "%s", body);
    python_parse(body);
    CHECK_EQ_INT(sample(body, "fake_renders_total"), 1);
    CHECK_EQ_INT(sample(body, "moonlist_metrics_stale"), 0);
    /* each scrape renders anew */
    CHECK_EQ_INT(http(addr, "GET", "/metrics", resp, sizeof resp, &body), 200);
    CHECK_EQ_INT(sample(body, "fake_renders_total"), 2);

    CHECK_EQ_INT(http(addr, "GET", "/", resp, sizeof resp, &body), 404);
    CHECK_EQ_INT(http(addr, "POST", "/metrics", resp, sizeof resp, &body), 405);

    /* a stuck loop: the scrape answers within the bound, with the last
     * numbers, marked stale */
    fake_send(&f, CMD_STALL);
    sem_wait(&f.stalled);
    double t0 = now_s();
    CHECK_EQ_INT(http(addr, "GET", "/metrics", resp, sizeof resp, &body), 200);
    double took = now_s() - t0;
    CHECKF(took >= DAEMON_METRICS_WAIT_MS / 1000.0 - 0.05 && took < DAEMON_METRICS_WAIT_MS / 1000.0 + 1.5,
           "stale scrape took %.3f s", took);
    CHECK_EQ_INT(sample(body, "fake_renders_total"), 2);
    CHECK_EQ_INT(sample(body, "moonlist_metrics_stale"), 1);
    CHECK_EQ_INT(sample(body, "moonlist_metrics_stale_scrapes_total"), 1);
    CHECK(parse_exposition(body) == 3);
    sem_post(&f.release);
    /* back: fresh again */
    CHECK_EQ_INT(http(addr, "GET", "/metrics", resp, sizeof resp, &body), 200);
    CHECK(sample(body, "fake_renders_total") >= 3);
    CHECK_EQ_INT(sample(body, "moonlist_metrics_stale"), 0);

    /* nothing to say (shutting down): the last numbers, stale, at once */
    f.refuse = true;
    t0 = now_s();
    CHECK_EQ_INT(http(addr, "GET", "/metrics", resp, sizeof resp, &body), 200);
    CHECKF(now_s() - t0 < DAEMON_METRICS_WAIT_MS / 1000.0 / 2, "took %.3f s", now_s() - t0);
    CHECK_EQ_INT(sample(body, "moonlist_metrics_stale"), 1);
    fake_stop(&f);

    /* never rendered: 503 */
    fake_start(&f, "127.0.0.1:0");
    f.refuse = true;
    CHECK_EQ_INT(http(daemon_metrics_addr_text(f.m), "GET", "/metrics", resp, sizeof resp, &body), 503);
    fake_stop(&f);
}

static void test_bad_addresses(void)
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    char err[200];
    CHECK(!daemon_metrics_start(&loop, "127.0.0.1", fake_render, NULL, err, sizeof err) && strstr(err, "host:port"));
    CHECK(!daemon_metrics_start(&loop, "localhost:9", fake_render, NULL, err, sizeof err) &&
          strstr(err, "not an IP address"));
    CHECK(!daemon_metrics_start(&loop, "127.0.0.1:99999", fake_render, NULL, err, sizeof err));
    /* the flag's check: the same words, nothing bound */
    CHECK(daemon_metrics_addr_check("127.0.0.1:9100", err, sizeof err) == 0);
    CHECK(daemon_metrics_addr_check("[::1]:0", err, sizeof err) == 0);
    CHECK(daemon_metrics_addr_check(":9100", err, sizeof err) < 0 && strstr(err, "host:port"));
    CHECK(daemon_metrics_addr_check("[::1]", err, sizeof err) < 0 && strstr(err, "host:port"));
    CHECK(daemon_metrics_addr_check("example.com:80", err, sizeof err) < 0 && strstr(err, "not an IP address"));
    /* a port in use says so */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    CHECKF(!daemon_metrics_start(&loop, addr, fake_render, NULL, err, sizeof err) && strstr(err, "in use"), "%s",
           err);
    close(fd);
    /* IPv6 literal, when the machine has ::1 */
    daemon_metrics *m = daemon_metrics_start(&loop, "[::1]:0", fake_render, NULL, err, sizeof err);
    if (m) {
        CHECKF(strncmp(daemon_metrics_addr_text(m), "[::1]:", 6) == 0, "%s", daemon_metrics_addr_text(m));
        daemon_metrics_close(m);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

int main(void)
{
    test_render();
    test_render_lua();
    test_server();
    test_bad_addresses();
    return check_done("test_metrics");
}
