/* net: TCP streams. One request and at most one reply per connection
 * (§6): inbound ones are read with the incremental stream reader, handed to
 * the core, answered and closed; outbound ones carry a core request and
 * bring back its reply. Every connection has a deadline timer, re-armed at
 * each phase as memberlist sets its conn deadlines: an outbound push/pull
 * gets TCPTimeout to connect, another to write, another to read the reply
 * (sendAndReceiveState); an inbound one TCPTimeout to read the request
 * from the accept, another to write our reply (handleConn, then
 * sendLocalState). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "wire/wire_crypto_lib.h"
#include "wire/wire_msg.h"

/* memberlist's listen backlog is the Go default (the kernel's somaxconn,
 * 128 on older kernels): connections are accepted as fast as they come,
 * so the backlog only absorbs a burst. */
#define NET_TCP_BACKLOG 128

struct net_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    net *n;
    net_conn *prev, *next;
    int open_handles;
    bool inbound;
    bool finished;             /* outcome reported; only closing remains */
    bool want_reply;
    bool pushpull;             /* inbound: counted in n->pushpulls_in */
    const char *fail;          /* a failure found while opening, reported by the timer */
    uint32_t phase_ms;         /* each phase after the first ends this long after
                                  it starts (0: the first deadline is for it all) */
    uint64_t id;               /* outbound: the core's stream id */
    swim_addr peer;
    wire_stream_reader reader;
    wire_buf out;              /* framed bytes we write */
};

static void conn_free(net_conn *c)
{
    net *n = c->n;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->pushpull)
        n->pushpulls_in--;
    wire_stream_reader_free(&c->reader);
    wire_buf_free(&c->out);
    free(c);
    net_handle_close(n);
}

static void on_conn_handle_close(uv_handle_t *h)
{
    net_conn *c = h->data;
    if (--c->open_handles == 0)
        conn_free(c);
}

static void conn_close(net_conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_conn_handle_close);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_conn_handle_close);
}

/* Report an outbound stream's outcome to the core once. reply NULL: failed. */
static void conn_finish(net_conn *c, const uint8_t *reply, size_t len, const char *why)
{
    net *n = c->n;
    if (c->finished)
        return;
    c->finished = true;
    if (why) {
        char a[80];
        net_addr_text(&c->peer, a, sizeof a);
        n->counters.stream_errors++;
        if (c->inbound)
            net_log_noisy(n, BASE_LOG_INFO, "stream from %s: %s", a, why);
        else {
            net_logf(n, BASE_LOG_DEBUG, "stream to %s: %s", a, why);
            net_join_stream_failed(n, &c->peer, why);   /* a join's error names it */
        }
    }
    if (!c->inbound && c->want_reply && !n->closing)
        swim_stream_done(n->core, net_now(n), c->id, reply, len);
    conn_close(c);
}

static void on_deadline(uv_timer_t *t)
{
    net_conn *c = t->data;
    conn_finish(c, NULL, 0, c->fail ? c->fail : "deadline passed");
}

static void conn_arm(net_conn *c, swim_time end)
{
    swim_time now = net_now(c->n);
    uv_timer_start(&c->timer, on_deadline, end > now ? end - now : 0, 0);
}

/* A phase after the first starts (write, read): phase_ms from now, or
 * still the first deadline for a stream without phases. */
static void conn_next_phase(net_conn *c)
{
    if (c->phase_ms)
        conn_arm(c, net_now(c->n) + c->phase_ms);
}

static net_conn *conn_new(net *n, bool inbound, swim_time deadline, uint32_t phase_ms)
{
    net_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n = n;
    c->inbound = inbound;
    wire_stream_reader_init(&c->reader, &n->cfg.frame, inbound);
    wire_buf_init(&c->out, 0);
    if (uv_tcp_init(n->loop, &c->tcp) != 0) {
        wire_stream_reader_free(&c->reader);
        free(c);
        return NULL;
    }
    uv_timer_init(n->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->handles_open++;         /* the conn as a whole keeps net alive */
    c->phase_ms = phase_ms;
    conn_arm(c, deadline);
    return c;
}

void net_streams_close_all(net *n)
{
    for (net_conn *c = n->conns; c; c = c->next) {
        c->finished = true;
        conn_close(c);
    }
}

static void on_stream_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    net_rbuf_lend(((net_conn *)h->data)->n, buf);
}

