/* Streams against a fake peer on loopback, on a real libuv loop: a raw TCP
 * server (or raw client) in this file plays the other side byte by byte,
 * with the delays a test asks for; and one datagram the socket refuses.
 * Each scenario says which memberlist behaviour it holds the agent to.
 * Waits are bounded by a deadline timer, never bare sleeps. */
#include <string.h>

#include "check.h"
#include "loop_wait.h"
#include "net/net.h"
#include "wire/wire_msg.h"
#include "wire/wire_stream.h"

/* The TCPTimeout of these tests: what a phase has left after a fake's
 * 0.6 T delay must carry 8 MiB over loopback under the sanitizers on a
 * busy machine; and a test taking two or three of them stays quick. */
#define T_MS 1000
/* The fake peer's receive buffer: small, so that a large message waits in
 * the sender for the fake to read it, large enough to move 8 MiB in a few
 * dozen reads. */
#define FAKE_RCVBUF (256 * 1024)

typedef struct world world;

/* One connection of the fake peer. */
typedef struct fake_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    world *w;
    struct fake_conn *next;
    wire_stream_reader reader;
    bool done_reading;
    bool reading;
    uint8_t *reply;             /* written once the request is read (after reply_delay) */
    size_t reply_len;
    uv_write_t write;
    int handles;
} fake_conn;

struct world {
    uv_loop_t loop;
    net *n;
    uint16_t port;               /* the fake server's */
    uv_tcp_t server;
    bool serving;
    wire_frame_config frame;     /* plain: what the fake speaks */
    /* fake server behaviour */
    int read_delay_ms;           /* before the first read */
    int reply_delay_ms;          /* after the request is complete */
    int silent_conns;            /* the first this many connections never reply */
    int accepted;
    uint8_t reply[256];
    size_t reply_len;
    fake_conn *conns;
    int requests;                /* complete requests read */
    /* results */
    int joined;                  /* net_join callback: -1 until called */
    swim_time joined_at;
    loop_wait wait;
};

/* The user state the agent sends in its push/pulls for the tests of
 * stream phases: larger than what the kernel buffers on a loopback
 * connection (a sender's 4 MiB at most here, tcp_wmem, and the fake's
 * FAKE_RCVBUF), so that writing it waits for the peer to read. */
#define BIG_STATE_BYTES (8u << 20)
static uint8_t *big_state;
static size_t big_state_len;

static void local_state(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    (void)ud;
    (void)is_join;
    *out = big_state;
    *len = big_state_len;
}

static int ping_send_failures;   /* the core's "failed to send UDP ping" lines */

static void on_log(void *ud, base_log_level level, const char *msg)
{
    (void)ud;
    if (strncmp(msg, "failed to send UDP ping to ", 27) == 0)
        ping_send_failures++;
    if (level >= BASE_LOG_WARN || getenv("NET_TRACE"))
        fprintf(stderr, "[agent] %s\n", msg);
}

/* Run until done(w) or `ms` pass; true if done. */
static bool run_until(world *w, int (*done)(void *w), uint64_t ms)
{
    return loop_wait_run(&w->wait, done, w, ms);
}

/* ---- the fake peer's server side ---- */

static void fake_closed(uv_handle_t *h)
{
    fake_conn *c = h->data;
    if (--c->handles == 0) {
        wire_stream_reader_free(&c->reader);
        free(c->reply);
        free(c);
    }
}

static void fake_close(fake_conn *c)
{
    world *w = c->w;
    for (fake_conn **pp = &w->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    uv_close((uv_handle_t *)&c->tcp, fake_closed);
    uv_close((uv_handle_t *)&c->timer, fake_closed);
}

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char b[65536];
    (void)suggested;
    *buf = uv_buf_init(b, sizeof b);
}

static void fake_written(uv_write_t *wr, int status)
{
    (void)status;
    fake_close(wr->data);
}

static void fake_reply(uv_timer_t *t)
{
    fake_conn *c = t->data;
    if (!c->reply_len)
        return; /* silent: the agent's deadline ends it */
    uv_buf_t b = uv_buf_init((char *)c->reply, (unsigned)c->reply_len);
    c->write.data = c;
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, fake_written);
}

