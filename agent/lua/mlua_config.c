/* mlua_config: agent.config{...} — every agent setting and swim knob by
 * snake_case name, checked at once. Any error names the script file, the
 * line and the key (the key's own line when the script is a file and the
 * key is written `name =` there, else the line of the agent.config call);
 * the agent then refuses to start. */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_tags.h"
#include "lua/mlua_internal.h"
#include "wire/wire_keyring.h"

typedef enum kind {
    K_NAME,        /* node name: 1..255 bytes */
    K_IPADDR,      /* "ip", "ip:port", "[v6]:port" */
    K_HOSTLIST,    /* "host[:port]" or a list of them */
    K_PROFILE,
    K_KEY,         /* base64 key */
    K_KEYLIST,     /* list of base64 keys, first = primary */
    K_TAGS,        /* map string -> string, <= 512 bytes as serf meta */
    K_LOGLEVEL,
    K_LABEL,       /* memberlist label: <= 255 bytes */
    K_KNOB,        /* a row of the knob table (swim_knobs.h): its kind and bounds */
    K_BOOL,
    K_SECONDS,     /* a number of seconds, 1..86400 (serf's retry_interval: at least 1 s) */
    K_UINT,        /* an integer, 0..1000000 */
    K_PATH,        /* a file path: a non-empty string */
    K_STRLIST,     /* a string or a list of strings */
    K_CIDRLIST,    /* "10.0.0.0/8" or a list of them, at most SWIM_MAX_CIDRS */
} kind;

typedef struct key_spec {
    const char *name;
    kind k;
    int knob;          /* K_KNOB: the row */
} key_spec;

#define SECONDS_LO_MS 1000u
#define SECONDS_HI_MS 86400000u
#define UINT_HI 1000000u

#define KNOB_KEY_(name, ...) { #name, K_KNOB, SWIM_KNOB_ID(name) },

static const key_spec keys[] = {
    { "node", K_NAME, -1 },
    { "bind", K_IPADDR, -1 },
    { "advertise", K_IPADDR, -1 },
    { "join", K_HOSTLIST, -1 },
    { "rpc_addr", K_IPADDR, -1 },
    { "profile", K_PROFILE, -1 },
    { "encrypt", K_KEY, -1 },
    { "keyring", K_KEYLIST, -1 },
    { "tags", K_TAGS, -1 },
    { "log_level", K_LOGLEVEL, -1 },
    { "label", K_LABEL, -1 },
    /* serf's agent: joins retried, signals, the tags file, event handlers
     * (their filters are checked by the agent, which runs them) */
    { "retry_join", K_HOSTLIST, -1 },
    { "retry_interval", K_SECONDS, -1 },
    { "retry_max", K_UINT, -1 },
    { "leave_on_terminate", K_BOOL, -1 },
    { "skip_leave_on_interrupt", K_BOOL, -1 },
    { "tags_file", K_PATH, -1 },
    { "rpc_auth", K_PATH, -1 },   /* any non-empty string, as a path is */
    { "event_handlers", K_STRLIST, -1 },
    /* serf's snapshot: the file, and rejoin after a graceful leave */
    { "snapshot_path", K_PATH, -1 },
    { "rejoin_after_leave", K_BOOL, -1 },
    { "allow_cidrs", K_CIDRLIST, -1 },
    SWIM_KNOBS(KNOB_KEY_)
};
#undef KNOB_KEY_
#define NKEYS (sizeof keys / sizeof keys[0])

static const key_spec *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void mlua_settings_free(mlua_setting *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].s);
        for (size_t j = 0; j < v[i].n; j++)
            free(v[i].list[j]);
        free(v[i].list);
    }
    free(v);
}

/* "ip", "ip:port", "[v6]:port", "v6" -> ok; host may be a DNS name if
 * allow_name. */
static bool valid_host_port(const char *s, bool allow_name)
{
    char host[256];
    const char *port = NULL;
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof host)
        return false;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return false;
        size_t hl = (size_t)(close - s - 1);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return false;
        unsigned char buf[16];
        if (inet_pton(AF_INET6, host, buf) != 1)
            return false;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            /* bare IPv6 without port */
            unsigned char buf[16];
            return inet_pton(AF_INET6, s, buf) == 1;
        }
        size_t hl = colon ? (size_t)(colon - s) : len;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (colon)
            port = colon + 1;
        unsigned char buf[16];
        if (inet_pton(AF_INET, host, buf) != 1) {
            if (!allow_name || !host[0])
                return false;
            for (const char *p = host; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                    return false;
        }
    }
    if (port) {
        if (!*port || strlen(port) > 5)
            return false;
        for (const char *p = port; *p; p++)
            if (!isdigit((unsigned char)*p))
                return false;
        if (atoi(port) > 65535)
            return false;
    }
    return true;
}

