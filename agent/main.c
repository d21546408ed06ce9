/* moonlist: the agent and its control commands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_sim.h"
#include "daemon/daemon.h"
#include "moonlist_version.h"
#include "wire/wire.h"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: moonlist <command> [flags]\n"
        "\n"
        "commands:\n"
        "  agent        run an agent (moonlist agent -h for its flags)\n"
        "  members      list the members a running agent knows\n"
        "  join         make a running agent join through other agents\n"
        "  leave        make a running agent leave gracefully and exit\n"
        "  force-leave  mark a failed member as left\n"
        "  event        send a custom event (serf's user event) through the cluster\n"
        "  query        send a query to the cluster and print the answers\n"
        "  keys         install, use, remove or list the cluster's gossip keys\n"
        "  tags         set or delete a running agent's tags\n"
        "  info         show a running agent's state and counters\n"
        "  sim          run N of this agent's cores on virtual time: convergence, failure detection, load\n"
        "  version      print the version and the protocol range spoken\n"
        "\n"
        "Control commands reach the agent at -rpc-addr (default 127.0.0.1:7373).\n");
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    { "agent", daemon_main },
    { "members", cli_members_main },
    { "join", cli_join_main },
    { "leave", cli_leave_main },
    { "force-leave", cli_force_leave_main },
    { "info", cli_info_main },
    { "event", cli_event_main },
    { "query", cli_query_main },
    { "keys", cli_keys_main },
    { "tags", cli_tags_main },
    { "sim", cli_sim_main },
};

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0 ||
                      strcmp(argv[1], "-version") == 0)) {
        printf("moonlist %s (memberlist protocol %d-%d, speaks %d; delegate %d-%d, speaks %d)\n",
               MOONLIST_VERSION, WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
               WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (strcmp(argv[1], commands[i].name) != 0)
                continue;
            if (commands[i].fn == cli_sim_main)
                cli_sim_exec_with_huge_pages(argv);
            return commands[i].fn(argc - 2, argv + 2);
        }
        fprintf(stderr, "moonlist: unknown command '%s'\n\n", argv[1]);
    }
    usage(stderr);
    return 2;
}
