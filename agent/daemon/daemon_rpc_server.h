/* daemon_rpc_server: the agent's side of the control protocol
 * (daemon_rpc.h, serf's IPC) on the protocol thread's libuv loop.
 *
 * It frames requests out of each connection's byte stream and answers
 * what belongs to the connection itself: handshake, auth, stream, stop and
 * monitor. Every other request goes to the agent (daemon_rpc.c), which
 * answers with daemon_rpc_reply() at once or later (join and leave answer
 * when done); until then the connection reads no further request, as a
 * serf agent serves a client's requests one at a time.
 *
 * Streams: member events reach the streams that asked for them through
 * daemon_rpc_server_member_event(); the agent's log lines reach monitors
 * through a base_log subscriber (base_log.h), from any thread, queued to
 * this loop. A new monitor first gets the last DAEMON_RPC_LOG_BACKLOG
 * lines at or above its level, as serf's log writer replays its buffer.
 *
 * Nothing here waits for a client: every write is queued, and a
 * connection whose queued output passes DAEMON_RPC_OUT_MAX (a stream
 * client that stopped reading) is dropped and counted. */
#ifndef MOONLIST_DAEMON_RPC_SERVER_H
#define MOONLIST_DAEMON_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/daemon_rpc.h"

/* Output a connection may leave unread before it is dropped. Records are
 * a few hundred bytes, so this is thousands of events or log lines behind
 * (the kernel's socket buffers hold a few MiB more before anything queues
 * here); a reply bigger than this (a huge member list) still goes out
 * when the queue is short. */
#define DAEMON_RPC_OUT_MAX ((size_t)1 << 20)
/* Connections open at once: a control port serves a few commands and a
 * handful of stream consumers; with DAEMON_RPC_OUT_MAX each, this bounds
 * the memory local clients can pin to 128 MiB. More are closed at once. */
#define DAEMON_RPC_MAX_CONNS 128
/* Streams one connection may hold (serf's monitor opens one). */
#define DAEMON_RPC_MAX_STREAMS 16
/* Queries of our own whose answers one connection waits for at once
 * (serf's `query` command asks one). */
#define DAEMON_RPC_MAX_QUERIES 16
/* A client must finish its handshake (and auth) within this. */
#define DAEMON_RPC_HELLO_TIMEOUT_MS 10000
/* At shutdown, queued answers (the `leave` reply) get this long to go out. */
#define DAEMON_RPC_FLUSH_MS 1000
/* Log lines between a thread that logs and the loop: past this (a burst
 * while the loop is busy) lines are dropped for monitors and counted. */
#define DAEMON_RPC_LOG_QUEUE 1024
/* Lines replayed to a new monitor (serf keeps 512). */
#define DAEMON_RPC_LOG_BACKLOG 256

typedef struct daemon_rpc_server daemon_rpc_server;
typedef struct daemon_rpc_conn daemon_rpc_conn;

/* A request for the agent. `req` and its views live during the call only.
 * The agent answers with daemon_rpc_reply() exactly once. */
typedef void (*daemon_rpc_request_fn)(void *ud, daemon_rpc_conn *c, const daemon_rpc_request *req);

/* Listen on host:port; auth_key NULL or "" means no -rpc-auth (copied).
 * Returns NULL with a message in err. Ownership: the caller's, released by
 * daemon_rpc_server_close() (the loop finishes it). */
daemon_rpc_server *daemon_rpc_server_start(uv_loop_t *loop, const char *host, uint16_t port, const char *auth_key,
                                           daemon_rpc_request_fn fn, void *ud, char *err, size_t errlen);
void daemon_rpc_server_close(daemon_rpc_server *s);

/* Answer the connection's pending request: error NULL or "" for none;
 * body (copied) when the command replies with one: NULL sends an empty
 * map. Safe after the client went away (then it only frees). */
void daemon_rpc_reply(daemon_rpc_conn *c, const char *error, const uint8_t *body, size_t len);

/* A member event for the streams whose filter has `bit` (a
 * DAEMON_RPC_EV_MEMBER_*), the member shown with serf's `status`. */
void daemon_rpc_server_member_event(daemon_rpc_server *s, unsigned bit, const swim_member *m, const char *status);

/* A user event, a query (ID: serf_node's handle, which `respond` gives
 * back), for the streams that take them (by name too: "user:NAME"). */
void daemon_rpc_server_user_event(daemon_rpc_server *s, wire_bytes name, wire_bytes payload, uint64_t ltime,
                                  bool coalesce);
void daemon_rpc_server_query_event(daemon_rpc_server *s, uint64_t id, wire_bytes name, wire_bytes payload,
                                   uint64_t ltime);

/* After a `query` request started serf_node's query `id`: its answers go
 * to this connection under `seq` (call before daemon_rpc_reply, so that
 * the records follow the reply). 0, or -1 when DAEMON_RPC_MAX_QUERIES are
 * open on it. */
int daemon_rpc_conn_watch_query(daemon_rpc_conn *c, uint64_t seq, uint64_t id);
/* An answer to query `id`: type "ack" (from), "response" (from, payload)
 * or "done" (the last: the watch ends). */
void daemon_rpc_server_query_record(daemon_rpc_server *s, uint64_t id, const char *type, const char *from,
                                    wire_bytes payload);

/* Whether clients must auth first (-rpc-auth was given). */
bool daemon_rpc_server_auth_required(const daemon_rpc_server *s);

/* The server's counters, for `moonlist info`'s rpc section. */
#define DAEMON_RPC_STATS(X)                                                                       \
    X(connections, "connections open now")                                                        \
    X(accepted, "connections accepted")                                                           \
    X(refused, "connections closed at once: DAEMON_RPC_MAX_CONNS were open")                      \
    X(requests, "requests served")                                                                \
    X(malformed, "connections dropped for bytes that are not a request")                          \
    X(auth_failures, "wrong auth keys, and requests before auth")                                 \
    X(slow_dropped, "connections dropped with DAEMON_RPC_OUT_MAX unread (a stuck stream client)")  \
    X(streams, "event streams open now")                                                          \
    X(monitors, "log monitors open now")                                                          \
    X(log_lines_dropped, "log lines lost on the way to monitors (DAEMON_RPC_LOG_QUEUE full)")
typedef struct daemon_rpc_stats {
#define DAEMON_RPC_STAT_FIELD_(name, why) uint64_t name;
    DAEMON_RPC_STATS(DAEMON_RPC_STAT_FIELD_)
#undef DAEMON_RPC_STAT_FIELD_
} daemon_rpc_stats;
void daemon_rpc_server_get_stats(daemon_rpc_server *s, daemon_rpc_stats *out);

#endif
