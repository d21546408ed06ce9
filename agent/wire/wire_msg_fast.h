/* wire_msg_fast: the two messages a large cluster sends by the million
 * (alive, and the node states of a push/pull) written and read directly,
 * without the tables' per-item packer and key lookups. Internal to
 * wire_msg.c. */
#ifndef WIRE_MSG_FAST_H
#define WIRE_MSG_FAST_H

#include <stdbool.h>

#include "wire/wire.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

/* Append the message as the table encoder would, byte for byte, and set
 * *rc to its result. False (nothing done) for what the fast path does not
 * cover (a string or byte field of 32 bytes or more, a state outside
 * 0..127): the caller then encodes it with the table. */
bool wire_fast_alive(wire_buf *out, const wire_alive *m, int *rc);
bool wire_fast_push_node_state(wire_buf *out, const wire_push_node_state *s, wire_int_style style, int *rc);
/* Read the message (p: its map, after any type byte) when it is in the
 * layout every peer writes; true with *m (and *used) exactly as the map
 * reader would give them, false (nothing promised of *m) for anything
 * else, which the caller then reads with the map reader. */
bool wire_fast_read_alive(const uint8_t *p, size_t n, wire_alive *m, size_t *used);
bool wire_fast_read_push_node_state(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used);

#endif
