/* mlua: the Lua host of the agent — the operator's script, its hooks, and
 * the `moonlist` module it requires.
 *
 * Two threads (docs/architecture.md, "Two threads"):
 *   the protocol thread owns the swim core and the sockets; it never calls
 *   Lua and never waits on the Lua thread unboundedly;
 *   the Lua thread owns the lua_State, its own libuv loop (shared with luv
 *   through luv_set_loop), agent.after/every timers and every hook.
 *
 * Life cycle (all on the main/protocol thread unless said otherwise):
 *   mlua_new -> mlua_load (runs the script: agent.config, agent.on, ...)
 *   -> mlua_settings (the validated agent.config, applied by the agent with
 *   flags overriding) -> mlua_attach (where commands go) -> mlua_start (the
 *   Lua thread) -> mlua_post_event / delegates ... -> mlua_stop -> mlua_free.
 *
 * Up (protocol -> Lua): mlua_post_event copies a swim_event (views die with
 * the callback) into an in-order queue and wakes the Lua thread with
 * uv_async_send. It takes a mutex for a few pointer moves only: it never
 * blocks on Lua. The queue is bounded (MLUA_EVENT_QUEUE_MAX); past it
 * events are dropped, counted and logged.
 *
 * Down (Lua -> protocol): agent.broadcast/send/event/query/set_tags/leave,
 * a query hook's answer and agent.members() become mlua_cmd values queued
 * to the sink given to mlua_attach, woken by an uv_async_t on the protocol
 * loop. The serf node's events come up through mlua_post_serf_event; a
 * script's query is known by a token on the Lua side and by serf_node's
 * handle on the protocol side, mapped there (mlua_serf.c).
 *
 * While a script loads, agent.members() and agent.self() answer from a
 * snapshot taken for that load: at a reload, the protocol's member table
 * just before the script runs; the first time (no core exists yet),
 * ourselves only, as far as known (mlua_options.self_*, else the script's
 * agent.config so far, else the host name).
 *
 * What the core asks synchronously (the swim_delegate answers), and how long
 * the protocol thread waits for it:
 *   local_state        never waits: the value the script published last
 *                      (computed at load, then after every batch of hooks,
 *                      every timer callback, and every MLUA_STATE_REFRESH_MS).
 *   ack_payload        never waits: what agent.ping_payload(bytes) set.
 *   merge_remote_state never waits: the bytes are queued to the Lua thread.
 *   allow_merge        if a "merge" hook is registered and the Lua thread
 *                      is idle (not inside any Lua callback), asks it and
 *                      waits at most MLUA_MERGE_WAIT_MS; if the Lua thread
 *                      is busy or the wait times out: allowed (logged).
 *   allow_alive        same with "alive" hooks and MLUA_ALIVE_WAIT_MS.
 * With no merge/alive hook registered nothing is ever asked. */
#ifndef MOONLIST_MLUA_H
#define MOONLIST_MLUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "serf/serf_node.h"
#include "swim/swim.h"

/* An event storm while a hook is stuck must not eat the memory: at 64 Ki
 * events of a few hundred bytes the queue stays under ~20 MB. */
#define MLUA_EVENT_QUEUE_MAX 65536
/* The cached local state may be this stale; push/pull runs every 30 s on
 * lan (15 s local), so one second is far inside a round. */
#define MLUA_STATE_REFRESH_MS 1000
/* A push/pull is a TCP exchange with a 10 s deadline (lan TCPTimeout);
 * 100 ms for a well-behaved merge hook leaves it untouched. */
#define MLUA_MERGE_WAIT_MS 100
/* Alive messages arrive inside gossip packets handled in order; 20 ms is
 * far below the 500 ms probe timeout, so a slow hook cannot fail a probe. */
#define MLUA_ALIVE_WAIT_MS 20
/* agent.members() waits this long for the protocol thread's snapshot;
 * that thread never blocks, so only a dead agent makes it time out. */
