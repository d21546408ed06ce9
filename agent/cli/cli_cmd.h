/* cli_cmd: what every control command shares: its flags and usage, the
 * request body it builds, and one call to the agent (cli_rpc.h). */
#ifndef MOONLIST_CLI_CMD_H
#define MOONLIST_CLI_CMD_H

#include <stdio.h>

#include "base/base_flags.h"
#include "cli/cli_rpc.h"
#include "daemon/daemon_rpc.h"
#include "wire/wire_mp.h"

/* every command's last two flags, as serf's commands take them */
#define RPC_FLAGS { "rpc-addr", BASE_FLAG_STRING, "ADDR", "agent RPC address (default " DAEMON_RPC_DEFAULT_ADDR ")" }, \
    { "rpc-auth", BASE_FLAG_STRING, "KEY", "the agent's -rpc-auth key, if it has one" }
#define NFLAGS(flags) (sizeof(flags) / sizeof((flags)[0]))

typedef struct command {
    const char *name;
    const char *args;         /* positional arguments, for usage */
    const char *about;
    const base_flag_spec *flags;
    size_t nflags;
} command;

void cli_usage(const command *c, FILE *f);
/* Bad positional arguments: say why (fmt), print usage on stderr, free *a;
 * returns the exit code, 2. */
int cli_usage_error(const command *c, base_args *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse flags: 0, or PARSE_HELP (usage printed on stdout: exit 0), or 2
 * (bad flags, usage printed on stderr: exit 2). */
#define PARSE_HELP 3
#define PARSE_EXIT(rc) ((rc) == PARSE_HELP ? 0 : 2)
int cli_parse(const command *c, base_args *a, int argc, char **argv);

/* A request's body is one pass: cli_body_begin opens the map, the caller
 * writes its arguments, cli_call() closes and checks it. */
typedef struct request {
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container map;
} request;
void cli_body_begin(request *q);

/* Open a session, send `which` with q's body (NULL: none), check the
 * answer's error. Returns the exit code: 0 with the response body in
 * *resp (valid until cli_rpc_close(rpc), which the caller always calls),
 * 1 (reported), or 2 (a bad -rpc-addr). Frees q's buffer. A serf agent
 * answers moonlist's own commands "Unsupported command" and closes: then
 * `fallback` (serf's nearest, without a body) is asked on a new session,
 * unless it is DAEMON_RPC_CMD_UNKNOWN. */
int cli_call(const command *cmd, const base_args *a, daemon_rpc_cmd which, daemon_rpc_cmd fallback, request *q,
             cli_rpc *rpc, wire_bytes *resp);

#endif
