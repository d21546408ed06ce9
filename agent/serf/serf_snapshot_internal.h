/* serf_snapshot's member table, shared by its replay and its writer only. */
#ifndef MOONLIST_SERF_SNAPSHOT_INTERNAL_H
#define MOONLIST_SERF_SNAPSHOT_INTERNAL_H

#include "serf/serf_snapshot.h"

/* Set name's address (added, or replaced). Copies both. 0, or -1 if out
 * of memory (the table is unchanged). */
int serf_snapshot_nodes_put(serf_snapshot_nodes *t, const char *name, size_t name_len, const char *addr,
                            size_t addr_len);
/* Remove name; false if it was not there. */
bool serf_snapshot_nodes_del(serf_snapshot_nodes *t, const char *name, size_t name_len);
bool serf_snapshot_nodes_has(const serf_snapshot_nodes *t, const char *name, size_t name_len);
/* Empty the table (the memory of the slots is kept). */
void serf_snapshot_nodes_clear(serf_snapshot_nodes *t);
void serf_snapshot_nodes_free(serf_snapshot_nodes *t);
/* The members, sorted by name: a malloc'd array of pointers into the
 * table (valid until it changes), the caller's; NULL if out of memory or
 * empty. */
const serf_snapshot_node **serf_snapshot_nodes_sorted(const serf_snapshot_nodes *t);

#endif
