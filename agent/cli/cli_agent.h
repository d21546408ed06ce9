/* cli_agent: `moonlist agent`, the long-running process: flags, the
 * protocol loop (net + core), the RPC server, membership logging, signals
 * and the graceful leave. */
#ifndef MOONLIST_CLI_AGENT_H
#define MOONLIST_CLI_AGENT_H

/* argv[0] is the first flag after "agent". Returns the exit code: 0 after a
 * graceful leave, 1 on a runtime error, 2 for bad flags. */
int cli_agent_main(int argc, char **argv);

/* The control commands (cli_control.c), same convention. */
int cli_members_main(int argc, char **argv);
int cli_join_main(int argc, char **argv);
int cli_leave_main(int argc, char **argv);
int cli_force_leave_main(int argc, char **argv);
int cli_info_main(int argc, char **argv);

#endif
