/* cli_rpc: the client side of the control protocol (daemon/daemon_rpc.h,
 * serf's IPC) on a blocking socket with one deadline for the whole
 * session: connect, handshake, auth when a key is given, then requests one
 * at a time, each answered before the next is sent. */
#ifndef MOONLIST_CLI_RPC_H
#define MOONLIST_CLI_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon_rpc.h"
#include "wire/wire_buf.h"

/* How long a client waits for a request's answer: a join can take a
 * TCPTimeout (WAN: 30 s) per round; a leave about 5 s. */
#define CLI_RPC_CLIENT_TIMEOUT_MS 65000

typedef struct cli_rpc {
    int fd;
    long long deadline;   /* monotonic ms */
    uint64_t seq;
    wire_buf in;          /* bytes read, not yet taken */
    size_t taken;         /* the answers already handed out end here */
} cli_rpc;

/* Connect to host:port, handshake, and auth with auth_key unless it is
 * NULL or "". Returns 0, or -1 with a message in err (c is then closed). */
int cli_rpc_open(cli_rpc *c, const char *host, uint16_t port, const char *auth_key, int timeout_ms, char *err,
                 size_t errlen);

/* Send `command` with its body (a msgpack map; NULL for a command without
 * one) and wait for the answer. Returns 0 with the response body in *resp
 * (a view valid until the next call; empty when the command has none),
 * 1 when the agent answered with an error (in err), or -1 when the
 * connection failed (err says how). */
int cli_rpc_call(cli_rpc *c, daemon_rpc_cmd command, const uint8_t *body, size_t len, wire_bytes *resp, char *err,
                 size_t errlen);

/* The next record of a stream under `seq` (a `query`'s answers, after
 * cli_rpc_call returned its reply): header and body. Returns 0 with the
 * body in *rec (a view valid until the next call), 1 when the record
 * carries an error (in err), -1 when the connection failed or the
 * deadline passed. Records under other seqs are skipped. */
int cli_rpc_record(cli_rpc *c, uint64_t seq, wire_bytes *rec, char *err, size_t errlen);
/* A new deadline for what follows: timeout_ms from now. */
void cli_rpc_set_timeout(cli_rpc *c, int timeout_ms);

void cli_rpc_close(cli_rpc *c);

#endif
