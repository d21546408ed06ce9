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

/* package.path entries for lua/moonlist/ modules: beside the binary (as for
 * the default script) and MOONLIST_LUA_PATH if set. */
static void lua_path(char *out, size_t len)
{
    char dir[PATH_MAX];
    const char *env = getenv("MOONLIST_LUA_PATH");
    if (exe_dir(dir, sizeof dir) < 0)
        dir[0] = '\0';
    snprintf(out, len, "%s%s%s/../lua/?.lua;%s/../share/moonlist/lua/?.lua", env ? env : "", env ? ";" : "", dir,
             dir);
}

/* flag name -> swim_config field, for the knobs both flags and the script
 * can set: a given flag's value is kept over the script's. */
static const struct {
    const char *flag;
    size_t off;
} knob_flags[] = {
    { "probe-interval", offsetof(swim_config, probe_interval) },
    { "probe-timeout", offsetof(swim_config, probe_timeout) },
    { "gossip-interval", offsetof(swim_config, gossip_interval) },
    { "push-pull-interval", offsetof(swim_config, push_pull_interval) },
    { "tcp-timeout", offsetof(swim_config, tcp_timeout) },
    { "suspicion-mult", offsetof(swim_config, suspicion_mult) },
    { "retransmit-mult", offsetof(swim_config, retransmit_mult) },
    { "indirect-checks", offsetof(swim_config, indirect_checks) },
    { "gossip-nodes", offsetof(swim_config, gossip_nodes) },
};
#define NKNOB_FLAGS (sizeof knob_flags / sizeof knob_flags[0])

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

int daemon_script_apply(mlua *h, daemon_opts *o, char *err, size_t errlen)
{
    const mlua_setting *st;
    swim_config *sc = &o->net.swim;

    /* protocol knobs: the script's profile and knobs, then the flags' values
     * again on top */
    uint32_t flag_vals[NKNOB_FLAGS];
    for (size_t i = 0; i < NKNOB_FLAGS; i++)
        flag_vals[i] = *(uint32_t *)((char *)sc + knob_flags[i].off);
    if (flag_set(o, "profile")) {
        /* -profile wins: the script's knobs go on the flag's profile */
        if (mlua_settings_apply_knobs(h, sc, err, errlen) < 0)
            return -1;
    } else {
        if (mlua_settings_apply_swim(h, sc, err, errlen) < 0)
            return -1;
        if ((st = mlua_setting_get(h, "profile")))
            snprintf(o->profile, sizeof o->profile, "%s", st->s);
    }
    for (size_t i = 0; i < NKNOB_FLAGS; i++)
        if (flag_set(o, knob_flags[i].flag))
            *(uint32_t *)((char *)sc + knob_flags[i].off) = flag_vals[i];
    if (sc->probe_timeout >= sc->probe_interval) {
        snprintf(err, errlen, "probe timeout (%ums) must be shorter than the probe interval (%ums)",
                 sc->probe_timeout, sc->probe_interval);
        return -1;
    }

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
    /* the list lives in the host, which outlives the agent's options */
    if ((st = mlua_setting_get(h, "join")) && !flag_set(o, "join")) {
        o->join = (const char **)st->list;
        o->njoin = st->n;
    }
    if ((st = mlua_setting_get(h, "tags")) && !flag_set(o, "tag")) {
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
    return 0;
}

int daemon_script_load(daemon_opts *o, mlua **out, char *err, size_t errlen)
{
    *out = NULL;
    char path[PATH_MAX];
    if (o->config_path[0])
        snprintf(path, sizeof path, "%s", o->config_path);
    else if (daemon_script_default(path, sizeof path) < 0) {
        base_log(BASE_LOG_WARN, "no -config and no default script (scripts/agent.lua beside the binary): running without Lua");
        return 0;
    } else if (strlen(path) < sizeof o->config_path)
        memcpy(o->config_path, path, strlen(path) + 1);   /* for `moonlist info` */
    char lp[3 * PATH_MAX];
    lua_path(lp, sizeof lp);
    mlua_options opt = { .log = agent_log, .lua_path = lp };
    mlua *h = mlua_new(&opt);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (mlua_load(h, path, err, errlen) < 0 || daemon_script_apply(h, o, err, errlen) < 0) {
        mlua_free(h);
        return -1;
    }
    *out = h;
    return 0;
}
