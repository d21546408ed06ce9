#include "wire/wire_crc.h"

#include <zlib.h>

uint32_t wire_crc32(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    /* zlib takes uInt lengths: feed large inputs in pieces */
    while (n > 0) {
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

int wire_crc_wrap(wire_buf *out, const uint8_t *msg, size_t n)
{
    uint32_t c = wire_crc32(msg, n);
    uint8_t h[WIRE_CRC_OVERHEAD] = { WIRE_HAS_CRC, (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8),
                                     (uint8_t)c };
    int rc = wire_buf_reserve(out, sizeof h + n);
    if (rc)
        return rc;
    wire_buf_append(out, h, sizeof h);
    return wire_buf_append(out, msg, n);
}

int wire_crc_check(const uint8_t *p, size_t n, wire_bytes *payload)
{
    if (n < WIRE_CRC_OVERHEAD)
        return WIRE_ETRUNC;
    if (p[0] != WIRE_HAS_CRC)
        return WIRE_ETYPE;
    uint32_t want = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (wire_crc32(p + WIRE_CRC_OVERHEAD, n - WIRE_CRC_OVERHEAD) != want)
        return WIRE_ECRC;
    *payload = wire_bytes_of(p + WIRE_CRC_OVERHEAD, n - WIRE_CRC_OVERHEAD);
    return WIRE_OK;
}
