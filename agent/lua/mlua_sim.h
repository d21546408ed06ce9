/* mlua_sim: scripts on simulated nodes. N nodes of the simulator
 * (sim/sim.h), each with a Lua host running its script through the
 * backend of mlua.h instead of a Lua thread: events are delivered and
 * vetoes asked synchronously, agent.after/every run on virtual time,
 * agent.members() is answered at once from the node's core, the script's
 * commands are applied to that core between simulator steps. Each node
 * has its own environment for os.getenv; luv is refused (its loop would
 * run on real time, beside the virtual clock).
 *
 * The one driver of that backend: moonlist.core.sim (agent/luamod) and the
 * C tests both use it. Single-threaded: nothing here runs on another
 * thread, so nothing here locks.
 *
 *   mlua_sim *ms;
 *   mlua_sim_new(&opt, &ms, err, sizeof err);        -- hosts loaded, cores up
 *   sim_join(mlua_sim_sim(ms), 1, &seed0, 1);         -- the network, kills...
 *   mlua_sim_run_until(ms, 30000);                    -- hosts run every step
 *   mlua_sim_log(ms, 1, &len); mlua_sim_host(ms, 1);  -- look at a node
 *   mlua_sim_free(ms);
 *
 * Node i is the simulator's node i: sim.h's functions take the same
 * indexes. */
#ifndef MOONLIST_MLUA_SIM_H
#define MOONLIST_MLUA_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "lua/mlua.h"
#include "sim/sim.h"

/* The hosts run (due timers, queued hooks, commands) between simulator
 * steps of this length: the agent's Lua thread wakes within a few ms of an
 * event too, and 10 ms keeps a 30 s run to 3000 steps. */
#define MLUA_SIM_STEP_MS 10

typedef struct mlua_sim mlua_sim;

/* One node: its script as text (code, run as the chunk "=sim.lua") or as a
 * file (path), exactly one of them. The strings are only read during
 * mlua_sim_new. */
typedef struct mlua_sim_node_spec {
    const char *name;   /* the member name; NULL or "": "n<index>" */
    const char *code;
    const char *path;
    /* The node's own environment: "NAME", "value", ... pairs ended by
     * NULL (or NULL for none). The script's os.getenv reads them first,
     * then the process's environment. */
    const char *const *env;
    /* The node's meta (serf tags encoded) in place of its script's
     * agent.config tags, as an agent's -tag flags win; NULL: the
     * script's. At most 512 bytes. */
    const uint8_t *meta;
    size_t meta_len;
} mlua_sim_node_spec;

typedef struct mlua_sim_options {
    uint64_t seed;                      /* the simulator's: same seed, same run */
    const char *profile;                /* swim profile of every node; NULL: "lan" */
    const char *lua_path;               /* package.path entries for every host, or NULL */
    const mlua_sim_node_spec *nodes;    /* read during mlua_sim_new only */
    size_t count;                       /* at least 1 */
    /* Each node runs a serf node (serf's defaults) over its core, as the
     * agent does: agent.event/query work, broadcast and send travel as
     * serf's (docs/lua.md), the state rides in serf's push/pull. false: a
     * bare core, scripts' messages are memberlist user messages. */
    bool serf;
} mlua_sim_options;

/* What mlua_sim_new returns besides 0. */
enum {
    MLUA_SIM_ESCRIPT = -1,  /* a script does not load or its agent.config does
                               not apply: err is "node <i>: <the host's error>" */
    MLUA_SIM_EOTHER = -2,   /* bad options, a config the simulator refuses, out of memory */
};

/* Build the simulator and its nodes: each node's host is created, given
 * the backend and loaded, its settings (agent.config knobs over the
 * profile, tags as serf meta) make its swim config, and its core starts
 * (nodes are not joined: sim_join). Returns 0 with *out set, or
 * MLUA_SIM_ESCRIPT / MLUA_SIM_EOTHER with err filled and nothing left
 * allocated. Ownership: *out is the caller's, released by mlua_sim_free(). */
int mlua_sim_new(const mlua_sim_options *opt, mlua_sim **out, char *err, size_t errlen);
/* Frees every host (first: closing their timers calls the backend), then
 * the simulator with its cores. NULL is allowed. */
void mlua_sim_free(mlua_sim *ms);

/* Run the simulator until virtual time t (ms), in MLUA_SIM_STEP_MS steps;
 * after each step every host fires its due timers (earliest first), runs
 * its queued hooks and hands its commands to its core (MLUA_CMD_LEAVE as
 * the agent's graceful leave). A node whose core is down keeps running
 * its timers and hooks; its commands wait. */
void mlua_sim_run_until(mlua_sim *ms, swim_time t);

/* The simulator itself, for joins, kills, pauses, links, time and hash.
 * Borrowed: owned by ms; do not sim_free it. */
sim *mlua_sim_sim(mlua_sim *ms);
size_t mlua_sim_count(const mlua_sim *ms);
/* Node i's host (never NULL for 0 <= i < count). Borrowed: owned by ms. */
mlua *mlua_sim_host(mlua_sim *ms, int i);
/* Node i's core, NULL while the node is down. Borrowed: owned by the sim. */
swim *mlua_sim_core(mlua_sim *ms, int i);
/* Push the list of members node i's core sees, each the table a script
 * gets from agent.members() (docs/lua.md, "A member"); empty while the
 * node is down. With a name: that member's table, or nil. For
 * moonlist.core, whose specs look at what the nodes see. */
void mlua_sim_push_members(mlua_sim *ms, int i, struct lua_State *L);
void mlua_sim_push_member(mlua_sim *ms, int i, const char *name, struct lua_State *L);
/* Everything node i's host logged, one line each as
 * "<virtual seconds> [<level>] <message>\n". A view owned by ms, valid
 * until the next call into ms or its hosts; *len gets its length. */
const char *mlua_sim_log(const mlua_sim *ms, int i, size_t *len);

/* ---- the driver's own serf events and queries (with .serf) ----
 * Call between steps (outside mlua_sim_run_until), on a node that is up.
 * A user event from node i, as a script's agent.event: 0, or -1 with err
 * (no serf layer, node down, over serf's size limit). */
int mlua_sim_event(mlua_sim *ms, int i, wire_bytes name, wire_bytes payload, bool coalesce, char *err, size_t errlen);
/* A query from node i: 0 with *handle set, or -1 with err. Its acks and
 * responses are kept for mlua_sim_answers (they do not reach node i's
 * script). */
int mlua_sim_query(mlua_sim *ms, int i, wire_bytes name, wire_bytes payload, const serf_node_query_opts *o,
                   size_t *handle, char *err, size_t errlen);
/* An ack (type SERF_EV_QUERY_ACK, from) or a response (SERF_EV_QUERY_RESPONSE,
 * from, payload) to a driver's query. */
typedef struct mlua_sim_answer {
    serf_node_event_type type;
    const char *from;
    const uint8_t *payload;
    size_t len;
} mlua_sim_answer;
/* The answers to query `handle` so far, in arrival order (views owned by
 * ms, valid until the next call into it), and whether its timeout passed
 * (*done). */
size_t mlua_sim_answers(const mlua_sim *ms, size_t handle, const mlua_sim_answer **v, bool *done);

#endif
