/* cli_flags: command-line flags the way serf (Go's flag package) takes them.
 *
 * `-flag value`, `-flag=value`, `--flag value` and `--flag=value` are all
 * accepted; a bool flag takes no separate value (`-flag`, `-flag=false`).
 * A list flag may be repeated and collects every value in order. Anything
 * not starting with `-` is a positional argument; `--` ends the flags.
 * An unknown flag, a missing value or a repeated single-valued flag is an
 * error: the caller prints usage and exits 2, as Go programs do. */
#ifndef MOONLIST_CLI_FLAGS_H
#define MOONLIST_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cli_flag_kind { CLI_FLAG_STRING, CLI_FLAG_LIST, CLI_FLAG_BOOL } cli_flag_kind;

typedef struct cli_flag_spec {
    const char *name;      /* without dashes */
    cli_flag_kind kind;
    const char *arg;       /* value placeholder for usage, e.g. "ADDR" */
    const char *help;
} cli_flag_spec;

/* One parsed flag. Strings point into argv (never copied). */
typedef struct cli_flag_value {
    bool set;
    const char *str;       /* STRING: the value; BOOL: "true"/"false" */
    const char **list;     /* LIST: values, owned by cli_args */
    size_t n;
} cli_flag_value;

typedef struct cli_args {
    const cli_flag_spec *specs;
    size_t nspecs;
    cli_flag_value *vals;  /* one per spec, same index */
    const char **pos;      /* positional arguments, in order */
    size_t npos;
} cli_args;

/* Parse argv[0..argc) (argv[0] is the first flag, not the program name).
 * On success returns 0 and fills *a, released by cli_args_free(). On error
 * returns -1 with a one-line message in err (and *a freed). */
int cli_args_parse(cli_args *a, const cli_flag_spec *specs, size_t nspecs, int argc, char **argv,
                   char *err, size_t errlen);
void cli_args_free(cli_args *a);

/* True if argv holds -h, -help or --help before any "--": the caller
 * prints its usage on stdout and exits 0, as Go programs do. */
bool cli_wants_help(int argc, char **argv);

/* The value of the flag called `name`; NULL if there is no such spec. */
const cli_flag_value *cli_args_get(const cli_args *a, const char *name);
/* The string value of `name`, or `def` when not given. */
const char *cli_args_str(const cli_args *a, const char *name, const char *def);
bool cli_args_bool(const cli_args *a, const char *name);

/* Print "  -name ARG   help" lines for every spec. */
void cli_flags_usage(const cli_flag_spec *specs, size_t nspecs, void *file);

/* Parse a duration: "1500" (milliseconds), "200ms", "1s", "1.5s", "2m".
 * Returns 0 and *ms, or -1. */
int cli_parse_duration_ms(const char *s, unsigned *ms);
/* Parse an unsigned decimal integer in [lo, hi]. Returns 0 or -1. */
int cli_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

#endif
