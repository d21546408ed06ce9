#include "daemon/daemon_rpc_server.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "net/net.h"
#include "wire/wire_buf.h"

/* A log line on its way from any thread to the monitors. */
typedef struct log_line {
    base_log_level level;
    size_t len;
    char text[];
} log_line;

struct daemon_rpc_server {
    uv_tcp_t tcp;
    uv_async_t log_async;
    uv_loop_t *loop;
    daemon_rpc_request_fn fn;
    void *ud;
    char *auth;                /* NULL: no -rpc-auth */
    daemon_rpc_conn *conns;
    int open_handles;
    bool closing;
    int log_sub;               /* base_log subscriber, -1: none */
    pthread_mutex_t log_lock;  /* guards queue, nqueue, stats.log_lines_dropped */
    log_line *queue[DAEMON_RPC_LOG_QUEUE];
    size_t nqueue;
    log_line *backlog[DAEMON_RPC_LOG_BACKLOG];   /* a ring, oldest at backlog_at */
    size_t backlog_at, nbacklog;
    daemon_rpc_stats stats;
};

struct daemon_rpc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;          /* hello deadline, resume after a reply, flush deadline */
    daemon_rpc_server *srv;    /* NULL once the server closed */
    daemon_rpc_conn *prev, *next;
    int open_handles;
    bool closed;               /* uv_close called */
    bool finishing;            /* no more requests: close once flushed and answered */
    bool handshaken, authed;
    bool pending;              /* a request is with the agent */
    bool dispatching;          /* inside conn_process */
    daemon_rpc_cmd pending_cmd;
    uint64_t pending_seq;
    size_t queued;             /* bytes handed to uv_write, not written yet */
    wire_buf in;
    struct {
        uint64_t seq;
        unsigned mask;
        char *filter;          /* the Type as sent (owned): names of user:NAME, query:NAME */
        size_t filter_len;
    } streams[DAEMON_RPC_MAX_STREAMS];
    size_t nstreams;
    struct {
        uint64_t seq;          /* the `query` request's */
        uint64_t id;           /* serf_node's handle */
    } queries[DAEMON_RPC_MAX_QUERIES];
    size_t nqueries;
    bool monitoring;
    uint64_t monitor_seq;
    base_log_level monitor_level;
    char peer[64];
};

typedef struct out_req {
    uv_write_t w;
    size_t len;
    uint8_t data[];
} out_req;

static void conn_process(daemon_rpc_conn *c);

static void conn_unlink(daemon_rpc_conn *c)
{
    if (!c->srv)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->srv = NULL;
}

static void maybe_free(daemon_rpc_conn *c)
{
    /* a request with the agent keeps its conn until the reply */
    if (c->open_handles == 0 && !c->pending) {
        conn_unlink(c);
        wire_buf_free(&c->in);
        free(c);
    }
}

