/* serf_msg_query: serf's queries on the wire (§16.2), as serf 0.9.4
 * writes them:
 *
 *   4 query           {Addr, Filters, Flags, ID, LTime, Name, Payload,
 *                      Port, RelayFactor, SourceNode, Timeout}
 *   5 query response  {Flags, From, ID, LTime, Payload}
 *   9 relay           09 {DestAddr: {IP, Port, Zone}, DestName}, then a
 *                     whole inner message (its own type byte and map)
 *
 * and the query filters, each a byte string inside Filters that holds its
 * own type byte and msgpack value:
 *
 *   0 node filter     00 [name, ...]          (Go filterNode, a []string)
 *   1 tag filter      01 {Expr, Tag}          (Go filterTag)
 *
 * See serf_msg.h for the conventions shared by every message. */
#ifndef MOONLIST_SERF_MSG_QUERY_H
#define MOONLIST_SERF_MSG_QUERY_H

#include "serf/serf_msg.h"

/* Flags of a query and of a response */
#define SERF_QUERY_FLAG_ACK 1u            /* query: send an ack; response: this is the ack */
#define SERF_QUERY_FLAG_NO_BROADCAST 2u   /* query: do not gossip it further */

/* Filter types (first byte of a filter) */
enum { SERF_FILTER_NODE = 0, SERF_FILTER_TAG = 1 };

typedef struct serf_msg_query {
    wire_bytes addr;            /* []byte: the asker's IP, 4 or 16 bytes, for direct replies */
    serf_raw_list filters;      /* [][]byte: encoded filters (below); nil when none */
    uint32_t flags;             /* SERF_QUERY_FLAG_* */
    uint32_t id;                /* random, with LTime names the query */
    uint64_t ltime;             /* the query clock's time */
    wire_bytes name;            /* string */
    wire_bytes payload;         /* []byte */
    uint16_t port;              /* the asker's port */
    uint8_t relay_factor;       /* answer also through this many other members */
    wire_bytes source_node;     /* string: the asker's name */
    int64_t timeout_ns;         /* time.Duration: how long answers are taken */
} serf_msg_query;

typedef struct serf_msg_query_response {
    uint32_t flags;             /* SERF_QUERY_FLAG_ACK for an ack */
    wire_bytes from;            /* string: who answers */
    uint32_t id;                /* the query's ID */
    uint64_t ltime;             /* the query's LTime */
    wire_bytes payload;         /* []byte: nil in an ack */
} serf_msg_query_response;

int serf_msg_query_encode(wire_buf *out, const serf_msg_query *m);
/* Allocates filters: release with serf_msg_query_free(). */
int serf_msg_query_decode(const uint8_t *p, size_t n, serf_msg_query *m);
void serf_msg_query_free(serf_msg_query *m);

int serf_msg_query_response_encode(wire_buf *out, const serf_msg_query_response *m);
int serf_msg_query_response_decode(const uint8_t *p, size_t n, serf_msg_query_response *m);

/* The relay header. DestAddr is a Go net.UDPAddr, which go-msgpack writes
 * as the struct it is: {IP ([]byte), Port (int), Zone (string)}. */
typedef struct serf_udp_addr {
    wire_bytes ip;
    int64_t port;
    wire_bytes zone;
} serf_udp_addr;

typedef struct serf_msg_relay {
    serf_udp_addr dest_addr;    /* where the inner message goes */
    wire_bytes dest_name;       /* string: the node there */
    wire_bytes inner;           /* decoded: the rest, from the inner type byte (a view) */
} serf_msg_relay;

/* 09 + header + the inner message (m->inner, appended as it is; serf
 * relays only query responses). */
int serf_msg_relay_encode(wire_buf *out, const serf_msg_relay *m);
/* Header, and in m->inner the bytes after it (may be empty: serf would
 * forward an empty message). */
int serf_msg_relay_decode(const uint8_t *p, size_t n, serf_msg_relay *m);

/* A filter, decoded. */
typedef struct serf_filter {
    int type;                   /* SERF_FILTER_NODE or SERF_FILTER_TAG */
    serf_raw_list nodes;        /* node filter: the names */
    wire_bytes tag, expr;       /* tag filter: the tag and a Go regular expression */
} serf_filter;

/* 00 + the names as a msgpack array (Go []string: nil list -> c0). */
int serf_filter_nodes_encode(wire_buf *out, const serf_raw_list *nodes);
/* 01 + {Expr, Tag}. */
int serf_filter_tag_encode(wire_buf *out, wire_bytes tag, wire_bytes expr);
/* WIRE_ETYPE for a type other than node or tag (serf then refuses the
 * query), WIRE_ETRUNC for an empty filter. Allocates a node filter's list:
 * release with serf_filter_free(). */
int serf_filter_decode(const uint8_t *p, size_t n, serf_filter *f);
void serf_filter_free(serf_filter *f);

#endif