static char *xstrdup_l(lua_State *L, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        luaL_error(L, "out of memory");
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Collect the strings of value at index `idx`: a string or an array of
 * strings. Returns false (and a reason in why) if not. */
static bool string_list(lua_State *L, int idx, mlua_setting *st, bool allow_single, const char **why)
{
    if (lua_type(L, idx) == LUA_TSTRING && allow_single) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        st->list = malloc(sizeof *st->list);
        if (!st->list)
            luaL_error(L, "out of memory");
        st->list[0] = xstrdup_l(L, s, n);
        st->n = 1;
        return true;
    }
    if (lua_type(L, idx) != LUA_TTABLE) {
        *why = "must be a list of strings";
        return false;
    }
    size_t len = lua_objlen(L, idx);
    /* every key must be 1..len: a map here is a mistake, not a list */
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    if (count != len) {
        *why = "must be a list (array) of strings";
        return false;
    }
    st->list = calloc(len ? len : 1, sizeof *st->list);
    if (!st->list)
        luaL_error(L, "out of memory");
    for (size_t i = 1; i <= len; i++) {
        lua_rawgeti(L, idx, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            *why = "must be a list of strings";
            return false;
        }
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        st->list[st->n++] = xstrdup_l(L, s, n);
        lua_pop(L, 1);
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* llround(v) for v in 0..UINT32_MAX, without libm (base_libm.c): halves
 * away from zero, as llround; v - t is exact below 2^52 */
static uint32_t round_u32(double v)
{
    uint32_t t = (uint32_t)v;
    return v - (double)t >= 0.5 ? t + 1 : t;
}

/* A boolean (at the top of the stack) into st. Returns NULL or a reason. */
static const char *check_bool(lua_State *L, mlua_setting *st)
{
    st->type = MLUA_SET_BOOL;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        return "must be true or false";
    st->b = lua_toboolean(L, -1);
    return NULL;
}

/* A knob's value (at the top of the stack) into st, held to the table's
 * bounds: seconds for a duration (rounded to milliseconds), an integer for
 * a count, a boolean for a switch. Returns NULL or a reason. */
static const char *check_knob(lua_State *L, const swim_knob *k, mlua_setting *st, char *buf, size_t buflen)
{
    int t = lua_type(L, -1);
    double v = lua_tonumber(L, -1);
    switch (k->kind) {
    case SWIM_KNOB_KIND_MS:
        st->type = MLUA_SET_DURATION;
        if (t != LUA_TNUMBER)
            return "must be a number of seconds";
        v *= 1000.0;
        /* beyond 32 bits nothing converts safely, nor is within bounds */
        if (!isfinite(v) || v < 0 || v > UINT32_MAX || !swim_knob_accepts(k, round_u32(v))) {
            snprintf(buf, buflen, "must be a number of seconds in %g..%g", k->min / 1000.0, k->max / 1000.0);
            return buf;
        }
        st->u = round_u32(v);
        return NULL;
    case SWIM_KNOB_KIND_COUNT:
        st->type = MLUA_SET_COUNT;
        if (t != LUA_TNUMBER)
            return "must be an integer";
        if (!isfinite(v) || v < 0 || v > UINT32_MAX || v != (double)(uint32_t)v || !swim_knob_accepts(k, (uint64_t)v)) {
            snprintf(buf, buflen, "must be an integer in %" PRIu32 "..%" PRIu32, k->min, k->max);
            return buf;
        }
        st->u = (uint32_t)v;
        return NULL;
    case SWIM_KNOB_KIND_BOOL:
        return check_bool(L, st);
    }
    return "unhandled";
}

/* Validate one value (at the top of the stack) into st. Returns NULL or a
 * reason. `buf` holds dynamic reasons. */
static const char *check_value(lua_State *L, const key_spec *k, mlua_setting *st, char *buf, size_t buflen)
{
    int t = lua_type(L, -1);
    int idx = lua_gettop(L);
    const char *why = NULL;
    switch (k->k) {
    case K_NAME:
    case K_IPADDR:
    case K_PROFILE:
    case K_KEY:
    case K_LOGLEVEL:
    case K_LABEL:
    case K_PATH: {
        if (t != LUA_TSTRING)
            return "must be a string";
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        st->type = MLUA_SET_STRING;
        st->s = xstrdup_l(L, s, n);
        if (strlen(st->s) != n)
            return "must not contain NUL bytes";
        if (k->k == K_NAME && (n == 0 || n > 255))
            return "must be 1..255 bytes";
        if (k->k == K_LABEL && n > 255)
            return "must be at most 255 bytes";
        if (k->k == K_PATH && n == 0)
            return "must be a file path, not empty";
        if (k->k == K_IPADDR && !valid_host_port(s, false)) {
            snprintf(buf, buflen, "'%s' is not an IP address with an optional port (\"10.0.0.1:7946\", \"[::1]:7946\")", s);
            return buf;
        }
        if (k->k == K_PROFILE && strcmp(s, "lan") && strcmp(s, "wan") && strcmp(s, "local")) {
            snprintf(buf, buflen, "'%s' is not lan, wan or local", s);
            return buf;
        }
        base_log_level lvl;
        if (k->k == K_LOGLEVEL && base_log_level_parse(s, &lvl) != 0) {
            snprintf(buf, buflen, "'%s' is not debug, info, warn or error", s);
            return buf;
        }
        if (k->k == K_KEY) {
            wire_key key;
            char kerr[160];
            if (wire_key_from_base64(s, &key, kerr, sizeof kerr) != WIRE_OK) {
                snprintf(buf, buflen, "%s", kerr);
                return buf;
            }
        }
        return NULL;
    }
    case K_HOSTLIST:
    case K_KEYLIST:
        st->type = MLUA_SET_LIST;
        if (!string_list(L, idx, st, k->k == K_HOSTLIST, &why))
            return why;
        if (k->k == K_KEYLIST && st->n == 0)
            return "must hold at least one key (the first is the primary)";
        for (size_t i = 0; i < st->n; i++) {
            if (k->k == K_HOSTLIST && !valid_host_port(st->list[i], true)) {
                snprintf(buf, buflen, "'%s' is not host[:port]", st->list[i]);
                return buf;
            }
            if (k->k == K_KEYLIST) {
                wire_key key;
                char kerr[160];
                if (wire_key_from_base64(st->list[i], &key, kerr, sizeof kerr) != WIRE_OK) {
                    snprintf(buf, buflen, "key %zu: %s", i + 1, kerr);
                    return buf;
                }
            }
        }
        return NULL;
    case K_TAGS: {
        if (t != LUA_TTABLE)
            return "must be a table of string keys and string values";
        st->type = MLUA_SET_MAP;
        size_t count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            count++;
            lua_pop(L, 1);
        }
        st->list = calloc(count ? count : 1, sizeof(char *));
        if (!st->list)
            luaL_error(L, "out of memory");
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
                lua_pop(L, 2);
                return "must map string keys to string values";
            }
            size_t kl;
            const char *ks = lua_tolstring(L, -2, &kl);
            st->list[st->n++] = xstrdup_l(L, ks, kl);
            lua_pop(L, 1);
        }
        qsort(st->list, st->n, sizeof(char *), cmp_str);
        /* now interleave values: list becomes k, v, k, v */
        char **kv = calloc(st->n * 2 + 1, sizeof(char *));
        if (!kv)
            luaL_error(L, "out of memory");
        serf_tags tags = { 0 };
        size_t nk = st->n;
        for (size_t i = 0; i < nk; i++) {
            lua_getfield(L, idx, st->list[i]);
            size_t vl;
            const char *vs = lua_tolstring(L, -1, &vl);
            kv[2 * i] = st->list[i];
            kv[2 * i + 1] = xstrdup_l(L, vs, vl);
            lua_pop(L, 1);
            if (serf_tags_set(&tags, kv[2 * i], strlen(kv[2 * i]), kv[2 * i + 1], vl) < 0)
                luaL_error(L, "out of memory");
        }
        free(st->list);
        st->list = kv;
        st->n = nk * 2;
        char terr[160];
        int rc = serf_tags_check(&tags, terr, sizeof terr);
        serf_tags_free(&tags);
        if (rc < 0) {
            snprintf(buf, buflen, "%s", terr);
            return buf;
        }
        return NULL;
    }
    case K_KNOB:
        return check_knob(L, swim_knob_at((size_t)k->knob), st, buf, buflen);
    case K_BOOL:
        return check_bool(L, st);
    case K_SECONDS:
    case K_UINT: {
        bool secs = k->k == K_SECONDS;
        double v = lua_tonumber(L, -1) * (secs ? 1000.0 : 1.0);
        uint32_t lo = secs ? SECONDS_LO_MS : 0, hi = secs ? SECONDS_HI_MS : UINT_HI;
        st->type = secs ? MLUA_SET_DURATION : MLUA_SET_COUNT;
        if (t == LUA_TNUMBER && isfinite(v) && v >= lo && v <= hi && (secs || v == (double)(uint32_t)v)) {
            st->u = round_u32(v);
            return NULL;
        }
        if (secs)
            snprintf(buf, buflen, "must be a number of seconds in %g..%g", lo / 1000.0, hi / 1000.0);
        else
            snprintf(buf, buflen, "must be an integer in %" PRIu32 "..%" PRIu32, lo, hi);
        return buf;
    }
    case K_CIDRLIST: {
        st->type = MLUA_SET_LIST;
        if (!string_list(L, idx, st, true, &why))
            return why;
        if (st->n > SWIM_MAX_CIDRS)
            return "must hold at most 16 networks";
        swim_cidr c;
        for (size_t i = 0; i < st->n; i++)
            if (swim_cidr_parse(st->list[i], &c) < 0) {
                snprintf(buf, buflen, "'%s' is not a network such as 10.0.0.0/8", st->list[i]);
                return buf;
            }
        return NULL;
    }
    case K_STRLIST:
        st->type = MLUA_SET_LIST;
        if (!string_list(L, idx, st, true, &why))
            return why;
        for (size_t i = 0; i < st->n; i++)
            if (!st->list[i][0])
                return "must not hold an empty string";
        return NULL;
    }
    return "unhandled";
}

