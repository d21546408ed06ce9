#include "serf/serf_log.h"

#include <stdarg.h>
#include <stdio.h>

/* base_log cuts its lines at 1 KiB too: nothing longer would be printed. */
#define SERF_LOG_LINE_MAX 1024

void serf_logf(const serf_log *log, base_log_level level, const char *fmt, ...)
{
    if (!log || !log->fn)
        return;
    char line[SERF_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log->fn(log->ud, level, line);
}
