/* The control commands: each sends one RPC request (cli_rpc.h) to a
 * running agent and prints the answer. Exit codes: 0 ok, 1 the agent
 * reported an error or could not be reached, 2 bad usage. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/daemon_rpc.h"
#include "base/base_flags.h"
#include "cli/cli_members.h"
#include "wire/wire_mp.h"
#include "cli/cli_rpc.h"
#include "net/net.h"

#define RPC_FLAG { "rpc-addr", BASE_FLAG_STRING, "ADDR", "agent RPC address (default " DAEMON_RPC_DEFAULT_ADDR ")" }

typedef struct command {
    const char *name;
    const char *args;         /* positional arguments, for usage */
    const char *about;
    const base_flag_spec *flags;
    size_t nflags;
} command;

static void usage(const command *c, FILE *f)
{
    fprintf(f, "usage: moonlist %s [flags]%s%s\n\n%s\n\nflags:\n", c->name, c->args ? " " : "", c->args ? c->args : "",
            c->about);
    base_flags_usage(c->flags, c->nflags, f);
}

/* Bad positional arguments: say why (fmt), print usage on stderr, free *a;
 * returns the exit code, 2. */
static int usage_error(const command *c, base_args *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int usage_error(const command *c, base_args *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "moonlist %s: ", c->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    usage(c, stderr);
    base_args_free(a);
    return 2;
}

/* Parse flags: 0, or PARSE_HELP (usage printed on stdout: exit 0), or 2
 * (bad flags, usage printed on stderr: exit 2). */
#define PARSE_HELP 3
#define PARSE_EXIT(rc) ((rc) == PARSE_HELP ? 0 : 2)
static int parse(const command *c, base_args *a, int argc, char **argv)
{
    char err[256];
    if (base_wants_help(argc, argv)) {
        usage(c, stdout);
        return PARSE_HELP;
    }
    if (base_args_parse(a, c->flags, c->nflags, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist %s: %s\n\n", c->name, err);
        usage(c, stderr);
        return 2;
    }
    return 0;
}

/* Send the request, check for "Error". On success *resp holds the body and
 * *r is positioned at the start of the response map's first key. */
static int call(const command *cmd, const base_args *a, wire_buf *req, wire_buf *resp, wire_mp_reader *r,
                uint32_t *nkeys)
{
    char host[256], err[512];
    uint16_t port;
    const char *addr = base_args_str(a, "rpc-addr", DAEMON_RPC_DEFAULT_ADDR);
    if (net_split_host_port(addr, host, sizeof host, &port, 7373) < 0) {
        fprintf(stderr, "moonlist %s: -rpc-addr: '%s' is not host:port\n", cmd->name, addr);
        return 2;
    }
    wire_buf_init(resp, DAEMON_RPC_MAX_FRAME);
    if (cli_rpc_call(host, port, req->data, req->len, resp, CLI_RPC_CLIENT_TIMEOUT_MS, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist %s: %s\n", cmd->name, err);
        return 1;
    }
    wire_mp_reader_init(r, resp->data, resp->len);
    if (wire_mp_read_map(r, nkeys)) {
        fprintf(stderr, "moonlist %s: malformed answer from the agent\n", cmd->name);
        return 1;
    }
    /* look for Error first */
    wire_mp_reader scan = *r;
    for (uint32_t i = 0; i < *nkeys; i++) {
        wire_bytes k, v;
        if (wire_mp_read_str(&scan, &k))
            break;
        if (wire_mp_eq(k, "Error") && wire_mp_read_str(&scan, &v) == 0) {
            fprintf(stderr, "moonlist %s: %.*s\n", cmd->name, (int)v.n, (const char *)v.p);
            return 1;
        }
        if (wire_mp_skip(&scan))
            break;
    }
    return 0;
}

/* A request is one pass: request_begin writes {"Command": name, and the
 * caller its arguments; request_end closes the map and checks the pass
 * (0, or 1 with a message: the exit code). */
typedef struct request {
    wire_mp_writer w;
    wire_mp_container map;
} request;

static void request_begin(request *q, wire_buf *req, const char *name)
{
    wire_buf_init(req, 0);
    wire_mp_writer_init(&q->w, req);
    wire_mp_map_begin(&q->w, &q->map);
    wire_mp_pack_cstr(&q->w, "Command");
    wire_mp_pack_cstr(&q->w, name);
}

static int request_end(request *q, const command *cmd)
{
    wire_mp_map_end(&q->w, &q->map);
    int rc = wire_mp_finish(&q->w);
    if (rc)
        fprintf(stderr, "moonlist %s: cannot build the request: %s\n", cmd->name, wire_strerror(rc));
    return rc ? 1 : 0;
}

int cli_members_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
        { "status", BASE_FLAG_STRING, "REGEX", "only members whose status matches" },
        RPC_FLAG,
    };
    static const command cmd = { "members", NULL, "List the members the agent knows.", flags, 3 };
    base_args a;
    int prc = parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    int code = 2;
    wire_buf req, resp = { 0 };
    regex_t re;
    bool have_re = false;
    const char *format = base_args_str(&a, "format", "text");
    const char *status = base_args_str(&a, "status", NULL);
    wire_buf_init(&req, 0);
    if (a.npos || (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)) {
        fprintf(stderr, "moonlist members: %s\n\n", a.npos ? "unexpected argument" : "-format must be text or json");
        usage(&cmd, stderr);
        goto out;
    }
    if (status) {
        if (regcomp(&re, status, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "moonlist members: -status: bad regular expression '%s'\n", status);
            goto out;
        }
        have_re = true;
    }
    request q;
    request_begin(&q, &req, "members");
    wire_mp_reader r;
    uint32_t nk;
    code = request_end(&q, &cmd);
    if (code == 0)
        code = call(&cmd, &a, &req, &resp, &r, &nk);
    if (code)
        goto out;
    code = 1;
    daemon_rpc_member *rows = NULL;
    size_t n = 0;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        if (wire_mp_read_str(&r, &k))
            break;
        if (wire_mp_eq(k, "Members")) {
            if (cli_members_decode(&r, &rows, &n) < 0)
                break;
        } else if (wire_mp_skip(&r)) {
            break;
        }
    }
    if (!rows) {
        fprintf(stderr, "moonlist members: malformed answer from the agent\n");
        goto out;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        char st[16];
        snprintf(st, sizeof st, "%.*s", (int)(rows[i].status_len < 15 ? rows[i].status_len : 15),
                 (const char *)rows[i].status);
        if (!have_re || regexec(&re, st, 0, NULL, 0) == 0)
            rows[kept++] = rows[i];
    }
    wire_buf out;
    wire_buf_init(&out, 0);
    int rc = strcmp(format, "json") == 0 ? cli_members_json(&out, rows, kept) : cli_members_text(&out, rows, kept);
    if (rc == 0 && fwrite(out.data ? (const void *)out.data : "", 1, out.len, stdout) == out.len)
        code = 0;
    wire_buf_free(&out);
    free(rows);
out:
    if (have_re)
        regfree(&re);
    wire_buf_free(&req);
    wire_buf_free(&resp);
    base_args_free(&a);
    return code;
}