#define MLUA_MEMBERS_WAIT_MS 2000
/* A script failing on every event or timer tick repeats one error several
 * times a second: the same error (its kind and first line, digits aside)
 * is logged at most once per this window, then with the count of those
 * not logged. 10 s still shows within seconds that it goes on, and keeps a
 * 100 Hz failure down to one line in a thousand. */
#define MLUA_ERROR_REPEAT_MS 10000
/* At a reload the old script's handles are closed and the loop runs until
 * their close callbacks ran and its requests in flight (files, DNS)
 * finished, at most this long: a close takes one loop iteration and local
 * requests milliseconds; a request stuck longer (a DNS server that does
 * not answer) must not hold the new script up for long. The old lua_State
 * then stays open, unused, until the host stops, so late callbacks still
 * find it. */
#define MLUA_RELOAD_CLOSE_MS 2000

typedef struct mlua mlua;

/* Log lines from the script (agent.log.*) and from the host (hook errors
 * with tracebacks, drops). Called from the Lua thread and the protocol
 * thread: must be thread-safe. */
typedef void (*mlua_log_fn)(void *ud, base_log_level level, const char *msg);

typedef struct mlua_options {
    mlua_log_fn log;          /* NULL: stderr */
    void *log_ud;
    const char *lua_path;     /* extra package.path entries ("dir/?.lua;...") or NULL */
    /* Ourselves as the caller's own flags fix us, for agent.self() while the
     * first script loads (no core exists yet); the agent: -node and -tag,
     * when given. NULL / no meta where the caller fixes nothing: then the
     * script's agent.config node / tags so far, else the host name and no
     * tags. Copied by mlua_new. */
    const char *self_name;
    const uint8_t *self_meta;
    size_t self_meta_len;
} mlua_options;

/* Ownership: the host is the caller's, released by mlua_free(). NULL if out
 * of memory. */
mlua *mlua_new(const mlua_options *opt);
/* Run the script at `path` in a fresh lua_State, on the calling thread.
 * Returns 0, or -1 with the error (file:line: message, or the config
 * validation error naming file, line and key) in err. Call once. */
int mlua_load(mlua *h, const char *path, char *err, size_t errlen);
/* Same, from a string (tests); `name` is the chunk name used in errors. */
int mlua_load_string(mlua *h, const char *name, const char *code, char *err, size_t errlen);

/* ---- agent.config: the validated settings ---- */
typedef enum mlua_setting_type {
    MLUA_SET_STRING,     /* s */
    MLUA_SET_BOOL,       /* b */
    MLUA_SET_COUNT,      /* u */
    MLUA_SET_DURATION,   /* u, milliseconds (the script gives seconds) */
    MLUA_SET_LIST,       /* list[0..n) */
    MLUA_SET_MAP,        /* list[0..n): key, value, key, value... sorted by key */
} mlua_setting_type;

typedef struct mlua_setting {
    const char *key;         /* snake_case name, static storage */
    mlua_setting_type type;
    bool b;
    uint32_t u;
    char *s;
    char **list;
    size_t n;
    char where[256];         /* "script.lua:12", the agent.config call (for checks across keys) */
} mlua_setting;

/* The settings given to agent.config, in key order; views owned by the
 * host, valid until mlua_free(). 0 if the script did not call it. */
size_t mlua_settings(const mlua *h, const mlua_setting **out);
const mlua_setting *mlua_setting_get(const mlua *h, const char *key);
/* Apply "profile" and then every swim knob found in the settings to `c`
 * (name, advertise and meta are the agent's). Returns 0, or -1 with a
 * message naming the setting's file:line in err. */
int mlua_settings_apply_swim(const mlua *h, swim_config *c, char *err, size_t errlen);
/* Same without the profile (a -profile flag overrides the script's). */
int mlua_settings_apply_knobs(const mlua *h, swim_config *c, char *err, size_t errlen);
/* The two halves of mlua_settings_apply_knobs, for a caller that puts
 * more on top before judging (the agent's flags): every knob the script
 * set, onto `c`, unchecked; then swim_config_check_knobs on `c`, a fault
 * as "file:line: agent.config: ..." in err with the knobs in `as_flag`
 * (SWIM_KNOB_BIT) spelled as flags. Returns 0 or -1. */
