/* serf_msg: the bits of serf's own message layer (§16) an agent needs to
 * be a polite member of a serf cluster: its leave intent, and reading
 * serf's Lamport time from the intents it gossips. */
#ifndef MOONLIST_SERF_MSG_H
#define MOONLIST_SERF_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_buf.h"

/* serf's user message types (first payload byte, §16) */
enum { SERF_MSG_LEAVE = 0, SERF_MSG_JOIN = 1, SERF_MSG_PUSH_PULL = 2 };

/* serf's leave intent: user message payload 00 + {LTime, Node, Prune:
 * false}, keys sorted, old-spec strings, as serf writes it. Appended to
 * out. Returns 0 or a wire_err. */
int serf_leave_intent(wire_buf *out, uint64_t ltime, const char *node);

/* serf's join intent: 01 + {LTime, Node}. Appended to out. */
int serf_join_intent(wire_buf *out, uint64_t ltime, const char *node);

/* serf's push/pull user state (02 + {..., LTime, ...}): its member clock
 * in *ltime, 0; -1 if not serf's state or malformed. */
int serf_state_ltime(const uint8_t *state, size_t len, uint64_t *ltime);

/* If payload is a serf join or leave intent, store its LTime in *ltime and
 * return 0; -1 otherwise (not an intent, or malformed). */
int serf_intent_ltime(const uint8_t *payload, size_t len, uint64_t *ltime);

/* A serf join or leave intent, read. */
typedef struct serf_intent {
    int type;                    /* SERF_MSG_LEAVE or SERF_MSG_JOIN */
    uint64_t ltime;
    char node[256];              /* NUL-terminated; memberlist names fit */
} serf_intent;

/* Read a serf join or leave intent (LTime and Node; other keys skipped):
 * 0, or -1 if not an intent, malformed, or without LTime or Node, or a
 * Node that is empty, over 255 bytes or holds a NUL. */
int serf_intent_parse(const uint8_t *payload, size_t len, serf_intent *out);

#endif
