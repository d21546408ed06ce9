/* daemon_internal: what the files of the running agent share. One agent
 * per process, on the protocol thread's loop; nothing here is called from
 * the Lua thread. */
#ifndef MOONLIST_DAEMON_INTERNAL_H
#define MOONLIST_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/daemon_handlers.h"
#include "daemon/daemon_metrics.h"
#include "daemon/daemon_opts.h"
#include "daemon/daemon_rpc_server.h"
#include "daemon/daemon_snapshot.h"
#include "daemon/daemon_stats.h"
#include "daemon/daemon_tags_file.h"
#include "lua/mlua.h"
#include "net/net.h"
#include "serf/serf_keys.h"
#include "serf/serf_leave.h"
#include "serf/serf_node.h"

/* Key queries (`keys`) waiting for their answers at once: an operator
 * runs one at a time; a few more cover scripts racing. */
#define DAEMON_KEY_OPS 8
/* Answers to our own queries waiting for the loop (daemon_serf.c): a
 * query's acks and responses are one per node; past this many waiting
 * (a burst the loop has not reached yet) they are dropped and logged. */
#define DAEMON_ANSWERS_MAX 65536

/* A key query (install-key ... list-keys) waiting for its answers; its
 * RPC request stays pending until then. */
typedef struct daemon_key_op {
    bool used;
    uint64_t query_id;
    daemon_rpc_conn *c;
    daemon_rpc_cmd cmd;
    serf_keys_tally tally;
} daemon_key_op;

/* An answer to one of our queries, copied for the loop. */
typedef struct daemon_answer {
    struct daemon_answer *next;
    serf_node_event_type type;   /* QUERY_ACK, QUERY_RESPONSE, QUERY_DONE */
    uint64_t query_id;
    char *from;                  /* owned; NULL for DONE */
    size_t len;
    uint8_t payload[];
} daemon_answer;

typedef struct agent {
    uv_loop_t *loop;
    daemon_opts *o;
    net *net;
    daemon_rpc_server *rpc;
    daemon_metrics *metrics;   /* -metrics-addr, NULL when off */
    mlua *lua;                 /* the script's host, NULL without Lua */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t leave_timer;    /* follows the leave's deadline (daemon_leave.c) */
    uv_timer_t intent_timer;   /* serf_node_joined after a join, from the loop */
    serf_node *sn;             /* the serf peer over the core (daemon_serf.c) */
    uv_timer_t serf_timer;     /* follows the serf node's deadline */
    bool serf_open;            /* serf_timer and answers_timer not closed yet */
    serf_leave leave;          /* the graceful leave, state by state */
    daemon_answer *answers, *answers_tail;   /* for answers_timer */
    size_t nanswers;
    uint64_t answers_dropped;
    uv_timer_t answers_timer;  /* hands our queries' answers on from the loop */
    daemon_key_op key_ops[DAEMON_KEY_OPS];
    int signals;
    daemon_rpc_conn *leave_waiters[16];
    size_t nleave_waiters;
    int exit_code;
    bool closing;              /* daemon_close_all has begun */
    uv_timer_t stop_timer;     /* daemon_stop: closes everything from the loop */
    int stop_signal;           /* stopped by this signal without leaving: die of it */
    uv_timer_t retry_timer;    /* the next -retry-join attempt (daemon_retry.c) */
    uint32_t retry_attempts;   /* failed so far */
    uv_timer_t pages_timer;    /* hands code pages back when quiet (base_pages.h) */
    daemon_handlers *handlers; /* -event-handler scripts, NULL without */
    daemon_tags_file tags_file;/* -tags-file, written on change */
    daemon_snapshot *snapshot; /* -snapshot, NULL without */
} agent;

/* daemon_serf.c: the serf node on the loop */
/* Create the node (before net_start: its delegates are the core's) and
 * its timers; *delegate gets the core's delegates, `app`'s wrapped. 0, or
 * -1 with a message in err. */
int daemon_serf_start(agent *a, const swim_delegate *app, swim_delegate *delegate, char *err, size_t errlen);
/* A core event for the node (from inside the core: it queues). */
void daemon_serf_on_swim_event(agent *a, const swim_event *ev);
/* timer callback: our join intent after a join that reached someone */
void daemon_serf_on_joined(uv_timer_t *t);
/* serf's Join through seeds: its replay choice (serf_node_joining
 * first), and our join intent once a seed answered. net_join's result. */
int daemon_join(agent *a, const char *const *addrs, size_t n, bool replay, net_join_cb done, void *ud);
/* After the loop ended: the node and what waits for it. */
void daemon_serf_free(agent *a);
/* The handles daemon_serf_start opened, for daemon_close_all. */
void daemon_serf_close(agent *a);
/* Start a key query for a pending RPC request (install-key, use-key,
 * remove-key, list-keys): the reply goes out when every node answered or
 * the query is done. */
void daemon_serf_key_query(agent *a, daemon_rpc_conn *c, daemon_rpc_cmd cmd, wire_bytes key_b64);

/* daemon_leave.c: the graceful leave */
void daemon_leave_begin(agent *a);
/* the leave timer's callback: ticks the leave, shuts down when done */
void daemon_leave_on_timer(uv_timer_t *t);

/* daemon_rpc_serf.c: serf's event, query, respond and key commands */
void daemon_rpc_event(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req);
void daemon_rpc_query(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req);
void daemon_rpc_respond(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req);
void daemon_rpc_keys(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req);

/* daemon_rpc.c: the control protocol's commands */
void daemon_rpc_serve(void *ud, daemon_rpc_conn *c, const daemon_rpc_request *req);
/* Answer a waiting `leave` request (no error, no body). */
void daemon_rpc_reply_left(daemon_rpc_conn *c);
/* A serf event (members, user events, queries) for the RPC's streams. */
void daemon_rpc_on_serf_event(agent *a, const serf_node_event *ev);
/* A serf member as a swim_member view (name, address, meta, versions;
 * state from its serf status), for the codec. */
swim_member daemon_member_of(const serf_node_member *m);

/* daemon_retry.c: -join at start (the agent stops if it fails), then
 * -retry-join until a join succeeds */
void daemon_joins_start(agent *a);

/* daemon_main.c */
void daemon_close_all(agent *a);
/* Stop without leaving, with this exit code: everything closes from the
 * loop (safe from inside the core). */
void daemon_stop(agent *a, int exit_code);
/* "name addr:port" (IPv6 in brackets) for log lines */
void daemon_member_line(const swim_member *m, char *buf, size_t len);
/* Every counter of the agent, from each part it has running, into *out:
 * what the metrics endpoint, `info` and serf's `stats` all show, so that
 * a counter added to daemon_stats shows in all three. */
void daemon_gather_stats(agent *a, daemon_stats *out);

#endif