void mlua_settings_put_knobs(const mlua *h, swim_config *c);
int mlua_settings_check_knobs(const mlua *h, const swim_config *c, uint64_t as_flag, char *err, size_t errlen);
/* Encode the "tags" setting as serf meta into meta[512]. Returns the length,
 * -1 if the script set no tags. (Validated at load: cannot fail then.) */
int mlua_settings_meta(const mlua *h, uint8_t *meta, size_t cap);

/* ---- commands down to the protocol thread ---- */
typedef enum mlua_cmd_type {
    MLUA_CMD_BROADCAST,   /* payload, key ("" for none) */
    MLUA_CMD_SEND,        /* name, payload, reliable */
    MLUA_CMD_SET_META,    /* payload = new node meta (serf tags encoded) */
    MLUA_CMD_LEAVE,       /* the script asked to leave: the agent's graceful leave */
    MLUA_CMD_MEMBERS,     /* the Lua thread waits for a snapshot: mlua_cmd_apply */
    MLUA_CMD_EVENT,       /* agent.event: name, payload, coalesce */
    MLUA_CMD_QUERY,       /* agent.query: name, payload, token, nodes, tags, timeout_ms, ack, relay_factor */
    MLUA_CMD_RESPOND,     /* a "query" hook's answer: query_id, payload */
} mlua_cmd_type;

typedef struct mlua_members_reply mlua_members_reply;

typedef struct mlua_cmd {
    struct mlua_cmd *next;
    mlua_cmd_type type;
    uint8_t *payload;
    size_t len;
    char *key;
    char *name;
    bool reliable;
    bool coalesce;            /* EVENT */
    mlua_members_reply *reply;
    /* QUERY: the script's callback, by the token the Lua thread gave it;
     * its filters (tags: key, regexp, key, regexp...; ntags pairs). */
    uint64_t token;
    char **nodes;
    size_t nnodes;
    char **tags;
    size_t ntags;
    uint64_t timeout_ms;      /* 0: serf's default */
    bool ack;
    uint8_t relay_factor;
    uint64_t query_id;        /* RESPOND: serf_node's handle of the query answered */
} mlua_cmd;

/* Called on the protocol loop's thread for every command, in order. The
 * command is freed after it returns. */
typedef void (*mlua_cmd_fn)(void *ud, const mlua_cmd *cmd);
/* Route commands to `fn`, run on `loop` (the protocol loop) through an
 * uv_async_t created here: call on that loop's thread, before it runs or
 * from inside it. Commands queued before (at load) are delivered then. */
int mlua_attach(mlua *h, uv_loop_t *loop, mlua_cmd_fn fn, void *ud);
/* Stop routing commands: closes the uv_async_t (call on the protocol loop
 * thread, before that loop ends). Later commands stay queued. */
void mlua_detach(mlua *h);
/* Run one command against a node (protocol thread, outside the core's
 * and the serf node's callbacks): on the serf layer (docs/lua.md, "Events
 * and queries"), a broadcast is a user event "moonlist:<key>", a send a
 * query "moonlist:send" filtered to that node, an event or a query
 * serf's own, a respond serf_node_respond; set_meta goes through
 * serf_node_set_meta; the members snapshot reads the core. With sn NULL
 * (a bare core: no serf layer) broadcast and send are memberlist user
 * messages as before, and event, query and respond fail (logged; a
 * query's callback gets its "done" with the error). MLUA_CMD_LEAVE is
 * the agent's business: it is not handled here (returns 1). Errors are
 * logged; returns 0 or -1. */
int mlua_cmd_apply(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now);
/* Answer a MLUA_CMD_MEMBERS from something else than a core (tests, sim):
 * add members, then mlua_members_done. */
