/* LZW encoder: a port of Go's compress/lzw Writer (LSB, litWidth 8), kept
 * structurally identical (same hash table, same order of code emission and
 * width growth) because peers and tests compare bytes, not just meaning. */
#include "wire/wire_lzw.h"

#include <stdlib.h>

#define LZW_MAX_CODE 4095u
#define LZW_CLEAR 256u
#define LZW_EOF 257u
#define LZW_INVALID 0xffffffffu
/* Go's table: 4 * (1 << 12) entries of key<<12 | code, open addressing.
 * Which slot holds a code never shows in the output (codes are numbered in
 * the order they are made), so a smaller table for a shorter input gives
 * the same bytes: see table_slots. */
#define LZW_TABLE_SIZE (4u << 12)
/* The smallest table: 2 KiB, so short packets do not resize it often */
#define LZW_TABLE_MIN 512u

typedef struct lzw_enc {
    wire_buf *out;
    uint32_t bits;
    unsigned nbits, width;
    uint32_t hi, overflow;
    uint32_t *table;
    uint32_t mask;               /* the table's slots - 1 */
    uint16_t *used;              /* the slots filled since the table was clean */
    unsigned nused;
    int err;
} lzw_enc;

/* The table, kept per thread between calls: with a fresh 64 KiB calloc for
 * every packet (Go allocates one per Writer) glibc gave the top of the heap
 * back after each free (brk) and the next calloc faulted 16 pages in again:
 * 3,369 page faults in 30 s for three idle agents, 9 with the table kept
 * (the CPU it saved was within that measurement's noise). A call leaves it
 * clean by zeroing only the slots it filled (at most one per input byte),
 * so a packet costs O(its length), not O(table). Kept until the process
 * exits: only the thread that sends packets (the loop's, or the
 * simulator's) ever compresses.
 *
 * It grows to the largest input seen, not to Go's 64 KiB at once: hashes
 * spread even a few codes over every page of a table, so a 64 KiB table
 * was resident whole in an agent of a small cluster, whose push/pulls and
 * packets stay under 2 KB (8 KiB of table). */
static _Thread_local uint32_t *kept_table;
static _Thread_local uint32_t kept_slots;
static _Thread_local uint16_t *kept_used;

/* Slots for an input of n bytes: at least twice the codes it can make (one
 * per byte after the first, and never more than a full table's), so linear
 * probing stays short; a power of two, for the mask. */
static uint32_t table_slots(size_t n)
{
    uint32_t want = n < LZW_MAX_CODE ? (uint32_t)n * 2 : LZW_TABLE_SIZE;
    uint32_t slots = LZW_TABLE_MIN;
    while (slots < want && slots < LZW_TABLE_SIZE)
        slots <<= 1;
    return slots;
}

/* Make the kept table (and the list of filled slots) hold `slots`; 0 or
 * WIRE_ENOMEM, with the old table kept on failure. */
static int table_reserve(uint32_t slots)
{
    if (!kept_used) {
        /* a code fills one slot and there are fewer codes than
         * LZW_MAX_CODE between two resets */
        kept_used = malloc(LZW_MAX_CODE * sizeof *kept_used);
        if (!kept_used)
            return WIRE_ENOMEM;
    }
    if (slots <= kept_slots)
        return 0;
    uint32_t *t = calloc(slots, sizeof *t);
    if (!t)
        return WIRE_ENOMEM;
    free(kept_table);          /* clean: every call zeroes what it filled */
    kept_table = t;
    kept_slots = slots;
    return 0;
}

static void put_code(lzw_enc *e, uint32_t c)
{
    e->bits |= c << e->nbits;
    e->nbits += e->width;
    while (e->nbits >= 8) {
        if (!e->err)
            e->err = wire_buf_append_byte(e->out, (uint8_t)e->bits);
        e->bits >>= 8;
        e->nbits -= 8;
    }
}

/* Advance to the next code; returns 1 when the table ran out and was reset
 * (Go's errOutOfCodes). */
static int inc_hi(lzw_enc *e)
{
    e->hi++;
    if (e->hi == e->overflow) {
        e->width++;
        e->overflow <<= 1;
    }
    if (e->hi == LZW_MAX_CODE) {
        put_code(e, LZW_CLEAR);
        e->width = 9;
        e->hi = LZW_CLEAR + 1;
        e->overflow = LZW_CLEAR << 1;
        for (unsigned i = 0; i < e->nused; i++)
            e->table[e->used[i]] = 0;
        e->nused = 0;
        return 1;
    }
    return 0;
}

int wire_lzw_compress(wire_buf *out, const uint8_t *in, size_t n)
{
    uint32_t slots = table_slots(n);
    int rc = table_reserve(slots);
    if (rc != 0)
        return rc;
    lzw_enc e = { .out = out, .width = 9, .hi = LZW_EOF, .overflow = LZW_CLEAR << 1 };
    e.table = kept_table;
    e.mask = slots - 1;
    e.used = kept_used;

    put_code(&e, LZW_CLEAR);
    uint32_t code = LZW_INVALID;
    if (n > 0) {
        code = in[0];
        for (size_t k = 1; k < n && !e.err; k++) {
            uint32_t literal = in[k];
            uint32_t key = code << 8 | literal;
            uint32_t hash = (key >> 12 ^ key) & e.mask;
            int hit = 0;
            for (uint32_t h = hash, t = e.table[hash]; t != 0;) {
                if (key == t >> 12) {
                    code = t & LZW_MAX_CODE;
                    hit = 1;
                    break;
                }
                h = (h + 1) & e.mask;
                t = e.table[h];
            }
            if (hit)
                continue;
            put_code(&e, code);
            code = literal;
            if (inc_hi(&e))
                continue;
            while (e.table[hash] != 0)
                hash = (hash + 1) & e.mask;
            e.table[hash] = key << 12 | e.hi;
            e.used[e.nused++] = (uint16_t)hash;
        }
    }
    if (code != LZW_INVALID) {
        put_code(&e, code);
        inc_hi(&e);
    }
    put_code(&e, LZW_EOF);
    if (e.nbits > 0 && !e.err)
        e.err = wire_buf_append_byte(out, (uint8_t)e.bits);
    for (unsigned i = 0; i < e.nused; i++)
        e.table[e.used[i]] = 0;
    return e.err;
}
