/* cli_serf: the bits of serf's own message layer (§16) an agent needs to
 * be a polite member of a serf cluster: its leave intent, and reading
 * serf's Lamport time from the intents it gossips. */
#ifndef MOONLIST_CLI_SERF_H
#define MOONLIST_CLI_SERF_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_buf.h"

/* serf's user message types (first payload byte, §16) */
enum { CLI_SERF_MSG_LEAVE = 0, CLI_SERF_MSG_JOIN = 1, CLI_SERF_MSG_PUSH_PULL = 2 };

/* serf's leave intent: user message payload 00 + {LTime, Node, Prune:
 * false}, keys sorted, old-spec strings, as serf writes it. Appended to
 * out. Returns 0 or a wire_err. */
int cli_serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node);

/* serf's join intent: 01 + {LTime, Node}. Appended to out. */
int cli_serf_join_intent(wire_buf *out, uint64_t ltime, const char *node);

/* serf's push/pull user state (02 + {..., LTime, ...}): its member clock
 * in *ltime, 0; -1 if not serf's state or malformed. */
int cli_serf_state_ltime(const uint8_t *state, size_t len, uint64_t *ltime);

/* If payload is a serf join or leave intent, store its LTime in *ltime and
 * return 0; -1 otherwise (not an intent, or malformed). */
int cli_serf_intent_ltime(const uint8_t *payload, size_t len, uint64_t *ltime);

/* A serf join or leave intent, read. */
typedef struct cli_serf_intent {
    int type;                    /* CLI_SERF_MSG_LEAVE or CLI_SERF_MSG_JOIN */
    uint64_t ltime;
    char node[256];              /* NUL-terminated; memberlist names fit */
} cli_serf_intent;

/* Read a serf join or leave intent (LTime and Node; other keys skipped):
 * 0, or -1 if not an intent, malformed, or without LTime or Node, or a
 * Node that is empty, over 255 bytes or holds a NUL. */
int cli_serf_intent_parse(const uint8_t *payload, size_t len, cli_serf_intent *out);

#endif
