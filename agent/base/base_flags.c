#include "base/base_flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int spec_index(const base_flag_spec *specs, size_t nspecs, const char *name, size_t len)
{
    for (size_t i = 0; i < nspecs; i++)
        if (strlen(specs[i].name) == len && memcmp(specs[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

void base_args_free(base_args *a)
{
    if (a->vals) {
        for (size_t i = 0; i < a->nspecs; i++)
            free(a->vals[i].list);
    }
    free(a->vals);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

static int push(const char ***arr, size_t *n, const char *v)
{
    const char **p = realloc(*arr, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

int base_args_parse(base_args *a, const base_flag_spec *specs, size_t nspecs, int argc, char **argv,
                   char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->specs = specs;
    a->nspecs = nspecs;
    a->vals = calloc(nspecs ? nspecs : 1, sizeof *a->vals);
    if (!a->vals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bool flags_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            if (push(&a->pos, &a->npos, arg) < 0)
                goto oom;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        const char *name = arg + 1;
        if (*name == '-')
            name++;
        if (*name == '-' || *name == '=' || *name == '\0') {
            snprintf(err, errlen, "bad flag syntax: %s", arg);
            goto fail;
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int k = spec_index(specs, nspecs, name, nlen);
        if (k < 0) {
            snprintf(err, errlen, "flag provided but not defined: -%.*s", (int)nlen, name);
            goto fail;
        }
        const base_flag_spec *sp = &specs[k];
        base_flag_value *v = &a->vals[k];
        const char *val;
        if (sp->kind == BASE_FLAG_BOOL) {
            val = eq ? eq + 1 : "true";
            if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0 && strcmp(val, "1") != 0 &&
                strcmp(val, "0") != 0) {
                snprintf(err, errlen, "invalid boolean value %s for -%s", val, sp->name);
                goto fail;
            }
            val = (strcmp(val, "true") == 0 || strcmp(val, "1") == 0) ? "true" : "false";
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(err, errlen, "flag needs an argument: -%s", sp->name);
            goto fail;
        }
        if (sp->kind == BASE_FLAG_LIST) {
            if (push(&v->list, &v->n, val) < 0)
                goto oom;
        } else if (v->set && sp->kind == BASE_FLAG_STRING) {
            snprintf(err, errlen, "flag given twice: -%s", sp->name);
            goto fail;
        }
        v->str = val;
        v->set = true;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    base_args_free(a);
    return -1;
}

bool base_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "-help") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

const base_flag_value *base_args_get(const base_args *a, const char *name)
{
    int k = spec_index(a->specs, a->nspecs, name, strlen(name));
    return k < 0 ? NULL : &a->vals[k];
}

const char *base_args_str(const base_args *a, const char *name, const char *def)
{
    const base_flag_value *v = base_args_get(a, name);
    return v && v->set ? v->str : def;
}

bool base_args_bool(const base_args *a, const char *name)
{
    const base_flag_value *v = base_args_get(a, name);
    return v && v->set && strcmp(v->str, "true") == 0;
}

void base_flags_usage(const base_flag_spec *specs, size_t nspecs, void *file)
{
    FILE *f = file;
    /* the help column: 26 wide, or past the longest "-name ARG" */
    int width = 26;
    for (size_t i = 0; i < nspecs; i++) {
        int n = snprintf(NULL, 0, "-%s %s", specs[i].name, specs[i].arg ? specs[i].arg : "");
        if (n > width)
            width = n;
    }
    for (size_t i = 0; i < nspecs; i++) {
        char left[64];
        snprintf(left, sizeof left, "-%s%s%s", specs[i].name, specs[i].arg ? " " : "",
                 specs[i].arg ? specs[i].arg : "");
        fprintf(f, "  %-*s %s%s\n", width, left, specs[i].help,
                specs[i].kind == BASE_FLAG_LIST ? " (repeatable)" : "");
    }
}

int base_parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int base_parse_duration_ms(const char *s, unsigned *ms)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double scale;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else
        return -1;
    v *= scale;
    /* a day is far beyond any sensible memberlist timing */
    if (v > 86400000.0)
        return -1;
    *ms = (unsigned)(v + 0.5);
    return 0;
}
