/* serf_msg_any: any serf message by its type byte, for whoever dispatches
 * on it (a receiver of user messages, the fuzzer, the vector tests): one
 * union, one decode, one encode, one free over the family codecs. */
#ifndef MOONLIST_SERF_MSG_ANY_H
#define MOONLIST_SERF_MSG_ANY_H

#include "serf/serf_msg.h"
#include "serf/serf_msg_event.h"
#include "serf/serf_msg_key.h"
#include "serf/serf_msg_query.h"
#include "serf/serf_msg_state.h"

/* The kinds: serf's message types 0-9, and a query filter, whose own type
 * bytes (0 node, 1 tag) are not message types. */
enum { SERF_ANY_FILTER = 10 };

typedef union serf_msg_any {
    serf_msg_leave leave;
    serf_msg_join join;
    serf_msg_push_pull push_pull;
    serf_msg_user_event user_event;
    serf_msg_query query;
    serf_msg_query_response query_response;
    serf_member conflict_response;
    serf_msg_key_request key_request;
    serf_msg_key_response key_response;
    serf_msg_relay relay;
    serf_filter filter;
} serf_msg_any;

/* Decode p (from its type byte) as `kind`; WIRE_ETYPE for an unknown
 * kind or another type byte. Release with serf_msg_any_free(). */
int serf_msg_any_decode(int kind, const uint8_t *p, size_t n, serf_msg_any *m);
int serf_msg_any_encode(int kind, wire_buf *out, const serf_msg_any *m);
void serf_msg_any_free(int kind, serf_msg_any *m);

#endif
