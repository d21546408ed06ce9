/* cli_rpc: the client side of the control protocol (daemon/daemon_rpc.h):
 * one request, one response, on a blocking socket with a deadline. */
#ifndef MOONLIST_CLI_RPC_H
#define MOONLIST_CLI_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon_rpc.h"
#include "wire/wire_buf.h"

/* How long a client waits for a request's answer: a join can take a
 * TCPTimeout (WAN: 30 s) per round; a leave about 5 s. */
#define CLI_RPC_CLIENT_TIMEOUT_MS 65000

/* Client: connect to host:port, send the request body (a msgpack map),
 * wait for the response body (appended to resp). Returns 0, or -1 with a
 * message in err. */
int cli_rpc_call(const char *host, uint16_t port, const uint8_t *req, size_t reqlen, wire_buf *resp,
                 int timeout_ms, char *err, size_t errlen);

#endif
