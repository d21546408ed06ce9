#include "serf/serf_clock.h"

uint64_t serf_clock_increment(serf_clock *c)
{
    if (c->counter != UINT64_MAX)
        c->counter++;
    return c->counter;
}

void serf_clock_witness(serf_clock *c, uint64_t v)
{
    if (v < c->counter)
        return;
    c->counter = v == UINT64_MAX ? UINT64_MAX : v + 1;
}