static void fake_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    fake_conn *c = s->data;
    if (nread <= 0 || c->done_reading) {
        if (nread < 0) {
            uv_read_stop(s);
            if (!c->done_reading)
                fake_close(c);
        }
        return;
    }
    int rc = wire_stream_reader_feed(&c->reader, (const uint8_t *)buf->base, (size_t)nread);
    if (rc == WIRE_STREAM_MORE)
        return;
    c->done_reading = true;
    uv_read_stop(s);
    c->w->requests++;
    uv_timer_start(&c->timer, fake_reply, (uint64_t)c->w->reply_delay_ms, 0);
}

static void fake_start_reading(uv_timer_t *t)
{
    fake_conn *c = t->data;
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_read);
}

static void fake_accept(uv_stream_t *server, int status)
{
    world *w = server->data;
    if (status < 0)
        return;
    fake_conn *c = calloc(1, sizeof *c);
    REQUIRE(c);
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    wire_stream_reader_init(&c->reader, &w->frame, true);
    if (w->reply_len && w->accepted++ >= w->silent_conns) {
        c->reply = malloc(w->reply_len);
        memcpy(c->reply, w->reply, w->reply_len);
        c->reply_len = w->reply_len;
    }
    c->next = w->conns;
    w->conns = c;
    REQUIRE(uv_accept(server, (uv_stream_t *)&c->tcp) == 0);
    uv_timer_start(&c->timer, fake_start_reading, (uint64_t)w->read_delay_ms, 0);
}

/* A listening fake peer on 127.0.0.1, with a small receive buffer
 * (FAKE_RCVBUF). */
static void fake_serve(world *w)
{
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    REQUIRE(uv_tcp_init(&w->loop, &w->server) == 0);
    w->server.data = w;
    REQUIRE(uv_tcp_bind(&w->server, (const struct sockaddr *)&sa, 0) == 0);
    int rcv = FAKE_RCVBUF;
    uv_recv_buffer_size((uv_handle_t *)&w->server, &rcv);
    REQUIRE(uv_listen((uv_stream_t *)&w->server, 16, fake_accept) == 0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    REQUIRE(uv_tcp_getsockname(&w->server, (struct sockaddr *)&ss, &len) == 0);
    w->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    w->serving = true;
}

/* ---- the fake peer's client side ---- */

typedef struct fake_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    world *w;
    wire_buf req;                /* what it sends */
    int send_delay_ms, read_delay_ms;
    wire_stream_reader reader;
    int result;                  /* 0 running, 1 a reply read, -1 failed */
    uint8_t reply_type;
    int handles;
} fake_client;

static void client_closed(uv_handle_t *h)
{
    fake_client *c = h->data;
    c->handles--;
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    fake_client *c = s->data;
    if (c->result)
        return;
    int rc = nread < 0 ? wire_stream_reader_eof(&c->reader)
                       : wire_stream_reader_feed(&c->reader, (const uint8_t *)buf->base, (size_t)nread);
    if (rc == WIRE_STREAM_MORE)
        return;
    c->result = rc == WIRE_STREAM_DONE ? 1 : -1;
    if (rc == WIRE_STREAM_DONE && c->reader.msg.n)
        c->reply_type = c->reader.msg.p[0];
    uv_read_stop(s);
}

static void client_start_reading(uv_timer_t *t)
{
    fake_client *c = t->data;
    uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, client_read);
}

/* A step done: failed, or the next one after its delay. */
static void client_then(fake_client *c, int status, uv_timer_cb next, int delay_ms)
{
    if (status < 0) {
        c->result = -1;
        return;
    }
    uv_timer_start(&c->timer, next, (uint64_t)delay_ms, 0);
}

static void client_written(uv_write_t *wr, int status)
{
    fake_client *c = wr->data;
    client_then(c, status, client_start_reading, c->read_delay_ms);
}

static void client_send(uv_timer_t *t)
{
    fake_client *c = t->data;
    if (!c->req.len) {
        client_then(c, 0, client_start_reading, c->read_delay_ms);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->req.data, (unsigned)c->req.len);
    c->write.data = c;
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, client_written);
}

static void client_connected(uv_connect_t *req, int status)
{
    fake_client *c = req->data;
    client_then(c, status, client_send, c->send_delay_ms);
}

/* Connect to the agent with a small receive buffer (FAKE_RCVBUF); after send_delay_ms write `req` (if
 * any), after read_delay_ms more read one reply. */