int cli_join_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = { RPC_FLAG };
    static const command cmd = { "join", "ADDR...", "Tell the agent to join a cluster through the given agents.", flags,
                                 1 };
    base_args a;
    int prc = parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos == 0)
        return usage_error(&cmd, &a, "at least one address is required");
    wire_buf req, resp = { 0 };
    request q;
    wire_mp_container addrs;
    request_begin(&q, &req, cmd.name);
    wire_mp_pack_cstr(&q.w, "Addrs");
    wire_mp_array_begin(&q.w, &addrs);
    for (size_t i = 0; i < a.npos; i++)
        wire_mp_pack_cstr(&q.w, a.pos[i]);
    wire_mp_array_end(&q.w, &addrs);
    wire_mp_reader r;
    uint32_t nk;
    int code = request_end(&q, &cmd);
    if (code == 0)
        code = call(&cmd, &a, &req, &resp, &r, &nk);
    if (code == 0) {
        uint64_t joined = 0;
        for (uint32_t i = 0; i < nk; i++) {
            wire_bytes k, v;
            if (wire_mp_read_str(&r, &k))
                break;
            if (wire_mp_eq(k, "Joined")) {
                if (wire_mp_read_uint(&r, UINT64_MAX, &joined))
                    break;
            } else if (wire_mp_eq(k, "Warning") && wire_mp_read_str(&r, &v) == 0) {
                fprintf(stderr, "moonlist join: warning: %.*s\n", (int)v.n, (const char *)v.p);
            } else if (wire_mp_skip(&r)) {
                break;
            }
        }
        printf("Successfully joined cluster by contacting %llu nodes.\n", (unsigned long long)joined);
    }
    wire_buf_free(&req);
    wire_buf_free(&resp);
    base_args_free(&a);
    return code;
}

