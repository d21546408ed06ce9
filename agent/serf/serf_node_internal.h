/* serf_node_internal: what the files of serf_node share (not for other
 * modules). The struct is split by owner: the members, intents, push/pull
 * state, outbox and timers here (serf_node.c, serf_node_members.c,
 * serf_node_state.c, serf_node_reconnect.c); events and queries in
 * serf_nq (serf_node_query_internal.h: serf_node_events.c,
 * serf_node_query.c, serf_node_internal_query.c). */
#ifndef MOONLIST_SERF_NODE_INTERNAL_H
#define MOONLIST_SERF_NODE_INTERNAL_H

#include "serf/serf_node.h"
#include "serf/serf_node_query_internal.h"

struct serf_node {
    char name[256];
    serf_node_config cfg;             /* cfg.name points at name */
    serf_node_io io;
    serf_log log;
    serf_node_stats stats;
    swim_time now;                    /* the latest `now` handed in */
    serf_nq nq;                       /* events and queries */
    /* ... members, intents, outbox, timers: serf_node.c's owner adds here */
};

/* ---- what serf_node.c offers the query/event files ---- */

/* Queue a broadcast of a serf message (type byte + map) for the core
 * (swim_broadcast at the next flush). key: NULL or "" for none. 0 or -1. */
int serf_node_out_broadcast(serf_node *sn, const uint8_t *msg, size_t len, const char *key);
/* Queue a UDP user message to an address (swim_send_user_addr), as serf's
 * memberlist.SendToAddress: query responses and relays. 0 or -1. */
int serf_node_out_send_addr(serf_node *sn, const swim_addr *to, const uint8_t *msg, size_t len);
/* Hand the queued work to the core (outside its callbacks). Every command
 * ends with it. */
void serf_node_flush(serf_node *sn, swim *core, swim_time now);
/* Report an event to io->event. */
void serf_node_emit(serf_node *sn, const serf_node_event *ev);
/* Re-evaluate the next deadline (serf_nq's included) and report it if it
 * moved; call after changing a timer. */
void serf_node_update_deadline(serf_node *sn);
/* Randomness from cfg.seed. */
uint64_t serf_node_rand(serf_node *sn);
/* Our own address and tags, as the core advertises them (known from the
 * core's JOIN event for ourselves). tags may be empty. */
swim_addr serf_node_self_addr(const serf_node *sn);
const serf_tags *serf_node_self_tags(const serf_node *sn);
/* Up to n alive members other than ourselves and `exclude` (may be NULL),
 * chosen at random (serf's kRandomMembers for the relay). Returns how many
 * were written. Views valid until the next call into the node. */
size_t serf_node_random_alive(serf_node *sn, size_t n, const char *exclude, serf_node_member *out);
/* Alive members (serf's NumNodes, for the default query timeout). */
size_t serf_node_alive_count(const serf_node *sn);

#endif
