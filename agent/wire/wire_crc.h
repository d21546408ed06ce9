/* wire_crc: the hasCrc (0c) wrapper of UDP packets (§5.4).
 *
 * 0c + CRC-32/IEEE (zlib's crc32, big-endian on the wire) of the payload,
 * then the payload. Only ever the outermost layer after decryption. */
#ifndef MOONLIST_WIRE_CRC_H
#define MOONLIST_WIRE_CRC_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* 0c + 4 CRC bytes */
#define WIRE_CRC_OVERHEAD 5

uint32_t wire_crc32(const uint8_t *p, size_t n);

/* Append 0c, the CRC of msg, then msg to out. */
int wire_crc_wrap(wire_buf *out, const uint8_t *msg, size_t n);

/* p starts at the 0c byte. On success *payload views the checked bytes
 * after the 5-byte header (inside p). WIRE_ETRUNC if shorter than 5 bytes,
 * WIRE_ETYPE if p[0] is not 0c, WIRE_ECRC on mismatch. */
int wire_crc_check(const uint8_t *p, size_t n, wire_bytes *payload);

#endif