static void on_written(uv_write_t *w, int status)
{
    net_conn *c = w->data;
    if (status < 0) {
        conn_finish(c, NULL, 0, uv_strerror(status));
        return;
    }
    if (c->inbound || !c->want_reply) {
        /* our part is done: a request with no reply, or our reply */
        c->finished = true;
        conn_close(c);
        return;
    }
    conn_next_phase(c); /* the read of the reply */
}

static int conn_write(net_conn *c)
{
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    c->write.data = c;
    return uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static int frame(net *n, wire_buf *out, bool initiator, const uint8_t *msg, size_t len)
{
    uint8_t nonce[12];
    if (wire_frame_encrypts(&n->cfg.frame) && wire_crypto_random(nonce, sizeof nonce) != 0)
        return WIRE_ECRYPT;
    return wire_stream_frame(out, &n->cfg.frame, initiator, msg, len, nonce);
}

static void inbound_message(net_conn *c)
{
    net *n = c->n;
    wire_buf reply;
    wire_buf_init(&reply, 0);
    bool answer = swim_handle_stream(n->core, net_now(n), &c->peer, c->reader.msg.p, c->reader.msg.n, &reply);
    int rc = WIRE_OK;
    if (answer && reply.len)
        rc = frame(n, &c->out, false, reply.data, reply.len);
    wire_buf_free(&reply);
    if (rc != WIRE_OK) {
        conn_finish(c, NULL, 0, wire_strerror(rc));
    } else if (answer && c->out.len) {
        /* memberlist's sendLocalState sets a fresh TCPTimeout before it
         * writes a push/pull reply; an ack goes within the first one */
        if (c->reader.msg_type == WIRE_PUSH_PULL) {
            c->phase_ms = n->cfg.swim.tcp_timeout;
            conn_next_phase(c);
        }
        int wrc = conn_write(c);
        if (wrc < 0)
            conn_finish(c, NULL, 0, uv_strerror(wrc));
    } else {
        c->finished = true;
        conn_close(c);
    }
}

/* memberlist's handleConn answers a request it could not read the framing
 * of (readStream: the first byte, the envelope, the compression) with an
 * err message holding the error, compressed and encrypted like any reply,
 * then closes; it does not answer a bad label, an error in the message
 * itself, a clean close before any byte, or a read past its deadline
 * (the write would be past it too). Returns false if this error is not
 * one it answers. */
static bool answer_error(net_conn *c, int rc)
{
    if (c->reader.stage != WIRE_STREAM_AT_FRAMING)
        return false;
    net *n = c->n;
    char a[80];
    net_addr_text(&c->peer, a, sizeof a);
    const char *text = wire_strerror(rc);
    n->counters.stream_errors++;
    net_log_noisy(n, BASE_LOG_INFO, "stream from %s: %s (answered with an error)", a, text);
    wire_errmsg e = { wire_bytes_of(text, strlen(text)) };
    wire_buf msg;
    wire_buf_init(&msg, 0);
    int frc = wire_encode_err(&msg, &e);
    if (frc == WIRE_OK)
        frc = frame(n, &c->out, false, msg.data, msg.len);
    wire_buf_free(&msg);
    /* closed once written (on_written), or at the deadline */
    if (frc != WIRE_OK || conn_write(c) < 0) {
        c->finished = true;
        conn_close(c);
    }
    return true;
}

/* memberlist's handleConn: a push/pull counts from the moment its type is
 * read; over the cap it is dropped without an answer. Returns false if
 * this stream was dropped. */
static bool admit_push_pull(net_conn *c)
{
    if (c->pushpull || c->reader.stage != WIRE_STREAM_AT_MESSAGE || c->reader.msg_type != WIRE_PUSH_PULL)
        return true;
    net *n = c->n;
    if (n->pushpulls_in + 1 >= NET_MAX_INBOUND_PUSH_PULLS) {
        n->counters.streams_rejected++;
        char a[80];
        net_addr_text(&c->peer, a, sizeof a);
        net_log_noisy(n, BASE_LOG_WARN, "too many pending push/pull requests (%d): dropping the one from %s",
                      NET_MAX_INBOUND_PUSH_PULLS, a);
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->finished = true;
        conn_close(c);
        return false;
    }
    c->pushpull = true;
    n->pushpulls_in++;
    return true;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    net_conn *c = s->data;
    net *n = c->n;
    net_rbuf_give_back(n, buf);
    if (c->finished || nread == 0)
        return;
    int rc;
    if (nread == UV_EOF)
        rc = wire_stream_reader_eof(&c->reader);
    else if (nread < 0) {
        conn_finish(c, NULL, 0, uv_strerror((int)nread));
        return;
    } else
        rc = wire_stream_reader_feed(&c->reader, (const uint8_t *)buf->base, (size_t)nread);
    if (c->inbound && rc >= 0 && !admit_push_pull(c))
        return;
    if (rc == WIRE_STREAM_MORE)
        return;
    uv_read_stop(s);
    if (rc != WIRE_STREAM_DONE) {
        if (rc == WIRE_ELIMIT) {
            char a[80];
            net_addr_text(&c->peer, a, sizeof a);
            c->n->counters.streams_too_large++;
            net_log_noisy(c->n, BASE_LOG_WARN, "stream %s %s: a message over max_stream_bytes (%u) or a push/pull "
                          "header over the protocol's limits: refused", c->inbound ? "from" : "to", a,
                          (unsigned)c->n->cfg.swim.max_stream_bytes);
        }
        if (c->inbound && answer_error(c, rc))
            return;
        conn_finish(c, NULL, 0, wire_strerror(rc));
        return;
    }
    if (c->inbound) {
        inbound_message(c);
    } else {
        conn_finish(c, c->reader.msg.p, c->reader.msg.n, NULL);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    net *n = server->data;
    if (status < 0 || n->closing) {
        net_logf(n, BASE_LOG_WARN, "accept failed: %s", uv_strerror(status));
        return;
    }
    net_conn *c = conn_new(n, true, net_now(n) + n->cfg.swim.tcp_timeout, 0);
    if (!c) {
        net_logf(n, BASE_LOG_ERROR, "out of memory accepting a stream");
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->finished = true;
        conn_close(c);
        return;
    }
    n->counters.streams_in++;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0 ||
        net_swim_from_sockaddr((struct sockaddr *)&ss, &c->peer) < 0) {
        c->finished = true;
        conn_close(c);
        return;
    }
    if (!swim_cidr_allows(n->cfg.swim.allow_cidrs, n->cfg.swim.nallow_cidrs, &c->peer)) {
        /* memberlist's handleConn: closed before a byte is read */
        char a[80];
        net_addr_text(&c->peer, a, sizeof a);
        n->counters.sources_refused++;
        net_log_noisy(n, BASE_LOG_WARN, "stream from %s: outside -allow-cidr, closed", a);
        c->finished = true;
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_stream_alloc, on_read);
    if (rc < 0)
        conn_finish(c, NULL, 0, uv_strerror(rc));
}

int net_tcp_listen(net *n, const struct sockaddr *bind_sa, char *err, size_t errlen)
{
    int rc = uv_tcp_init(n->loop, &n->listener);
    if (rc == 0) {
        n->listener.data = n;
        n->handles_open++;
        rc = uv_tcp_bind(&n->listener, bind_sa, 0);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->listener, NET_TCP_BACKLOG, on_connection);
    if (rc != 0) {
        char at[80];
        net_sockaddr_text(bind_sa, at, sizeof at);
        snprintf(err, errlen, "cannot listen on TCP %s: %s", at, uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
    net_conn *c = req->data;
    if (c->finished)
        return;
    if (status < 0) {
        conn_finish(c, NULL, 0, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_next_phase(c); /* the write */
    int rc = conn_write(c);
    if (rc == 0 && c->want_reply)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_stream_alloc, on_read);
    if (rc < 0)
        conn_finish(c, NULL, 0, uv_strerror(rc));
}

/* Called from inside the core: failures are reported from the deadline
 * timer (fired at once), never synchronously. */
void net_stream_open(void *ud, const swim_stream_req *req)
{
    net *n = ud;
    if (n->closing)
        return;
    net_conn *c = conn_new(n, false, req->deadline, req->phase_timeout);
    if (!c) {
        net_logf(n, BASE_LOG_ERROR, "out of memory opening a stream");
        return;
    }
    n->counters.streams_out++;
    c->id = req->id;
    c->want_reply = req->want_reply;
    c->peer = req->to;
    struct sockaddr_storage ss;
    int rc = frame(n, &c->out, true, req->msg, req->len);
    const char *why = NULL;
    if (rc != WIRE_OK)
        why = wire_strerror(rc);
    else if (net_sockaddr_from_swim(&req->to, req->to.ip_len == 16, &ss) < 0)
        why = "bad address";
    else {
        c->connect.data = c;
        int crc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&ss, on_connect);
        if (crc < 0)
            why = uv_strerror(crc);
    }
    if (why) {
        c->fail = why;
        uv_timer_start(&c->timer, on_deadline, 0, 0);
    }
}
