/* daemon_metrics: the HTTP side of the metrics (libmicrohttpd's thread)
 * and the protocol loop's side (a uv_async_t), meeting under one mutex
 * (daemon_metrics.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_metrics.h"
#include "daemon/daemon_mhd.h"
#include "net/net.h"

/* Prometheus' text format, version 0.0.4 */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct daemon_metrics {
    uv_async_t async;              /* the loop's side: render now */
    daemon_metrics_render_fn render;
    void *ud;
    const daemon_mhd *mhd;         /* libmicrohttpd, loaded at start */
    struct MHD_Daemon *httpd;
    char addr_text[80];

    pthread_mutex_t mu;            /* guards everything below */
    pthread_cond_t cv;             /* a rendering arrived, or closing */
    uint64_t asked;                /* generation last asked for by a scrape */
    uint64_t answered;             /* generation the loop last answered, rendered or not */
    uint64_t rendered;             /* generation of `text` */
    wire_buf text;                 /* the last good rendering (len 0: none yet) */
    bool closing;
    uint64_t stale_scrapes;        /* answered with an old rendering */
};

/* ---- the protocol loop's side ------------------------------------------ */

static void on_async(uv_async_t *h)
{
    daemon_metrics *m = h->data;
    pthread_mutex_lock(&m->mu);
    uint64_t gen = m->asked;       /* sends coalesce: this covers every ask so far */
    pthread_mutex_unlock(&m->mu);
    if (gen == 0)
        return;
    wire_buf fresh;
    wire_buf_init(&fresh, DAEMON_METRICS_MAX_TEXT);
    int rc = m->render(m->ud, &fresh);
    pthread_mutex_lock(&m->mu);
    if (rc == 0 && fresh.len > 0) {
        wire_buf old = m->text;
        m->text = fresh;
        fresh = old;               /* freed below, outside the lock's work */
        m->rendered = gen;
    }
    m->answered = gen;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    wire_buf_free(&fresh);
}

/* ---- the HTTP thread's side --------------------------------------------- */

static void deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static enum MHD_Result answer(const daemon_mhd *mhd, struct MHD_Connection *conn, unsigned status, const char *body,
                              size_t len)
{
    struct MHD_Response *r = mhd->create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    mhd->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain");
    enum MHD_Result rc = mhd->queue_response(conn, status, r);
    mhd->destroy_response(r);
    return rc;
}

