#include "daemon/daemon_opts.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon_handlers.h"
#include "daemon/daemon_metrics.h"
#include "serf/serf_msg.h"
#include "serf/serf_tags.h"
#include "wire/wire_keyring.h"

/* A knob's flag (swim_knobs.h): a duration or a number as a string, a
 * switch as a bool flag. */
#define KNOB_FLAG_KIND_MS BASE_FLAG_STRING
#define KNOB_FLAG_KIND_COUNT BASE_FLAG_STRING
#define KNOB_FLAG_KIND_BOOL BASE_FLAG_BOOL
#define KNOB_FLAG_ARG_MS "DUR"
#define KNOB_FLAG_ARG_COUNT "N"
#define KNOB_FLAG_ARG_BOOL NULL
#define KNOB_FLAG_(name, flag, kind, lan, wan, local, min, max, help) \
    { flag, KNOB_FLAG_KIND_##kind, KNOB_FLAG_ARG_##kind, help },

/* serf's agent flags where they overlap, then one flag per knob, in the
 * table's order. */
static const base_flag_spec agent_flags[] = {
    { "node", BASE_FLAG_STRING, "NAME", "node name, unique in the cluster (default: hostname)" },
    { "bind", BASE_FLAG_STRING, "ADDR", "address[:port] for gossip, UDP and TCP (default 0.0.0.0:7946)" },
    { "advertise", BASE_FLAG_STRING, "ADDR", "address[:port] other nodes reach us at (default: bind, or first non-loopback)" },
    { "join", BASE_FLAG_LIST, "ADDR", "join through this agent at start (host[:port])" },
    { "rpc-addr", BASE_FLAG_STRING, "ADDR", "control address (default " DAEMON_RPC_DEFAULT_ADDR ")" },
    { "rpc-auth", BASE_FLAG_STRING, "KEY", "control clients must authenticate with this key (serf's -rpc-auth)" },
    { "profile", BASE_FLAG_STRING, "NAME", "timing profile: lan, wan or local (default lan)" },
    { "encrypt", BASE_FLAG_STRING, "KEY", "base64 gossip key of 16, 24 or 32 bytes" },
    { "tag", BASE_FLAG_LIST, "K=V", "node tag, as serf tags" },
    { "config", BASE_FLAG_STRING, "FILE", "Lua configuration script" },
    { "log-level", BASE_FLAG_STRING, "LEVEL", "debug, info, warn or error (default info)" },
    { "disable-compression", BASE_FLAG_BOOL, NULL, "do not LZW-compress gossip and streams" },
    { "retry-join", BASE_FLAG_LIST, "ADDR", "join through this agent, retried until a join succeeds (host[:port])" },
    { "retry-interval", BASE_FLAG_STRING, "DUR", "time between -retry-join attempts (default 30s, at least 1s)" },
    { "retry-max", BASE_FLAG_STRING, "N", "-retry-join retries before the agent gives up and exits 1 (default 0: forever)" },
    { "leave-on-terminate", BASE_FLAG_BOOL, NULL, "leave gracefully on SIGTERM (else stop: the others see this node fail)" },
    { "skip-leave-on-interrupt", BASE_FLAG_BOOL, NULL, "stop without leaving on SIGINT (else leave gracefully)" },
    { "tags-file", BASE_FLAG_STRING, "FILE", "serf's tags file: tags read at start, written when they change (not with -tag)" },
    { "event-handler", BASE_FLAG_LIST, "[FILTER=]CMD", "run CMD (/bin/sh -c) on serf events (FILTER: member-join,member-leave,...,user:NAME,query:NAME,*)" },
    { "keyring-file", BASE_FLAG_STRING, "FILE", "serf's keyring file: keys read at start (not with -encrypt), written when key queries change them" },
    { "replay", BASE_FLAG_BOOL, NULL, "joins (-join, -retry-join) replay the cluster's old user events" },
    { "reconnect-interval", BASE_FLAG_STRING, "DUR", "how often a failed member is tried again (serf's default 30s)" },
    { "reconnect-timeout", BASE_FLAG_STRING, "DUR", "how long a failed member is kept and tried before it is reaped (default 24h; hours allowed, 72h)" },
    { "tombstone-timeout", BASE_FLAG_STRING, "DUR", "how long a left member is listed before it is reaped (default 24h; hours allowed)" },
    { "user-event-size-limit", BASE_FLAG_STRING, "N", "bytes of a user event's name and payload (serf's default 512, at most 9216)" },
    { "query-size-limit", BASE_FLAG_STRING, "N", "bytes of a query we send (serf's default 1024)" },
    { "query-response-size-limit", BASE_FLAG_STRING, "N", "bytes of a query response (serf's default 1024)" },
    { "disable-name-resolution", BASE_FLAG_BOOL, NULL, "no vote on a name claimed twice (serf's disable_name_resolution)" },
    { "snapshot", BASE_FLAG_STRING, "FILE", "serf's snapshot file: members and clocks kept across restarts, to rejoin and not replay old events" },
    { "rejoin", BASE_FLAG_BOOL, NULL, "rejoin the members of the snapshot even after a graceful leave" },
    { "metrics-addr", BASE_FLAG_STRING, "ADDR", "serve Prometheus metrics over HTTP at host:port (default off)" },
    { "allow-cidr", BASE_FLAG_LIST, "CIDR", "hear packets, streams and alive messages only from this network (default: all)" },
    SWIM_KNOBS(KNOB_FLAG_)
};
#define NFLAGS (sizeof agent_flags / sizeof agent_flags[0])

/* ms as a flag takes it: "200ms", "5s". */
static const char *duration_text(uint32_t ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%us", (unsigned)(ms / 1000));
    else
        snprintf(buf, len, "%ums", (unsigned)ms);
    return buf;
}

/* A knob's value as its flag takes it. */
static const char *knob_value_text(const swim_knob *k, uint32_t v, char *buf, size_t len)
{
    if (k->kind == SWIM_KNOB_KIND_MS)
        return duration_text(v, buf, len);
    if (k->kind == SWIM_KNOB_KIND_BOOL)
        snprintf(buf, len, "%s", v ? "true" : "false");
    else
        snprintf(buf, len, "%u", (unsigned)v);
    return buf;
}

void daemon_usage(FILE *f)
{
    fprintf(f, "usage: moonlist agent [flags]\n\nflags:\n");
    base_flags_usage(agent_flags, NFLAGS, f);
    fprintf(f, "\nDUR is a duration: 200ms, 1.5s, 2m (a bare number is milliseconds).\n"
               "\nprotocol knob defaults by -profile (memberlist's), lan / wan / local:\n");
    for (size_t i = 0; i < swim_knob_count(); i++) {
        const swim_knob *k = swim_knob_at(i);
        char lan[16], wan[16], local[16];
        fprintf(f, "  -%-28s %s / %s / %s\n", k->flag, knob_value_text(k, k->lan, lan, sizeof lan),
                knob_value_text(k, k->wan, wan, sizeof wan), knob_value_text(k, k->local, local, sizeof local));
    }
}

static int host_port(const char *flag, const char *v, char *host, size_t hostlen, uint16_t *port,
                     uint16_t def, bool need_ip, char *err, size_t errlen)
{
    swim_addr tmp;
    if (net_split_host_port(v, host, hostlen, port, def) < 0 || (need_ip && net_parse_ip(host, 0, &tmp) < 0)) {
        snprintf(err, errlen, "-%s: '%s' is not %s[:port]", flag, v, need_ip ? "an IP address" : "a host");
        return -1;
    }
    return 0;
}

/* Knob i's flag, if given, into s, within the table's bounds. */
static int knob_flag(const base_args *a, size_t i, swim_config *s, char *err, size_t errlen)
{
    const swim_knob *k = swim_knob_at(i);
    const base_flag_value *fv = base_args_get(a, k->flag);
    if (!fv->set)
        return 0;
    if (k->kind == SWIM_KNOB_KIND_BOOL) {
        swim_knob_set(s, i, base_args_bool(a, k->flag));
        return 0;
    }
    const char *v = fv->str;
    char lo[16], hi[16];
    if (k->kind == SWIM_KNOB_KIND_MS) {
        unsigned ms;
        if (base_parse_duration_ms(v, &ms) < 0 || !swim_knob_accepts(k, ms)) {
            snprintf(err, errlen, "-%s: '%s' is not a duration in %s..%s (e.g. 1s, 200ms)", k->flag, v,
                     duration_text(k->min, lo, sizeof lo), duration_text(k->max, hi, sizeof hi));
            return -1;
        }
        swim_knob_set(s, i, ms);
        return 0;
    }
    unsigned long n;
    if (base_parse_uint(v, 0, UINT32_MAX, &n) < 0 || !swim_knob_accepts(k, n)) {
        snprintf(err, errlen, "-%s: '%s' is not a number in %u..%u", k->flag, v, (unsigned)k->min, (unsigned)k->max);
        return -1;
    }
    swim_knob_set(s, i, n);
    return 0;
}

void daemon_opts_free(daemon_opts *o)
{
    base_args_free(&o->args);
    o->join = o->retry_join = o->event_handlers = NULL;
    o->njoin = o->nretry_join = o->nevent_handlers = 0;
}

/* Each "host[:port]" of a list flag (-join, -retry-join). */
static int host_list(const char *flag, const char *const *v, size_t n, char *err, size_t errlen)
{
    char host[256];
    for (size_t i = 0; i < n; i++) {
        uint16_t p;
        if (net_split_host_port(v[i], host, sizeof host, &p, NET_DEFAULT_PORT) < 0) {
            snprintf(err, errlen, "-%s: '%s' is not host[:port]", flag, v[i]);
            return -1;
        }
    }
    return 0;
}

int daemon_opts_check_handlers(const char *what, const char *const *specs, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        daemon_handler h;
        char why[256];
        if (daemon_handler_parse(specs[i], &h, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s '%s': %s", what, specs[i], why);
            return -1;
        }
        daemon_handler_free(&h);
    }
    return 0;
}

/* serf's reap timeouts are often days ("72h"): hours on top of what
 * base_parse_duration_ms takes (at most a day), up to a year. */
#define REAP_TIMEOUT_MAX_H (366 * 24)

/* A duration flag into *ms (left alone when not given): 0 or -1. */
static int duration_flag(const base_args *a, const char *flag, uint64_t *ms, char *err, size_t errlen)
{
    const char *v = base_args_str(a, flag, NULL);
    unsigned m = 0;
    if (!v)
        return 0;
    size_t n = strlen(v);
    unsigned long h;
    char num[32];
    if (n > 1 && n < sizeof num && v[n - 1] == 'h') {
        memcpy(num, v, n - 1);
        num[n - 1] = '\0';
        if (base_parse_uint(num, 1, REAP_TIMEOUT_MAX_H, &h) == 0) {
            *ms = (uint64_t)h * 3600000u;
            return 0;
        }
    } else if (base_parse_duration_ms(v, &m) == 0 && m > 0) {
        *ms = m;
        return 0;
    }
    snprintf(err, errlen, "-%s: '%s' is not a positive duration (e.g. 30s, 15m, 72h)", flag, v);
    return -1;
}

/* A size flag in [1, max] into *n (left alone when not given). */
static int size_flag(const base_args *a, const char *flag, size_t max, size_t *n, char *err, size_t errlen)
{
    const char *v = base_args_str(a, flag, NULL);
    unsigned long x;
    if (!v)
        return 0;
    if (base_parse_uint(v, 1, max, &x) < 0) {
        snprintf(err, errlen, "-%s: '%s' is not a number in 1..%zu", flag, v, max);
        return -1;
    }
    *n = x;
    return 0;
}

/* serf's layer: its keyring file, replay, reap timeouts, size limits. */
static int serf_layer_flags(daemon_opts *o, char *err, size_t errlen)
{
    const base_args *a = &o->args;
    const char *kf = base_args_str(a, "keyring-file", NULL);
    if (kf) {
        if (!kf[0] || strlen(kf) >= sizeof o->keyring_file) {
            snprintf(err, errlen, "-keyring-file: the path must be 1..%zu bytes", sizeof o->keyring_file - 1);
            return -1;
        }
        /* serf's agent: "Encryption key not allowed while using a keyring" */
        if (base_args_get(a, "encrypt")->set) {
            snprintf(err, errlen, "-encrypt cannot be used with -keyring-file (the keys come from the file)");
            return -1;
        }
        snprintf(o->keyring_file, sizeof o->keyring_file, "%s", kf);
    }
    o->replay = base_args_bool(a, "replay");
    o->disable_name_resolution = base_args_bool(a, "disable-name-resolution");
    const char *sp = base_args_str(a, "snapshot", NULL);
    if (sp) {
        if (!sp[0] || strlen(sp) >= sizeof o->snapshot) {
            snprintf(err, errlen, "-snapshot: the path must be 1..%zu bytes", sizeof o->snapshot - 1);
            return -1;
        }
        snprintf(o->snapshot, sizeof o->snapshot, "%s", sp);
    }
    o->rejoin = base_args_bool(a, "rejoin");
    /* serf refuses a UserEventSizeLimit over its 9 KiB ceiling; the
     * query limits have none but a UDP packet's (64 KiB) */
    if (duration_flag(a, "reconnect-interval", &o->reconnect_interval_ms, err, errlen) < 0 ||
        duration_flag(a, "reconnect-timeout", &o->reconnect_timeout_ms, err, errlen) < 0 ||
        duration_flag(a, "tombstone-timeout", &o->tombstone_timeout_ms, err, errlen) < 0 ||
        size_flag(a, "user-event-size-limit", SERF_USER_EVENT_SANE_LIMIT, &o->user_event_size_limit, err, errlen) < 0 ||
        size_flag(a, "query-size-limit", 65000, &o->query_size_limit, err, errlen) < 0 ||
        size_flag(a, "query-response-size-limit", 65000, &o->query_response_size_limit, err, errlen) < 0)
        return -1;
    return 0;
}

/* serf's agent flags on joins, signals, the tags file and the event
 * handlers. */
static int serf_agent_flags(daemon_opts *o, char *err, size_t errlen)
{
    const base_args *a = &o->args;
    const base_flag_value *rj = base_args_get(a, "retry-join");
    o->retry_join = rj->list;
    o->nretry_join = rj->n;
    if (host_list("retry-join", o->retry_join, o->nretry_join, err, errlen) < 0)
        return -1;
    o->retry_interval_ms = DAEMON_RETRY_INTERVAL_MS;
    const char *ri = base_args_str(a, "retry-interval", NULL);
    unsigned ms;
    if (ri && (base_parse_duration_ms(ri, &ms) < 0 || ms < DAEMON_RETRY_INTERVAL_MIN_MS)) {
        snprintf(err, errlen, "-retry-interval: '%s' is not a duration in 1s..86400s (e.g. 30s, 2m)", ri);
        return -1;
    }
    if (ri)
        o->retry_interval_ms = ms;
    const char *rm = base_args_str(a, "retry-max", NULL);
    unsigned long max = 0;
    if (rm && base_parse_uint(rm, 0, DAEMON_RETRY_MAX_MAX, &max) < 0) {
        snprintf(err, errlen, "-retry-max: '%s' is not a number in 0..%d", rm, DAEMON_RETRY_MAX_MAX);
        return -1;
    }
    o->retry_max = (uint32_t)max;
    o->leave_on_terminate = base_args_bool(a, "leave-on-terminate");
    o->skip_leave_on_interrupt = base_args_bool(a, "skip-leave-on-interrupt");
    const char *ra = base_args_str(a, "rpc-auth", "");
    if (strlen(ra) >= sizeof o->rpc_auth) {
        snprintf(err, errlen, "-rpc-auth: the key must be at most %zu bytes", sizeof o->rpc_auth - 1);
        return -1;
    }
    snprintf(o->rpc_auth, sizeof o->rpc_auth, "%s", ra);
    const char *tf = base_args_str(a, "tags-file", NULL);
    if (tf) {
        if (!tf[0] || strlen(tf) >= sizeof o->tags_file) {
            snprintf(err, errlen, "-tags-file: the path must be 1..%zu bytes", sizeof o->tags_file - 1);
            return -1;
        }
        /* serf: "Tags config not allowed while using tag files" */
        if (base_args_get(a, "tag")->set) {
            snprintf(err, errlen, "-tag cannot be used with -tags-file (the tags come from the file)");
            return -1;
        }
        snprintf(o->tags_file, sizeof o->tags_file, "%s", tf);
    }
    if (serf_layer_flags(o, err, errlen) < 0)
        return -1;
    /* a bad metrics address is a flag error */
    const char *ma = base_args_str(a, "metrics-addr", "");
    if (strlen(ma) >= sizeof o->metrics_addr) {
        snprintf(err, errlen, "-metrics-addr: at most %zu bytes", sizeof o->metrics_addr - 1);
        return -1;
    }
    char why[200];
    if (ma[0] && daemon_metrics_addr_check(ma, why, sizeof why) < 0) {
        snprintf(err, errlen, "-metrics-addr: %s", why);
        return -1;
    }
    snprintf(o->metrics_addr, sizeof o->metrics_addr, "%s", ma);
    const base_flag_value *eh = base_args_get(a, "event-handler");
    o->event_handlers = eh->list;
    o->nevent_handlers = eh->n;
    return daemon_opts_check_handlers("-event-handler", o->event_handlers, o->nevent_handlers, err, errlen);
}

int daemon_opts_parse(daemon_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (base_args_parse(&o->args, agent_flags, NFLAGS, argc, argv, err, errlen) < 0)
        return -1;
    base_args *a = &o->args;
    net_config *nc = &o->net;
    if (a->npos) {
        snprintf(err, errlen, "unexpected argument '%s'", a->pos[0]);
        goto fail;
    }

    snprintf(o->profile, sizeof o->profile, "%s", "lan");
    const char *profile = base_args_str(a, "profile", "lan");
    if (swim_config_profile(&nc->swim, profile) < 0) {
        snprintf(err, errlen, "-profile: '%s' is not lan, wan or local", profile);
        goto fail;
    }
    snprintf(o->profile, sizeof o->profile, "%s", profile);

    const char *node = base_args_str(a, "node", NULL);
    char host[256];
    if (!node) {
        if (gethostname(host, sizeof host) < 0 || !host[0]) {
            snprintf(err, errlen, "cannot read the hostname: pass -node");
            goto fail;
        }
        host[sizeof host - 1] = '\0';
        node = host;
    }
    if (!node[0] || strlen(node) >= sizeof nc->swim.name) {
        snprintf(err, errlen, "-node: the name must be 1..%zu bytes", sizeof nc->swim.name - 1);
        goto fail;
    }
    snprintf(nc->swim.name, sizeof nc->swim.name, "%s", node);

    if (host_port("bind", base_args_str(a, "bind", DAEMON_DEFAULT_BIND), nc->bind_host, sizeof nc->bind_host,
                  &nc->bind_port, NET_DEFAULT_PORT, true, err, errlen) < 0)
        goto fail;
    const char *adv = base_args_str(a, "advertise", NULL);
    if (adv && host_port("advertise", adv, nc->advertise_host, sizeof nc->advertise_host, &nc->advertise_port, 0,
                         true, err, errlen) < 0)
        goto fail;
    if (host_port("rpc-addr", base_args_str(a, "rpc-addr", DAEMON_RPC_DEFAULT_ADDR), o->rpc_host, sizeof o->rpc_host,
                  &o->rpc_port, 7373, true, err, errlen) < 0)
        goto fail;
    if (o->rpc_port == 0) {
        snprintf(err, errlen, "-rpc-addr: a port is required");
        goto fail;
    }

    const base_flag_value *j = base_args_get(a, "join");
    o->join = j->list;
    o->njoin = j->n;
    if (host_list("join", o->join, o->njoin, err, errlen) < 0 || serf_agent_flags(o, err, errlen) < 0)
        goto fail;
    const base_flag_value *ac = base_args_get(a, "allow-cidr");
    if (ac->n > SWIM_MAX_CIDRS) {
        snprintf(err, errlen, "-allow-cidr: at most %d networks", SWIM_MAX_CIDRS);
        goto fail;
    }
    for (size_t i = 0; i < ac->n; i++)
        if (swim_cidr_parse(ac->list[i], &nc->swim.allow_cidrs[i]) < 0) {
            snprintf(err, errlen, "-allow-cidr: '%s' is not a network such as 10.0.0.0/8", ac->list[i]);
            goto fail;
        }
    nc->swim.nallow_cidrs = ac->n;

    /* tags -> serf meta */
    serf_tags tags = { 0 };
    const base_flag_value *tv = base_args_get(a, "tag");
    for (size_t i = 0; i < tv->n; i++) {
        if (serf_tags_parse_kv(&tags, tv->list[i], err, errlen) < 0) {
            serf_tags_free(&tags);
            goto fail;
        }
    }
    wire_buf meta;
    wire_buf_init(&meta, 0);
    int mrc = serf_tags_encode(&tags, &meta, err, errlen);
    serf_tags_free(&tags);
    if (mrc < 0) {
        wire_buf_free(&meta);
        goto fail;
    }
    memcpy(nc->swim.meta, meta.data, meta.len);
    nc->swim.meta_len = meta.len;
    wire_buf_free(&meta);

    /* memberlist protocol range and serf's delegate triple (§9, §16) */
    static const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                                    WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
    memcpy(nc->swim.vsn, vsn, 6);

    wire_frame_config_init(&nc->frame);
    wire_keyring_init(&nc->keyring);
    const char *key = base_args_str(a, "encrypt", NULL);
    if (key) {
        char kerr[160];
        if (wire_keyring_add_base64(&nc->keyring, key, kerr, sizeof kerr) != WIRE_OK) {
            snprintf(err, errlen, "-encrypt: %s", kerr);
            goto fail;
        }
    }
    nc->frame.compress = !base_args_bool(a, "disable-compression");

    const char *cfg = base_args_str(a, "config", NULL);
    if (cfg) {
        struct stat st;
        if (stat(cfg, &st) < 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "-config: '%s' does not exist or is not a file", cfg);
            goto fail;
        }
        if (strlen(cfg) >= sizeof o->config_path) {
            snprintf(err, errlen, "-config: path too long");
            goto fail;
        }
        snprintf(o->config_path, sizeof o->config_path, "%s", cfg);
    }

    const char *lvl = base_args_str(a, "log-level", "info");
    if (base_log_level_parse(lvl, &o->log_level) != 0) {
        snprintf(err, errlen, "-log-level: '%s' is not debug, info, warn or error", lvl);
        goto fail;
    }

    /* the knobs: the profile's, each flag given on top, then the rules
     * across them, every knob named as its flag */
    for (size_t i = 0; i < swim_knob_count(); i++)
        if (knob_flag(a, i, &nc->swim, err, errlen) < 0)
            goto fail;
    if (swim_config_check_knobs(&nc->swim, UINT64_MAX, err, errlen))
        goto fail;
    return 0;
fail:
    daemon_opts_free(o);
    return -1;
}