static void client_start(fake_client *c, world *w, const wire_buf *req, int send_delay_ms, int read_delay_ms)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    wire_buf_init(&c->req, 0);
    if (req && req->len)
        REQUIRE(wire_buf_append(&c->req, req->data, req->len) == WIRE_OK);
    c->send_delay_ms = send_delay_ms;
    c->read_delay_ms = read_delay_ms;
    wire_stream_reader_init(&c->reader, &w->frame, false);
    REQUIRE(uv_tcp_init_ex(&w->loop, &c->tcp, AF_INET) == 0);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    int rcv = FAKE_RCVBUF;
    uv_recv_buffer_size((uv_handle_t *)&c->tcp, &rcv);
    const char *at = net_bind_text(w->n);
    struct sockaddr_in sa;
    REQUIRE(uv_ip4_addr("127.0.0.1", atoi(strrchr(at, ':') + 1), &sa) == 0);
    c->connect.data = c;
    REQUIRE(uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, client_connected) == 0);
}

static void client_free(fake_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, client_closed);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, client_closed);
    while (c->handles)
        uv_run(&c->w->loop, UV_RUN_ONCE);
    wire_stream_reader_free(&c->reader);
    wire_buf_free(&c->req);
}

/* ---- the agent ---- */

/* max_stream_bytes for the next world_init (0: the profile's) */
static uint32_t next_max_stream_bytes;
/* -allow-cidr for the next world_init (NULL: none) */
static const char *next_allow_cidr;

static void world_init_t(world *w, const net_handlers *h, uint32_t tcp_timeout)
{
    memset(w, 0, sizeof *w);
    w->joined = -1;
    REQUIRE(uv_loop_init(&w->loop) == 0);
    loop_wait_init(&w->wait, &w->loop);
    wire_frame_config_init(&w->frame);
    w->frame.compress = false;

    net_config c;
    memset(&c, 0, sizeof c);
    REQUIRE(swim_config_profile(&c.swim, "local") == 0);
    snprintf(c.swim.name, sizeof c.swim.name, "agent");
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    memcpy(c.swim.vsn, vsn, 6);
    c.swim.seed = 5;
    c.swim.tcp_timeout = tcp_timeout;
    c.swim.push_pull_interval = 0;
    if (next_max_stream_bytes)
        c.swim.max_stream_bytes = next_max_stream_bytes;
    if (next_allow_cidr) {
        REQUIRE(swim_cidr_parse(next_allow_cidr, &c.swim.allow_cidrs[0]) == 0);
        c.swim.nallow_cidrs = 1;
    }
    snprintf(c.bind_host, sizeof c.bind_host, "127.0.0.1");
    wire_frame_config_init(&c.frame);
    c.frame.compress = false;
    wire_keyring_init(&c.keyring);
    char err[256];
    w->n = net_start(&w->loop, &c, h, err, sizeof err);
    if (!w->n)
        fprintf(stderr, "net_start: %s\n", err);
    REQUIRE(w->n);
}

static void world_init(world *w, const net_handlers *h)
{
    world_init_t(w, h, T_MS);
}

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

static void world_free(world *w)
{
    net_close(w->n);
    while (w->conns)
        fake_close(w->conns);
    if (w->serving)
        uv_close((uv_handle_t *)&w->server, close_cb_noop);
    loop_wait_close(&w->wait);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&w->loop) == 0);
}

static void on_joined(void *ud, int joined, const char *err)
{
    world *w = ud;
    w->joined = joined;
    w->joined_at = net_now(w->n);
    if (err)
        fprintf(stderr, "join: %s\n", err);
}

static int join_answered(void *ud)
{
    world *w = ud;
    return w->joined >= 0;
}

/* An agent whose push/pulls carry BIG_STATE_BYTES of user state. */
static void world_init_big(world *w)
{
    big_state_len = BIG_STATE_BYTES;
    big_state = calloc(1, big_state_len);
    REQUIRE(big_state);
    net_handlers h = { .log = on_log, .delegate = { .local_state = local_state } };
    world_init(w, &h);
}

static void big_state_free(void)
{
    free(big_state);
    big_state = NULL;
    big_state_len = 0;
}

