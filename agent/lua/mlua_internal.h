/* mlua internals shared by the mlua_*.c files; not for other modules. */
#ifndef MOONLIST_MLUA_INTERNAL_H
#define MOONLIST_MLUA_INTERNAL_H

#include <stdatomic.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua/mlua.h"
#include "wire/wire_buf.h"

/* A member copied out of a core view: owns name and meta. */
typedef struct mlua_mcopy {
    char *name;
    swim_addr addr;
    swim_state state;
    uint32_t incarnation;
    uint8_t *meta;
    size_t meta_len;
    uint8_t vsn[6];
} mlua_mcopy;

/* A veto question from the protocol thread (allow_merge/allow_alive).
 * Shared by both threads: refs and answer fields under h->mu. */
typedef struct mlua_question {
    int refs;
    bool answered, abandoned, allow;
    char reason[200];
} mlua_question;

typedef enum mlua_ev_kind {
    MLUA_EVK_SWIM,          /* a swim_event copy */
    MLUA_EVK_MERGE_STATE,   /* merge_remote_state(bytes, is_join) */
    MLUA_EVK_ASK_MERGE,     /* peers, q */
    MLUA_EVK_ASK_ALIVE,     /* member, q */
    MLUA_EVK_RELOAD,
    MLUA_EVK_STOP,
    MLUA_EVK_USER,          /* serf user event: name, payload, ltime, coalesce */
    MLUA_EVK_MESSAGE,       /* a script's broadcast or send: payload, from_name (NULL: unknown) */
    MLUA_EVK_QUERY,         /* serf query for the hooks: name, payload, from_name, ltime, id = query_id */
    MLUA_EVK_ANSWER,        /* to a script's query: id = its token, type, from_name, payload */
} mlua_ev_kind;

typedef struct mlua_ev {
    struct mlua_ev *next;
    mlua_ev_kind kind;
    swim_event_type type;
    mlua_mcopy member;
    swim_addr other, from;
    uint8_t *payload;
    size_t len;
    uint32_t rtt;
    int count;
    bool is_join;
    mlua_mcopy *peers;
    size_t npeers;
    mlua_question *q;
    /* serf's events (MLUA_EVK_USER .. ANSWER) */
    serf_node_event_type serf_type;
    char *name;             /* NUL-terminated copy; name_len bytes (may hold NULs) */
    size_t name_len;
    char *from_name;
    uint64_t ltime;
    uint64_t id;
    bool coalesce;
    char *error;            /* ANSWER done: why the query did not go out, or NULL */
} mlua_ev;

/* The protocol thread's side of the serf layer (mlua_serf.c): only that
 * thread touches it. */
/* Queries asked by a script and not yet done: serf_node's handle -> the
 * script's callback token. A script rarely has more than a few out. */
typedef struct mlua_query_map {
    uint64_t query_id, token;
} mlua_query_map;
/* Our own "moonlist:" events, remembered from the command until serf
 * delivers them back to us (serf delivers our events to ourselves; a
 * broadcast never reached its sender's "message" hooks). 64 covers many
 * more broadcasts than one protocol-loop iteration sends. */
#define MLUA_OWN_EVENTS 64
typedef struct mlua_own_event {
    uint64_t ltime, hash;   /* hash: FNV-1a of name and payload; 0: a free slot */
} mlua_own_event;

struct mlua_members_reply {
    int refs;               /* under h->mu */
    bool done;
    mlua_mcopy *v;
    size_t n, cap;
    char self[256];
};

typedef struct mlua_timer mlua_timer;

/* A lua_State replaced at a reload whose handles or requests did not finish
 * within MLUA_RELOAD_CLOSE_MS: kept open, never used again, until the
 * host stops (mlua_close.c). */
typedef struct mlua_retired {
    lua_State *L;
    struct mlua_retired *next;
} mlua_retired;

/* Distinct errors the rate limit remembers (mlua_errlimit.c): a script has
 * a handful of places that fail; past this many at once the least recently
 * logged is forgotten, its suppressed count logged first. */
#define MLUA_ERROR_KINDS 32

typedef struct mlua_errkind {
    uint64_t key;          /* 0: a free slot */
    uint64_t logged_ms;    /* when it was last logged (mlua_clock_ms) */
    uint64_t suppressed;   /* occurrences not logged since */
    char what[64];
    char first[240];       /* the message's first line, for the summary */
} mlua_errkind;

/* Which kind of call into the script: how its errors are counted and logged. */
typedef enum mlua_call {
    MLUA_CALL_LOAD,    /* the script's chunk: its error goes back to the loader */
    MLUA_CALL_HOOK,    /* agent.on hooks, agent.state functions, agent.handoff */
    MLUA_CALL_TIMER,   /* agent.after / agent.every callbacks */
    MLUA_CALL_LUV,     /* luv callbacks */
} mlua_call;

