/* wire_compress: the compress message 09 {Algo: 0, Buf: <lzw>} (§5.5).
 *
 * Used on UDP (only when smaller, the caller decides) and on TCP streams
 * (always when compression is on). Algo must be 0 (LZW): anything else is
 * WIRE_ERANGE, as Go refuses it. */
#ifndef MOONLIST_WIRE_COMPRESS_H
#define MOONLIST_WIRE_COMPRESS_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* Append 09 {Algo: 0, Buf: lzw(msg)} to out. */
int wire_compress_wrap(wire_buf *out, const uint8_t *msg, size_t n);

/* p starts at the 09 byte. Append the inflated Buf to out, never more than
 * max_out bytes (WIRE_ELIMIT). *used (may be NULL) gets the bytes the
 * compress message took, 09 included. WIRE_ETRUNC when p ends inside the
 * map, so a stream reader can wait for more. */
int wire_compress_unwrap(wire_buf *out, const uint8_t *p, size_t n, size_t max_out, size_t *used);

#endif