/* The rendering plus our own two families, which only this side knows. */
static enum MHD_Result serve_metrics(daemon_metrics *m, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&m->mu);
    uint64_t gen = ++m->asked;
    pthread_mutex_unlock(&m->mu);
    uv_async_send(&m->async);

    struct timespec until;
    deadline_in(&until, DAEMON_METRICS_WAIT_MS);
    pthread_mutex_lock(&m->mu);
    while (m->answered < gen && !m->closing)
        if (pthread_cond_timedwait(&m->cv, &m->mu, &until) == ETIMEDOUT)
            break;
    bool stale = m->rendered < gen;
    if (stale)
        m->stale_scrapes++;
    if (m->text.len == 0) {
        pthread_mutex_unlock(&m->mu);
        static const char msg[] = "the agent has not rendered its metrics yet (its protocol loop is busy)\n";
        return answer(m->mhd, conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, sizeof msg - 1);
    }
    char tail[400];
    int tn = snprintf(tail, sizeof tail,
                      "# HELP moonlist_metrics_stale 1 when the protocol loop did not answer this scrape in time: "
                      "these are its last numbers\n"
                      "# TYPE moonlist_metrics_stale gauge\nmoonlist_metrics_stale %d\n"
                      "# HELP moonlist_metrics_stale_scrapes_total scrapes answered with older numbers\n"
                      "# TYPE moonlist_metrics_stale_scrapes_total counter\n"
                      "moonlist_metrics_stale_scrapes_total %llu\n",
                      stale ? 1 : 0, (unsigned long long)m->stale_scrapes);
    size_t n = m->text.len;
    char *body = malloc(n + (size_t)tn);
    if (body) {
        memcpy(body, m->text.data, n);
        memcpy(body + n, tail, (size_t)tn);
    }
    pthread_mutex_unlock(&m->mu);
    if (!body)
        return MHD_NO;   /* libmicrohttpd closes the connection */
    struct MHD_Response *r = m->mhd->create_response_from_buffer(n + (size_t)tn, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    m->mhd->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    enum MHD_Result rc = m->mhd->queue_response(conn, MHD_HTTP_OK, r);
    m->mhd->destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    daemon_metrics *m = cls;
    (void)version;
    (void)upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "only GET\n";
        return answer(m->mhd, conn, MHD_HTTP_METHOD_NOT_ALLOWED, msg, sizeof msg - 1);
    }
    if (*upload_data_size) {   /* a GET with a body: ignore the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    (void)con_cls;
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "moonlist serves its metrics at /metrics\n";
        return answer(m->mhd, conn, MHD_HTTP_NOT_FOUND, msg, sizeof msg - 1);
    }
    return serve_metrics(m, conn);
}

/* ---- start and close ---------------------------------------------------- */

static int parse_addr(const char *addr, swim_addr *ip, char *err, size_t errlen)
{
    char host[256];
    uint16_t port = 0;
    const char *bracket = strrchr(addr, ']');
    const char *colon = strrchr(bracket ? bracket : addr, ':');
    if (!colon || net_split_host_port(addr, host, sizeof host, &port, 0) < 0) {
        snprintf(err, errlen, "'%s' is not host:port", addr);
        return -1;
    }
    if (net_parse_ip(host, port, ip) < 0) {
        snprintf(err, errlen, "'%s' is not an IP address", host);
        return -1;
    }
    return 0;
}

int daemon_metrics_addr_check(const char *addr, char *err, size_t errlen)
{
    swim_addr ip;
    return parse_addr(addr, &ip, err, errlen);
}

/* Bind and listen ourselves, so that the error says why and port 0 is
 * known; libmicrohttpd takes the socket over (and closes it). */
static int listen_on(const char *addr, char *text, size_t textlen, char *err, size_t errlen)
{
    swim_addr ip;
    if (parse_addr(addr, &ip, err, errlen) < 0)
        return -1;
    uint16_t port = ip.port;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (ip.ip_len == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, ip.ip, 4);
        sl = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, ip.ip, 16);
        sl = sizeof *s6;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                             : ((struct sockaddr_in6 *)&ss)->sin6_port);
    char iptext[64];
    net_addr_ip_text(&ip, iptext, sizeof iptext);
    snprintf(text, textlen, ip.ip_len == 4 ? "%s:%u" : "[%s]:%u", iptext, port);
    return fd;
}

static void on_closed(uv_handle_t *h)
{
    daemon_metrics *m = h->data;
    wire_buf_free(&m->text);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

daemon_metrics *daemon_metrics_start(uv_loop_t *loop, const char *addr, daemon_metrics_render_fn render, void *ud,
                                     char *err, size_t errlen)
{
    /* before anything is bound: a missing library stops the agent as a
     * taken port does (daemon_mhd.h) */
    const daemon_mhd *mhd = daemon_mhd_load(err, errlen);
    if (!mhd)
        return NULL;
    daemon_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->mhd = mhd;
    m->render = render;
    m->ud = ud;
    wire_buf_init(&m->text, DAEMON_METRICS_MAX_TEXT);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* a wall-clock jump must not stretch the wait */
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&m->mu, NULL);
    int fd = listen_on(addr, m->addr_text, sizeof m->addr_text, err, errlen);
    if (fd < 0 || uv_async_init(loop, &m->async, on_async) < 0) {
        if (fd >= 0) {
            snprintf(err, errlen, "uv_async_init failed");
            close(fd);
        }
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    m->async.data = m;
    m->httpd = mhd->start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, m,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)DAEMON_METRICS_MAX_CONNS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)DAEMON_METRICS_IDLE_S,
                                 MHD_OPTION_END);
    if (!m->httpd) {
        snprintf(err, errlen, "libmicrohttpd would not start on %s", m->addr_text);
        close(fd);
        uv_close((uv_handle_t *)&m->async, on_closed);
        return NULL;
    }
    return m;
}

void daemon_metrics_close(daemon_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->closing = true;
    pthread_cond_broadcast(&m->cv);   /* a scrape waiting now answers at once */
    pthread_mutex_unlock(&m->mu);
    m->mhd->stop_daemon(m->httpd);    /* joins the HTTP thread: no async_send after this */
    uv_close((uv_handle_t *)&m->async, on_closed);
}

const char *daemon_metrics_addr_text(const daemon_metrics *m)
{
    return m->addr_text;
}
