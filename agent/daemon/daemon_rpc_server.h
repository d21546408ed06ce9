/* daemon_rpc_server: the agent's side of the control protocol (cli_rpc.h),
 * on the protocol thread's libuv loop. It reads one request frame per
 * connection and hands the body to the agent, which answers with
 * daemon_rpc_reply() at once or later (join and leave answer when done). */
#ifndef MOONLIST_DAEMON_RPC_SERVER_H
#define MOONLIST_DAEMON_RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct daemon_rpc_server daemon_rpc_server;
typedef struct daemon_rpc_conn daemon_rpc_conn;

/* A request body arrived. The conn stays valid until daemon_rpc_reply(). */
typedef void (*daemon_rpc_request_fn)(void *ud, daemon_rpc_conn *c, const uint8_t *req, size_t len);

/* Listen on host:port. Returns NULL with a message in err. Ownership: the
 * caller's, released by daemon_rpc_server_close() (the loop finishes it). */
daemon_rpc_server *daemon_rpc_server_start(uv_loop_t *loop, const char *host, uint16_t port, daemon_rpc_request_fn fn,
                                     void *ud, char *err, size_t errlen);
void daemon_rpc_server_close(daemon_rpc_server *s);

/* Send the response body (copied) and close the connection. Exactly once
 * per request; safe after the client went away (then it only frees). */
void daemon_rpc_reply(daemon_rpc_conn *c, const uint8_t *resp, size_t len);

#endif
