/* cli_sim: `moonlist sim`, the agent's own core (and, with -config, its
 * script on every node, through lua/mlua_sim.h) on the simulator's virtual
 * clock and network (sim/sim.h).
 *
 * The run has three phases (and, with -settle, a wait between the first
 * two until no node has membership news left to gossip, at most settle_ms,
 * so the fault meets a settled group, as the papers' measurements do):
 *   join     node 0 starts alone; nodes 1..N-1 join in a burst spread over
 *            the first second, each through the first `seeds` nodes (all
 *            of them, as an agent given -join that many times); the phase
 *            ends when every node lists all N alive (convergence) or at
 *            the convergence limit;
 *   fault    K nodes killed, or K paused, or K made slow, or a fraction F
 *            partitioned off, picked by the seed among nodes 1..N-1; it
 *            ends when every healthy node has declared every faulted one
 *            dead (for a partition: each side the other), or after
 *            `duration`, or (pause, slow, partition) at `heal_ms` if
 *            given. A slow node (sim_set_slow: everything reaches it
 *            slow_delay/2 + [0, slow_delay] ms late, as a CPU-starved
 *            process reads its socket) is not dead: that phase never ends
 *            on detection, only at heal_ms or `duration`;
 *   recover  (pause, slow, partition) the paused resume, the slow are
 *            fast again, the partition heals, at the end of the fault
 *            phase; it ends when every node lists all N alive again, or
 *            after `duration`. Without a fault the converged cluster runs
 *            for `duration`, for its load.
 *
 * false_dead counts the nodes that anyone declared dead although the fault
 * did not cut that node off from that observer: during the join, after a
 * kill, and also the stale news a partition leaves (the minority declared
 * majority nodes dead; after the heal the majority hears it and believes
 * it until the node refutes), which is what memberlist does.
 * slow_declared counts how often a slow node was declared dead: once per
 * (node, incarnation), however many nodes declared it (Lifeguard's paper
 * counts these; the slow node is alive all along).
 *
 * Same options, same result: everything but the wall times derives from
 * the seed. Files: cli_sim.c (flags), cli_sim_run.c (the phases),
 * cli_sim_watch.c (what the events say), cli_sim_report.c (the output). */
#ifndef MOONLIST_CLI_SIM_H
#define MOONLIST_CLI_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"
#include "wire/wire_buf.h"

typedef enum cli_sim_fault {
    CLI_SIM_NONE,
    CLI_SIM_KILL,
    CLI_SIM_PAUSE,
    CLI_SIM_PARTITION,
    CLI_SIM_SLOW,
} cli_sim_fault;

typedef struct cli_sim_opts {
    size_t nodes;
    uint64_t seed;
    const char *profile;         /* lan, wan, local */
    double loss;                 /* every link's packet loss, [0, 1) */
    size_t seeds;                /* join seeds: the first `seeds` nodes */
    cli_sim_fault fault;
    size_t faulted;              /* KILL, PAUSE, SLOW: K */
    double partition;            /* PARTITION: the fraction cut off */
    uint32_t settle_ms;          /* after convergence, wait at most this long
                                    for every membership queue to drain; 0: no wait */
    uint32_t duration_ms;        /* longest fault and recover phase; 0: the default */
    uint32_t heal_ms;            /* PAUSE, SLOW, PARTITION: end the fault this
                                    long after it began; 0: once detected
                                    (SLOW: at `duration`) */
    uint32_t slow_delay_ms;      /* SLOW: D, each delivery to a slow node
                                    waits D/2 + uniform[0, D] ms more */
    const char *config;          /* a script for every node, or NULL */
    bool json;
    bool profile_time;           /* time the cores' work (sim_set_timing) */
    /* The process ends after the report: cli_sim_run leaves the
     * simulator's memory to the exit (N² member entries: seconds of free()
     * at 5,000 nodes). Set by cli_sim_main alone, and not under a
     * sanitizer, whose leak check it would blind. */
    bool exiting;
} cli_sim_opts;

