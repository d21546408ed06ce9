/* swim_suspicion: Lifeguard's LHA-Suspicion timer (§10.4). A suspicion
 * starts long and shrinks logarithmically with each independent
 * confirmation, so a node that many others also suspect is declared dead
 * sooner, while one lonely (possibly wrong) accusation has time to be
 * refuted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

swim_time swim_suspicion_min_timeout(uint32_t mult, size_t n, uint32_t interval)
{
    /* Go: mult * Duration(nodeScale*1000) * interval / 1000, in ns; the
     * integer thousandths of nodeScale are what it keeps. */
    double scale = n > 1 ? log10((double)n) : 1.0;
    if (scale < 1.0)
        scale = 1.0;
    uint64_t milli = (uint64_t)(scale * 1000.0);
    return (swim_time)mult * milli * interval / 1000;
}

swim_time swim_suspicion_timeout(uint32_t c, uint32_t k, swim_time min, swim_time max)
{
    double frac = log((double)c + 1.0) / log((double)k + 1.0);
    double raw = (double)max / 1000.0 - frac * ((double)max / 1000.0 - (double)min / 1000.0);
    double ms = floor(1000.0 * raw);
    swim_time t = ms < 0 ? 0 : (swim_time)ms;
    return t < min ? min : t;
}

swim_suspicion *swim_suspicion_new(const char *from, size_t flen, uint32_t k, swim_time min, swim_time max,
                                   swim_time now, swim_time state_change)
{
    swim_suspicion *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->from = calloc(k + 1, sizeof *sp->from);
    char *copy = sp->from ? malloc(flen + 1) : NULL;
    if (!copy) {
        swim_suspicion_free(sp);
        return NULL;
    }
    if (flen)
        memcpy(copy, from, flen);
    copy[flen] = 0;
    sp->from[0] = wire_bytes_of(copy, flen);
    sp->nfrom = 1;
    sp->k = k;
    sp->min = min;
    sp->max = max;
    sp->start = now;
    sp->state_change = state_change;
    /* With no confirmations to expect, waiting for them is pointless. */
    sp->deadline = now + (k < 1 ? min : max);
    return sp;
}

void swim_suspicion_free(swim_suspicion *sp)
{
    if (!sp)
        return;
    if (sp->from)
        for (size_t i = 0; i < sp->nfrom; i++)
            free((void *)sp->from[i].p);
    free(sp->from);
    free(sp);
}

bool swim_suspicion_confirm(swim_suspicion *sp, const char *from, size_t len)
{
    if (sp->n >= sp->k)
        return false;
    /* by length and bytes, as Go compares strings: "a\0b" is not "a" */
    for (size_t i = 0; i < sp->nfrom; i++)
        if (sp->from[i].n == len && (len == 0 || memcmp(sp->from[i].p, from, len) == 0))
            return false;
    char *copy = malloc(len + 1);
    if (!copy)
        return false;
    if (len)
        memcpy(copy, from, len);
    copy[len] = 0;
    /* from has room for the accuser plus k confirmations. */
    sp->from[sp->nfrom++] = wire_bytes_of(copy, len);
    sp->n++;
    sp->deadline = sp->start + swim_suspicion_timeout(sp->n, sp->k, sp->min, sp->max);
    swim_suspicion_check(sp);
    return true;
}

void swim_suspicion_check(const swim_suspicion *sp)
{
    (void)sp; /* only read by assert() */
    /* `from` has room for the accuser and k confirmations, no more */
    assert(sp->n <= sp->k);
    assert(sp->nfrom == sp->n + 1);
    assert(sp->min <= sp->max);
    /* the timeout only shrinks from max towards min (min at once when no
     * confirmation can come) */
    assert(sp->deadline >= sp->start + sp->min);
    assert(sp->deadline <= sp->start + (sp->k < 1 ? sp->min : sp->max));
}
