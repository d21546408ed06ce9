/* serf_relay: which serf join/leave intents (§16) we pass on.
 *
 * A serf agent rebroadcasts an intent only when it is newer (by LTime)
 * than what it knew about that node, so an intent spreads epidemically and
 * each agent relays it once. We make the same decision, so that in a mixed
 * cluster an intent spreads through moonlist agents as it does through serf
 * agents. The table remembers the last LTime seen per node, LRU-capped. */
#ifndef MOONLIST_SERF_RELAY_H
#define MOONLIST_SERF_RELAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct serf_relay serf_relay;

/* A table remembering at most `cap` nodes (cap >= 1). Ownership: the
 * caller's, released by serf_relay_free(). NULL if out of memory. */
serf_relay *serf_relay_new(size_t cap);
void serf_relay_free(serf_relay *r);

/* An intent about `node` at `ltime` was seen (received, or sent by us).
 * Returns 1 if it should be relayed: it is newer than anything recorded
 * for `node`, and `node` is not `self` (we speak for ourselves; a stale
 * intent about us is not ours to spread). Returns 0 if not, -1 when out of
 * memory (not recorded, not to be relayed). Records ltime when newer, also
 * for self, so that our own intents coming back are old news. When full,
 * the node seen least recently is forgotten. */
int serf_relay_observe(serf_relay *r, const char *self, const char *node, uint64_t ltime);

/* Nodes remembered. */
size_t serf_relay_count(const serf_relay *r);

#endif
