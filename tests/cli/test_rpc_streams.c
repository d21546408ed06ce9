/* The RPC server's serf records against the CLI's client, over a real
 * loopback connection: a stream gets user events and queries as serf's
 * records, filtered by name ("user:deploy"); `respond` reaches the agent
 * with the query's ID; a `query`'s reply comes first, then its ack,
 * response and done records under its Seq, and nothing more after done.
 * The server runs on this thread's loop with a fake agent; the client
 * (blocking, as the CLI is) on a thread of its own. */
#include <pthread.h>

#include "check.h"
#include "cli/cli_rpc.h"
#include "daemon/daemon_rpc_server.h"
#include "wire/wire_mp.h"

typedef struct world {
    uv_loop_t loop;
    uv_async_t done;
    daemon_rpc_server *srv;
    uint16_t port;
    uint64_t responded_id;
    char responded[64];
} world;

#define B(s) ((wire_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })

/* The fake agent: event -> reply, then a user event the stream filters
 * out, one it takes and a query; respond -> remember; query -> watch as
 * ID 5, reply, then its answers. */
static void agent(void *ud, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    world *w = ud;
    switch (req->cmd) {
    case DAEMON_RPC_CMD_EVENT:
        daemon_rpc_reply(c, NULL, NULL, 0);
        daemon_rpc_server_user_event(w->srv, B("other"), B("x"), 3, true);
        daemon_rpc_server_user_event(w->srv, B("deploy"), B("v1"), 4, false);
        daemon_rpc_server_query_event(w->srv, 77, B("load"), B("q?"), 9);
        break;
    case DAEMON_RPC_CMD_RESPOND:
        w->responded_id = req->id;
        snprintf(w->responded, sizeof w->responded, "%.*s", (int)req->payload.n, (const char *)req->payload.p);
        daemon_rpc_reply(c, NULL, NULL, 0);
        break;
    case DAEMON_RPC_CMD_QUERY:
        CHECK(daemon_rpc_conn_watch_query(c, req->seq, 5) == 0);
        daemon_rpc_reply(c, NULL, NULL, 0);
        daemon_rpc_server_query_record(w->srv, 5, "ack", "n1", (wire_bytes){ NULL, 0 });
        daemon_rpc_server_query_record(w->srv, 6, "ack", "not ours", (wire_bytes){ NULL, 0 });
        daemon_rpc_server_query_record(w->srv, 5, "response", "n2", B("p"));
        daemon_rpc_server_query_record(w->srv, 5, "done", NULL, (wire_bytes){ NULL, 0 });
        daemon_rpc_server_query_record(w->srv, 5, "ack", "late", (wire_bytes){ NULL, 0 });   /* after done: none */
        break;
    default:
        daemon_rpc_reply(c, "unexpected", NULL, 0);
    }
}

/* A record's string and unsigned fields, by key. */
static bool field_str(wire_bytes rec, const char *key, wire_bytes *out)
{
    wire_mp_reader r;
    uint32_t n;
    wire_mp_reader_init(&r, rec.p, rec.n);
    if (wire_mp_read_map(&r, &n))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k))
            return false;
        if (wire_mp_eq(k, key))
            return wire_mp_read_raw(&r, out) == 0;
        if (wire_mp_skip(&r))
            return false;
    }
    return false;
}

static bool field_uint(wire_bytes rec, const char *key, uint64_t *out)
{
    wire_mp_reader r;
    uint32_t n;
    wire_mp_reader_init(&r, rec.p, rec.n);
    if (wire_mp_read_map(&r, &n))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k))
            return false;
        if (wire_mp_eq(k, key))
            return wire_mp_read_uint(&r, UINT64_MAX, out) == 0;
        if (wire_mp_skip(&r))
            return false;
    }
    return false;
}

static bool str_is(wire_bytes rec, const char *key, const char *want)
{
    wire_bytes v;
    return field_str(rec, key, &v) && v.n == strlen(want) && memcmp(v.p, want, v.n) == 0;
}

/* A one-entry-or-more request body, built by the caller's writes. */
static void body(wire_buf *b, wire_mp_writer *w, wire_mp_container *m)
{
    wire_buf_init(b, 0);
    wire_mp_writer_init(w, b);
    wire_mp_map_begin(w, m);
}

