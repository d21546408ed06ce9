/* cli: the control commands, each a client of a running agent's RPC
 * (daemon/daemon_rpc.h). argv[0] is the first argument after the command
 * name; each returns the process's exit code: 0 done, 1 the agent answered
 * with an error or could not be reached, 2 bad usage. */
#ifndef MOONLIST_CLI_H
#define MOONLIST_CLI_H

int cli_members_main(int argc, char **argv);
int cli_join_main(int argc, char **argv);
int cli_leave_main(int argc, char **argv);
int cli_force_leave_main(int argc, char **argv);
int cli_info_main(int argc, char **argv);
/* serf's layer: cli_serf.c */
int cli_event_main(int argc, char **argv);
int cli_query_main(int argc, char **argv);
int cli_keys_main(int argc, char **argv);
int cli_tags_main(int argc, char **argv);

#endif
