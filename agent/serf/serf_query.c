/* serf's query bookkeeping: the recent-queries buffer, the default
 * timeout, filters and their regular expressions (serf_query.h). */
#include "serf/serf_query.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_query.h"

/* ---- the recent-queries buffer ------------------------------------------ */

int serf_queries_init(serf_queries *q, size_t size)
{
    memset(q, 0, sizeof *q);
    if (size < 1)
        size = 1;
    q->slots = calloc(size, sizeof *q->slots);
    if (!q->slots)
        return -1;
    q->size = size;
    return 0;
}

void serf_queries_free(serf_queries *q)
{
    for (size_t i = 0; q->slots && i < q->size; i++)
        free(q->slots[i].ids);
    free(q->slots);
    memset(q, 0, sizeof *q);
}

serf_query_verdict serf_queries_receive(serf_queries *q, uint64_t ltime, uint32_t id)
{
    serf_clock_witness(&q->clock, ltime);
    if (ltime < q->min_time)
        return SERF_QUERY_BEFORE_MIN;
    uint64_t now = serf_clock_time(&q->clock);
    if (now > q->size && ltime < now - q->size)
        return SERF_QUERY_TOO_OLD;

    serf_query_slot *s = &q->slots[ltime % q->size];
    /* a slot never recorded has no IDs: its ltime 0 matches nothing */
    if (s->n && s->ltime == ltime) {
        for (size_t i = 0; i < s->n; i++)
            if (s->ids[i] == id)
                return SERF_QUERY_SEEN;
    } else {
        s->n = 0;
        s->ltime = ltime;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 2;
        uint32_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids)
            return SERF_QUERY_NOMEM;
        s->ids = ids;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return SERF_QUERY_NEW;
}

/* ---- the default timeout ------------------------------------------------ */

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t serf_query_timeout(uint64_t n, uint64_t gossip_interval, uint64_t mult)
{
    /* ceil(log10(n + 1)): the smallest k with 10^k >= n + 1 */
    uint64_t k = 0;
    for (uint64_t p = 1; n >= p; k++) {
        if (p > UINT64_MAX / 10) {
            k++;
            break;
        }
        p *= 10;
    }
    return mul_sat(mul_sat(gossip_interval, mult), k);
}

/* ---- regular expressions -------------------------------------------------- */

/* glibc compiles x+ as x x* and x{n,m} as m copies of x, so repeats of
 * repeats multiply the size of what it builds: ((a+)+)+... doubles with
 * every level. We estimate that size (each atom 1, a repeat multiplying
 * what it applies to) and refuse above this, and nest at most this deep. */
#define REGEX_SIZE_MAX 4000
#define REGEX_DEPTH_MAX 32

typedef struct rx_frame {
    unsigned long size;   /* estimated nodes in this group so far */
    unsigned long last;   /* of which the last item (what a repeat applies to); 0: none */
} rx_frame;

/* A repeat by `copies` of the last item of f. -1 when there is no item
 * (Go: "missing argument to repetition operator") or it grows too big. */
static int rx_repeat(rx_frame *f, unsigned long copies)
{
    if (!f->last)
        return -1;
    unsigned long extra = f->last * (copies - 1);
    if (copies > REGEX_SIZE_MAX || extra > REGEX_SIZE_MAX || f->size + extra > REGEX_SIZE_MAX)
        return -1;
    f->size += extra;
    f->last *= copies;
    return 0;
}

static void rx_atom(rx_frame *f)
{
    f->size++;
    f->last = 1;
}

/* Go's RE2 syntax to POSIX ERE for the subset in serf_query.h; -1 when the
 * expression is outside it. out has room for 16 bytes per input byte. */
