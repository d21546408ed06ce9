#include "daemon/daemon_rpc_server.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_rpc.h"
#include "net/net.h"
#include "wire/wire_buf.h"

/* A request is a few hundred bytes; a client that has not sent one in 10 s
 * is stuck or hostile. */
#define CLI_RPC_REQUEST_TIMEOUT_MS 10000
/* Requests are small (a join list at most): 1 MiB bounds what a local
 * client can make us buffer. */
#define CLI_RPC_MAX_REQUEST ((size_t)1 << 20)

struct daemon_rpc_server {
    uv_tcp_t tcp;
    uv_loop_t *loop;
    daemon_rpc_request_fn fn;
    void *ud;
    daemon_rpc_conn *conns;
    bool closing;
};

struct daemon_rpc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    daemon_rpc_server *srv;
    daemon_rpc_conn *prev, *next;
    int open_handles;
    bool handed;       /* the request went to the agent, reply pending */
    bool replied;
    bool closed;
    wire_buf in;
    wire_buf out;
};

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
    c->srv = NULL;
}

static void maybe_free(daemon_rpc_conn *c)
{
    /* a request handed to the agent keeps its conn until the reply */
    if (c->open_handles == 0 && (!c->handed || c->replied)) {
        conn_unlink(c);
        wire_buf_free(&c->in);
        wire_buf_free(&c->out);
        free(c);
    }
}

static void on_close(uv_handle_t *h)
{
    daemon_rpc_conn *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

static void conn_close(daemon_rpc_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    uv_close((uv_handle_t *)&c->tcp, on_close);
    uv_close((uv_handle_t *)&c->timer, on_close);
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    daemon_rpc_conn *c = h->data;
    if (wire_buf_reserve(&c->in, 4096) != 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    daemon_rpc_conn *c = s->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        uv_read_stop(s);
        if (!c->handed)
            conn_close(c);
        return;   /* if handed: the reply will find the client gone */
    }
    c->in.len += (size_t)nread;
    if (c->in.len < 4)
        return;
    size_t len = (size_t)c->in.data[0] << 24 | (size_t)c->in.data[1] << 16 | (size_t)c->in.data[2] << 8 | c->in.data[3];
    if (len == 0 || len > CLI_RPC_MAX_REQUEST) {
        conn_close(c);
        return;
    }
    if (c->in.len < 4 + len)
        return;
    if (c->in.len > 4 + len) {   /* one request per connection */
        conn_close(c);
        return;
    }
    uv_read_stop(s);
    uv_timer_stop(&c->timer);
    c->handed = true;
    c->srv->fn(c->srv->ud, c, c->in.data + 4, len);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

void daemon_rpc_reply(daemon_rpc_conn *c, const uint8_t *resp, size_t len)
{
    if (c->replied)
        return;
    c->replied = true;
    if (c->closed) {
        maybe_free(c);
        return;
    }
    uint8_t hdr[4];
    daemon_rpc_put_len(hdr, len);
    if (wire_buf_append(&c->out, hdr, 4) != 0 || wire_buf_append(&c->out, resp, len) != 0) {
        conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    daemon_rpc_server *s = server->data;
    if (status < 0 || s->closing)
        return;
    daemon_rpc_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    wire_buf_init(&c->in, CLI_RPC_MAX_REQUEST + 4);
    wire_buf_init(&c->out, DAEMON_RPC_MAX_FRAME + 4);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->srv = s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, CLI_RPC_REQUEST_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

daemon_rpc_server *daemon_rpc_server_start(uv_loop_t *loop, const char *host, uint16_t port, daemon_rpc_request_fn fn,
                                     void *ud, char *err, size_t errlen)
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
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->fn = fn;
    s->ud = ud;
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    int rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, 16, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen for RPC on %s:%u: %s", host, port, uv_strerror(rc));
        daemon_rpc_server_close(s);
        return NULL;
    }
    return s;
}

static void on_server_close(uv_handle_t *h)
{
    free(h->data);
}

void daemon_rpc_server_close(daemon_rpc_server *s)
{
    if (s->closing)
        return;
    s->closing = true;
    for (daemon_rpc_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    /* conns outlive the server only as pending replies; detach them */
    while (s->conns)
        conn_unlink(s->conns);
    uv_close((uv_handle_t *)&s->tcp, on_server_close);
}
