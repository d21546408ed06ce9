/* The control commands: each opens a session with a running agent
 * (cli_rpc.h: serf's IPC, handshake and auth first), sends one request
 * and prints the answer. Exit codes: 0 ok, 1 the agent reported an error
 * or could not be reached, 2 bad usage. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_cmd.h"
#include "cli/cli_info_json.h"
#include "daemon/daemon_rpc.h"
#include "base/base_flags.h"
#include "cli/cli_members.h"
#include "wire/wire_mp.h"
#include "cli/cli_rpc.h"
#include "net/net.h"

int cli_members_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
        { "status", BASE_FLAG_STRING, "REGEX", "only members whose status matches, serf's word (alive, leaving, left, failed) or moonlist's (suspect, dead)" },
        RPC_FLAGS,
    };
    static const command cmd = { "members", NULL, "List the members the agent knows.", flags, NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    int code = 2;
    cli_rpc rpc = { .fd = -1 };
    regex_t re;
    bool have_re = false;
    const char *format = base_args_str(&a, "format", "text");
    const char *status = base_args_str(&a, "status", NULL);
    if (a.npos || (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)) {
        fprintf(stderr, "moonlist members: %s\n\n", a.npos ? "unexpected argument" : "-format must be text or json");
        cli_usage(&cmd, stderr);
        goto out;
    }
    if (status) {
        /* anchored, as serf's agent compiles it ("^" expr "$") */
        char anchored[512];
        snprintf(anchored, sizeof anchored, "^(%s)$", status);
        if (strlen(status) > sizeof anchored - 8 || regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "moonlist members: -status: bad regular expression '%s'\n", status);
            goto out;
        }
        have_re = true;
    }
    wire_bytes body;
    code = cli_call(&cmd, &a, DAEMON_RPC_CMD_MOONLIST_MEMBERS, DAEMON_RPC_CMD_MEMBERS, NULL, &rpc, &body);
    if (code)
        goto out;
    code = 1;
    cli_member *rows = NULL;
    size_t n = 0;
    wire_mp_reader r;
    uint32_t nk = 0;
    wire_mp_reader_init(&r, body.p, body.n);
    if (wire_mp_read_map(&r, &nk))
        nk = 0;
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
        /* serf's word or moonlist's */
        char st[16], ss[16];
        snprintf(st, sizeof st, "%.*s", (int)(rows[i].status.n < 15 ? rows[i].status.n : 15),
                 (const char *)rows[i].status.p);
        snprintf(ss, sizeof ss, "%.*s", (int)(rows[i].serf_status.n < 15 ? rows[i].serf_status.n : 15),
                 (const char *)rows[i].serf_status.p);
        if (!have_re || regexec(&re, st, 0, NULL, 0) == 0 || regexec(&re, ss, 0, NULL, 0) == 0)
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
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

int cli_join_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "replay", BASE_FLAG_BOOL, NULL, "replay the cluster's old user events (serf's -replay)" },
        RPC_FLAGS,
    };
    static const command cmd = { "join", "ADDR...", "Tell the agent to join a cluster through the given agents.", flags,
                                 NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos == 0)
        return cli_usage_error(&cmd, &a, "at least one address is required");
    request q;
    wire_mp_container addrs;
    cli_rpc rpc;
    wire_bytes body;
    cli_body_begin(&q);
    wire_mp_pack_cstr(&q.w, "Existing");
    wire_mp_array_begin(&q.w, &addrs);
    for (size_t i = 0; i < a.npos; i++)
        wire_mp_pack_cstr(&q.w, a.pos[i]);
    wire_mp_array_end(&q.w, &addrs);
    wire_mp_pack_cstr(&q.w, "Replay");
    wire_mp_pack_bool(&q.w, base_args_bool(&a, "replay"));
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_JOIN, DAEMON_RPC_CMD_UNKNOWN, &q, &rpc, &body);
    if (code == 0) {
        uint64_t joined = 0;
        wire_mp_reader r;
        uint32_t nk = 0;
        wire_mp_reader_init(&r, body.p, body.n);
        if (wire_mp_read_map(&r, &nk))
            nk = 0;
        for (uint32_t i = 0; i < nk; i++) {
            wire_bytes k;
            if (wire_mp_read_str(&r, &k))
                break;
            if (wire_mp_eq(k, "Num")) {
                if (wire_mp_read_uint(&r, UINT64_MAX, &joined))
                    break;
            } else if (wire_mp_skip(&r)) {
                break;
            }
        }
        printf("Successfully joined cluster by contacting %llu nodes.\n", (unsigned long long)joined);
    }
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

int cli_leave_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = { RPC_FLAGS };
    static const command cmd = { "leave", NULL, "Make the agent leave the cluster gracefully and exit.", flags,
                                 NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos)
        return cli_usage_error(&cmd, &a, "unexpected argument '%s'", a.pos[0]);
    cli_rpc rpc;
    wire_bytes body;
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_LEAVE, DAEMON_RPC_CMD_UNKNOWN, NULL, &rpc, &body);
    if (code == 0)
        printf("Graceful leave complete\n");
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

int cli_force_leave_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "prune", BASE_FLAG_BOOL, NULL, "erase the member from every member list at once (serf's -prune)" },
        RPC_FLAGS,
    };
    static const command cmd = { "force-leave", "NAME", "Mark a failed member as left.", flags, NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos != 1)
        return cli_usage_error(&cmd, &a, "exactly one node name is required");
    request q;
    cli_rpc rpc;
    wire_bytes body;
    cli_body_begin(&q);
    wire_mp_pack_cstr(&q.w, "Node");
    wire_mp_pack_cstr(&q.w, a.pos[0]);
    wire_mp_pack_cstr(&q.w, "Prune");
    wire_mp_pack_bool(&q.w, base_args_bool(&a, "prune"));
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_FORCE_LEAVE, DAEMON_RPC_CMD_UNKNOWN, &q, &rpc, &body);
    cli_rpc_close(&rpc);
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

/* `moonlist info` asks for "moonlist-info" (serf's `stats`, which `serf
 * info` shows, has a fraction of it, as strings: what a serf agent gives). */
int cli_info_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        RPC_FLAGS,
        { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
    };
    static const command cmd = { "info", NULL, "Show the agent's state, configuration and counters.", flags,
                                 NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos)
        return cli_usage_error(&cmd, &a, "unexpected argument '%s'", a.pos[0]);
    const char *format = base_args_str(&a, "format", "text");
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(&cmd, &a, "-format must be text or json");
    cli_rpc rpc;
    wire_bytes body;
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_MOONLIST_INFO, DAEMON_RPC_CMD_STATS, NULL, &rpc, &body);
    bool called_ok = code == 0;
    wire_mp_reader r;
    uint32_t ns = 0;
    wire_mp_reader_init(&r, body.p, body.n);
    if (code == 0 && strcmp(format, "json") == 0) {
        wire_buf out;
        wire_buf_init(&out, 0);
        if (cli_info_json(&out, body) != 0 || fwrite(out.data, 1, out.len, stdout) != out.len)
            code = 1;
        wire_buf_free(&out);
        ns = 0;   /* no text */
    } else if (code == 0 && wire_mp_read_map(&r, &ns))
        code = 1;
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
    if (called_ok && code != 0)
        fprintf(stderr, "moonlist info: malformed answer from the agent\n");
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}
