/* daemon_opts: `moonlist agent` flags -> the agent's configuration.
 *
 * Flags follow serf's agent where they overlap (-node, -bind, -advertise,
 * -join, -rpc-addr, -profile, -encrypt, -tag, -config, -log-level), plus
 * memberlist's timing knobs by name. Parsing is pure (no sockets), so the
 * tests drive it directly. */
#ifndef MOONLIST_DAEMON_OPTS_H
#define MOONLIST_DAEMON_OPTS_H

#include <stdio.h>

#include "base/base_flags.h"
#include "base/base_log.h"
#include "daemon/daemon_rpc.h"
#include "net/net.h"

/* memberlist's default bind: every IPv4 interface, port 7946 */
#define DAEMON_DEFAULT_BIND "0.0.0.0"
/* serf's -retry-interval: its default and its lower bound */
#define DAEMON_RETRY_INTERVAL_MS 30000
#define DAEMON_RETRY_INTERVAL_MIN_MS 1000
#define DAEMON_RETRY_MAX_MAX 1000000

typedef struct daemon_opts {
    net_config net;              /* bind, advertise, swim config (meta, timings), keyring, frame */
    char profile[8];
    char rpc_host[256];
    uint16_t rpc_port;
    const char **join;           /* views into argv, owned array */
    size_t njoin;
    char config_path[1024];      /* "" if none */
    base_log_level log_level;
    /* serf's agent: joins retried until one succeeds, what SIGTERM and
     * SIGINT do, tags kept in a file, event handler scripts */
    const char **retry_join;     /* views into argv (or the script's host) */
    size_t nretry_join;
    uint32_t retry_interval_ms;  /* DAEMON_RETRY_INTERVAL_MS by default */
    uint32_t retry_max;          /* retries after the first attempt; 0: forever */
    bool leave_on_terminate;     /* SIGTERM leaves (else it just stops) */
    bool skip_leave_on_interrupt;/* SIGINT just stops (else it leaves) */
    char tags_file[1024];        /* "" if none */
    char rpc_auth[256];          /* "" if none: control clients need no key */
    const char **event_handlers; /* "[filter=]script", views as join */
    size_t nevent_handlers;
    /* serf's layer (serf_node.h): the keyring file, replay on join, how
     * long failed and left members are kept and retried, the size limits;
     * 0 is serf's default */
    char keyring_file[1024];     /* "" if none */
    bool replay;                 /* -replay: joins replay old user events */
    uint64_t reconnect_interval_ms, reconnect_timeout_ms, tombstone_timeout_ms;
    size_t user_event_size_limit, query_size_limit, query_response_size_limit;
    bool disable_name_resolution;
    char metrics_addr[300];      /* -metrics-addr, "" = off (daemon_metrics.h) */
    /* serf's snapshot (daemon_snapshot.h) */
    char snapshot[1024];         /* -snapshot, "" if none */
    bool rejoin;                 /* -rejoin: rejoin even after a graceful leave */
    base_args args;               /* keeps the join list alive */
} daemon_opts;

/* Parse `moonlist agent` flags (argv[0] is the first flag). Returns 0, or
 * -1 with a message in err (the caller prints usage and exits 2). On
 * success release with daemon_opts_free(). */
int daemon_opts_parse(daemon_opts *o, int argc, char **argv, char *err, size_t errlen);
void daemon_opts_free(daemon_opts *o);
void daemon_usage(FILE *f);
/* Each "[filter=]script" parses (daemon_handlers.h); else -1 with a
 * message starting with `what` ("-event-handler") in err. */
int daemon_opts_check_handlers(const char *what, const char *const *specs, size_t n, char *err, size_t errlen);

#endif
