/* serf_msg: serf's own message layer (§16.2), byte for byte as serf 0.9.4
 * (go-msgpack 0.5.5) writes it.
 *
 * serf rides on memberlist's user messages: the first byte of a payload
 * is one of the types below, a msgpack map follows. This header has what
 * every family shares (the types, the flags, the size limits, the list
 * types that decoded messages hold) and the membership intents, join and
 * leave. The other families have their own header:
 *
 *   serf_msg_event.h  3 user event
 *   serf_msg_state.h  2 push/pull state (memberlist's push/pull user state)
 *   serf_msg_query.h  4 query, 5 query response, 9 relay, query filters
 *   serf_msg_key.h    6 conflict response, 7 key request, 8 key response
 *                     (payloads of serf's internal queries, not gossiped)
 *
 * Conventions for every message struct:
 *  - fields are named after serf's Go fields and listed in wire order;
 *  - strings and byte slices are wire_bytes views: decoded, they point into
 *    the input (valid while it is). A NULL view is Go's nil: c0 for a
 *    []byte, the empty a0 for a string (Go has no nil string, and a string
 *    received as c0 decodes as an empty, non-NULL view);
 *  - lists and maps are { array, n }: v == NULL is Go's nil (c0), any
 *    other v with n == 0 an empty one (90 / 80). Decoding allocates these
 *    arrays: release a decoded message with its _free function. To encode,
 *    point them at your own arrays and never call _free on that struct;
 *  - maps keep the entries in the order they came (Go's own order is
 *    random; a key sent twice is kept twice, later wins for whoever looks
 *    it up, as in Go);
 *  - decoders take the message from its type byte, return WIRE_OK or a
 *    wire_err (WIRE_ETYPE for another type byte, WIRE_ETRUNC when the input
 *    ends inside it), never abort, and leave the struct zeroed on error;
 *    bytes after the map are ignored, as Go ignores them;
 *  - encoders append type byte + map to a wire_buf, all or nothing. */
#ifndef MOONLIST_SERF_MSG_H
#define MOONLIST_SERF_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* serf's message types (first payload byte), frozen upstream. */
enum {
    SERF_MSG_LEAVE = 0,
    SERF_MSG_JOIN = 1,
    SERF_MSG_PUSH_PULL = 2,
    SERF_MSG_USER_EVENT = 3,
    SERF_MSG_QUERY = 4,
    SERF_MSG_QUERY_RESPONSE = 5,
    SERF_MSG_CONFLICT_RESPONSE = 6,
    SERF_MSG_KEY_REQUEST = 7,
    SERF_MSG_KEY_RESPONSE = 8,
    SERF_MSG_RELAY = 9,
};
/* serf's name for a type ("leave", "join", "pushPull", "userEvent",
 * "query", "queryResponse", "conflictResponse", "keyRequest",
 * "keyResponse", "relay"), "unknown" otherwise. */
const char *serf_msg_type_name(int type);

/* Size limits, as serf 0.9.4 applies them (config.go, serf.go). They are
 * checked when a message is made, never on receipt: serf takes a larger
 * one from the network.
 *
 * SERF_USER_EVENT_SIZE_LIMIT: UserEventSizeLimit's default. An event is
 *   gossiped to everyone, piggy-backed on memberlist's packets beside
 *   other broadcasts, so it must stay well inside a UDP packet (1400
 *   bytes, §14). serf checks it twice: name + payload before encoding,
 *   then the encoded message (type byte included).
 * SERF_USER_EVENT_SANE_LIMIT: serf's hard ceiling on the same two sizes
 *   whatever the configuration (UserEventSizeLimit the constant, 9 KiB).
 * SERF_QUERY_SIZE_LIMIT: QuerySizeLimit's default: the encoded query,
 *   type byte included. A query is gossiped like an event, and its
 *   answers come back by UDP: "must fit in a UDP packet with some
 *   overhead", says serf.
 * SERF_QUERY_RESPONSE_SIZE_LIMIT: QueryResponseSizeLimit's default: the
 *   encoded response (type byte included), and a relayed response
 *   (relay header + response) the same; a response goes back in one UDP
 *   message. */
#define SERF_USER_EVENT_SIZE_LIMIT 512
#define SERF_USER_EVENT_SANE_LIMIT (9 * 1024)
#define SERF_QUERY_SIZE_LIMIT 1024
#define SERF_QUERY_RESPONSE_SIZE_LIMIT 1024

/* Lists and maps held by decoded messages (see above for nil and
 * ownership). */
typedef struct serf_raw_list {      /* Go [][]byte or []string */
    wire_bytes *v;
    size_t n;
} serf_raw_list;

typedef struct serf_str_pair {
    wire_bytes key, value;
} serf_str_pair;
typedef struct serf_str_map {       /* Go map[string]string */
    serf_str_pair *v;
    size_t n;
} serf_str_map;

typedef struct serf_ltime_pair {
    wire_bytes name;
    uint64_t ltime;
} serf_ltime_pair;
typedef struct serf_ltime_map {     /* Go map[string]LamportTime */
    serf_ltime_pair *v;
    size_t n;
} serf_ltime_map;

/* 1 join intent: {LTime, Node} */
typedef struct serf_msg_join {
    uint64_t ltime;
    wire_bytes node;
} serf_msg_join;

/* 0 leave intent: {LTime, Node, Prune} */
typedef struct serf_msg_leave {
    uint64_t ltime;
    wire_bytes node;
    bool prune;
} serf_msg_leave;

int serf_msg_join_encode(wire_buf *out, const serf_msg_join *m);
int serf_msg_join_decode(const uint8_t *p, size_t n, serf_msg_join *m);
int serf_msg_leave_encode(wire_buf *out, const serf_msg_leave *m);
int serf_msg_leave_decode(const uint8_t *p, size_t n, serf_msg_leave *m);

/* ---- the intents as the agent uses them today ------------------------ */

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
