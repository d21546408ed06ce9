/* daemon_script: `moonlist agent` and its script — find the script, load it,
 * and merge its agent.config into the agent's options, command-line flags
 * overriding. */
#include "daemon/daemon_script.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base_log.h"
#include "daemon/daemon_tags_file.h"
#include "lua/mlua_internal.h"

/* One log line per line of the message: a traceback stays readable and
 * no line runs into base_log's line limit. */
static void agent_log(void *ud, base_log_level level, const char *msg)
{
    (void)ud;
    const char *p = msg;
    for (;;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        base_log(level, "lua: %.*s", len, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* The directory of the running binary, for finding scripts/ and lua/ next
 * to it: build/moonlist in a checkout (../scripts), or bin/moonlist in an
 * install (../share/moonlist/scripts). */
static int exe_dir(char *out, size_t len)
{
    size_t n = len;
    if (uv_exepath(out, &n) != 0)
        return -1;
    char *slash = strrchr(out, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

static bool is_file(const char *p)
{
    return access(p, R_OK) == 0;
}

int daemon_script_default(char *out, size_t len)
{
    char dir[PATH_MAX];
    if (exe_dir(dir, sizeof dir) < 0)
        return -1;
    static const char *const rel[] = { "../scripts/agent.lua", "../share/moonlist/scripts/agent.lua" };
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(out, len, "%s/%s", dir, rel[i]);
        if (is_file(out))
            return 0;
    }
    return -1;
}

char *daemon_script_lua_path(void)
{
    char dir[PATH_MAX];
    const char *env = getenv("MOONLIST_LUA_PATH");
    if (exe_dir(dir, sizeof dir) < 0)
        dir[0] = '\0';
    const char *fmt = "%s%s%s/../lua/?.lua;%s/../share/moonlist/lua/?.lua";
    int n = snprintf(NULL, 0, fmt, env ? env : "", env ? ";" : "", dir, dir);
    char *out = n < 0 ? NULL : malloc((size_t)n + 1);
    if (out)
        snprintf(out, (size_t)n + 1, fmt, env ? env : "", env ? ";" : "", dir, dir);
    return out;
}

static bool flag_set(const daemon_opts *o, const char *name)
{
    const base_flag_value *v = base_args_get(&o->args, name);
    return v && v->set;
}

static int host_port(const mlua_setting *st, char *host, size_t hostlen, uint16_t *port, uint16_t def,
                     char *err, size_t errlen)
{
    swim_addr tmp;
    if (net_split_host_port(st->s, host, hostlen, port, def) < 0 || net_parse_ip(host, 0, &tmp) < 0) {
        snprintf(err, errlen, "%s: agent.config: key '%s' '%s' is not an IP address with an optional port",
                 st->where, st->key, st->s);
        return -1;
    }
    return 0;
}

/* serf's agent keys: joins retried, signals, the tags file, the snapshot,
 * the event handlers (checked here: the script's host does not know their filters) */
static int apply_serf_agent(mlua *h, daemon_opts *o, char *err, size_t errlen)
{
    const mlua_setting *st;
    if ((st = mlua_setting_get(h, "retry_join")) && !flag_set(o, "retry-join")) {
        o->retry_join = (const char **)st->list;
        o->nretry_join = st->n;
    }
    if ((st = mlua_setting_get(h, "retry_interval")) && !flag_set(o, "retry-interval"))
        o->retry_interval_ms = st->u;
    if ((st = mlua_setting_get(h, "retry_max")) && !flag_set(o, "retry-max"))
        o->retry_max = st->u;
    if ((st = mlua_setting_get(h, "leave_on_terminate")) && !flag_set(o, "leave-on-terminate"))
        o->leave_on_terminate = st->b;
    if ((st = mlua_setting_get(h, "skip_leave_on_interrupt")) && !flag_set(o, "skip-leave-on-interrupt"))
        o->skip_leave_on_interrupt = st->b;
    if ((st = mlua_setting_get(h, "event_handlers")) && !flag_set(o, "event-handler")) {
        char what[300];
        snprintf(what, sizeof what, "%s: agent.config: key 'event_handlers':", st->where);
        if (daemon_opts_check_handlers(what, (const char *const *)st->list, st->n, err, errlen) < 0)
            return -1;
        o->event_handlers = (const char **)st->list;
        o->nevent_handlers = st->n;
    }
    if ((st = mlua_setting_get(h, "rpc_auth")) && !flag_set(o, "rpc-auth")) {
        if (strlen(st->s) >= sizeof o->rpc_auth) {
            snprintf(err, errlen, "%s: agent.config: key 'rpc_auth': at most %zu bytes", st->where,
                     sizeof o->rpc_auth - 1);
            return -1;
        }
        snprintf(o->rpc_auth, sizeof o->rpc_auth, "%s", st->s);
    }
    if ((st = mlua_setting_get(h, "tags_file")) && !flag_set(o, "tags-file")) {
        if (strlen(st->s) >= sizeof o->tags_file) {
            snprintf(err, errlen, "%s: agent.config: key 'tags_file': path too long", st->where);
            return -1;
        }
        snprintf(o->tags_file, sizeof o->tags_file, "%s", st->s);
    }
    if ((st = mlua_setting_get(h, "snapshot_path")) && !flag_set(o, "snapshot")) {
        if (strlen(st->s) >= sizeof o->snapshot) {
            snprintf(err, errlen, "%s: agent.config: key 'snapshot_path': at most %zu bytes", st->where,
                     sizeof o->snapshot - 1);
            return -1;
        }
        snprintf(o->snapshot, sizeof o->snapshot, "%s", st->s);
    }
    if ((st = mlua_setting_get(h, "rejoin_after_leave")) && !flag_set(o, "rejoin"))
        o->rejoin = st->b;
    /* serf: "Tags config not allowed while using tag files" */
    const mlua_setting *tags = mlua_setting_get(h, "tags");
    if (o->tags_file[0] && (flag_set(o, "tag") || (tags && tags->n > 0))) {
        snprintf(err, errlen, "%s: agent.config: tags (%s) cannot be used with a tags file (%s)",
                 tags ? tags->where : h->config_where, flag_set(o, "tag") ? "-tag" : "key 'tags'",
                 flag_set(o, "tags-file") ? "-tags-file" : "key 'tags_file'");
        return -1;
    }
    return 0;
}

int daemon_script_apply(mlua *h, daemon_opts *o, char *err, size_t errlen)
{
    const mlua_setting *st;
    swim_config *sc = &o->net.swim;

    /* protocol knobs: -profile (else the script's profile) as the base, the
     * script's knobs on it, every knob flag given on top; then the rules
     * across them again, on the merged result (the script alone was judged
     * when it loaded, the flags alone when they were parsed) */
    const swim_config flagged = *sc;   /* the flags' profile and knobs */
    uint64_t from_flags = 0;
    for (size_t i = 0; i < swim_knob_count(); i++)
        if (flag_set(o, swim_knob_at(i)->flag))
            from_flags |= SWIM_KNOB_BIT(i);
    /* the script's profile was checked when the script set it */
    if (!flag_set(o, "profile") && (st = mlua_setting_get(h, "profile")) && swim_config_profile(sc, st->s) == 0)
        snprintf(o->profile, sizeof o->profile, "%s", st->s);
    mlua_settings_put_knobs(h, sc);
    for (size_t i = 0; i < swim_knob_count(); i++)
        if (from_flags & SWIM_KNOB_BIT(i))
            swim_knob_set(sc, i, swim_knob_get(&flagged, i));
    if (mlua_settings_check_knobs(h, sc, from_flags, err, errlen) < 0)
        return -1;

    if ((st = mlua_setting_get(h, "node")) && !flag_set(o, "node"))
        snprintf(sc->name, sizeof sc->name, "%s", st->s);
    if ((st = mlua_setting_get(h, "bind")) && !flag_set(o, "bind") &&
        host_port(st, o->net.bind_host, sizeof o->net.bind_host, &o->net.bind_port, NET_DEFAULT_PORT, err,
                  errlen) < 0)
        return -1;
    if ((st = mlua_setting_get(h, "advertise")) && !flag_set(o, "advertise") &&
        host_port(st, o->net.advertise_host, sizeof o->net.advertise_host, &o->net.advertise_port, 0, err,
                  errlen) < 0)
        return -1;
    if ((st = mlua_setting_get(h, "rpc_addr")) && !flag_set(o, "rpc-addr")) {
        if (host_port(st, o->rpc_host, sizeof o->rpc_host, &o->rpc_port, 7373, err, errlen) < 0)
            return -1;
        if (o->rpc_port == 0) {
            snprintf(err, errlen, "%s: agent.config: key 'rpc_addr' needs a port other than 0", st->where);
            return -1;
        }
    }
    /* checked by agent.config already: at most SWIM_MAX_CIDRS, each valid */
    if ((st = mlua_setting_get(h, "allow_cidrs")) && !flag_set(o, "allow-cidr")) {
        sc->nallow_cidrs = 0;
        for (size_t i = 0; i < st->n && i < SWIM_MAX_CIDRS; i++)
            if (swim_cidr_parse(st->list[i], &sc->allow_cidrs[sc->nallow_cidrs]) == 0)
                sc->nallow_cidrs++;
    }
    /* the list lives in the host, which outlives the agent's options */
    if ((st = mlua_setting_get(h, "join")) && !flag_set(o, "join")) {
        o->join = (const char **)st->list;
        o->njoin = st->n;
    }
    /* -tags-file's tags were read already (the script's must be empty) */
    if ((st = mlua_setting_get(h, "tags")) && !flag_set(o, "tag") && !flag_set(o, "tags-file")) {
        int n = mlua_settings_meta(h, sc->meta, sizeof sc->meta);
        if (n < 0) {
            snprintf(err, errlen, "%s: agent.config: key 'tags' does not encode", st->where);
            return -1;
        }
        sc->meta_len = (size_t)n;
    }
    if (!flag_set(o, "encrypt")) {
        const mlua_setting *e = mlua_setting_get(h, "encrypt"), *kr = mlua_setting_get(h, "keyring");
        char kerr[160];
        if (e && wire_keyring_add_base64(&o->net.keyring, e->s, kerr, sizeof kerr) != WIRE_OK) {
            snprintf(err, errlen, "%s: agent.config: key 'encrypt': %s", e->where, kerr);
            return -1;
        }
        for (size_t i = 0; kr && i < kr->n; i++)
            if (wire_keyring_add_base64(&o->net.keyring, kr->list[i], kerr, sizeof kerr) != WIRE_OK) {
                snprintf(err, errlen, "%s: agent.config: key 'keyring' key %zu: %s", kr->where, i + 1, kerr);
                return -1;
            }
    }
    if ((st = mlua_setting_get(h, "label")) &&
        wire_frame_config_set_label(&o->net.frame, st->s, strlen(st->s)) != WIRE_OK) {
        snprintf(err, errlen, "%s: agent.config: key 'label' is over 255 bytes", st->where);
        return -1;
    }
    /* the name was checked when the script set it */
    if ((st = mlua_setting_get(h, "log_level")) && !flag_set(o, "log-level"))
        (void)base_log_level_parse(st->s, &o->log_level);
    return apply_serf_agent(h, o, err, errlen);
}

/* The tags file's tags become ours, as serf's loadTagsFile does. */
static int load_tags_file(daemon_opts *o, char *err, size_t errlen)
{
    size_t ntags = 0;
    int rc = daemon_tags_file_read(o->tags_file, o->net.swim.meta, &o->net.swim.meta_len, &ntags, err, errlen);
    if (rc > 0)
        base_log(BASE_LOG_INFO, "restored %zu tag%s from %s", ntags, ntags == 1 ? "" : "s", o->tags_file);
    return rc < 0 ? -1 : 0;
}

/* The script's path and the Lua path, on the heap at their length: built
 * in a frame of their own, gone before the script loads (the deepest the
 * main thread goes), so no PATH_MAX buffer lies under LuaJIT's parser
 * (main-thread stack pages stay resident once touched: docs/footprint.md).
 * Not heap buffers of PATH_MAX size either: 16 KiB malloc'd and freed
 * there left the glibc heap 64 KiB larger. 1 found (*path and *lp to
 * free), 0 no script, -1 out of memory. */
static __attribute__((noinline)) int script_paths(daemon_opts *o, char **path, char **lp)
{
    char p[PATH_MAX];
    if (o->config_path[0])
        snprintf(p, sizeof p, "%s", o->config_path);
    else if (daemon_script_default(p, sizeof p) < 0)
        return 0;
    else if (strlen(p) < sizeof o->config_path)
        memcpy(o->config_path, p, strlen(p) + 1);   /* for `moonlist info` */
    *path = strdup(p);
    *lp = daemon_script_lua_path();
    if (*path && *lp)
        return 1;
    free(*path);
    free(*lp);
    return -1;
}

int daemon_script_load(daemon_opts *o, mlua **out, char *err, size_t errlen)
{
    *out = NULL;
    /* -tags-file first: the script's agent.self() shows its tags */
    bool tags_flag = flag_set(o, "tag") || flag_set(o, "tags-file");
    if (flag_set(o, "tags-file") && load_tags_file(o, err, errlen) < 0)
        return -1;
    char *path = NULL, *lp = NULL;
    int found = script_paths(o, &path, &lp);
    if (found < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (found == 0) {
        base_log(BASE_LOG_WARN, "no -config and no default script (scripts/agent.lua beside the binary): running without Lua");
        return 0;
    }
    /* what agent.self() says while the script first loads: the flags' name
     * and tags when given (they will win over the script's) */
    mlua_options opt = { .log = agent_log, .lua_path = lp,
                         .self_name = flag_set(o, "node") ? o->net.swim.name : NULL,
                         .self_meta = tags_flag ? o->net.swim.meta : NULL,
                         .self_meta_len = tags_flag ? o->net.swim.meta_len : 0 };
    mlua *h = mlua_new(&opt);   /* copies lua_path */
    free(lp);
    if (!h) {
        free(path);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = mlua_load(h, path, err, errlen);
    free(path);
    if (rc < 0 || daemon_script_apply(h, o, err, errlen) < 0 ||
        (!flag_set(o, "tags-file") && o->tags_file[0] && load_tags_file(o, err, errlen) < 0)) {
        mlua_free(h);
        return -1;
    }
    *out = h;
    return 0;
}