/* What the script registered: hooks by event, state functions, the handoff
 * function. Lives in the Lua registry of each lua_State, so a reload
 * replaces it whole. */
#define MLUA_HOOKS_KEY "moonlist.hooks"
#define MLUA_STATE_KEY "moonlist.state"
#define MLUA_HOST_KEY "moonlist.host"
#define MLUA_HANDOFF_KEY "moonlist.handoff"
#define MLUA_MODULE_KEY "moonlist.module"
#define MLUA_LIVE_KEY "moonlist.live"   /* true while the host serves this state */

struct mlua {
    mlua_log_fn log;
    void *log_ud;
    char *lua_path;
    char *script_path;      /* for reload; NULL if loaded from a string */
    char *script_src;       /* the text of the last script that loaded, run again if a reload fails */
    size_t script_len;
    char *self_name;        /* mlua_options.self_name, copied; NULL: not given */
    uint8_t *self_meta;     /* mlua_options.self_meta, copied; NULL: not given */
    size_t self_meta_len;

    lua_State *L;
    uv_loop_t loop;         /* the Lua thread's */
    bool loop_init;
    uv_async_t wake;
    uv_timer_t refresh;     /* republish local state, log suppressed counts: runs only while needed */
    bool refresh_ready;     /* Lua thread: `refresh` may be started */
    uv_check_t publish_check;   /* republish after this loop iteration */
    bool publish_check_init;
    uv_timer_t guard;       /* bounds a reload's loop runs (MLUA_RELOAD_CLOSE_MS) */
    bool guard_fired;
    bool wake_closed;       /* (mu) the thread closed `wake`: no more sends */
    uv_thread_t thread;
    bool started, exited, stopping;
    bool reload_asked;      /* Lua thread: reload once the loop returns */
    bool reloading;         /* Lua thread: events wait in the queue meanwhile */
    uint8_t *inherited;     /* the handed-over value of the reload in progress (mlua_handoff.c) */
    size_t inherited_len;
    bool loading;           /* a script's chunk runs: members answered from load_snap */
    mlua_members_reply *load_snap;   /* owned while a reload's chunk runs; NULL: ourselves only */
    int callback_depth;     /* Lua thread only */
    mlua_timer *timers;     /* agent.after/every of the current state */
    uint64_t next_timer_id;
    mlua_retired *retired;  /* replaced states that did not close in time */
    mlua_backend backend;   /* all NULL: the agent's threads */
    mlua_errkind errkinds[MLUA_ERROR_KINDS];   /* the thread running the script only */

    /* config */
    mlua_setting *settings;
    size_t nsettings;
    bool configured;
    char config_where[256];   /* file:line of the agent.config call */

    uv_mutex_t mu;
    uv_cond_t cond;         /* questions answered, members replies, exit */
    mlua_ev *ev_head, *ev_tail;   /* events, in order */
    mlua_ev *q_head, *q_tail;     /* questions, served before events */
    size_t ev_count;
    uint64_t drop_unlogged;
    mlua_cmd *cmd_head, *cmd_tail;
    uv_async_t *cmd_async;  /* on the protocol loop; NULL until attached */
    mlua_cmd_fn cmd_fn;
    void *cmd_ud;

    /* published ahead by the Lua thread, read by the protocol thread (mu) */
    uint8_t *state_pub[2];  /* [is_join] */
    size_t state_pub_len[2];
    uint8_t *ack_pub;
    size_t ack_pub_len;
    /* protocol thread's copies, valid until its next delegate call */
    uint8_t *state_proto;
    uint8_t *ack_proto;
    char reason_proto[200];

    atomic_bool has_merge_hook, has_alive_hook;
    /* a "ping" hook is registered: without one, the protocol thread does
     * not queue a probe's ack (one a second per agent, for nothing) */
    atomic_bool has_ping_hook;
    atomic_ullong busy_since;   /* ms (uv_hrtime) when the Lua thread entered a callback, 0 when idle */

    char last_error[1024];  /* the last callback error's message, no traceback */

    /* stats (mu) */
    mlua_stats stats;

    /* the protocol thread's, for the serf layer (mlua_serf.c) */
    mlua_query_map *queries;
    size_t nqueries, cap_queries;
    uint64_t asking_token;  /* the token of the query being sent, while serf_node_query runs */
    mlua_own_event own[MLUA_OWN_EVENTS];
    size_t own_next;
    /* the Lua thread's: the next query token (tokens of a replaced script
     * find no callback: never reused) */
    uint64_t next_token;
};

