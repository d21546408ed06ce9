/* swim_rand: the core's only source of randomness, seeded from the config
 * so that the same seed gives the same run (the simulator relies on it).
 * xoshiro256** seeded through splitmix64: fast, well distributed, and not
 * needed to be unpredictable (memberlist uses math/rand too). */
#include "swim/swim_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void swim_rng_seed(swim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t swim_rng_next(swim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t swim_rng_below(swim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Modulo bias is irrelevant at member-table sizes. */
    return swim_rng_next(r) % n;
}
