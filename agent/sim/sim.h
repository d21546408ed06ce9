/* sim: a deterministic simulator for the swim core. N cores live in one
 * process on a virtual clock (milliseconds), joined by a virtual network
 * that delivers packets and streams with per-link delay, jitter and loss,
 * partitions (groups that cannot talk), crashed nodes, paused nodes
 * (a paused node processes nothing; what reaches it waits, then is
 * delivered at once when it resumes, as a SIGSTOPped process would) and
 * slow nodes (everything reaches them late: sim_set_slow).
 *
 * The loop always advances to the earliest of all cores' deadlines and
 * pending deliveries; ties are broken by scheduling order. All randomness
 * (the network's and each core's) derives from the seed given to
 * sim_new(): the same seed and the same calls give the same run, bit for
 * bit (sim_hash() digests every event to check it).
 *
 * Node i is reachable at 10.x.y.z:port with x.y.z = i + 1. */
#ifndef MOONLIST_SIM_H
#define MOONLIST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_node.h"
#include "swim/swim.h"

typedef struct sim sim;

/* Ownership: the sim is the caller's, released by sim_free(), which also
 * frees every core. */
sim *sim_new(uint64_t seed);
void sim_free(sim *s);

/* Add a node. `cfg` is copied; the sim overwrites its advertise address
 * (port kept if set, else 7946) and seed. `delegates` (may be NULL)
 * supplies the node's swim_delegate (local_state, merge_remote_state,
 * ack_payload, allow_merge, allow_alive) with its own ud. Returns the node index,
 * or -1 (bad config, out of memory). */
int sim_add(sim *s, const swim_config *cfg, const swim_delegate *delegates);
/* Add n nodes "<prefix><i>" with a profile's defaults; returns the first
 * index or -1. */
int sim_add_many(sim *s, size_t n, const char *prefix, const char *profile);

size_t sim_count(const sim *s);
swim *sim_core(sim *s, int i);           /* NULL while the node is down */
swim_addr sim_addr(const sim *s, int i);
swim_time sim_now(const sim *s);

/* Network. Delay and jitter in ms (delivery after delay + uniform[0,
 * jitter]); loss in [0, 1] for packets (streams are reliable but fail
 * across partitions and to down nodes). */
void sim_set_default_link(sim *s, uint32_t delay, uint32_t jitter, double loss);
/* The default link as it is now (to change one of its values). */
void sim_get_default_link(const sim *s, uint32_t *delay, uint32_t *jitter, double *loss);
/* One direction from -> to; overrides the default. */
void sim_set_link(sim *s, int from, int to, uint32_t delay, uint32_t jitter, double loss);
/* Nodes in different groups cannot exchange anything. All start in 0. */
void sim_set_group(sim *s, int i, int group);
/* A slow node, as a CPU-starved process that reads its socket late:
 * everything delivered to node i (datagrams, stream requests, replies to
 * its streams) arrives delay + uniform[0, jitter] ms later than the link
 * alone would bring it. Its timers still fire on time, so its probes time
 * out on acks that are on their way (Lifeguard's slow member), and what it
 * answers leaves late. What is already in flight keeps its time; (0, 0)
 * ends it. Kept across sim_restart (the machine is still slow). The rng is
 * drawn only while some node is slow with jitter > 0, so runs without one
 * are the same as before this existed. */
void sim_set_slow(sim *s, int i, uint32_t delay, uint32_t jitter);

/* Crash a node: its core is freed, everything addressed to it is lost. */
void sim_kill(sim *s, int i);
/* Start a crashed node again with a fresh core (same address and config
 * unless cfg is given). Returns 0 or -1. */
int sim_restart(sim *s, int i, const swim_config *cfg);
void sim_pause(sim *s, int i);
void sim_resume(sim *s, int i);
bool sim_is_up(const sim *s, int i);

/* swim_join() node i through the given seed nodes. */
void sim_join(sim *s, int i, const int *seeds, size_t n);
/* Every node but `seed` joins through it, at once: the burst of joins a
 * test's cluster usually starts with. */
void sim_join_all(sim *s, int seed);

/* Run until virtual time t (inclusive). */
void sim_run_until(sim *s, swim_time t);
/* Run until done(s, ud) is true (checked after each step) or time `limit`.
 * Returns true if done. */
bool sim_run_while_not(sim *s, swim_time limit, bool (*done)(sim *s, void *ud), void *ud);