/* mlua_queue.c: the log, the counters */
void mlua_logf(mlua *h, base_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* msg as it is: no buffer on the caller's stack (agent.log) */
void mlua_log(mlua *h, base_log_level level, const char *msg);
void mlua_count(mlua *h, uint64_t *counter);   /* ++*counter (a field of h->stats) under mu */
/* One call into the script that took `us` microseconds: hooks_run, hook_us
 * and the hooks_over_* counts move together, under mu, so that a snapshot
 * always has over_1ms >= over_10ms >= ... (a histogram's buckets). */
void mlua_count_call(mlua *h, uint64_t us);
/* With h->mu held: wait on h->cond until *flag (set under mu by another
 * thread) or timeout_ms passed. Returns *flag, mu still held. */
bool mlua_wait(mlua *h, const bool *flag, unsigned timeout_ms);

/* mlua_errlimit.c: the script's errors, logged at most once per
 * MLUA_ERROR_REPEAT_MS each (on the thread running the script) */
void mlua_error_log(mlua *h, const char *what, const char *msg);
/* Log the counts suppressed over a window now passed; all: every count
 * (the host stops). */
void mlua_errors_flush(mlua *h, bool all);
/* The host's clock in ms: the backend's (virtual) or the monotonic one. */
uint64_t mlua_clock_ms(mlua *h);

/* mlua_queue.c: copies and frees (any thread) */
int mlua_mcopy_from(mlua_mcopy *c, const swim_member *m);
void mlua_mcopy_free(mlua_mcopy *c);
void mlua_ev_free(mlua_ev *e);
void mlua_cmd_free(mlua_cmd *c);
void mlua_question_unref(mlua *h, mlua_question *q);
void mlua_reply_unref(mlua *h, mlua_members_reply *r);
/* queue an event (or question, q_first) and wake the Lua thread */
void mlua_enqueue(mlua *h, mlua_ev *e, bool question);
/* queue a command down and wake the protocol loop (if attached) */
void mlua_command(mlua *h, mlua_cmd *c);
uint64_t mlua_now_ms(void);

/* mlua_module.c: the `moonlist` module in a lua_State */
void mlua_open_module(mlua *h, lua_State *L);
/* call the function under nargs args with a traceback handler; on error
 * count it by kind, log "what failed: message + traceback" (rate limited;
 * a load error only at debug level, the loader reports it), keep the
 * message in h->last_error and return false (stack: nresults or nothing) */
bool mlua_pcall(mlua *h, lua_State *L, int nargs, int nresults, mlua_call kind, const char *what);
/* recompute the cached local state (Lua thread, or the loader); a state
 * without a local_state function publishes none */
void mlua_publish_state(mlua *h, lua_State *L);
/* Start the refresh timer if the script has a local_state to republish or
 * errors wait to have their suppressed count logged (the Lua thread, or
 * before mlua_start; else nothing). */
void mlua_refresh_arm(mlua *h);
void mlua_publish_soon(mlua *h);
void mlua_publish_init(mlua *h);
int mlua_open_luv(lua_State *L);   /* package.preload.luv */
mlua *mlua_host_of(lua_State *L);
/* the Lua thread is inside a callback (or a reload): vetoes are not asked */
void mlua_busy_enter(mlua *h);
void mlua_busy_leave(mlua *h);
int mlua_luv_pcall(lua_State *L, int nargs, int nresults, int flags);   /* luv's callback wrapper */

/* mlua_timer.c: agent.after / agent.every and their handles' :stop() */
int mlua_timer_after(lua_State *L);
int mlua_timer_every(lua_State *L);
int mlua_timer_stop_call(lua_State *L);
void mlua_timers_close_all(mlua *h);
void mlua_timers_close_state(mlua *h, lua_State *L);
bool mlua_timers_of(mlua *h, lua_State *L);   /* a timer of L not freed yet */
bool mlua_is_timer_handle(mlua *h, uv_handle_t *hd);

/* mlua_members.c: agent.members() / agent.self() */
int mlua_members_call(lua_State *L);
int mlua_self_call(lua_State *L);
/* A snapshot from the protocol thread (or the backend), waited for at
 * most MLUA_MEMBERS_WAIT_MS: NULL with err if none came. The caller owns
 * one reference (mlua_reply_unref). */
mlua_members_reply *mlua_members_fetch(mlua *h, char *err, size_t errlen);

/* mlua_tags.c: agent.set_tags as a change the protocol thread merges */
int mlua_tags_call(lua_State *L);
/* Our meta with a MLUA_CMD_SET_META change applied, encoded into out.
 * Returns 0, or -1 with err (the result over 512 bytes, a bad change). */
int mlua_tags_merge(const uint8_t *meta, size_t mlen, const uint8_t *change, size_t clen, wire_buf *out,
                    char *err, size_t errlen);

/* mlua_member.c: Lua values */
/* a member table; an address with ip_len 0 (ourselves before the agent
 * started) gives no addr and no port */
void mlua_push_member(lua_State *L, const mlua_mcopy *m);
void mlua_push_addr(lua_State *L, const swim_addr *a);
void mlua_addr_text(const swim_addr *a, char *buf, size_t len);

/* mlua_handoff.c: agent.handoff -> agent.inherited across a reload */
/* Call old's handoff function (if any) and keep a copy of its value in
 * h->inherited. Returns 0, or -1 with err (nothing kept). */
int mlua_handoff_take(mlua *h, lua_State *old, char *err, size_t errlen);
/* Set agent.inherited in L from h->inherited (nil if none). Returns 0, or
 * -1 (logged). */
int mlua_handoff_give(mlua *h, lua_State *L);
void mlua_handoff_clear(mlua *h);

/* mlua_host.c: the states */
lua_State *mlua_state_new(mlua *h);   /* libraries, luv, the module; NULL: out of memory */
/* L becomes the state the host serves: live, its vetoes and its local
 * state published. */
void mlua_take_over(mlua *h, lua_State *L);
void mlua_set_live(lua_State *L, bool live);

/* mlua_script.c: a script's text into a lua_State */
int mlua_script_read(const char *path, char **src, size_t *len, char *err, size_t errlen);
/* Compile: the chunk is left on top of L. Returns 0 or -1 with err. */
int mlua_script_compile(lua_State *L, const char *chunkname, const char *src, size_t len, char *err, size_t errlen);
/* Run the chunk on top of L with agent.inherited from h->inherited and
 * agent.members() answered from h->load_snap (NULL: ourselves only), then
 * check the agent.config it gave. Returns 0 or -1 with err. */
int mlua_script_run(mlua *h, lua_State *L, char *err, size_t errlen);

/* mlua_close.c: closing a script's lua_State */
void mlua_close_luv(mlua *h, lua_State *L);
/* Close L's timers and luv handles, run the loop until their close
 * callbacks ran and its requests finished (at most MLUA_RELOAD_CLOSE_MS),
 * then close L; if it did not quiet down, L stays open in h->retired. On
 * the thread running the script, outside the loop's uv_run. */
void mlua_state_retire(mlua *h, lua_State *L);
void mlua_retired_close_all(mlua *h);

/* mlua_reload.c: the reload, on the thread running the script, outside
 * the loop's uv_run (see mlua_reload in mlua.h) */
void mlua_reload_run(mlua *h);

/* mlua_config.c */
int mlua_config_call(mlua *h, lua_State *L);   /* agent.config{...} */
void mlua_settings_free(mlua_setting *v, size_t n);

/* mlua_dispatch.c: run one queued item on the Lua thread */
void mlua_dispatch(mlua *h, mlua_ev *e);

/* mlua_serf.c: the serf layer, protocol thread side */
/* Queue an answer for the script's query `token` (MLUA_EVK_ANSWER). */
void mlua_post_answer(mlua *h, uint64_t token, serf_node_event_type type, const char *from, wire_bytes payload,
                      const char *error);
/* Run a MLUA_CMD_EVENT/QUERY/RESPOND/BROADCAST/SEND against a serf node. */
int mlua_serf_apply(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now);
void mlua_serf_free(mlua *h);

/* mlua_serf_api.c: agent.event, agent.query, and the queries' callbacks
 * (Lua thread) */
int mlua_event_call(lua_State *L);
int mlua_query_call(lua_State *L);
/* A script's broadcast as the user event it becomes ("moonlist:" key):
 * raise a Lua error naming fn if it cannot fit in serf's size limit. */
void mlua_check_event_size(lua_State *L, const char *fn, const char *name, size_t nl, const char *payload,
                           size_t plen);
/* The prefix of the serf names a script's broadcast and send travel as. */
#define MLUA_SERF_PREFIX "moonlist:"
#define MLUA_SERF_SEND "moonlist:send"
#define MLUA_QUERIES_KEY "moonlist.queries"   /* registry: token -> callback */
/* Tag filters of one agent.query: serf's CLI takes any number, but every
 * filter rides in the query's 1024 bytes: 32 is past what fits. */
#define MLUA_QUERY_TAGS_MAX 32
/* mlua_queue.c: count an event about to be posted; false if the queue is
 * full (dropped, counted, logged now and then). */
bool mlua_admit_event(mlua *h);

#endif