static int cmp_setting(const void *a, const void *b)
{
    return strcmp(((const mlua_setting *)a)->key, ((const mlua_setting *)b)->key);
}

/* Lua keeps no line for a table field, so look for `key =` in the script
 * itself: a light scan from the agent.config call through its table (strings
 * and -- comments skipped, nested tables not searched), because an operator
 * with a long config block wants the line of the typo, not of the call.
 * Falls back to the call's line. */
#define KEY_LINE_SCAN 500   /* lines after the call searched; a config block is shorter */

static int key_line(const lua_Debug *ar, const char *key)
{
    if (ar->source[0] != '@' || ar->currentline <= 0)
        return ar->currentline;
    FILE *f = fopen(ar->source + 1, "r");
    if (!f)
        return ar->currentline;
    char line[1024];
    int no = 0, found = ar->currentline, depth = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f) && no < ar->currentline + KEY_LINE_SCAN) {
        if (++no < ar->currentline)
            continue;
        for (const char *p = line; *p; p++) {
            if (*p == '-' && p[1] == '-')
                break;                                  /* comment to end of line */
            if (*p == '"' || *p == '\'') {               /* string literal */
                char q = *p;
                for (p++; *p && *p != q; p++)
                    if (*p == '\\' && p[1])
                        p++;
                if (!*p)
                    break;
                continue;
            }
            if (*p == '{') {
                depth++;
                continue;
            }
            if (*p == '}') {
                if (--depth <= 0)
                    goto done;                          /* end of the config table */
                continue;
            }
            bool word_start = p == line || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
            if (depth != 1 || !word_start || strncmp(p, key, klen) != 0)
                continue;
            const char *q = p + klen;
            if (isalnum((unsigned char)*q) || *q == '_')
                continue;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '=' && q[1] != '=') {
                found = no;
                goto done;
            }
        }
    }
