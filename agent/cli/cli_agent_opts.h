/* cli_agent_opts: `moonlist agent` flags -> the agent's configuration.
 *
 * Flags follow serf's agent where they overlap (-node, -bind, -advertise,
 * -join, -rpc-addr, -profile, -encrypt, -tag, -config, -log-level), plus
 * memberlist's timing knobs by name. Parsing is pure (no sockets), so the
 * tests drive it directly. */
#ifndef MOONLIST_CLI_AGENT_OPTS_H
#define MOONLIST_CLI_AGENT_OPTS_H

#include <stdio.h>

#include "cli/cli_flags.h"
#include "net/net.h"

/* serf's default RPC address: loopback only, the control port is not
 * authenticated */
#define CLI_DEFAULT_RPC_ADDR "127.0.0.1:7373"
/* memberlist's default bind: every IPv4 interface, port 7946 */
#define CLI_DEFAULT_BIND "0.0.0.0"

typedef enum cli_log_level { CLI_LOG_DEBUG = 0, CLI_LOG_INFO = 1, CLI_LOG_WARN = 2, CLI_LOG_ERROR = 3 } cli_log_level;

typedef struct cli_agent_opts {
    net_config net;              /* bind, advertise, swim config (meta, timings), keyring, frame */
    char profile[8];
    char rpc_host[256];
    uint16_t rpc_port;
    const char **join;           /* views into argv, owned array */
    size_t njoin;
    char config_path[1024];      /* "" if none */
    cli_log_level log_level;
    cli_args args;               /* keeps the join list alive */
} cli_agent_opts;

/* Parse `moonlist agent` flags (argv[0] is the first flag). Returns 0, or
 * -1 with a message in err (the caller prints usage and exits 2). On
 * success release with cli_agent_opts_free(). */
int cli_agent_opts_parse(cli_agent_opts *o, int argc, char **argv, char *err, size_t errlen);
void cli_agent_opts_free(cli_agent_opts *o);
void cli_agent_usage(FILE *f);

const char *cli_log_level_name(cli_log_level l);

#endif
