/* cli_members: the member list as `moonlist members` prints it.
 *
 * The agent sends members over RPC as msgpack (see cli_rpc.h); the client
 * decodes them into rows and renders text (like `serf members`) or JSON:
 *   {"members":[{"name":..,"addr":..,"port":..,"status":..,"tags":{..},
 *                "incarnation":..,"protocol":[min,max,cur],
 *                "delegate":[min,max,cur]}]}
 * Tags are decoded from serf-style meta (serf_tags). */
#ifndef MOONLIST_CLI_MEMBERS_H
#define MOONLIST_CLI_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon_rpc.h"
#include "serf/serf_tags.h"
#include "wire/wire_buf.h"
#include "wire/wire_mp.h"

/* Decode the "Members" array at r into rows (malloc'ed array, caller
 * frees; the rows' views point into r's input). Returns 0, or -1 if
 * malformed. */
int cli_members_decode(wire_mp_reader *r, daemon_rpc_member **rows, size_t *n);

/* Render rows, appended to out: 0, or a wire_err with out as it was. */
int cli_members_json(wire_buf *out, const daemon_rpc_member *rows, size_t n);
int cli_members_text(wire_buf *out, const daemon_rpc_member *rows, size_t n);

#endif
