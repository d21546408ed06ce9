/* base_log: the agent's log lines on stderr,
 *   2026-11-26T15:49:19.123Z [INFO] text
 * UTC with milliseconds, filtered by one process-wide threshold.
 *
 * This is the one place that knows level names: every layer that reports a
 * line (the core through swim_io.log, net, the Lua host, the agent) passes a
 * base_log_level, and flags and config keys parse names with
 * base_log_level_parse. */
#ifndef MOONLIST_BASE_LOG_H
#define MOONLIST_BASE_LOG_H

#include <stddef.h>

typedef enum base_log_level {
    BASE_LOG_DEBUG = 0,
    BASE_LOG_INFO = 1,
    BASE_LOG_WARN = 2,
    BASE_LOG_ERROR = 3,
} base_log_level;

#define BASE_LOG_LEVELS 4

/* Lines below `level` are dropped. The default is BASE_LOG_INFO. */
void base_log_set_level(base_log_level level);
base_log_level base_log_get_level(void);
/* One line (a trailing newline is added; the text is cut at 1 KiB). Safe
 * from any thread: one write per line, so lines never interleave. */
void base_log(base_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Subscribers: a callback that sees each line as it is written to stderr
 * (without the newline), from whichever thread logs it, including lines
 * below the process threshold down to the subscriber's own level (the
 * agent's `monitor` streams, which may ask for debug lines from an agent
 * logging at info). Calls are serialised by one lock, held during the
 * call: a callback must be quick, thread-safe with respect to its own data
 * and must not log (the agent's copies the line into a queue for its
 * loop). At most BASE_LOG_MAX_SUBSCRIBERS at once. */
#define BASE_LOG_MAX_SUBSCRIBERS 4
typedef void (*base_log_sink_fn)(void *ud, base_log_level level, const char *line, size_t len);
/* Returns a handle >= 0, or -1 when the table is full. */
int base_log_subscribe(base_log_sink_fn fn, void *ud, base_log_level level);
/* Change the lowest level a subscriber sees. */
void base_log_subscriber_level(int handle, base_log_level level);
/* After it returns the callback is not running and is never called again. */
void base_log_unsubscribe(int handle);

/* "debug", "info", "warn", "error" (what flags and config keys take). */
const char *base_log_level_name(base_log_level level);
/* "DEBUG", "INFO", "WARN", "ERROR": the tag in a log line. */
const char *base_log_level_tag(base_log_level level);
/* Parse a name as above; "trace", "warning" and "err" are accepted as
 * serf accepts them (trace is debug: we have nothing finer).
 * Returns 0 and *out, or -1 for anything else. */
int base_log_level_parse(const char *name, base_log_level *out);

#endif
