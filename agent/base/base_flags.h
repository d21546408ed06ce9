/* base_flags: command-line flags the way serf (Go's flag package) takes them.
 *
 * `-flag value`, `-flag=value`, `--flag value` and `--flag=value` are all
 * accepted; a bool flag takes no separate value (`-flag`, `-flag=false`).
 * A list flag may be repeated and collects every value in order. Anything
 * not starting with `-` is a positional argument; `--` ends the flags.
 * An unknown flag, a missing value or a repeated single-valued flag is an
 * error: the caller prints usage and exits 2, as Go programs do. */
#ifndef MOONLIST_BASE_FLAGS_H
#define MOONLIST_BASE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum base_flag_kind { BASE_FLAG_STRING, BASE_FLAG_LIST, BASE_FLAG_BOOL } base_flag_kind;

typedef struct base_flag_spec {
    const char *name;      /* without dashes */
    base_flag_kind kind;
    const char *arg;       /* value placeholder for usage, e.g. "ADDR" */
    const char *help;
} base_flag_spec;

/* One parsed flag. Strings point into argv (never copied). */
typedef struct base_flag_value {
    bool set;
    const char *str;       /* STRING: the value; BOOL: "true"/"false" */
    const char **list;     /* LIST: values, owned by base_args */
    size_t n;
} base_flag_value;

typedef struct base_args {
    const base_flag_spec *specs;
    size_t nspecs;
    base_flag_value *vals;  /* one per spec, same index */
    const char **pos;      /* positional arguments, in order */
    size_t npos;
} base_args;

/* Parse argv[0..argc) (argv[0] is the first flag, not the program name).
 * On success returns 0 and fills *a, released by base_args_free(). On error
 * returns -1 with a one-line message in err (and *a freed). */
int base_args_parse(base_args *a, const base_flag_spec *specs, size_t nspecs, int argc, char **argv,
                   char *err, size_t errlen);
void base_args_free(base_args *a);

/* True if argv holds -h, -help or --help before any "--": the caller
 * prints its usage on stdout and exits 0, as Go programs do. */
bool base_wants_help(int argc, char **argv);

/* The value of the flag called `name`; NULL if there is no such spec. */
const base_flag_value *base_args_get(const base_args *a, const char *name);
/* The string value of `name`, or `def` when not given. */
const char *base_args_str(const base_args *a, const char *name, const char *def);
bool base_args_bool(const base_args *a, const char *name);

/* Print "  -name ARG   help" lines for every spec. */
void base_flags_usage(const base_flag_spec *specs, size_t nspecs, void *file);

/* Parse a duration: "1500" (milliseconds), "200ms", "1s", "1.5s", "2m".
 * Returns 0 and *ms, or -1. */
int base_parse_duration_ms(const char *s, unsigned *ms);
/* Parse an unsigned decimal integer in [lo, hi]. Returns 0 or -1. */
int base_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

#endif
