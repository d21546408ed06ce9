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

typedef struct daemon_opts {
    net_config net;              /* bind, advertise, swim config (meta, timings), keyring, frame */
    char profile[8];
    char rpc_host[256];
    uint16_t rpc_port;
    const char **join;           /* views into argv, owned array */
    size_t njoin;
    char config_path[1024];      /* "" if none */
    base_log_level log_level;
    base_args args;               /* keeps the join list alive */
} daemon_opts;

/* Parse `moonlist agent` flags (argv[0] is the first flag). Returns 0, or
 * -1 with a message in err (the caller prints usage and exits 2). On
 * success release with daemon_opts_free(). */
int daemon_opts_parse(daemon_opts *o, int argc, char **argv, char *err, size_t errlen);
void daemon_opts_free(daemon_opts *o);
void daemon_usage(FILE *f);

#endif