/* An empty push/pull reply (Join false, no nodes, no user state). */
static void fake_reply_push_pull(world *w)
{
    wire_buf b;
    wire_buf_init(&b, 0);
    wire_push_pull_header h = { false, 0, 0 };
    REQUIRE(wire_encode_push_pull_header(&b, &h, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
    REQUIRE(b.len <= sizeof w->reply);
    memcpy(w->reply, b.data, b.len);
    w->reply_len = b.len;
    wire_buf_free(&b);
}

/* A join whose push/pull takes longer than one TCPTimeout in all, each
 * phase well within one: the 8 MiB request is held in our socket until
 * the peer starts reading 0.6 T later, and the reply comes 0.6 T after
 * the request was read. memberlist's sendAndReceiveState gives the dial,
 * the write and the read a fresh TCPTimeout each, so the join succeeds;
 * one TCPTimeout for the whole failed it. */
static void test_push_pull_phases(void)
{
    world w;
    world_init_big(&w);
    fake_serve(&w);
    w.read_delay_ms = T_MS * 6 / 10;
    w.reply_delay_ms = T_MS * 6 / 10;
    fake_reply_push_pull(&w);
    char seed[64];
    snprintf(seed, sizeof seed, "127.0.0.1:%u", w.port);
    const char *seeds[1] = { seed };
    swim_time start = net_now(w.n);
    REQUIRE(net_join(w.n, seeds, 1, on_joined, &w) == 0);
    CHECK(run_until(&w, join_answered, 10 * T_MS));
    CHECK_EQ_INT(w.requests, 1);
    CHECKF(w.joined == 1, "the join failed after %llu ms", (unsigned long long)(w.joined_at - start));
    CHECK(w.joined_at - start > T_MS); /* longer than one TCPTimeout in all */

    /* a peer that never replies is still cut off: one T after our
     * request was written (the read phase) */
    w.joined = -1;
    w.read_delay_ms = 0;
    w.reply_delay_ms = 100 * T_MS;
    start = net_now(w.n);
    REQUIRE(net_join(w.n, seeds, 1, on_joined, &w) == 0);
    CHECK(run_until(&w, join_answered, 10 * T_MS));
    CHECK_EQ_INT(w.joined, 0);
    CHECK(w.joined_at - start > T_MS - 20 && w.joined_at - start < 3 * T_MS);
    world_free(&w);
    big_state_free();
}

/* A periodic push/pull request (plain, 0 nodes) from the fake. */
static void push_pull_request(wire_buf *b, bool join)
{
    wire_buf_init(b, 0);
    wire_push_pull_header h = { join, 0, 0 };
    REQUIRE(wire_encode_push_pull_header(b, &h, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
}

static fake_client *the_client;
static int client_done(void *ud)
{
    world *w = ud;
    (void)w;
    return the_client->result != 0;
}

/* Send `bytes` as a whole request; the reply's type (or -1: none, closed). */
static int request_reply_type(world *w, const uint8_t *bytes, size_t n, char *err, size_t errlen)
{
    wire_buf req;
    wire_buf_init(&req, 0);
    REQUIRE(wire_buf_append(&req, bytes, n) == WIRE_OK);
    fake_client c;
    client_start(&c, w, &req, 0, 0);
    the_client = &c;
    CHECK(run_until(w, client_done, 3000));
    int type = c.result == 1 ? c.reply_type : -1;
    if (err)
        err[0] = 0;
    if (type == WIRE_ERR && err) {
        wire_errmsg e;
        REQUIRE(wire_decode_err(c.reader.msg.p + 1, c.reader.msg.n - 1, &e, NULL) == WIRE_OK);
        snprintf(err, errlen, "%.*s", (int)e.error.n, (const char *)e.error.p);
    }
    client_free(&c);
    wire_buf_free(&req);
    return type;
}

/* The other side of the same rule: an inbound push/pull has TCPTimeout to
 * read the request from the accept (handleConn) and a fresh one to write
 * our reply (sendLocalState). The fake sends its request 0.6 T after
 * connecting and starts reading our 8 MiB reply 0.6 T after that: more
 * than one T in all, each phase within one. */
static void test_inbound_reply_phase(void)
{
    world w;
    world_init_big(&w);
    wire_buf req;
    push_pull_request(&req, false);
    fake_client c;
    client_start(&c, &w, &req, T_MS * 6 / 10, T_MS * 6 / 10);
    the_client = &c;
    CHECK(run_until(&w, client_done, 10 * T_MS));
    CHECK_EQ_INT(c.result, 1);
    CHECK_EQ_INT(c.reply_type, WIRE_PUSH_PULL);
    CHECK(c.reader.msg.n > big_state_len);
    client_free(&c);

    /* a request that never comes is cut off one T after the accept */
    client_start(&c, &w, NULL, 0, 0);
    swim_time start = net_now(w.n);
    CHECK(run_until(&w, client_done, 10 * T_MS));
    CHECK_EQ_INT(c.result, -1);
    CHECK(net_now(w.n) - start > T_MS - 20 && net_now(w.n) - start < 2 * T_MS);
    client_free(&c);
    wire_buf_free(&req);
    world_free(&w);
    big_state_free();
}

typedef struct join_result {
    int joined;                  /* -1 until called */
    swim_time at;
    world *w;
} join_result;

static void on_joined_r(void *ud, int joined, const char *err)
{
    join_result *r = ud;
    r->joined = joined;
    r->at = net_now(r->w->n);
    (void)err;
}

static join_result jr[2];
static int first_accepted(void *ud)
{
    world *w = ud;
    return w->accepted >= 1;
}

static int both_joins_answered(void *ud)
{
    world *w = ud;
    (void)w;
    return jr[0].joined >= 0 && jr[1].joined >= 0;
}

/* Joins finish in any order, and each caller hears its own: join A goes
 * to a seed that never answers (it fails one TCPTimeout after its write),
 * join B, started after it, to one that answers at once. Matched first in
 * first out, A heard B's success and B A's failure. */
static void test_joins_matched_by_id(void)
{
    net_handlers h = { .log = on_log };
    world w;
    world_init(&w, &h);
    fake_serve(&w);
    fake_reply_push_pull(&w);
    w.silent_conns = 1;
    char seed[64];
    snprintf(seed, sizeof seed, "127.0.0.1:%u", w.port);
    const char *seeds[1] = { seed };
    for (int i = 0; i < 2; i++)
        jr[i] = (join_result){ -1, 0, &w };
    REQUIRE(net_join(w.n, seeds, 1, on_joined_r, &jr[0]) == 0);
    CHECK(run_until(&w, first_accepted, 10 * T_MS));
    REQUIRE(net_join(w.n, seeds, 1, on_joined_r, &jr[1]) == 0);
    CHECK(run_until(&w, both_joins_answered, 10 * T_MS));
    CHECK_EQ_INT(jr[0].joined, 0);
    CHECK_EQ_INT(jr[1].joined, 1);
    CHECK(jr[1].at <= jr[0].at);
    world_free(&w);
}

/* A stream ping request for the agent. */
static void ping_request(wire_buf *b, uint32_t seq)
{
    wire_buf_init(b, 0);
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.node = wire_bytes_of("agent", 5);
    p.seq_no = seq;
    REQUIRE(wire_encode_ping(b, &p) == WIRE_OK);
}

#define MANY 130
static fake_client many[MANY];
static int all_started(void *ud)
{
    world *w = ud;
    (void)w;
    return net_get_counters(w->n)->streams_in >= MANY;
}

/* Idle connections cost a socket until their read deadline and block
 * nobody: with 130 of them open, a TCP ping is answered and a push/pull
 * (a join) too. memberlist caps nothing but concurrent push/pulls. */
static void test_idle_connections_block_nothing(void)
{
    net_handlers h = { .log = on_log };
    world w;
    world_init_t(&w, &h, 3000);
    for (int i = 0; i < MANY; i++)
        client_start(&many[i], &w, NULL, 100000, 100000);
    CHECK(run_until(&w, all_started, 2000));
    wire_buf req;
    ping_request(&req, 77);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_ACK);
    wire_buf_free(&req);
    push_pull_request(&req, true);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_PUSH_PULL);
    wire_buf_free(&req);
    CHECK_EQ_INT(net_get_counters(w.n)->streams_rejected, 0);
    for (int i = 0; i < MANY; i++)
        client_free(&many[i]);
    world_free(&w);
}

static int all_answered_or_held(void *ud)
{
    world *w = ud;
    /* 127 held, one dropped */
    int dropped = 0;
    for (int i = 0; i < NET_MAX_INBOUND_PUSH_PULLS; i++)
        dropped += many[i].result == -1;
    return dropped >= 1 && net_get_counters(w->n)->streams_in >= NET_MAX_INBOUND_PUSH_PULLS;
}

/* Push/pulls are what is capped, counted from their type byte: with 127
 * of them waiting for the rest of their state, the 128th is dropped
 * (handleConn: numConcurrent >= maxPushPullRequests), while a TCP ping
 * still goes through. */
static void test_push_pull_cap(void)
{
    net_handlers h = { .log = on_log };
    world w;
    world_init_t(&w, &h, 3000);
    wire_buf one;
    wire_buf_init(&one, 0);
    REQUIRE(wire_buf_append_byte(&one, WIRE_PUSH_PULL) == WIRE_OK);
    for (int i = 0; i < NET_MAX_INBOUND_PUSH_PULLS; i++)
        client_start(&many[i], &w, &one, 0, 0);
    CHECK(run_until(&w, all_answered_or_held, 2000));
    int dropped = 0;
    for (int i = 0; i < NET_MAX_INBOUND_PUSH_PULLS; i++)
        dropped += many[i].result == -1;
    CHECK_EQ_INT(dropped, 1);
    CHECK_EQ_INT(net_get_counters(w.n)->streams_rejected, 1);
    wire_buf req;
    ping_request(&req, 78);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_ACK);
    wire_buf_free(&req);
    wire_buf_free(&one);
    for (int i = 0; i < NET_MAX_INBOUND_PUSH_PULLS; i++)
        client_free(&many[i]);
    world_free(&w);
}

/* A plain push/pull request of exactly `total` bytes: the header, then
 * user state (zeros) to fill. */
static void push_pull_of_size(wire_buf *b, size_t total)
{
    wire_push_pull_header h = { false, 0, 0 };
    for (int i = 0; i < 3; i++) { /* the header's width depends on the length */
        wire_buf_init(b, 0);
        REQUIRE(wire_encode_push_pull_header(b, &h, WIRE_INT_GO_MSGPACK_V0) == WIRE_OK);
        REQUIRE(b->len < total);
        if (b->len + (size_t)h.user_state_len == total)
            break;
        h.user_state_len = (int64_t)(total - b->len);
        wire_buf_free(b);
    }
    REQUIRE(b->len + (size_t)h.user_state_len == total);
    for (int64_t i = 0; i < h.user_state_len; i++)
        REQUIRE(wire_buf_append_byte(b, 0) == WIRE_OK);
}

/* moonlist's max_stream_bytes: a push/pull of exactly the limit is
 * answered, one byte more is refused (no reply, the stream closed),
 * counted and logged; what follows is served as before. */
static void test_max_stream_bytes(void)
{
    enum { CAP = 65536 };
    net_handlers h = { .log = on_log };
    world w;
    next_max_stream_bytes = CAP;
    world_init(&w, &h);
    next_max_stream_bytes = 0;
    wire_buf req;
    push_pull_of_size(&req, CAP);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_PUSH_PULL);
    wire_buf_free(&req);
    CHECK_EQ_INT(net_get_counters(w.n)->streams_too_large, 0);
    push_pull_of_size(&req, CAP + 1);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), -1);
    wire_buf_free(&req);
    CHECK_EQ_INT(net_get_counters(w.n)->streams_too_large, 1);
    ping_request(&req, 79);
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_ACK);
    wire_buf_free(&req);
    world_free(&w);
}