static int translate(wire_bytes expr, char *out, int *cflags)
{
    const uint8_t *p = expr.p ? expr.p : (const uint8_t *)"";
    const uint8_t *end = p + expr.n;
    char *o = out;
    rx_frame stack[REGEX_DEPTH_MAX + 1] = { { 0, 0 } };
    int depth = 0;
    bool repeated = false;   /* the last thing written was a repeat */
    bool lazy = false;       /* and it had its lazy ? already */

    *cflags = REG_EXTENDED | REG_NOSUB;
    if (memchr(p, 0, expr.n))
        return -1;
    if (end - p >= 4 && memcmp(p, "(?i)", 4) == 0) {
        *cflags |= REG_ICASE;
        p += 4;
    }
    while (p < end) {
        rx_frame *f = &stack[depth];
        uint8_t c = *p++;
        bool repeat = false;
        if (c == '\\') {
            if (p == end)
                return -1;   /* trailing backslash: an error in Go too */
            uint8_t e = *p++;
            const char *rep = NULL;
            switch (e) {
            case 'd': rep = "[0-9]"; break;
            case 'D': rep = "[^0-9]"; break;
            case 's': rep = "[[:space:]]"; break;
            case 'S': rep = "[^[:space:]]"; break;
            case 'w': rep = "[[:alnum:]_]"; break;
            case 'W': rep = "[^[:alnum:]_]"; break;
            case 't': rep = "\t"; break;
            case 'n': rep = "\n"; break;
            case 'r': rep = "\r"; break;
            case 'f': rep = "\f"; break;
            case 'v': rep = "\v"; break;
            case 'a': rep = "\a"; break;
            default:
                if ((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || e >= 0x80)
                    return -1;
                *o++ = '\\';   /* an escaped punctuation mark: the same in both */
                *o++ = (char)e;
                rx_atom(f);
                repeated = false;
                continue;
            }
            size_t len = strlen(rep);
            memcpy(o, rep, len);
            o += len;
            rx_atom(f);
        } else if (c == '[') {
            *o++ = '[';
            if (p < end && *p == '^')
                *o++ = (char)*p++;
            if (p < end && *p == ']')
                *o++ = (char)*p++;   /* a leading ] is literal in both */
            for (;;) {
                if (p == end)
                    return -1;        /* missing ] */
                c = *p++;
                if (c == '\\')
                    return -1;        /* an escape in Go, a backslash in POSIX */
                *o++ = (char)c;
                if (c == '[' && p < end && *p == ':') {
                    const uint8_t *close = p + 1;
                    while (close + 1 < end && !(close[0] == ':' && close[1] == ']'))
                        close++;
                    if (close + 1 >= end)
                        return -1;
                    memcpy(o, p, (size_t)(close + 2 - p));
                    o += close + 2 - p;
                    p = close + 2;
                    continue;
                }
                if (c == ']')
                    break;
            }
            rx_atom(f);
        } else if (c == '(') {
            if (p < end && *p == '?') {
                if (end - p < 2 || p[1] != ':')
                    return -1;   /* (?flags) and named groups */
                p += 2;
            }
            if (depth == REGEX_DEPTH_MAX)
                return -1;
            *o++ = '(';
            stack[++depth] = (rx_frame){ 0, 0 };
        } else if (c == ')') {
            if (depth == 0)
                return -1;   /* unopened ) */
            unsigned long size = stack[depth--].size;
            *o++ = ')';
            f = &stack[depth];
            f->size += size ? size : 1;
            f->last = size ? size : 1;
            if (f->size > REGEX_SIZE_MAX)
                return -1;
        } else if (c == '|') {
            *o++ = '|';
            f->last = 0;
        } else if (c == '*' || c == '+' || c == '?') {
            if (repeated) {
                /* x*? is Go's lazy x*: the same matches, so it is dropped;
                 * any other repeat of a repeat is an error in Go */
                if (c == '?' && !lazy) {
                    lazy = true;
                    continue;
                }
                return -1;
            }
            if (rx_repeat(f, c == '+' ? 2 : 1))
                return -1;
            *o++ = (char)c;
            repeat = true;
        } else if (c == '{') {
            /* {n}, {n,}, {n,m} is a repeat; anything else a literal { in Go */
            const uint8_t *q = p;
            unsigned long lo = 0, hi = 0;
            int dl = 0, dh = 0;
            while (q < end && *q >= '0' && *q <= '9' && dl < 5)
                lo = lo * 10 + (unsigned long)(*q++ - '0'), dl++;
            bool comma = q < end && *q == ',';
            if (comma)
                for (q++; q < end && *q >= '0' && *q <= '9' && dh < 5;)
                    hi = hi * 10 + (unsigned long)(*q++ - '0'), dh++;
            if (dl && q < end && *q == '}') {
                if (lo > 1000 || hi > 1000 || (comma && dh && hi < lo) || repeated)
                    return -1;   /* Go: invalid repeat count, or a repeat of a repeat */
                unsigned long copies = comma ? (dh ? hi : lo + 1) : lo;
                if (rx_repeat(f, copies ? copies : 1))
                    return -1;
                memcpy(o, p - 1, (size_t)(q + 1 - (p - 1)));
                o += q + 1 - (p - 1);
                p = q + 1;
                repeat = true;
            } else {
                *o++ = '\\';
                *o++ = '{';
                rx_atom(f);
            }
        } else {
            *o++ = (char)c;
            rx_atom(f);
        }
        repeated = repeat;
        lazy = false;
    }
    if (depth)
        return -1;   /* missing ) */
    *o = 0;
    return 0;
}

int serf_query_regex_match(wire_bytes expr, wire_bytes value)
{
    char *pattern = malloc(16 * expr.n + 16);
    if (!pattern)
        return -1;
    int cflags;
    regex_t re;
    int rc = translate(expr, pattern, &cflags);
    if (!rc)
        rc = regcomp(&re, pattern, cflags) ? -1 : 0;
    free(pattern);
    if (rc)
        return -1;
    /* REG_STARTEND takes the length from m[0], so NULs inside match as
     * bytes; the copy still ends in a NUL, as the sanitizers' regexec
     * reads up to one whatever the flags say */
    char *text = malloc(value.n + 1);
    if (!text) {
        regfree(&re);
        return -1;
    }
    if (value.n)
        memcpy(text, value.p, value.n);
    text[value.n] = 0;
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)value.n;
    int found = regexec(&re, text, 1, m, REG_STARTEND);
    regfree(&re);
    free(text);
    return found == 0 ? 1 : found == REG_NOMATCH ? 0 : -1;
}

