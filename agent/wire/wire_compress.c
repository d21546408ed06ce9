#include "wire/wire_compress.h"

#include "wire/wire_lzw.h"
#include "wire/wire_msg.h"

int wire_compress_wrap(wire_buf *out, const uint8_t *msg, size_t n)
{
    wire_buf lzw;
    wire_buf_init(&lzw, out->max);
    int rc = wire_lzw_compress(&lzw, msg, n);
    if (!rc) {
        /* an empty lzw buffer cannot happen (Clear + EOF at least), so Buf
         * is never the nil c0 */
        wire_compress m = { .algo = 0, .buf = wire_bytes_of(lzw.data, lzw.len) };
        rc = wire_encode_compress(out, &m);
    }
    wire_buf_free(&lzw);
    return rc;
}

int wire_compress_unwrap(wire_buf *out, const uint8_t *p, size_t n, size_t max_out, size_t *used)
{
    if (n < 1)
        return WIRE_ETRUNC;
    if (p[0] != WIRE_COMPRESS)
        return WIRE_ETYPE;
    wire_compress m;
    size_t body = 0;
    int rc = wire_decode_compress(p + 1, n - 1, &m, &body);
    if (rc)
        return rc;
    if (m.algo != 0)
        return WIRE_ERANGE;
    if (used)
        *used = 1 + body;
    return wire_lzw_decompress(out, m.buf.p, m.buf.n, max_out);
}
