#include "base/base_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Written before any thread starts and read after: no lock needed. */
static base_log_level min_level = BASE_LOG_INFO;

static const char *const lower_names[BASE_LOG_LEVELS] = { "debug", "info", "warn", "error" };
static const char *const upper_names[BASE_LOG_LEVELS] = { "DEBUG", "INFO", "WARN", "ERROR" };

void base_log_set_level(base_log_level level) { min_level = level; }
base_log_level base_log_get_level(void) { return min_level; }

const char *base_log_level_name(base_log_level level)
{
    return (unsigned)level < BASE_LOG_LEVELS ? lower_names[level] : "?";
}

const char *base_log_level_tag(base_log_level level)
{
    return (unsigned)level < BASE_LOG_LEVELS ? upper_names[level] : "?";
}

int base_log_level_parse(const char *name, base_log_level *out)
{
    for (int i = 0; i < BASE_LOG_LEVELS; i++) {
        if (strcasecmp(name, lower_names[i]) == 0) {
            *out = (base_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "trace") == 0) {
        *out = BASE_LOG_DEBUG;
        return 0;
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = BASE_LOG_WARN;
        return 0;
    }
    if (strcasecmp(name, "err") == 0) {
        *out = BASE_LOG_ERROR;
        return 0;
    }
    return -1;
}

void base_log(base_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    if ((unsigned)level >= BASE_LOG_LEVELS)
        level = BASE_LOG_ERROR;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one fprintf per line so concurrent writers do not interleave mid-line */
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, upper_names[level], line);
}
