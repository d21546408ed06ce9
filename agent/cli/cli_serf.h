/* cli_serf: the bits of serf's own message layer (§16) an agent needs to
 * be a polite member of a serf cluster: its leave intent, and reading
 * serf's Lamport time from the intents it gossips. */
#ifndef MOONLIST_CLI_SERF_H
#define MOONLIST_CLI_SERF_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_buf.h"

/* serf's user message types (first payload byte, §16) */
enum { CLI_SERF_MSG_LEAVE = 0, CLI_SERF_MSG_JOIN = 1 };

/* serf's leave intent: user message payload 00 + {LTime, Node, Prune:
 * false}, keys sorted, old-spec strings, as serf writes it. Appended to
 * out. Returns 0 or a wire_err. */
int cli_serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node);

/* If payload is a serf join or leave intent, store its LTime in *ltime and
 * return 0; -1 otherwise (not an intent, or malformed). */
int cli_serf_intent_ltime(const uint8_t *payload, size_t len, uint64_t *ltime);

#endif