static int two_refused(void *ud)
{
    world *w = ud;
    return net_get_counters(w->n)->sources_refused >= 2;
}

/* memberlist's handleConn and ingestPacket with CIDRsAllowed: a stream
 * from outside is closed unread, a datagram dropped undecoded, both
 * counted; from inside the stream is served. */
static void test_allow_cidr(void)
{
    net_handlers h = { .log = on_log };
    world w;
    wire_buf req;
    ping_request(&req, 80);
    next_allow_cidr = "10.0.0.0/8";
    world_init(&w, &h);
    next_allow_cidr = NULL;
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), -1);
    CHECK_EQ_INT(net_get_counters(w.n)->sources_refused, 1);
    uv_udp_t u;
    REQUIRE(uv_udp_init(&w.loop, &u) == 0);
    struct sockaddr_in sa;
    const char *at = net_bind_text(w.n);
    REQUIRE(uv_ip4_addr("127.0.0.1", atoi(strrchr(at, ':') + 1), &sa) == 0);
    uv_buf_t b = uv_buf_init((char *)req.data, (unsigned)req.len);
    CHECK(uv_udp_try_send(&u, &b, 1, (const struct sockaddr *)&sa) == (int)req.len);
    CHECK(run_until(&w, two_refused, 2000));
    CHECK_EQ_INT(net_get_counters(w.n)->malformed_packets, 0); /* dropped before decoding */
    uv_close((uv_handle_t *)&u, NULL);
    world_free(&w);
    next_allow_cidr = "127.0.0.0/8";
    world_init(&w, &h);
    next_allow_cidr = NULL;
    CHECK_EQ_INT(request_reply_type(&w, req.data, req.len, NULL, 0), WIRE_ACK);
    CHECK_EQ_INT(net_get_counters(w.n)->sources_refused, 0);
    world_free(&w);
    wire_buf_free(&req);
}

