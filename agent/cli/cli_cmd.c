/* cli_cmd: what every control command shares (see cli_cmd.h). */
#include "cli/cli_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

void cli_usage(const command *c, FILE *f)
{
    fprintf(f, "usage: moonlist %s [flags]%s%s\n\n%s\n\nflags:\n", c->name, c->args ? " " : "", c->args ? c->args : "",
            c->about);
    base_flags_usage(c->flags, c->nflags, f);
}

/* Bad positional arguments: say why (fmt), print usage on stderr, free *a;
 * returns the exit code, 2. */
int cli_usage_error(const command *c, base_args *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "moonlist %s: ", c->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    cli_usage(c, stderr);
    base_args_free(a);
    return 2;
}

/* Parse flags: 0, or PARSE_HELP (usage printed on stdout: exit 0), or 2
 * (bad flags, usage printed on stderr: exit 2). */
int cli_parse(const command *c, base_args *a, int argc, char **argv)
{
    char err[256];
    if (base_wants_help(argc, argv)) {
        cli_usage(c, stdout);
        return PARSE_HELP;
    }
    if (base_args_parse(a, c->flags, c->nflags, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist %s: %s\n\n", c->name, err);
        cli_usage(c, stderr);
        return 2;
    }
    return 0;
}

/* A request's body is one pass: body_begin opens the map, the caller
 * writes its arguments, call() closes and checks it. */
void cli_body_begin(request *q)
{
    wire_buf_init(&q->b, 0);
    wire_mp_writer_init(&q->w, &q->b);
    wire_mp_map_begin(&q->w, &q->map);
}

/* Open a session, send `which` with q's body (NULL: none), check the
 * answer's error. Returns the exit code: 0 with the response body in
 * *resp (valid until cli_rpc_close(rpc), which the caller always calls),
 * 1 (reported), or 2 (a bad -rpc-addr). Frees q's buffer. A serf agent
 * answers moonlist's own commands "Unsupported command" and closes: then
 * `fallback` (serf's nearest, without a body) is asked on a new session,
 * unless it is DAEMON_RPC_CMD_UNKNOWN. */
int cli_call(const command *cmd, const base_args *a, daemon_rpc_cmd which, daemon_rpc_cmd fallback, request *q,
                cli_rpc *rpc, wire_bytes *resp)
{
    char host[256], err[600];
    uint16_t port;
    int code = 0;
    memset(rpc, 0, sizeof *rpc);
    rpc->fd = -1;
    if (q) {
        wire_mp_map_end(&q->w, &q->map);
        int rc = wire_mp_finish(&q->w);
        if (rc) {
            fprintf(stderr, "moonlist %s: cannot build the request: %s\n", cmd->name, wire_strerror(rc));
            code = 1;
        }
    }
    const char *addr = base_args_str(a, "rpc-addr", DAEMON_RPC_DEFAULT_ADDR);
    if (code == 0 && net_split_host_port(addr, host, sizeof host, &port, 7373) < 0) {
        fprintf(stderr, "moonlist %s: -rpc-addr: '%s' is not host:port\n", cmd->name, addr);
        code = 2;
    }
    if (code == 0 && cli_rpc_open(rpc, host, port, base_args_str(a, "rpc-auth", NULL), CLI_RPC_CLIENT_TIMEOUT_MS, err,
                                  sizeof err) < 0) {
        fprintf(stderr, "moonlist %s: %s\n", cmd->name, err);
        code = 1;
    }
    int rc = code ? 0 : cli_rpc_call(rpc, which, q ? q->b.data : NULL, q ? q->b.len : 0, resp, err, sizeof err);
    if (rc == 1 && fallback != DAEMON_RPC_CMD_UNKNOWN && strcmp(err, DAEMON_RPC_E_UNSUPPORTED) == 0) {
        cli_rpc_close(rpc);
        rc = cli_rpc_open(rpc, host, port, base_args_str(a, "rpc-auth", NULL), CLI_RPC_CLIENT_TIMEOUT_MS, err,
                          sizeof err);
        if (rc == 0)
            rc = cli_rpc_call(rpc, fallback, NULL, 0, resp, err, sizeof err);
    }
    if (rc != 0) {
        fprintf(stderr, "moonlist %s: %s\n", cmd->name, err);
        code = 1;
    }
    if (q)
        wire_buf_free(&q->b);
    return code;
}