/* "not measured" for the *_ms fields below: the phase did not get there */
#define CLI_SIM_NONE_MS UINT64_MAX

typedef struct cli_sim_result {
    size_t faulted;              /* nodes killed, paused, or cut off */
    uint64_t converge_ms;        /* from the start (t = 0) */
    uint64_t converge_limit_ms;
    uint64_t settle_ms;          /* with -settle: virtual time from convergence
                                    until no node had membership news queued,
                                    or the limit; else CLI_SIM_NONE_MS */
    bool settled;                /* with -settle: the queues did drain */
    uint64_t duration_ms;        /* the fault phase's limit, as used */
    /* from the fault */
    uint64_t suspect_first_ms;
    uint64_t detect_first_ms, detect_all_ms;
    uint64_t suspicion_max_ms;   /* the longest a suspicion lasts (§10.4):
                                    detection comes at most this long after
                                    the first suspicion, plus the gossip of
                                    the dead message */
    uint64_t heal_ms;            /* PAUSE, SLOW, PARTITION: when it ended */
    uint64_t recover_ms;         /* from the heal */
    uint64_t false_dead;         /* healthy nodes declared dead by anyone */
    uint64_t slow_declared;      /* SLOW: slow nodes declared dead, episodes */
    /* load: per node (that was up) per virtual second */
    double join_msgs_per_node_s, join_bytes_per_node_s;
    double msgs_per_node_s, bytes_per_node_s;      /* fault and recover phases */
    double busiest_msgs_s;       /* the busiest node over the join phase */
    int busiest_node;
    double bytes_per_member;     /* sim_member_bytes at convergence */
    uint64_t end_ms;             /* virtual time at the end */
    uint64_t steps;
    uint64_t digest;             /* sim_hash: every event of the run */
    /* wall seconds: the build (cores, scripts), each phase */
    double wall_s, wall_build_s, wall_join_s, wall_fault_s;
    bool left_to_exit;           /* the simulator was not freed (opts.exiting) */
    sim_timing timing;           /* with profile_time */
} cli_sim_result;

/* Parse `moonlist sim`'s flags into *o. Returns 0, or the exit code:
 * 2 after printing usage on stderr (a bad flag), 0 after printing it on
 * stdout (-h). Returns -1 only for "go on". */
int cli_sim_parse(cli_sim_opts *o, int argc, char **argv);
/* Run the scenario. Returns 0 with *r filled, or -1 with err (a script
 * that does not load, out of memory). */
int cli_sim_run(const cli_sim_opts *o, cli_sim_result *r, char *err, size_t errlen);
/* The result as text (a table) or one JSON object, per o->json. 0, or -1
 * when out of memory. */
int cli_sim_format(const cli_sim_opts *o, const cli_sim_result *r, wire_buf *out);
/* -profile-time's breakdown, for stderr. */
int cli_sim_format_timing(const cli_sim_result *r, wire_buf *out);

/* The suspicion timeout's upper end for n members (docs/protocol.md
 * §10.4: max = SuspicionMaxTimeoutMult x SuspicionMult x max(1, log10 n)
 * x ProbeInterval), in ms. */
struct swim_config;
uint64_t cli_sim_suspicion_max_ms(const struct swim_config *c, size_t n);

int cli_sim_main(int argc, char **argv);

/* `moonlist sim` only, from main() before anything else: if
 * GLIBC_TUNABLES does not name glibc.malloc.hugetlb, start this program
 * again (/proc/self/exe, main's NULL-ended argv as given) with
 * glibc.malloc.hugetlb=1 added, so that malloc asks for transparent huge
 * pages (cli_sim_pages.c says why). Returns only when it did not restart. */
void cli_sim_exec_with_huge_pages(char **argv);

/* Append to b the line "memory: peak P MB resident, H MB of it in huge
 * pages (glibc.malloc.hugetlb=V)" for this process. 0, or -1. */
int cli_sim_format_pages(wire_buf *b);

#endif
