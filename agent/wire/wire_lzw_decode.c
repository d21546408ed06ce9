/* LZW decoder following Go's compress/lzw Reader (LSB, litWidth 8), with
 * its exact acceptance rules, plus an output cap. */
#include "wire/wire_lzw.h"

#include <stdlib.h>

#define LZW_CLEAR 256u
#define LZW_EOF 257u
#define LZW_MAX_WIDTH 12u
#define LZW_TABLE (1u << LZW_MAX_WIDTH)
#define LZW_NONE 0xffffu

typedef struct lzw_dec {
    uint16_t prefix[LZW_TABLE];
    uint8_t suffix[LZW_TABLE];
    uint8_t chain[LZW_TABLE];  /* one code's expansion, built backwards */
} lzw_dec;

static int emit(wire_buf *out, const uint8_t *p, size_t n, size_t *total, size_t max_out)
{
    if (n > max_out - *total)
        return WIRE_ELIMIT;
    *total += n;
    return wire_buf_append(out, p, n);
}

int wire_lzw_decompress(wire_buf *out, const uint8_t *in, size_t n, size_t max_out)
{
    lzw_dec *d = calloc(1, sizeof *d);
    if (!d)
        return WIRE_ENOMEM;

    uint32_t bits = 0;
    unsigned nbits = 0, width = 9;
    uint32_t hi = LZW_EOF, overflow = 1u << 9, last = LZW_NONE;
    size_t pos = 0, total = 0;
    int rc = WIRE_ELZW; /* running out of input before EOF */

    for (;;) {
        while (nbits < width) {
            if (pos == n)
                goto done;
            bits |= (uint32_t)in[pos++] << nbits;
            nbits += 8;
        }
        uint32_t code = bits & ((1u << width) - 1);
        bits >>= width;
        nbits -= width;

        if (code == LZW_CLEAR) {
            width = 9;
            hi = LZW_EOF;
            overflow = 1u << width;
            last = LZW_NONE;
            continue;
        }
        if (code == LZW_EOF) {
            rc = WIRE_OK;
            goto done;
        }
        if (code > hi) {
            rc = WIRE_ELZW;
            goto done;
        }
        /* Expand code into chain[i..LZW_TABLE) */
        size_t i = LZW_TABLE;
        uint32_t c = code;
        if (code < LZW_CLEAR) {
            d->chain[--i] = (uint8_t)code;
        } else {
            if (code == hi && last != LZW_NONE) {
                /* KwKwK: last expansion followed by its own first byte */
                c = last;
                while (c >= LZW_CLEAR)
                    c = d->prefix[c];
                d->chain[--i] = (uint8_t)c;
                c = last;
            }
            while (c >= LZW_CLEAR) {
                if (i == 0) { /* cannot happen with prefix[c] < c; guard anyway */
                    rc = WIRE_ELZW;
                    goto done;
                }
                d->chain[--i] = d->suffix[c];
                c = d->prefix[c];
            }
            if (i == 0) {
                rc = WIRE_ELZW;
                goto done;
            }
            d->chain[--i] = (uint8_t)c;
        }
        rc = emit(out, d->chain + i, LZW_TABLE - i, &total, max_out);
        if (rc)
            goto done;
        rc = WIRE_ELZW;
        if (last != LZW_NONE) {
            /* hi expands to last's expansion + the first byte of this one */
            d->suffix[hi] = d->chain[i];
            d->prefix[hi] = (uint16_t)last;
        }
        last = code;
        hi++;
        if (hi >= overflow) {
            if (width == LZW_MAX_WIDTH) {
                /* table full without Clear: keep 12-bit codes, add nothing */
                last = LZW_NONE;
                hi--;
            } else {
                width++;
                overflow = 1u << width;
            }
        }
    }
done:
    free(d);
    return rc;
}
