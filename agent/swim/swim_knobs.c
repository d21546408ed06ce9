/* swim_knobs: the SWIM_KNOBS table as data, and a knob's value in a
 * swim_config whatever its kind. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "swim/swim.h"

#define ROW_(name, flag, kind, lan, wan, local, min, max, help) \
    { #name, flag, SWIM_KNOB_KIND_##kind, lan, wan, local, min, max, help },
static const swim_knob knobs[] = { SWIM_KNOBS(ROW_) };
#undef ROW_

#define OFFSET_(name, ...) offsetof(swim_config, name),
static const size_t offsets[] = { SWIM_KNOBS(OFFSET_) };
#undef OFFSET_

/* The fields are made from the same rows, so this only guards the table
 * against a kind whose C type the accessors below do not know. */
#define SIZE_(name, flag, kind, ...) \
    _Static_assert(sizeof(((swim_config *)0)->name) == sizeof(SWIM_KNOB_CTYPE_##kind), #name);
SWIM_KNOBS(SIZE_)
#undef SIZE_

size_t swim_knob_count(void)
{
    return SWIM_KNOB_N;
}

const swim_knob *swim_knob_at(size_t i)
{
    return i < SWIM_KNOB_N ? &knobs[i] : NULL;
}

int swim_knob_find(const char *name)
{
    for (size_t i = 0; i < SWIM_KNOB_N; i++)
        if (strcmp(knobs[i].name, name) == 0)
            return (int)i;
    return -1;
}

uint64_t swim_knob_get(const swim_config *c, size_t i)
{
    const char *p = (const char *)c + offsets[i];
    if (knobs[i].kind == SWIM_KNOB_KIND_BOOL)
        return *(const bool *)p;
    return *(const uint32_t *)p;
}

void swim_knob_set(swim_config *c, size_t i, uint64_t v)
{
    char *p = (char *)c + offsets[i];
    if (knobs[i].kind == SWIM_KNOB_KIND_BOOL)
        *(bool *)p = v != 0;
    else
        *(uint32_t *)p = (uint32_t)v;
}

bool swim_knob_accepts(const swim_knob *k, uint64_t v)
{
    return v >= k->min && v <= k->max;
}

void swim_knob_format(const swim_knob *k, uint64_t v, char *buf, size_t len)
{
    switch (k->kind) {
    case SWIM_KNOB_KIND_MS:
        snprintf(buf, len, "%" PRIu64 " ms", v);
        return;
    case SWIM_KNOB_KIND_COUNT:
        snprintf(buf, len, "%" PRIu64, v);
        return;
    case SWIM_KNOB_KIND_BOOL:
        snprintf(buf, len, "%s", v ? "true" : "false");
        return;
    }
}