/* Observe every event of every node. */
typedef void (*sim_event_fn)(void *ud, int node, swim_time now, const swim_event *ev);
void sim_on_event(sim *s, sim_event_fn fn, void *ud);
/* One more observer beside sim_on_event's, called after it: for a tool
 * measuring a run whose driver already holds sim_on_event (mlua_sim
 * does). At most SIM_WATCHERS_MAX; returns 0, or -1 when they are taken. */
#define SIM_WATCHERS_MAX 4
int sim_watch_events(sim *s, sim_event_fn fn, void *ud);
/* Digest of every event so far (time, node, type, member, state,
 * incarnation, payload). */
uint64_t sim_hash(const sim *s);

typedef struct sim_stats {
    uint64_t packets_sent, packets_dropped, packets_delivered, bytes_sent;
    uint64_t streams_opened, streams_failed;
    uint64_t stream_bytes;       /* requests and replies sent */
    uint64_t steps;
} sim_stats;
const sim_stats *sim_get_stats(const sim *s);

/* What node i put on the network and got from it: datagrams and their
 * bytes, stream requests and replies counted as one message each (their
 * bytes with them). Counted when sent (by the sender) and when handed to
 * the core (by the receiver): what a loss or a dead peer swallowed is sent
 * but never received. */
typedef struct sim_traffic {
    uint64_t msgs_sent, bytes_sent;
    uint64_t msgs_received, bytes_received;
} sim_traffic;
const sim_traffic *sim_node_traffic(const sim *s, int i);

/* Where a run's wall time goes: the time spent inside the cores, by what
 * called them, and how many calls. The rest of a run's wall time is the
 * simulator's own (its heap, copies) and its driver's. Off by default:
 * reading the clock twice a step costs a little; it changes nothing in
 * the run itself. */
typedef enum sim_work {
    SIM_WORK_TICK,               /* swim_tick: probes, gossip, timers */
    SIM_WORK_PACKET,             /* swim_handle_packet */
    SIM_WORK_STREAM,             /* swim_handle_stream, swim_stream_done */
    SIM_WORK_KINDS
} sim_work;
typedef struct sim_timing {
    uint64_t ns[SIM_WORK_KINDS];
    uint64_t calls[SIM_WORK_KINDS];
} sim_timing;
void sim_set_timing(sim *s, bool on);
const sim_timing *sim_get_timing(const sim *s);

/* The member tables of the live cores, in bytes: per entry the core's
 * node record, its name and NUL, its meta unless the record holds it, its
 * suspicion timer if one runs, and its share of the table's arrays (hash
 * buckets, probe order), without malloc's own headers. *entries gets the
 * number of entries (every core's members, itself included). For
 * `moonlist sim`'s memory per member: computed from the records, so it is
 * the same on every run and under any allocator. */
uint64_t sim_member_bytes(const sim *s, uint64_t *entries);

/* serf on the simulated nodes (sim_serf.c). Nodes added or restarted from
 * now on get a serf_node over their core (tmpl: NULL for serf's defaults;
 * name, seed and gossip interval are filled per node). The sim drives it
 * as the agent does: core events to serf_node_on_swim_event, its
 * deadlines as timers calling serf_node_tick, sim_join around
 * serf_node_joining/joined. Commands come from callers, outside the
 * loop: serf_node_user_event(sim_serf(s, i), sim_core(s, i), sim_now(s),
 * ...). Without this call nothing of serf runs. */
void sim_use_serf(sim *s, const serf_node_config *tmpl);
/* NULL: no serf on that node, or the node is down. */
serf_node *sim_serf(sim *s, int i);
/* Observe every serf event of every node (one observer). */
typedef void (*sim_serf_event_fn)(void *ud, int node, swim_time now, const serf_node_event *ev);
void sim_on_serf_event(sim *s, sim_serf_event_fn fn, void *ud);
/* The application's push/pull state of node i (copied; kept across
 * restarts). NULL: none. */
void sim_set_serf_state(sim *s, int i, const serf_node_state_delegate *d);
/* Node i's keyring (not owned; kept across restarts; NULL: the
 * template's), applied at once if its serf runs. */
void sim_set_serf_keyring(sim *s, int i, wire_keyring *keyring);

/* How many live nodes see `name` in `state` (a node does not count
 * itself unless include_self). */
size_t sim_count_seeing(sim *s, const char *name, swim_state state, bool include_self);
/* Whether every node is up and lists every other one alive (not
 * suspect): a converged cluster. O(n^2) lookups, for tests and small
 * runs; with sim_run_while_not's signature (ud unused). */
bool sim_all_alive(sim *s, void *ud);

#endif
