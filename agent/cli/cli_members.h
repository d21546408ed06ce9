/* cli_members: the member list as `moonlist members` prints it.
 *
 * The agent sends members over RPC as serf's records plus moonlist's
 * Incarnation and State ("moonlist-members", daemon/daemon_rpc.h); the
 * client decodes them into rows and renders text (like `serf members`) or
 * JSON:
 *   {"members":[{"name":..,"addr":..,"port":..,"status":..,"tags":{..},
 *                "incarnation":..,"protocol":[min,max,cur],
 *                "delegate":[min,max,cur],"serf_status":..}]}
 * where status is moonlist's word (alive, suspect, dead, left: the core's
 * view) and serf_status serf's (alive, leaving, left, failed: serf's view,
 * which keeps failed and left members until they are reaped). */
#ifndef MOONLIST_CLI_MEMBERS_H
#define MOONLIST_CLI_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon_rpc.h"
#include "wire/wire_buf.h"
#include "wire/wire_mp.h"

/* One row; the views point into the response. */
typedef struct cli_member {
    wire_bytes name;
    char addr[64];           /* the IP as text ("127.0.0.1", "::1") */
    uint16_t port;
    wire_bytes status;       /* State (moonlist's word), else serf's Status */
    wire_bytes serf_status;  /* serf's Status (alive, leaving, left, failed) */
    uint32_t incarnation;
    daemon_rpc_list tags;    /* the Tags map, checked */
    uint8_t vsn[6];          /* protocol min, max, cur; delegate min, max, cur */
} cli_member;

/* Decode the "Members" array at r into rows (malloc'ed array, caller
 * frees). Returns 0, or -1 if malformed. */
int cli_members_decode(wire_mp_reader *r, cli_member **rows, size_t *n);

/* Render rows, appended to out: 0, or a wire_err with out as it was. */
int cli_members_json(wire_buf *out, const cli_member *rows, size_t n);
int cli_members_text(wire_buf *out, const cli_member *rows, size_t n);

#endif
