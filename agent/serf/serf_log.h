/* serf_log: where the serf layer's state machines report a line. They are
 * sans I/O (no stderr, no clock for a timestamp), so the caller hands in a
 * sink: the agent passes base_log, a test collects the lines. */
#ifndef MOONLIST_SERF_LOG_H
#define MOONLIST_SERF_LOG_H

#include "base/base_log.h"

typedef struct serf_log {
    void (*fn)(void *ud, base_log_level level, const char *msg); /* NULL: lines are dropped */
    void *ud;
} serf_log;

/* Format one line and hand it to the sink (cut at 1 KiB, as base_log). */
void serf_logf(const serf_log *log, base_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
