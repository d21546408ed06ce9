/* daemon: `moonlist agent`, the long-running process: flags and script
 * (daemon_opts, daemon_script), the protocol loop (net + core), the RPC
 * server (daemon_rpc*), membership logging, signals and the graceful
 * leave. */
#ifndef MOONLIST_DAEMON_H
#define MOONLIST_DAEMON_H

/* argv[0] is the first flag after "agent". Returns the exit code: 0 after a
 * graceful leave, 1 on a runtime error, 2 for bad flags. */
int daemon_main(int argc, char **argv);

#endif