void mlua_members_add(mlua *h, mlua_members_reply *r, const swim_member *m);
void mlua_members_done(mlua *h, mlua_members_reply *r, const char *self_name);

/* ---- the Lua thread ---- */
int mlua_start(mlua *h, char *err, size_t errlen);
/* Queue a copy of a core event for the hooks (any thread; never blocks).
 * A host over a serf node is not given SWIM_EV_USER (serf's messages): the
 * scripts see them as serf's events, below. SWIM_EV_PING is dropped unless
 * the running script has a "ping" hook. */
void mlua_post_event(mlua *h, const swim_event *ev);
/* Every event of the serf node, on the protocol thread (its io->event):
 * copies what the hooks need and queues it; never blocks.
 *   SERF_EV_USER  -> the "event" hooks; a "moonlist:<key>" event (a
 *                    script's agent.broadcast) -> the "message" hooks,
 *                    except our own;
 *   SERF_EV_QUERY -> the "query" hooks (the first string returned is the
 *                    answer: MLUA_CMD_RESPOND); "moonlist:send" (a
 *                    script's agent.send) -> the "message" hooks;
 *   SERF_EV_QUERY_ACK/RESPONSE/DONE of a query a script asked -> its
 *                    callback; of any other query: ignored;
 *   member, keyring and shutdown events: ignored (the hooks get the
 *   core's member events through mlua_post_event). */
void mlua_post_serf_event(mlua *h, const serf_node_event *ev);
/* Load the script file again (SIGHUP). Asynchronous, any thread; the
 * reload runs on the Lua thread between callbacks, and events arriving
 * meanwhile wait in the queue for whichever script runs afterwards
 * (vetoes asked meanwhile get the default: allowed):
 *   1. the file is read and compiled into a fresh lua_State: if that fails
 *      the running script stays, untouched;
 *   2. the running script's agent.handoff function, if any, returns the
 *      value the next script finds as agent.inherited (copied: nil,
 *      booleans, numbers, strings and tables of them); if it raises or the
 *      value cannot be copied, the running script stays, untouched;
 *   3. a snapshot of the member table is taken for the load;
 *   4. the running script is closed: its timers and luv handles, then the
 *      loop runs their close callbacks and its requests in flight (at most
 *      MLUA_RELOAD_CLOSE_MS), so the ports it listened on are free;
 *   5. the new script runs. If it raises or its agent.config is invalid,
 *      its handles are closed in turn and the previous script's text (kept
 *      from its last successful load) runs again, given the same
 *      agent.inherited; if that fails too the host runs with no script (no
 *      hooks, no timers, no state) until a reload succeeds. Both logged as
 *      errors.
 * agent.config changes are checked, not applied (they need a restart).
 * Counted in mlua_stats.reload_ok / reload_failed. */
void mlua_reload(mlua *h);
/* Stop the Lua thread: wait up to timeout_ms for it to finish its current
 * callback. Returns 0, or -1 if it is stuck (a hook that never returns):
 * the thread is then abandoned and mlua_free must not be called. */
int mlua_stop(mlua *h, unsigned timeout_ms);
void mlua_free(mlua *h);

/* ---- the swim_delegate answers (protocol thread), see the top comment ---- */
void mlua_local_state(mlua *h, bool is_join, const uint8_t **out, size_t *len);
void mlua_merge_remote_state(mlua *h, const uint8_t *state, size_t len, bool is_join);
void mlua_ack_payload(mlua *h, const uint8_t **out, size_t *len);
bool mlua_allow_merge(mlua *h, const swim_member *peers, size_t n, const char **reason);
bool mlua_allow_alive(mlua *h, const swim_member *m);
/* The above as a core's delegate, for a core that talks to the host
 * directly (the simulator, tests). */
swim_delegate mlua_delegate(mlua *h);
/* agent.state inside serf's push/pull (SERF_NODE_STATE_KEY): local_state
 * and merge_remote_state above, for serf_node_io.state. A host over a
 * serf node gives the core only ack_payload, allow_merge and allow_alive
 * (serf_node_swim_delegate keeps those of mlua_delegate). */
