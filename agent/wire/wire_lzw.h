/* wire_lzw: Go compress/lzw, LSB bit order, 8-bit literals (§8).
 *
 * The encoder reproduces Go's bytes exactly: Clear first, greedy longest
 * match, Clear when the next code would be 4095, EOF last, last byte
 * zero-padded. The decoder accepts any valid Go-flavoured stream (Clear
 * anywhere or never, KwKwK, a full table without Clear), requires the EOF
 * code, ignores bytes after it (as Go does), and never produces more than
 * the caller's max_out bytes, so a hostile stream cannot make it allocate
 * without limit. */
#ifndef MOONLIST_WIRE_LZW_H
#define MOONLIST_WIRE_LZW_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* Append the LZW encoding of in[0..n) to out. */
int wire_lzw_compress(wire_buf *out, const uint8_t *in, size_t n);

/* Append the decoding of in[0..n) to out. WIRE_ELZW for an invalid code or
 * a stream without EOF, WIRE_ELIMIT as soon as the output would pass
 * max_out bytes (out may then hold a partial result; its length is
 * unspecified), WIRE_ENOMEM/WIRE_ELIMIT from out itself. */
int wire_lzw_decompress(wire_buf *out, const uint8_t *in, size_t n, size_t max_out);

#endif
