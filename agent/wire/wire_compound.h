/* wire_compound: the compound message (§5.3).
 *
 *   07 n:u8 len_1:u16be ... len_n:u16be msg_1 ... msg_n
 */
#ifndef MOONLIST_WIRE_COMPOUND_H
#define MOONLIST_WIRE_COMPOUND_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

#define WIRE_COMPOUND_MAX_PARTS 255
#define WIRE_COMPOUND_MAX_PART 65535
/* 07 + count, then 2 bytes per part: what the gossip budget must reserve
 * (Go's compoundHeaderOverhead / compoundOverhead). */
#define WIRE_COMPOUND_HEADER_OVERHEAD 2
#define WIRE_COMPOUND_PART_OVERHEAD 2

/* Append a compound of msgs[0..n) (each an encoded message, type byte
 * first). WIRE_ELIMIT for more than 255 parts or a part over 65535 bytes,
 * WIRE_ERANGE for n == 0 or an empty part. */
int wire_compound_build(wire_buf *out, const wire_bytes *msgs, size_t n);

/* Iterate over a compound's parts. p starts at the 07 byte. */
typedef struct wire_compound_iter {
    const uint8_t *table;  /* the length table */
    const uint8_t *next;   /* next part's bytes */
    const uint8_t *end;
    unsigned count, index;
} wire_compound_iter;

/* WIRE_ETRUNC if the header or the length table is cut (Go drops the whole
 * compound then), WIRE_ETYPE if p[0] is not 07. */
int wire_compound_begin(wire_compound_iter *it, const uint8_t *p, size_t n);

/* Next part: 1 and *part set, 0 when all parts were returned, WIRE_ETRUNC
 * when the declared lengths run past the end (Go processes the parts that
 * fit and counts the rest as truncated; so do we, and the caller reports
 * it). */
int wire_compound_next(wire_compound_iter *it, wire_bytes *part);

#endif
