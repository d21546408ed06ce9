/* moonlist: the agent and its control commands. */
#include <stdio.h>
#include <string.h>

#include "moonlist_version.h"
#include "wire/wire.h"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: moonlist <command> [flags]\n"
        "\n"
        "commands:\n"
        "  --version   print the version and the protocol range spoken\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("moonlist %s (memberlist protocol %d-%d, speaks %d; delegate %d-%d, speaks %d)\n",
               MOONLIST_VERSION, WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
               WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