/* memberlist's handleConn answers a stream whose framing it cannot read
 * (readStream) with an err message, and closes without a word on anything
 * else: a message it cannot parse, an unknown type. */
static void test_error_reply(void)
{
    net_handlers h = { .log = on_log };
    world w;
    world_init(&w, &h);
    char err[256];
    /* an encrypted request to an agent without keys */
    static const uint8_t enc[] = { WIRE_ENCRYPT, 0, 0, 0, 30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                   13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30 };
    CHECK_EQ_INT(request_reply_type(&w, enc, sizeof enc, err, sizeof err), WIRE_ERR);
    CHECKF(err[0] != 0, "an empty error");
    /* a compressed request that does not inflate */
    static const uint8_t comp[] = { WIRE_COMPRESS, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0x00, 0xa3, 'B', 'u', 'f', 0xa2, 0xff, 0xff };
    CHECK_EQ_INT(request_reply_type(&w, comp, sizeof comp, err, sizeof err), WIRE_ERR);
    /* past the framing: a type no stream carries, a malformed ping */
    static const uint8_t dead[] = { WIRE_DEAD, 0x80 };
    CHECK_EQ_INT(request_reply_type(&w, dead, sizeof dead, NULL, 0), -1);
    static const uint8_t bad_ping[] = { WIRE_PING, 0x81, 0xa5, 'S', 'e', 'q', 'N', 'o', 0xa1, 'x' };
    CHECK_EQ_INT(request_reply_type(&w, bad_ping, sizeof bad_ping, NULL, 0), -1);
    world_free(&w);
}

