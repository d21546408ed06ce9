/* cli_rpc: the control protocol between `moonlist <command>` and a running
 * agent, over TCP on the agent's -rpc-addr (loopback by default; nothing
 * here is authenticated, so keep it there).
 *
 * One request and one response per connection, each one frame:
 *   frame = length:u32 big-endian (1..CLI_RPC_MAX_FRAME) + msgpack map
 * Strings are msgpack raw strings; unknown keys are ignored.
 *
 * Request: {"Command": <name>, ...arguments}
 *   "members"                        -> {"Members": [member...]}
 *       member = {"Name", "Addr" (text), "Port", "Status" (alive|suspect|
 *                 dead|left), "Incarnation", "Meta" (raw bytes), "Vsn" [6]}
 *   "join", "Addrs": [str...]        -> {"Joined": n} once the join is over
 *                                       (n = seeds that answered; 0 = failed,
 *                                       with "Error")
 *   "leave"                          -> {"Left": true} once the graceful
 *                                       leave is done; the agent then exits
 *   "force-leave", "Node": str       -> {}
 *   "info"                           -> {"Info": {section: {key: value}}}
 *                                       values are strings or unsigned ints;
 *                                       sections and keys in display order
 * Any failure: {"Error": str} (and the client exits 1). */
#ifndef MOONLIST_CLI_RPC_H
#define MOONLIST_CLI_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_buf.h"

/* A member list of thousands with full meta stays far below this; anything
 * bigger is not a response we asked for. */
#define CLI_RPC_MAX_FRAME ((size_t)32 << 20)
/* How long a client waits for a request's answer: a join can take a
 * TCPTimeout (WAN: 30 s) per round; a leave about 5 s. */
#define CLI_RPC_CLIENT_TIMEOUT_MS 65000

/* Prepend nothing: write the 4-byte length for a body of len bytes. */
void cli_rpc_put_len(uint8_t hdr[4], size_t len);

/* Client: connect to host:port, send the request body (a msgpack map),
 * wait for the response body (appended to resp). Returns 0, or -1 with a
 * message in err. */
int cli_rpc_call(const char *host, uint16_t port, const uint8_t *req, size_t reqlen, wire_buf *resp,
                 int timeout_ms, char *err, size_t errlen);

#endif
