/* cli_sim_watch: what `moonlist sim` learns from the events of every node
 * (sim_watch_events): how many members each node lists alive, when all of
 * them list everyone, and who declared whom dead, expected or not. */
#ifndef MOONLIST_CLI_SIM_WATCH_H
#define MOONLIST_CLI_SIM_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

typedef struct cli_sim_watch {
    size_t n;
    uint32_t *alive;             /* per node: members it lists alive or suspect, itself included */
    size_t full;                 /* nodes that list all n */
    swim_time full_at;           /* when `full` last reached n; SWIM_NEVER before */
    /* the fault, once cli_sim_watch_fault was called */
    bool partition;              /* both sides expect the other dead */
    int32_t *fidx;               /* per node: its index among the faulted, or -1 */
    size_t nfaulted;
    uint8_t *declared;           /* bits: [dir][faulted][node], dir 1 = the faulted one observes */
    uint64_t expected, ndeclared;
    swim_time first_dead, all_dead;   /* SWIM_NEVER until then */
    uint8_t *falsely;            /* per node: declared dead while it should not be */
    uint64_t false_dead;         /* how many nodes have been */
    /* with cli_sim_watch_episodes: each (faulted node, incarnation) it was
     * declared dead at, by anyone, once however many declared it */
    bool episodes_on;
    struct cli_sim_episode { int32_t subject; uint32_t incarnation; } *episodes;
    size_t nepisodes, capepisodes;
} cli_sim_watch;

/* 0, or -1 when out of memory. cli_sim_watch_free releases it. */
int cli_sim_watch_init(cli_sim_watch *w, size_t n);
void cli_sim_watch_free(cli_sim_watch *w);
/* The fault begins: `faulted` (k indexes) are killed or paused, or with
 * `partition` cut off from the others. 0, or -1 when out of memory. */
int cli_sim_watch_fault(cli_sim_watch *w, const int *faulted, size_t k, bool partition);
/* From now on count the faulted nodes' deaths as episodes (a slow node
 * is not expected dead: how often it is declared so is the measure). */
void cli_sim_watch_episodes(cli_sim_watch *w);
/* Whether `observer` declaring `subject` dead is what the fault makes
 * expected (rather than a false positive). */
bool cli_sim_watch_expected(const cli_sim_watch *w, int observer, int subject);
/* The sim_event_fn to give sim_watch_events, with w as ud. */
void cli_sim_watch_event(void *ud, int node, swim_time now, const swim_event *ev);
/* The node index in a simulated node's name ("n<index>"), or -1. */
int cli_sim_node_index(const char *name, size_t n);

#endif