/* ---- filters ------------------------------------------------------------- */

static wire_bytes tag_value(const serf_tags *tags, wire_bytes key)
{
    for (size_t i = 0; tags && i < tags->n; i++)
        if (tags->v[i].klen == key.n && (key.n == 0 || memcmp(tags->v[i].key, key.p, key.n) == 0))
            return wire_bytes_of(tags->v[i].value, tags->v[i].vlen);
    return wire_bytes_of("", 0);   /* Go: tags[missing] is "" */
}

static bool filter_passes(wire_bytes raw, wire_bytes self, const serf_tags *tags)
{
    serf_filter f;
    if (serf_filter_decode(raw.p, raw.n, &f))
        return false;
    bool pass = false;
    if (f.type == SERF_FILTER_NODE) {
        for (size_t i = 0; !pass && f.nodes.v && i < f.nodes.n; i++)
            pass = f.nodes.v[i].n == self.n && (self.n == 0 || memcmp(f.nodes.v[i].p, self.p, self.n) == 0);
    } else {
        pass = serf_query_regex_match(f.expr, tag_value(tags, f.tag)) == 1;
    }
    serf_filter_free(&f);
    return pass;
}

bool serf_query_filters_pass(const serf_raw_list *filters, wire_bytes self, const serf_tags *tags)
{
    for (size_t i = 0; filters->v && i < filters->n; i++)
        if (!filter_passes(filters->v[i], self, tags))
            return false;
    return true;
}