done:
    fclose(f);
    return found;
}

/* Raise "file:line: agent.config: key ..." at the key's line. */
static int config_error(lua_State *L, const lua_Debug *ar, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int config_error(lua_State *L, const lua_Debug *ar, const char *key, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ar->currentline > 0)
        lua_pushfstring(L, "%s:%d: agent.config: %s", ar->short_src, key_line(ar, key), msg);
    else
        lua_pushfstring(L, "agent.config: %s", msg);
    return lua_error(L);
}

int mlua_config_call(mlua *h, lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    char where[256] = "";
    lua_Debug ar;
    memset(&ar, 0, sizeof ar);
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
    else
        snprintf(where, sizeof where, "?");

    if (h->configured)
        return luaL_error(L, "agent.config: called twice (the first call at %s)", h->config_where);

    /* collect into a temporary array owned by a userdata-free path: errors
     * below longjmp, so keep it reachable from h while building */
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        count++;
        lua_pop(L, 1);
    }
    mlua_setting *v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        return luaL_error(L, "out of memory");
    mlua_settings_free(h->settings, h->nsettings);
    h->settings = v;
    h->nsettings = 0;

    char reason[512];
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            return luaL_error(L, "agent.config: keys must be setting names (strings), got a %s",
                              luaL_typename(L, -2));
        }
        const char *name = lua_tostring(L, -2);
        const key_spec *k = find_key(name);
        if (!k)
            return config_error(L, &ar, name, "unknown key '%s'", name);
        mlua_setting *st = &h->settings[h->nsettings++];
        st->key = k->name;
        snprintf(st->where, sizeof st->where, "%s", where);
        const char *why = check_value(L, k, st, reason, sizeof reason);
        if (why)
            return config_error(L, &ar, name, "key '%s' %s", name, why);
        lua_settop(L, 2);   /* keep the key for lua_next */
    }
    qsort(h->settings, h->nsettings, sizeof *h->settings, cmp_setting);
    snprintf(h->config_where, sizeof h->config_where, "%s", where);
    const mlua_setting *e = mlua_setting_get(h, "encrypt"), *kr = mlua_setting_get(h, "keyring");
    if (e && kr)
        return luaL_error(L, "agent.config: key 'keyring' cannot be given with 'encrypt' (put the key first in keyring)");
    h->configured = true;
    return 0;
}

