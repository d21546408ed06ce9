/* daemon_handlers: serf's event handler scripts (`-event-handler
 * [filter=]script`, agent.config's `event_handlers`).
 *
 * A filter is serf's: a comma-separated list of member-join, member-leave,
 * member-failed, member-update, member-reap, user, user:NAME, query,
 * query:NAME or `*`; none means `*`. A script runs under `/bin/sh -c` with
 * the agent's environment plus serf's (SERF_EVENT, SERF_SELF_NAME,
 * SERF_SELF_ROLE, SERF_TAG_<KEY>), and a member event's members on
 * standard input, one line each: "name<TAB>addr<TAB>role<TAB>k=v,k=v"
 * (tabs and newlines inside escaped as \t and \n), as serf's invoke.go
 * writes them.
 *
 * Scripts run one at a time, in event order, as libuv processes on the
 * protocol loop: the loop never waits for one (it spawns, writes stdin and
 * reads output asynchronously), so a slow script delays only the scripts
 * after it. Events wait in a bounded queue; past it they are dropped,
 * counted and logged. Member events of one type waiting together go to one
 * run, one line each, as serf's coalescing hands them over.
 *
 * A user event runs its scripts with SERF_USER_EVENT and SERF_USER_LTIME
 * and the payload on standard input (a newline added when it has none); a
 * query with SERF_QUERY_NAME and SERF_QUERY_LTIME, and a script that exits
 * 0 having written output answers the query with it (serf's invoke.go),
 * through the respond callback. Each user event and query is its own run.
 * The agent hands over serf's member events (serf_node.h), member-reap
 * included. */
#ifndef MOONLIST_DAEMON_HANDLERS_H
#define MOONLIST_DAEMON_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "swim/swim.h"

/* Events waiting for their scripts at most; past this they are dropped. */
#define DAEMON_HANDLERS_QUEUE_MAX 8192
/* Member lines handed to one run at most. */
#define DAEMON_HANDLERS_BATCH_MAX 1024
/* A script's output (stdout and stderr) kept for the log, as serf's 8 KiB. */
#define DAEMON_HANDLERS_OUTPUT_MAX 8192
/* A script still running after this long is logged as slow (serf's). */
#define DAEMON_HANDLERS_SLOW_MS 1000

/* serf's event types, by their SERF_EVENT names. */
typedef enum daemon_event_kind {
    DAEMON_EV_MEMBER_JOIN,
    DAEMON_EV_MEMBER_LEAVE,
    DAEMON_EV_MEMBER_FAILED,
    DAEMON_EV_MEMBER_UPDATE,
    DAEMON_EV_MEMBER_REAP,
    DAEMON_EV_USER,
    DAEMON_EV_QUERY,
    DAEMON_EV_COUNT,
} daemon_event_kind;

/* "member-join", ..., "user", "query" */
const char *daemon_event_name(daemon_event_kind k);

/* One filter: an event type (or any), and for user and query events a
 * name ("" for any). */
typedef struct daemon_filter {
    bool any;               /* `*` */
    daemon_event_kind kind;
    char *name;             /* user:NAME, query:NAME; NULL otherwise */
} daemon_filter;

/* One `[filter=]script`: the script runs once for an event any of its
 * filters takes. */
typedef struct daemon_handler {
    char *script;
    daemon_filter *filters;
    size_t nfilters;
} daemon_handler;

/* Parse "[filter=]script" as serf does (split at the first '='). Returns 0
 * with *h filled (release with daemon_handler_free), or -1 with a message
 * naming the bad filter in err. */
int daemon_handler_parse(const char *spec, daemon_handler *h, char *err, size_t errlen);
void daemon_handler_free(daemon_handler *h);
/* Whether the handler runs for an event of kind k (name: the user event's
 * or query's name, else NULL). */
bool daemon_handler_matches(const daemon_handler *h, daemon_event_kind k, const char *name);

/* The running side, on the protocol loop. */
typedef struct daemon_handlers daemon_handlers;

/* Our own name and meta at the time a script starts (for SERF_SELF_* and
 * SERF_TAG_*): views valid until the loop runs again. */
typedef void (*daemon_handlers_self_fn)(void *ud, const char **name, const uint8_t **meta, size_t *meta_len);

/* Parse every spec and get ready to run them on `loop`; the environment is
 * read once, here. Returns NULL with a message in err (a bad spec: the
 * options checked them already, so only out of memory in practice). With
 * no specs, returns NULL and err "" : nothing to run. */
daemon_handlers *daemon_handlers_start(uv_loop_t *loop, const char *const *specs, size_t n,
                                       daemon_handlers_self_fn self, void *ud, char *err, size_t errlen);
/* A member event of kind DAEMON_EV_MEMBER_* (copies and queues only: safe
 * from inside the core). */
void daemon_handlers_member(daemon_handlers *hs, daemon_event_kind kind, const swim_member *m);
/* A core member event (join, update, leave: left or failed by its state),
 * as daemon_handlers_member. */
void daemon_handlers_event(daemon_handlers *hs, const swim_event *ev);
/* A user event, a query (copied and queued, as above). */
void daemon_handlers_user(daemon_handlers *hs, wire_bytes name, wire_bytes payload, uint64_t ltime);
void daemon_handlers_query(daemon_handlers *hs, uint64_t query_id, wire_bytes name, wire_bytes payload,
                           uint64_t ltime);
/* Where a query handler's output goes (from the loop, outside any core
 * callback): serf_node_respond with query_id. */
typedef void (*daemon_handlers_respond_fn)(void *ud, uint64_t query_id, const uint8_t *p, size_t n);
void daemon_handlers_set_respond(daemon_handlers *hs, daemon_handlers_respond_fn fn, void *ud);
/* Stop: queued events are dropped, a running script is left to finish on
 * its own (as serf leaves it when it exits) and its handles closed; frees
 * itself once libuv has closed them. NULL is fine. */
void daemon_handlers_close(daemon_handlers *hs);

#endif
