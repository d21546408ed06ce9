/* cli_members: the member list as `moonlist members` prints it.
 *
 * The agent sends members over RPC as msgpack (see cli_rpc.h); the client
 * decodes them into rows and renders text (like `serf members`) or JSON:
 *   {"members":[{"name":..,"addr":..,"port":..,"status":..,"tags":{..},
 *                "incarnation":..,"protocol":[min,max,cur],
 *                "delegate":[min,max,cur]}]}
 * Tags are decoded from serf-style meta (cli_tags). */
#ifndef MOONLIST_CLI_MEMBERS_H
#define MOONLIST_CLI_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli_tags.h"
#include "wire/wire_buf.h"

/* Views into the RPC response buffer, valid while it lives. */
typedef struct cli_member_row {
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
} cli_member_row;

/* Append one member as the RPC "Members" array entry. */
int cli_members_encode_row(wire_buf *out, const cli_member_row *m);
/* Decode the "Members" array at r into rows (malloc'ed array, caller
 * frees). Returns 0, or -1 if malformed. */
struct cli_mp_reader;
int cli_members_decode(struct cli_mp_reader *r, cli_member_row **rows, size_t *n);

int cli_members_json(wire_buf *out, const cli_member_row *rows, size_t n);
int cli_members_text(wire_buf *out, const cli_member_row *rows, size_t n);

#endif
