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

/* "debug", "info", "warn", "error" (what flags and config keys take). */
const char *base_log_level_name(base_log_level level);
/* "DEBUG", "INFO", "WARN", "ERROR": the tag in a log line. */
const char *base_log_level_tag(base_log_level level);
/* Parse a name as above; "trace", "warning" and "err" are accepted as
 * serf accepts them (trace is debug: we have nothing finer).
 * Returns 0 and *out, or -1 for anything else. */
int base_log_level_parse(const char *name, base_log_level *out);

#endif
