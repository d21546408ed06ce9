#include "serf/serf_intents.h"

#include <stdio.h>

void serf_intents_key(char *buf, size_t len, const char *node)
{
    snprintf(buf, len, "serf-intent:%s", node);
}