static void on_conn_close(uv_handle_t *h)
{
    daemon_rpc_conn *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

static void log_floor_update(daemon_rpc_server *s);

/* No more records for this connection. */
static void conn_stop_streams(daemon_rpc_conn *c)
{
    for (size_t i = 0; i < c->nstreams; i++)
        free(c->streams[i].filter);
    c->nstreams = 0;
    c->nqueries = 0;
    if (c->monitoring) {
        c->monitoring = false;
        if (c->srv)
            log_floor_update(c->srv);
    }
}

static void conn_close(daemon_rpc_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    conn_stop_streams(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_close);
    uv_close((uv_handle_t *)&c->timer, on_conn_close);
}

static void on_timer(uv_timer_t *t);

/* A finishing connection closes once the agent has answered and all is
 * written, or DAEMON_RPC_FLUSH_MS after the answer if the client does not
 * read it. */
static void conn_maybe_finish(daemon_rpc_conn *c)
{
    if (!c->finishing || c->closed || c->pending)
        return;
    if (c->queued == 0)
        conn_close(c);
    else if (!uv_is_active((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timer, DAEMON_RPC_FLUSH_MS, 0);
}

/* No more requests from this connection (it sent its last, or something
 * we cannot frame); what it asked is still answered. */
static void conn_finish(daemon_rpc_conn *c)
{
    if (c->closed || c->finishing)
        return;
    c->finishing = true;
    conn_stop_streams(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    conn_maybe_finish(c);
}

static void on_written(uv_write_t *w, int status)
{
    out_req *o = (out_req *)w;
    daemon_rpc_conn *c = w->data;
    c->queued -= o->len;
    free(o);
    if (status < 0)
        conn_close(c);
    else
        conn_maybe_finish(c);
}

/* Queue a header and a body as one write. A client that left more than
 * DAEMON_RPC_OUT_MAX unread is dropped instead. */
static void conn_write(daemon_rpc_conn *c, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (c->closed)
        return;
    if (c->queued > DAEMON_RPC_OUT_MAX) {
        if (c->srv)
            c->srv->stats.slow_dropped++;
        base_log(BASE_LOG_WARN, "rpc: dropped client %s: %zu bytes unread (a stream it does not read)", c->peer,
                 c->queued);
        conn_close(c);
        return;
    }
    out_req *o = malloc(sizeof *o + alen + blen);
    if (!o) {
        conn_close(c);
        return;
    }
    memcpy(o->data, a, alen);
    if (blen)
        memcpy(o->data + alen, b, blen);
    o->len = alen + blen;
    o->w.data = c;
    uv_buf_t buf = uv_buf_init((char *)o->data, (unsigned)o->len);
    c->queued += o->len;
    if (uv_write(&o->w, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        c->queued -= o->len;
        free(o);
        conn_close(c);
    }
}

/* A response: header {Error, Seq}, then the body if any. */
/* A wire_buf on the caller's memory: cap == max, so it never reallocates
 * (an append past it is WIRE_ELIMIT), and nothing is freed. */
#define STACK_BUF(mem) { .data = (mem), .cap = sizeof(mem), .max = sizeof(mem) }

static void conn_respond(daemon_rpc_conn *c, uint64_t seq, const char *error, const uint8_t *body, size_t len)
{
    uint8_t hdr[64 + 1024];
    wire_buf b = STACK_BUF(hdr);
    wire_mp_writer w;
    wire_mp_writer_init(&w, &b);
    daemon_rpc_put_response_header(&w, seq, error);
    if (wire_mp_finish(&w) != WIRE_OK) {   /* an error text over 1 KiB: a bug */
        conn_close(c);
        return;
    }
    conn_write(c, b.data, b.len, body, len);
}

/* ---- the log subscriber: any thread -> this loop -> monitors ------------ */

static void on_log_line(void *ud, base_log_level level, const char *line, size_t len)
{
    daemon_rpc_server *s = ud;   /* base_log's lock is held: no logging here */
    log_line *l = NULL;
    pthread_mutex_lock(&s->log_lock);
    if (s->nqueue < DAEMON_RPC_LOG_QUEUE && (l = malloc(sizeof *l + len + 1)) != NULL) {
        l->level = level;
        l->len = len;
        memcpy(l->text, line, len);
        l->text[len] = '\0';
        s->queue[s->nqueue++] = l;
    } else {
        s->stats.log_lines_dropped++;
    }
    pthread_mutex_unlock(&s->log_lock);
    if (l)
        uv_async_send(&s->log_async);
}

/* {Log: line} under the monitor's Seq. */
static void monitor_send(daemon_rpc_conn *c, const log_line *l)
{
    uint8_t rec[1200];
    wire_buf b = STACK_BUF(rec);
    wire_mp_writer w;
    wire_mp_container m;
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "Log");
    wire_mp_pack_raw(&w, l->text, l->len);
    wire_mp_map_end(&w, &m);
    if (wire_mp_finish(&w) == WIRE_OK)   /* lines are at most ~1.1 KiB: always */
        conn_respond(c, c->monitor_seq, NULL, b.data, b.len);
}

/* What the subscriber must see: the agent's own level (for the backlog)
 * and every monitor's. */
static void log_floor_update(daemon_rpc_server *s)
{
    base_log_level floor = base_log_get_level();
    for (daemon_rpc_conn *c = s->conns; c; c = c->next)
        if (c->monitoring && c->monitor_level < floor)
            floor = c->monitor_level;
    base_log_subscriber_level(s->log_sub, floor);
}

static void on_log_async(uv_async_t *h)
{
    daemon_rpc_server *s = h->data;
    log_line *lines[DAEMON_RPC_LOG_QUEUE];
    pthread_mutex_lock(&s->log_lock);
    size_t n = s->nqueue;
    memcpy(lines, s->queue, n * sizeof lines[0]);
    s->nqueue = 0;
    pthread_mutex_unlock(&s->log_lock);
    for (size_t i = 0; i < n; i++) {
        log_line *l = lines[i];
        for (daemon_rpc_conn *c = s->conns; c; c = c->next)
            if (c->monitoring && l->level >= c->monitor_level)
                monitor_send(c, l);
        /* into the ring, in place of the oldest */
        size_t at = (s->backlog_at + s->nbacklog) % DAEMON_RPC_LOG_BACKLOG;
        if (s->nbacklog == DAEMON_RPC_LOG_BACKLOG) {
            free(s->backlog[s->backlog_at]);
            s->backlog_at = (s->backlog_at + 1) % DAEMON_RPC_LOG_BACKLOG;
        } else {
            s->nbacklog++;
        }
        s->backlog[at] = l;
    }
}

/* ---- the connection's own commands ------------------------------------- */

static bool hello_done(const daemon_rpc_conn *c)
{
    return c->handshaken && (c->authed || !c->srv->auth);
}

static void handle_handshake(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    const char *err = NULL;
    if (req->version != DAEMON_RPC_VERSION)
        err = DAEMON_RPC_E_VERSION;
    else if (c->handshaken)
        err = DAEMON_RPC_E_DUP_HANDSHAKE;
    else
        c->handshaken = true;
    conn_respond(c, req->seq, err, NULL, 0);
}

/* Equal or not in a time that does not depend on where they differ (as
 * serf's subtle.ConstantTimeCompare): an auth key is not guessed byte by
 * byte. */
static bool same_bytes(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

static void handle_auth(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    /* as serf: the key must equal ours, "" when we have none */
    const char *key = c->srv->auth ? c->srv->auth : "";
    size_t klen = strlen(key);
    if (req->auth_key.n == klen && same_bytes(req->auth_key.p, key, klen)) {
        c->authed = true;
        conn_respond(c, req->seq, NULL, NULL, 0);
    } else {
        c->srv->stats.auth_failures++;
        base_log(BASE_LOG_WARN, "rpc: client %s: invalid auth key", c->peer);
        conn_respond(c, req->seq, DAEMON_RPC_E_AUTH_INVALID, NULL, 0);
    }
}

static void handle_stream(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    unsigned mask;
    const char *err = NULL;
    if (daemon_rpc_parse_filter(req->type, &mask) < 0)
        err = DAEMON_RPC_E_FILTER;
    for (size_t i = 0; !err && i < c->nstreams; i++)
        if (c->streams[i].seq == req->seq)
            err = DAEMON_RPC_E_STREAM_EXISTS;
    if (!err && c->nstreams == DAEMON_RPC_MAX_STREAMS)
        err = "Too many streams on one connection";
    char *filter = NULL;
    if (!err && !(filter = malloc(req->type.n + 1)))
        err = "out of memory";
    conn_respond(c, req->seq, err, NULL, 0);
    if (!err) {
        if (req->type.n)
            memcpy(filter, req->type.p, req->type.n);
        c->streams[c->nstreams].seq = req->seq;
        c->streams[c->nstreams].mask = mask;
        c->streams[c->nstreams].filter = filter;
        c->streams[c->nstreams].filter_len = req->type.n;
        c->nstreams++;
    }
}

static void handle_monitor(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    daemon_rpc_server *s = c->srv;
    char err[80];
    base_log_level level;
    if (daemon_rpc_parse_log_level(req->log_level, &level, err, sizeof err) < 0) {
        conn_respond(c, req->seq, err, NULL, 0);
        return;
    }
    if (c->monitoring) {
        conn_respond(c, req->seq, DAEMON_RPC_E_MONITOR_EXISTS, NULL, 0);
        return;
    }
    conn_respond(c, req->seq, NULL, NULL, 0);
    c->monitoring = true;
    c->monitor_seq = req->seq;
    c->monitor_level = level;
    for (size_t i = 0; i < s->nbacklog && c->monitoring; i++) {
        const log_line *l = s->backlog[(s->backlog_at + i) % DAEMON_RPC_LOG_BACKLOG];
        if (l->level >= level)
            monitor_send(c, l);
    }
    log_floor_update(s);
}

static void handle_stop(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    if (c->monitoring && c->monitor_seq == req->stop) {
        c->monitoring = false;
        log_floor_update(c->srv);
    }
    for (size_t i = 0; i < c->nstreams; i++) {
        if (c->streams[i].seq == req->stop) {
            free(c->streams[i].filter);
            c->streams[i] = c->streams[--c->nstreams];
            break;
        }
    }
    conn_respond(c, req->seq, NULL, NULL, 0);   /* always succeeds, as serf */
}

/* The commands the connection answers itself; the rest go to the agent. */
static void (*const own_commands[DAEMON_RPC_NCMDS])(daemon_rpc_conn *c, const daemon_rpc_request *req) = {
    [DAEMON_RPC_CMD_HANDSHAKE] = handle_handshake,
    [DAEMON_RPC_CMD_AUTH] = handle_auth,
    [DAEMON_RPC_CMD_STREAM] = handle_stream,
    [DAEMON_RPC_CMD_MONITOR] = handle_monitor,
    [DAEMON_RPC_CMD_STOP] = handle_stop,
};

/* One request: the connection's own, or the agent's. */
static void conn_dispatch(daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    daemon_rpc_server *s = c->srv;
    s->stats.requests++;
    /* serf's order: handshake, auth, then the command. After an unknown
     * command nothing more can be framed (has it a body?): finish. */
    if (!c->handshaken && req->cmd != DAEMON_RPC_CMD_HANDSHAKE) {
        conn_respond(c, req->seq, DAEMON_RPC_E_HANDSHAKE, NULL, 0);
        conn_finish(c);
        return;
    }
    if (s->auth && !c->authed && req->cmd != DAEMON_RPC_CMD_HANDSHAKE && req->cmd != DAEMON_RPC_CMD_AUTH) {
        /* serf's client reads no body after this error */
        s->stats.auth_failures++;
        conn_respond(c, req->seq, DAEMON_RPC_E_AUTH_REQUIRED, NULL, 0);
        if (req->cmd == DAEMON_RPC_CMD_UNKNOWN)
            conn_finish(c);
        return;
    }
    if (req->cmd == DAEMON_RPC_CMD_UNKNOWN) {
        base_log(BASE_LOG_DEBUG, "rpc: client %s: unsupported command '%.*s'", c->peer, (int)req->command.n,
                 (const char *)req->command.p);
        conn_respond(c, req->seq, DAEMON_RPC_E_UNSUPPORTED, NULL, 0);
        conn_finish(c);
        return;
    }
    if (own_commands[req->cmd]) {
        own_commands[req->cmd](c, req);
    } else {
        c->pending = true;
        c->pending_cmd = req->cmd;
        c->pending_seq = req->seq;
        s->fn(s->ud, c, req);
    }
    if (c->srv && !c->finishing && hello_done(c))
        uv_timer_stop(&c->timer);
}

void daemon_rpc_reply(daemon_rpc_conn *c, const char *error, const uint8_t *body, size_t len)
{
    if (!c->pending)
        return;
    c->pending = false;
    if (c->closed) {
        maybe_free(c);
        return;
    }
    if (!body && daemon_rpc_cmd_replies_body(c->pending_cmd)) {
        body = (const uint8_t *)"\x80";   /* serf's client reads a body even after an error */
        len = 1;
    }
    if (!daemon_rpc_cmd_replies_body(c->pending_cmd))
        len = 0;
    conn_respond(c, c->pending_seq, error && error[0] ? error : NULL, body, len);
    if (c->finishing)
        conn_maybe_finish(c);   /* the client sent its last request */
    else if (!c->dispatching && !c->closed)
        /* the next request from the loop: this may run inside the core
         * (a join's end), where no request may be served */
        uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* Serve the complete requests in the input, until one goes to the agent
 * and waits there. */
static void conn_process(daemon_rpc_conn *c)
{
    size_t off = 0;
    c->dispatching = true;
    while (!c->closed && !c->finishing && !c->pending && c->srv) {
        daemon_rpc_request req;
        size_t used;
        daemon_rpc_parse pr = daemon_rpc_decode_request(c->in.data + off, c->in.len - off, &req, &used);
        if (pr == DAEMON_RPC_PARTIAL) {
            if (c->in.len - off >= DAEMON_RPC_MAX_REQUEST) {
                c->srv->stats.malformed++;
                base_log(BASE_LOG_WARN, "rpc: client %s: a request over %zu bytes", c->peer, DAEMON_RPC_MAX_REQUEST);
                conn_close(c);
            }
            break;
        }
        if (pr == DAEMON_RPC_BAD) {
            c->srv->stats.malformed++;
            base_log(BASE_LOG_WARN, "rpc: client %s: not a request header: dropped", c->peer);
            conn_close(c);
            break;
        }
        if (pr == DAEMON_RPC_BAD_BODY) {
            char err[120];
            c->srv->stats.malformed++;
            snprintf(err, sizeof err, "malformed body for '%s'", daemon_rpc_cmd_name(req.cmd));
            base_log(BASE_LOG_WARN, "rpc: client %s: %s: dropped", c->peer, err);
            conn_respond(c, req.seq, err, NULL, 0);
            conn_finish(c);
            break;
        }
        off += used;
        conn_dispatch(c, &req);
    }
    c->dispatching = false;
    if (off) {
        memmove(c->in.data, c->in.data + off, c->in.len - off);
        c->in.len -= off;
    }
    if (c->closed || c->finishing)
        return;
    /* a request with the agent: read nothing more until it is answered */
    if (c->pending)
        uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    daemon_rpc_conn *c = h->data;
    if (wire_buf_reserve(&c->in, 16384) != 0) {
        buf->base = NULL;   /* UV_ENOBUFS follows: the request is too big */
        buf->len = 0;
        return;
    }
    buf->base = (char *)c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    daemon_rpc_conn *c = st->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_ENOBUFS && c->srv)
            c->srv->stats.malformed++;
        /* the client is done sending: answer what it asked, then close */
        conn_finish(c);
        return;
    }
    c->in.len += (size_t)nread;
    conn_process(c);
}

static void on_timer(uv_timer_t *t)
{
    daemon_rpc_conn *c = t->data;
    if (c->finishing) {   /* the flush deadline */
        conn_close(c);
    } else if (!c->srv) {
        conn_close(c);
    } else if (!hello_done(c)) {
        base_log(BASE_LOG_DEBUG, "rpc: client %s: no handshake in %d ms", c->peer, DAEMON_RPC_HELLO_TIMEOUT_MS);
        conn_close(c);
    } else if (!c->pending) {   /* resume after an answer that came later */
        conn_process(c);
        if (!c->closed && !c->finishing && !c->pending &&
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
            conn_close(c);
    }
}

static void peer_text(daemon_rpc_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    swim_addr a = { .ip_len = 0 };
    char ip[64];
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        a.ip_len = 4;
        memcpy(a.ip, &s4->sin_addr, 4);
        a.port = ntohs(s4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        a.ip_len = 16;
        memcpy(a.ip, &s6->sin6_addr, 16);
        a.port = ntohs(s6->sin6_port);
    } else {
        return;
    }
    net_addr_ip_text(&a, ip, sizeof ip);
    snprintf(c->peer, sizeof c->peer, a.ip_len == 16 ? "[%s]:%u" : "%s:%u", ip, a.port);
}

static void on_connection(uv_stream_t *server, int status)
{
    daemon_rpc_server *s = server->data;
    if (status < 0 || s->closing)
        return;
    daemon_rpc_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    wire_buf_init(&c->in, DAEMON_RPC_MAX_REQUEST + 16384);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->srv = s;
    size_t open = 0;
    for (daemon_rpc_conn *o = s->conns; o; o = o->next)
        open += !o->closed;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    peer_text(c);
    if (open >= DAEMON_RPC_MAX_CONNS) {
        s->stats.refused++;
        base_log(BASE_LOG_WARN, "rpc: client %s refused: %d connections open", c->peer, DAEMON_RPC_MAX_CONNS);
        conn_close(c);
        return;
    }
    s->stats.accepted++;
    base_log(BASE_LOG_DEBUG, "rpc: accepted client %s", c->peer);
    uv_timer_start(&c->timer, on_timer, DAEMON_RPC_HELLO_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

static void on_server_close(uv_handle_t *h)
{
    daemon_rpc_server *s = h->data;
    if (--s->open_handles > 0)
        return;
    pthread_mutex_destroy(&s->log_lock);
    free(s->auth);
    free(s);
}

daemon_rpc_server *daemon_rpc_server_start(uv_loop_t *loop, const char *host, uint16_t port, const char *auth_key,
                                           daemon_rpc_request_fn fn, void *ud, char *err, size_t errlen)
{
    swim_addr a;
    struct sockaddr_storage ss;
    if (net_parse_ip(host, port, &a) < 0) {
        snprintf(err, errlen, "RPC address '%s' is not an IP address", host);
        return NULL;
    }
    memset(&ss, 0, sizeof ss);
    if (a.ip_len == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a.ip, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, a.ip, 16);
    }
    daemon_rpc_server *s = calloc(1, sizeof *s);
    if (!s || (auth_key && auth_key[0] && !(s->auth = strdup(auth_key)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->fn = fn;
    s->ud = ud;
    s->log_sub = -1;
    pthread_mutex_init(&s->log_lock, NULL);
    uv_tcp_init(loop, &s->tcp);
    uv_async_init(loop, &s->log_async, on_log_async);
    s->tcp.data = s->log_async.data = s;
    s->open_handles = 2;
    int rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, 16, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen for RPC on %s:%u: %s", host, port, uv_strerror(rc));
        daemon_rpc_server_close(s);
        return NULL;
    }
    s->log_sub = base_log_subscribe(on_log_line, s, base_log_get_level());
    if (s->log_sub < 0)
        base_log(BASE_LOG_WARN, "rpc: no log subscriber slot left: monitors get no lines");
    return s;
}

void daemon_rpc_server_close(daemon_rpc_server *s)
{
    if (s->closing)
        return;
    s->closing = true;
    /* no line is queued after this returns: the queue and ring are ours */
    base_log_unsubscribe(s->log_sub);
    s->log_sub = -1;
    for (size_t i = 0; i < s->nqueue; i++)
        free(s->queue[i]);
    s->nqueue = 0;
    for (size_t i = 0; i < s->nbacklog; i++)
        free(s->backlog[(s->backlog_at + i) % DAEMON_RPC_LOG_BACKLOG]);
    s->nbacklog = 0;
    /* what is answered goes out (the `leave` reply); a request still with
     * the agent (a join) will not be answered now */
    for (daemon_rpc_conn *c = s->conns; c; c = c->next) {
        if (c->pending)
            conn_close(c);
        else
            conn_finish(c);
    }
    /* conns outlive the server only to flush or to wait for a reply */
    while (s->conns)
        conn_unlink(s->conns);
    uv_close((uv_handle_t *)&s->tcp, on_server_close);
    uv_close((uv_handle_t *)&s->log_async, on_server_close);
}

/* Send one record (a body built once) to every stream that takes it. */
static void streams_send(daemon_rpc_server *s, unsigned bit, wire_bytes name, const wire_buf *b)
{
    for (daemon_rpc_conn *c = s->conns; c; c = c->next) {
        for (size_t i = 0; i < c->nstreams && !c->closed; i++) {
            wire_bytes type = { (const uint8_t *)c->streams[i].filter, c->streams[i].filter_len };
            if ((c->streams[i].mask & bit) && daemon_rpc_filter_takes(type, bit, name))
                conn_respond(c, c->streams[i].seq, NULL, b->data, b->len);
        }
    }
}

static bool streams_want(const daemon_rpc_server *s, unsigned bit)
{
    for (const daemon_rpc_conn *c = s->conns; c; c = c->next)
        for (size_t i = 0; i < c->nstreams; i++)
            if (c->streams[i].mask & bit)
                return true;
    return false;
}

void daemon_rpc_server_member_event(daemon_rpc_server *s, unsigned bit, const swim_member *m, const char *status)
{
    if (!streams_want(s, bit))
        return;
    /* {Event, Members: [member]}: one body for every stream */
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container rec, list;
    wire_buf_init(&b, 0);
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &rec);
    wire_mp_pack_cstr(&w, "Event");
    wire_mp_pack_cstr(&w, daemon_rpc_event_name(bit));
    wire_mp_pack_cstr(&w, "Members");
    wire_mp_array_begin(&w, &list);
    daemon_rpc_put_member(&w, m, status, false);
    wire_mp_array_end(&w, &list);
    wire_mp_map_end(&w, &rec);
    if (wire_mp_finish(&w) == WIRE_OK)
        streams_send(s, bit, (wire_bytes){ NULL, 0 }, &b);
    wire_buf_free(&b);
}

/* A []byte field as serf's IPC handle (WriteExt) writes it: bin, nil as
 * nil. */
static void put_bytes(wire_mp_writer *w, const char *key, wire_bytes v)
{
    wire_mp_pack_cstr(w, key);
    if (v.p)
        wire_mp_pack_bin(w, v.p, v.n);
    else
        wire_mp_pack_nil(w);
}

void daemon_rpc_server_user_event(daemon_rpc_server *s, wire_bytes name, wire_bytes payload, uint64_t ltime,
                                  bool coalesce)
{
    if (!streams_want(s, DAEMON_RPC_EV_USER))
        return;
    /* serf's userEventRecord, in its field order */
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container rec;
    wire_buf_init(&b, 0);
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &rec);
    wire_mp_pack_cstr(&w, "Event");
    wire_mp_pack_cstr(&w, "user");
    wire_mp_pack_cstr(&w, "LTime");
    wire_mp_pack_uint(&w, ltime);
    wire_mp_pack_cstr(&w, "Name");
    wire_mp_pack_raw(&w, name.p, name.n);
    put_bytes(&w, "Payload", payload);
    wire_mp_pack_cstr(&w, "Coalesce");
    wire_mp_pack_bool(&w, coalesce);
    wire_mp_map_end(&w, &rec);
    if (wire_mp_finish(&w) == WIRE_OK)
        streams_send(s, DAEMON_RPC_EV_USER, name, &b);
    wire_buf_free(&b);
}

void daemon_rpc_server_query_event(daemon_rpc_server *s, uint64_t id, wire_bytes name, wire_bytes payload,
                                   uint64_t ltime)
{
    if (!streams_want(s, DAEMON_RPC_EV_QUERY))
        return;
    /* serf's queryEventRecord */
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container rec;
    wire_buf_init(&b, 0);
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &rec);
    wire_mp_pack_cstr(&w, "Event");
    wire_mp_pack_cstr(&w, "query");
    wire_mp_pack_cstr(&w, "ID");
    wire_mp_pack_uint(&w, id);
    wire_mp_pack_cstr(&w, "LTime");
    wire_mp_pack_uint(&w, ltime);
    wire_mp_pack_cstr(&w, "Name");
    wire_mp_pack_raw(&w, name.p, name.n);
    put_bytes(&w, "Payload", payload);
    wire_mp_map_end(&w, &rec);
    if (wire_mp_finish(&w) == WIRE_OK)
        streams_send(s, DAEMON_RPC_EV_QUERY, name, &b);
    wire_buf_free(&b);
}

int daemon_rpc_conn_watch_query(daemon_rpc_conn *c, uint64_t seq, uint64_t id)
{
    if (c->nqueries == DAEMON_RPC_MAX_QUERIES)
        return -1;
    c->queries[c->nqueries].seq = seq;
    c->queries[c->nqueries].id = id;
    c->nqueries++;
    return 0;
}

void daemon_rpc_server_query_record(daemon_rpc_server *s, uint64_t id, const char *type, const char *from,
                                    wire_bytes payload)
{
    bool done = strcmp(type, "done") == 0;
    for (daemon_rpc_conn *c = s->conns; c; c = c->next) {
        for (size_t i = 0; i < c->nqueries; i++) {
            if (c->queries[i].id != id)
                continue;
            /* serf's queryRecord {Type, From, Payload} */
            wire_buf b;
            wire_buf_init(&b, 0);
            wire_mp_writer w;
            wire_mp_container rec;
            wire_mp_writer_init(&w, &b);
            wire_mp_map_begin(&w, &rec);
            wire_mp_pack_cstr(&w, "Type");
            wire_mp_pack_cstr(&w, type);
            wire_mp_pack_cstr(&w, "From");
            wire_mp_pack_cstr(&w, from ? from : "");
            put_bytes(&w, "Payload", payload);
            wire_mp_map_end(&w, &rec);
            if (wire_mp_finish(&w) == WIRE_OK && !c->closed)
                conn_respond(c, c->queries[i].seq, NULL, b.data, b.len);
            wire_buf_free(&b);
            if (done)
                c->queries[i--] = c->queries[--c->nqueries];
        }
    }
}

bool daemon_rpc_server_auth_required(const daemon_rpc_server *s)
{
    return s->auth != NULL;
}

void daemon_rpc_server_get_stats(daemon_rpc_server *s, daemon_rpc_stats *out)
{
    pthread_mutex_lock(&s->log_lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->log_lock);
    out->connections = out->streams = out->monitors = 0;
    for (daemon_rpc_conn *c = s->conns; c; c = c->next) {
        if (c->closed)
            continue;
        out->connections++;
        out->streams += c->nstreams;
        out->monitors += c->monitoring;
    }
}
