#include "wire/wire_compound.h"

int wire_compound_build(wire_buf *out, const wire_bytes *msgs, size_t n)
{
    if (n == 0)
        return WIRE_ERANGE;
    if (n > WIRE_COMPOUND_MAX_PARTS)
        return WIRE_ELIMIT;
    size_t total = WIRE_COMPOUND_HEADER_OVERHEAD + WIRE_COMPOUND_PART_OVERHEAD * n;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].n == 0)
            return WIRE_ERANGE;
        if (msgs[i].n > WIRE_COMPOUND_MAX_PART)
            return WIRE_ELIMIT;
        total += msgs[i].n;
    }
    int rc = wire_buf_reserve(out, total);
    if (rc)
        return rc;
    wire_buf_append_byte(out, WIRE_COMPOUND);
    wire_buf_append_byte(out, (uint8_t)n);
    for (size_t i = 0; i < n; i++) {
        wire_buf_append_byte(out, (uint8_t)(msgs[i].n >> 8));
        wire_buf_append_byte(out, (uint8_t)msgs[i].n);
    }
    for (size_t i = 0; i < n; i++)
        wire_buf_append(out, msgs[i].p, msgs[i].n);
    return WIRE_OK;
}

int wire_compound_begin(wire_compound_iter *it, const uint8_t *p, size_t n)
{
    if (n < 1 || p[0] != WIRE_COMPOUND)
        return n < 1 ? WIRE_ETRUNC : WIRE_ETYPE;
    if (n < 2)
        return WIRE_ETRUNC;
    it->count = p[1];
    if ((n - 2) / 2 < it->count)
        return WIRE_ETRUNC;
    it->table = p + 2;
    it->next = it->table + 2 * (size_t)it->count;
    it->end = p + n;
    it->index = 0;
    return WIRE_OK;
}

int wire_compound_next(wire_compound_iter *it, wire_bytes *part)
{
    if (it->index == it->count)
        return 0;
    size_t len = (size_t)it->table[2 * it->index] << 8 | it->table[2 * it->index + 1];
    if ((size_t)(it->end - it->next) < len)
        return WIRE_ETRUNC;
    *part = wire_bytes_of(it->next, len);
    it->next += len;
    it->index++;
    return 1;
}