static int ping_failed(void *ud)
{
    world *w = ud;
    (void)w;
    return ping_send_failures > 0;
}

/* A ping the socket refuses reaches the core as swim_send_failed (from the
 * timer, not from inside the send), and the probe asks others at once, as
 * memberlist's probeNode does on a failed write. An IPv4 socket cannot
 * send to an IPv6 member: that is the refusal here. */
static void test_refused_ping_reported(void)
{
    net_handlers h = { .log = on_log };
    world w;
    world_init(&w, &h);
    /* a member at an IPv6 address (2001:db8::1, documentation) */
    wire_alive a;
    memset(&a, 0, sizeof a);
    static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    a.addr = wire_bytes_of(ip6, 16);
    a.incarnation = 1;
    a.node = wire_bytes_of("v6", 2);
    a.port = 7946;
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
    memcpy(a.vsn.v, vsn, 6);
    a.vsn.len = 6;
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(wire_encode_alive(&b, &a) == WIRE_OK);
    swim_addr from;
    REQUIRE(net_parse_ip("127.0.0.1", 1, &from) == 0);
    swim_handle_packet(net_core(w.n), net_now(w.n), &from, b.data, b.len);
    wire_buf_free(&b);
    REQUIRE(swim_member_count(net_core(w.n)) == 2);
    ping_send_failures = 0;
    CHECK(run_until(&w, ping_failed, 5000));
    CHECK(net_get_counters(w.n)->send_errors > 0);
    world_free(&w);
}

int main(void)
{
    test_push_pull_phases();
    test_inbound_reply_phase();
    test_idle_connections_block_nothing();
    test_push_pull_cap();
    test_joins_matched_by_id();
    test_refused_ping_reported();
    test_error_reply();
    test_max_stream_bytes();
    test_allow_cidr();
    return check_done("test_streams");
}
