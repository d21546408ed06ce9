/* serf_intents: the broadcast key of serf's join and leave intents (§16).
 *
 * The serf node broadcasts an intent about a node under this key
 * (serf_node_intent_key), so that a newer intent about the same node
 * replaces one still queued in the core; the graceful leave polls it
 * (serf_leave.h) to know when our leave intent has been sent in full. */
#ifndef MOONLIST_SERF_INTENTS_H
#define MOONLIST_SERF_INTENTS_H

#include <stddef.h>

/* "serf-intent:" and a memberlist name (at most 255 bytes) fit. */
#define SERF_INTENTS_KEY_MAX 300

/* The key a broadcast of an intent about `node` goes under. */
void serf_intents_key(char *buf, size_t len, const char *node);

#endif