serf_node_state_delegate mlua_serf_state(mlua *h);

/* ---- a backend instead of the Lua thread: the simulator ----
 * The simulator has no threads: it delivers the same events and asks the
 * same questions synchronously, on virtual time. With a backend set
 * (before mlua_load), mlua_start is not used; the driver, outside any call
 * into a core:
 *   - posts events as usual (mlua_post_event) and runs the hooks with
 *     mlua_run_pending(),
 *   - takes the script's commands with mlua_drain_commands() and applies
 *     them (mlua_cmd_apply),
 *   - calls mlua_timer_due(id) when a timer the backend was asked to start
 *     is due (agent.every re-arms through timer_start again).
 * agent.members() is answered at once by backend.members (with
 * mlua_members_add/done). Vetoes (allow_merge/allow_alive) run the hooks
 * directly, from inside the core: commands they issue stay queued. luv
 * has no running loop in this mode. */
struct lua_State;
typedef struct mlua_backend {
    void *ud;
    void (*members)(void *ud, mlua *h, mlua_members_reply *r);
    double (*now)(void *ud);                              /* seconds, for agent.now */
    void (*timer_start)(void *ud, uint64_t id, uint64_t ms);
    void (*timer_stop)(void *ud, uint64_t id);
    /* Optional: called with each fresh lua_State, its libraries and the
     * moonlist module in, before any of the script runs (the simulator
     * gives each node its own os.getenv and refuses luv). */
    void (*prepare)(void *ud, struct lua_State *L);
} mlua_backend;
/* Call before mlua_load. Returns 0, or -1 if a required field is missing. */
int mlua_set_backend(mlua *h, const mlua_backend *b);
void mlua_run_pending(mlua *h);
void mlua_timer_due(mlua *h, uint64_t id);
void mlua_drain_commands(mlua *h, mlua_cmd_fn fn, void *ud);

/* Counters since mlua_new (any thread). */
/* The host's counters, listed once: the struct, `moonlist info`'s lua
 * section and moonlist.core's h:stats() are generated from this list. */
#define MLUA_STATS(X)                                                                                  \
    X(events_posted, "events queued for the hooks")                                                   \
    X(events_dropped, "events dropped at a full queue (MLUA_EVENT_QUEUE_MAX)")                        \
    X(hooks_run, "every call into the script, its load included")                                     \
    X(hook_us, "microseconds spent in those calls (a call made inside another counts in both)")       \
    X(hooks_over_1ms, "calls that took over 1 ms")                                                    \
    X(hooks_over_10ms, "calls that took over 10 ms")                                                  \
    X(hooks_over_100ms, "calls that took over 100 ms: as long as a merge veto's wait")                \
    X(hooks_over_1s, "calls that took over 1 s")                                                      \
    X(hook_errors, "agent.on hooks, agent.state functions, agent.handoff that raised or misbehaved")  \
    X(timer_errors, "agent.after / agent.every callbacks that raised")                                \
    X(luv_errors, "luv callbacks that raised")                                                        \
    X(vetoes_asked, "merge and alive vetoes asked of the script")                                     \
    X(vetoes_defaulted, "vetoes allowed without an answer (Lua busy, or the wait ran out)")          \
    X(reload_ok, "reloads that brought the new script in")                                            \
    X(reload_failed, "reloads that did not: the log says what runs instead")                          \
    X(suppressed_log_lines, "repeated errors not logged (MLUA_ERROR_REPEAT_MS)")

typedef struct mlua_stats {
#define MLUA_STATS_FIELD(name, why) uint64_t name;
    MLUA_STATS(MLUA_STATS_FIELD)
#undef MLUA_STATS_FIELD
} mlua_stats;
void mlua_get_stats(mlua *h, mlua_stats *out);
/* Events waiting for the hooks now (at most MLUA_EVENT_QUEUE_MAX): a
 * gauge for the metrics, from any thread. */
size_t mlua_event_queue_depth(mlua *h);

#endif
