/* cli_log: the agent's log lines on stderr,
 *   2026-11-26T15:49:19.123Z [INFO] text
 * UTC with milliseconds, filtered by the -log-level threshold. */
#ifndef MOONLIST_CLI_LOG_H
#define MOONLIST_CLI_LOG_H

void cli_log_set_level(int level);           /* 0 debug .. 3 error */
void cli_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
