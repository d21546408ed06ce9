#include "base/base_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Written before any thread starts and read after: no lock needed. */
static base_log_level min_level = BASE_LOG_INFO;

/* The subscribers (base_log.h), under sub_lock; sub_floor is the lowest
 * level any of them wants (BASE_LOG_LEVELS: none), read without the lock
 * so that a line nobody wants costs one load. */
static pthread_mutex_t sub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    base_log_sink_fn fn;
    void *ud;
    base_log_level level;
} subs[BASE_LOG_MAX_SUBSCRIBERS];
static atomic_int sub_floor = BASE_LOG_LEVELS;

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

/* with sub_lock held */
static void sub_floor_update(void)
{
    int floor = BASE_LOG_LEVELS;
    for (int i = 0; i < BASE_LOG_MAX_SUBSCRIBERS; i++)
        if (subs[i].fn && (int)subs[i].level < floor)
            floor = (int)subs[i].level;
    atomic_store(&sub_floor, floor);
}

int base_log_subscribe(base_log_sink_fn fn, void *ud, base_log_level level)
{
    int h = -1;
    pthread_mutex_lock(&sub_lock);
    for (int i = 0; i < BASE_LOG_MAX_SUBSCRIBERS && h < 0; i++) {
        if (!subs[i].fn) {
            subs[i].fn = fn;
            subs[i].ud = ud;
            subs[i].level = level;
            h = i;
        }
    }
    sub_floor_update();
    pthread_mutex_unlock(&sub_lock);
    return h;
}

void base_log_subscriber_level(int handle, base_log_level level)
{
    if (handle < 0 || handle >= BASE_LOG_MAX_SUBSCRIBERS)
        return;
    pthread_mutex_lock(&sub_lock);
    subs[handle].level = level;
    sub_floor_update();
    pthread_mutex_unlock(&sub_lock);
}

void base_log_unsubscribe(int handle)
{
    if (handle < 0 || handle >= BASE_LOG_MAX_SUBSCRIBERS)
        return;
    pthread_mutex_lock(&sub_lock);
    subs[handle].fn = NULL;
    subs[handle].ud = NULL;
    sub_floor_update();
    pthread_mutex_unlock(&sub_lock);
}

void base_log(base_log_level level, const char *fmt, ...)
{
    if (level < min_level && (int)level < atomic_load(&sub_floor))
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
    char full[1100];
    int n = snprintf(full, sizeof full, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     upper_names[level], line);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof full ? (size_t)n : sizeof full - 1;
    /* one fprintf per line so concurrent writers do not interleave mid-line */
    if (level >= min_level)
        fprintf(stderr, "%s\n", full);
    if ((int)level < atomic_load(&sub_floor))
        return;
    pthread_mutex_lock(&sub_lock);
    for (int i = 0; i < BASE_LOG_MAX_SUBSCRIBERS; i++)
        if (subs[i].fn && level >= subs[i].level)
            subs[i].fn(subs[i].ud, level, full, len);
    pthread_mutex_unlock(&sub_lock);
}
