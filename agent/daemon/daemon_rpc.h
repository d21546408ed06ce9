/* daemon_rpc: the control protocol between `moonlist <command>` and a running
 * agent, over TCP on the agent's -rpc-addr (loopback by default; nothing
 * here is authenticated, so keep it there).
 *
 * One request and one response per connection, each one frame:
 *   frame = length:u32 big-endian (1..DAEMON_RPC_MAX_FRAME) + msgpack map
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
#ifndef MOONLIST_DAEMON_RPC_H
#define MOONLIST_DAEMON_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_mp.h"

/* serf's default RPC address: loopback only, the control port is not
 * authenticated */
#define DAEMON_RPC_DEFAULT_ADDR "127.0.0.1:7373"

/* A member list of thousands with full meta stays far below this; anything
 * bigger is not a response we asked for. */
#define DAEMON_RPC_MAX_FRAME ((size_t)32 << 20)

/* Write the 4-byte length for a body of len bytes. */
void daemon_rpc_put_len(uint8_t hdr[4], size_t len);

/* One entry of the "Members" array. Views: the encoder reads them, the
 * client's decoder points them into the response buffer. */
typedef struct daemon_rpc_member {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *addr;      /* printable address text ("127.0.0.1", "::1") */
    size_t addr_len;
    uint16_t port;
    const uint8_t *status;    /* alive|suspect|dead|left */
    size_t status_len;
    uint32_t incarnation;
    const uint8_t *meta;
    size_t meta_len;
    uint8_t vsn[6];
} daemon_rpc_member;

/* Write one member as a "Members" array entry, into the caller's pass
 * (errors are the writer's, checked when the caller finishes). */
void daemon_rpc_member_encode(wire_mp_writer *w, const daemon_rpc_member *m);

#endif