static void *client(void *ud)
{
    world *w = ud;
    cli_rpc c;
    char err[300];
    wire_bytes resp, rec;
    wire_buf b;
    wire_mp_writer mw;
    wire_mp_container m;
    REQUIRE(cli_rpc_open(&c, "127.0.0.1", w->port, NULL, 10000, err, sizeof err) == 0);

    /* a stream of deploy events and every query */
    body(&b, &mw, &m);
    wire_mp_pack_cstr(&mw, "Type");
    wire_mp_pack_cstr(&mw, "user:deploy,query");
    wire_mp_map_end(&mw, &m);
    REQUIRE(wire_mp_finish(&mw) == 0);
    CHECK(cli_rpc_call(&c, DAEMON_RPC_CMD_STREAM, b.data, b.len, &resp, err, sizeof err) == 0);
    uint64_t stream_seq = c.seq;
    wire_buf_free(&b);

    body(&b, &mw, &m);
    wire_mp_pack_cstr(&mw, "Name");
    wire_mp_pack_cstr(&mw, "go");
    wire_mp_map_end(&mw, &m);
    REQUIRE(wire_mp_finish(&mw) == 0);
    CHECK(cli_rpc_call(&c, DAEMON_RPC_CMD_EVENT, b.data, b.len, &resp, err, sizeof err) == 0);
    wire_buf_free(&b);
    /* "other" is filtered out: deploy first, serf's userEventRecord */
    REQUIRE(cli_rpc_record(&c, stream_seq, &rec, err, sizeof err) == 0);
    uint64_t v = 0;
    CHECK(str_is(rec, "Event", "user") && str_is(rec, "Name", "deploy") && str_is(rec, "Payload", "v1"));
    CHECK(field_uint(rec, "LTime", &v) && v == 4);
    /* then the query, with the ID to respond with */
    REQUIRE(cli_rpc_record(&c, stream_seq, &rec, err, sizeof err) == 0);
    CHECK(str_is(rec, "Event", "query") && str_is(rec, "Name", "load") && str_is(rec, "Payload", "q?"));
    CHECK(field_uint(rec, "ID", &v) && v == 77);
    CHECK(field_uint(rec, "LTime", &v) && v == 9);

    body(&b, &mw, &m);
    wire_mp_pack_cstr(&mw, "ID");
    wire_mp_pack_uint(&mw, 77);
    wire_mp_pack_cstr(&mw, "Payload");
    wire_mp_pack_bin(&mw, "answer", 6);
    wire_mp_map_end(&mw, &m);
    REQUIRE(wire_mp_finish(&mw) == 0);
    CHECK(cli_rpc_call(&c, DAEMON_RPC_CMD_RESPOND, b.data, b.len, &resp, err, sizeof err) == 0);
    wire_buf_free(&b);

    /* our own query: the reply, then ack, response, done */
    body(&b, &mw, &m);
    wire_mp_pack_cstr(&mw, "Name");
    wire_mp_pack_cstr(&mw, "q");
    wire_mp_map_end(&mw, &m);
    REQUIRE(wire_mp_finish(&mw) == 0);
    CHECK(cli_rpc_call(&c, DAEMON_RPC_CMD_QUERY, b.data, b.len, &resp, err, sizeof err) == 0);
    wire_buf_free(&b);
    uint64_t qseq = c.seq;
    REQUIRE(cli_rpc_record(&c, qseq, &rec, err, sizeof err) == 0);
    CHECK(str_is(rec, "Type", "ack") && str_is(rec, "From", "n1"));
    wire_bytes p = { (const uint8_t *)"x", 1 };
    CHECK(field_str(rec, "Payload", &p) && p.p == NULL);   /* nil, as serf sends an ack */
    REQUIRE(cli_rpc_record(&c, qseq, &rec, err, sizeof err) == 0);
    CHECK(str_is(rec, "Type", "response") && str_is(rec, "From", "n2") && str_is(rec, "Payload", "p"));
    REQUIRE(cli_rpc_record(&c, qseq, &rec, err, sizeof err) == 0);
    CHECK(str_is(rec, "Type", "done"));
    /* nothing after done: the next answer is the stop's */
    body(&b, &mw, &m);
    wire_mp_pack_cstr(&mw, "Stop");
    wire_mp_pack_uint(&mw, stream_seq);
    wire_mp_map_end(&mw, &m);
    REQUIRE(wire_mp_finish(&mw) == 0);
    CHECK(cli_rpc_call(&c, DAEMON_RPC_CMD_STOP, b.data, b.len, &resp, err, sizeof err) == 0);
    wire_buf_free(&b);
    cli_rpc_close(&c);
    uv_async_send(&w->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    world *w = a->data;
    daemon_rpc_server_close(w->srv);
    uv_close((uv_handle_t *)a, NULL);
}

int main(void)
{
    world w;
    memset(&w, 0, sizeof w);
    REQUIRE(uv_loop_init(&w.loop) == 0);
    char err[300];
    /* a free port: bind 0 is not offered, so try a few */
    for (uint16_t p = 27373; !w.srv && p < 27473; p++) {
        w.srv = daemon_rpc_server_start(&w.loop, "127.0.0.1", p, NULL, agent, &w, err, sizeof err);
        w.port = p;
    }
    REQUIRE(w.srv);
    uv_async_init(&w.loop, &w.done, on_done);
    w.done.data = &w;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, client, &w) == 0);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    CHECK_EQ_INT(w.responded_id, 77);
    CHECK(strcmp(w.responded, "answer") == 0);
    CHECK(uv_loop_close(&w.loop) == 0);
    return check_done("test_rpc_streams");
}
