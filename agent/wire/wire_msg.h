/* wire_msg: encode and decode the memberlist message bodies (§3, §4).
 *
 * Encoders append "type byte + msgpack map" to a wire_buf, with go-msgpack's
 * conventions: keys sorted, old-spec raw strings (a0-bf, da, db; never d9
 * or bin), nil slices as c0, smallest unsigned integer forms, omitempty for
 * the Source* fields, Vsn as a 6-byte raw.
 *
 * Decoders take the bytes *after* the type byte, accept any key order, skip
 * unknown keys, accept every integer format range-checked to the Go type,
 * accept fixstr/str8/16/32 and bin8/16/32 for strings and byte slices, and
 * return views into the input. `used` (may be NULL) receives the number of
 * bytes the body took, for streams where more follows.
 *
 * Decoding details a caller can rely on:
 *  - input that ends inside the body is always WIRE_ETRUNC (never another
 *    error), so a stream reader can wait for more bytes;
 *  - nil (c0) decodes as the field's zero value; a nil byte/string field
 *    gives p == NULL; missing keys are zero; a repeated key: last wins;
 *  - Go int fields (Nodes, UserStateLen, UserMsgLen, State) take the whole
 *    int64 range, negatives included: limits (§6.1, §14) are the stream
 *    layer's to enforce; compress.Algo is range-checked as Go's uint8;
 *  - Vsn: a raw of any length or an array of uint8; v holds the first 6,
 *    len what was sent (capped at 255);
 *  - on error the output struct is zeroed.
 * The codec allocates nothing; see wire_mp.h for why it does not use
 * msgpack-c's unpacker. */
#ifndef MOONLIST_WIRE_MSG_H
#define MOONLIST_WIRE_MSG_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* How signed Go `int` fields (Nodes, UserStateLen, UserMsgLen, State) are
 * written: memberlist <= 0.5.0 uses the smallest unsigned form (cc c8),
 * >= 0.5.1 signed forms (d1 00 c8). Both decode everywhere; we send the
 * former, like the serf we interoperate with. The other exists for tests. */
typedef enum wire_int_style { WIRE_INT_GO_MSGPACK_V0 = 0, WIRE_INT_GO_MSGPACK_V2 = 1 } wire_int_style;

int wire_encode_ping(wire_buf *out, const wire_ping *m);
int wire_encode_indirect_ping(wire_buf *out, const wire_indirect_ping *m);
int wire_encode_ack(wire_buf *out, const wire_ack *m);
int wire_encode_nack(wire_buf *out, const wire_nack *m);
int wire_encode_suspect(wire_buf *out, const wire_suspect *m);
int wire_encode_alive(wire_buf *out, const wire_alive *m);
int wire_encode_dead(wire_buf *out, const wire_dead *m);
int wire_encode_err(wire_buf *out, const wire_errmsg *m);
int wire_encode_compress(wire_buf *out, const wire_compress *m);
/* UDP user message: 08 + raw payload, no length (§4.8). */
int wire_encode_user_udp(wire_buf *out, const uint8_t *payload, size_t len);
/* TCP user message: 08 {UserMsgLen} payload. */
int wire_encode_user_tcp(wire_buf *out, const uint8_t *payload, size_t len, wire_int_style style);
/* push/pull: call header (writes the 06 type byte), then one node state per
 * node, then append the user state bytes with wire_buf_append. */
int wire_encode_push_pull_header(wire_buf *out, const wire_push_pull_header *h, wire_int_style style);
int wire_encode_push_node_state(wire_buf *out, const wire_push_node_state *s, wire_int_style style);
/* The two above through the table encoder alone, never the direct writer
 * (wire_msg_fast.c) the common cases take: for the tests that compare
 * them. */
int wire_encode_alive_table(wire_buf *out, const wire_alive *m);
int wire_encode_push_node_state_table(wire_buf *out, const wire_push_node_state *s, wire_int_style style);

int wire_decode_ping(const uint8_t *p, size_t n, wire_ping *m, size_t *used);
int wire_decode_indirect_ping(const uint8_t *p, size_t n, wire_indirect_ping *m, size_t *used);
int wire_decode_ack(const uint8_t *p, size_t n, wire_ack *m, size_t *used);
int wire_decode_nack(const uint8_t *p, size_t n, wire_nack *m, size_t *used);
int wire_decode_suspect(const uint8_t *p, size_t n, wire_suspect *m, size_t *used);
int wire_decode_alive(const uint8_t *p, size_t n, wire_alive *m, size_t *used);
int wire_decode_dead(const uint8_t *p, size_t n, wire_dead *m, size_t *used);
int wire_decode_err(const uint8_t *p, size_t n, wire_errmsg *m, size_t *used);
int wire_decode_compress(const uint8_t *p, size_t n, wire_compress *m, size_t *used);
int wire_decode_push_pull_header(const uint8_t *p, size_t n, wire_push_pull_header *h, size_t *used);
int wire_decode_push_node_state(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used);
/* The general map reader alone, without the in-order path that
 * wire_decode_alive and wire_decode_push_node_state try first: the
 * reference tests/wire/test_msg_fast.c and fuzz/fuzz_msg.c hold them to
 * (the same result, byte for byte, for any input). */
int wire_decode_alive_map(const uint8_t *p, size_t n, wire_alive *m, size_t *used);
int wire_decode_push_node_state_map(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used);
int wire_decode_user_msg_header(const uint8_t *p, size_t n, wire_user_msg_header *h, size_t *used);

/* One decoded message of any type, for dispatching a UDP packet's parts or a
 * stream's message. For WIRE_USER from UDP, `user` is the rest of the
 * message; push/pull is not decoded here (see wire_decode_push_pull_*). */
typedef struct wire_msg {
    uint8_t type;
    union {
        wire_ping ping;
        wire_indirect_ping indirect_ping;
        wire_ack ack;
        wire_nack nack;
        wire_suspect suspect;
        wire_alive alive;
        wire_dead dead;
        wire_errmsg err;
        wire_compress compress;
        wire_bytes user;
    } u;
} wire_msg;

/* Decode one message starting at its type byte. Containers (compound,
 * hasCrc, encrypt, label) and push/pull give WIRE_ETYPE: they are for the
 * packet and stream layers. Bytes after a map body are ignored, as Go
 * ignores them in a packet part; use the typed decoders' `used` to see
 * them. */
int wire_decode_msg(const uint8_t *msg, size_t n, wire_msg *out);

#endif