static int no_arg_command(const command *cmd, int argc, char **argv, const char *ok_text)
{
    base_args a;
    int prc = parse(cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos)
        return usage_error(cmd, &a, "unexpected argument '%s'", a.pos[0]);
    wire_buf req, resp = { 0 };
    request q;
    request_begin(&q, &req, cmd->name);
    wire_mp_reader r;
    uint32_t nk;
    int code = request_end(&q, cmd);
    if (code == 0)
        code = call(cmd, &a, &req, &resp, &r, &nk);
    if (code == 0 && ok_text)
        printf("%s\n", ok_text);
    wire_buf_free(&req);
    wire_buf_free(&resp);
    base_args_free(&a);
    return code;
}

int cli_leave_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = { RPC_FLAG };
    static const command cmd = { "leave", NULL, "Make the agent leave the cluster gracefully and exit.", flags, 1 };
    return no_arg_command(&cmd, argc, argv, "Graceful leave complete");
}

int cli_force_leave_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = { RPC_FLAG };
    static const command cmd = { "force-leave", "NAME", "Mark a failed member as left.", flags, 1 };
    base_args a;
    int prc = parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos != 1)
        return usage_error(&cmd, &a, "exactly one node name is required");
    wire_buf req, resp = { 0 };
    request q;
    request_begin(&q, &req, cmd.name);
    wire_mp_pack_cstr(&q.w, "Node");
    wire_mp_pack_cstr(&q.w, a.pos[0]);
    wire_mp_reader r;
    uint32_t nk;
    int code = request_end(&q, &cmd);
    if (code == 0)
        code = call(&cmd, &a, &req, &resp, &r, &nk);
    wire_buf_free(&req);
    wire_buf_free(&resp);
    base_args_free(&a);
    return code;
}

/* Print a value from the info map: strings as they are, integers. */
static int print_value(wire_mp_reader *r)
{
    wire_bytes s;
    uint64_t v;
    if (wire_mp_peek_kind(r) == WIRE_MP_STR) {
        if (wire_mp_read_str(r, &s))
            return -1;
        for (size_t i = 0; i < s.n; i++)
            putchar(s.p[i] < 0x20 || s.p[i] == 0x7f ? '?' : s.p[i]);
        putchar('\n');
        return 0;
    }
    if (wire_mp_read_uint(r, UINT64_MAX, &v) == 0) {
        printf("%llu\n", (unsigned long long)v);
        return 0;
    }
    if (wire_mp_skip(r))
        return -1;
    printf("?\n");
    return 0;
}

int cli_info_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = { RPC_FLAG };
    static const command cmd = { "info", NULL, "Show the agent's state, configuration and counters.", flags, 1 };
    base_args a;
    int prc = parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    wire_buf req, resp = { 0 };
    request q;
    request_begin(&q, &req, "info");
    wire_mp_reader r;
    uint32_t nk;
    int code = a.npos ? 2 : request_end(&q, &cmd);
    if (code == 0)
        code = call(&cmd, &a, &req, &resp, &r, &nk);
    bool called_ok = code == 0;
    if (a.npos)
        fprintf(stderr, "moonlist info: unexpected argument '%s'\n", a.pos[0]);
    for (uint32_t i = 0; code == 0 && i < nk; i++) {
        wire_bytes k;
        uint32_t ns;
        if (wire_mp_read_str(&r, &k)) {
            code = 1;
            break;
        }
        if (!wire_mp_eq(k, "Info")) {
            if (wire_mp_skip(&r))
                code = 1;
            continue;
        }
        if (wire_mp_read_map(&r, &ns)) {
            code = 1;
            break;
        }
        for (uint32_t s = 0; code == 0 && s < ns; s++) {
            wire_bytes sec;
            uint32_t nkv;
            if (wire_mp_read_str(&r, &sec) || wire_mp_read_map(&r, &nkv)) {
                code = 1;
                break;
            }
            printf("%.*s:\n", (int)sec.n, (const char *)sec.p);
            for (uint32_t j = 0; j < nkv; j++) {
                wire_bytes kk;
                if (wire_mp_read_str(&r, &kk)) {
                    code = 1;
                    break;
                }
                printf("\t%.*s = ", (int)kk.n, (const char *)kk.p);
                if (print_value(&r) < 0) {
                    code = 1;
                    break;
                }
            }
        }
    }
    if (called_ok && code != 0)
        fprintf(stderr, "moonlist info: malformed answer from the agent\n");
    wire_buf_free(&req);
    wire_buf_free(&resp);
    base_args_free(&a);
    return code;
}