size_t mlua_settings(const mlua *h, const mlua_setting **out)
{
    *out = h->settings;
    return h->nsettings;
}

const mlua_setting *mlua_setting_get(const mlua *h, const char *key)
{
    for (size_t i = 0; i < h->nsettings; i++)
        if (strcmp(h->settings[i].key, key) == 0)
            return &h->settings[i];
    return NULL;
}

int mlua_settings_apply_swim(const mlua *h, swim_config *c, char *err, size_t errlen)
{
    const mlua_setting *p = mlua_setting_get(h, "profile");
    if (p && swim_config_profile(c, p->s) < 0) {
        snprintf(err, errlen, "%s: agent.config: key 'profile': '%s' is not lan, wan or local", p->where, p->s);
        return -1;
    }
    return mlua_settings_apply_knobs(h, c, err, errlen);
}

int mlua_settings_apply_knobs(const mlua *h, swim_config *c, char *err, size_t errlen)
{
    mlua_settings_put_knobs(h, c);
    return mlua_settings_check_knobs(h, c, 0, err, errlen);
}

void mlua_settings_put_knobs(const mlua *h, swim_config *c)
{
    for (size_t i = 0; i < h->nsettings; i++) {
        const mlua_setting *st = &h->settings[i];
        int k = swim_knob_find(st->key);
        if (k >= 0)
            swim_knob_set(c, (size_t)k, st->type == MLUA_SET_BOOL ? st->b : st->u);
    }
}

int mlua_settings_check_knobs(const mlua *h, const swim_config *c, uint64_t as_flag, char *err, size_t errlen)
{
    char why[256];
    if (!swim_config_check_knobs(c, as_flag, why, sizeof why))
        return 0;
    snprintf(err, errlen, "%s: agent.config: %s", h->config_where, why);
    return -1;
}

int mlua_settings_meta(const mlua *h, uint8_t *meta, size_t cap)
{
    const mlua_setting *t = mlua_setting_get(h, "tags");
    if (!t)
        return -1;
    serf_tags tags = { 0 };
    for (size_t i = 0; i + 1 < t->n; i += 2)
        if (serf_tags_set(&tags, t->list[i], strlen(t->list[i]), t->list[i + 1], strlen(t->list[i + 1])) < 0) {
            serf_tags_free(&tags);
            return -1;
        }
    wire_buf b;
    wire_buf_init(&b, 0);
    char err[160];
    int rc = serf_tags_encode(&tags, &b, err, sizeof err);
    serf_tags_free(&tags);
    if (rc == 0 && b.len <= cap) {
        memcpy(meta, b.data, b.len);
        rc = (int)b.len;
    } else
        rc = -1;
    wire_buf_free(&b);
    return rc;
}
