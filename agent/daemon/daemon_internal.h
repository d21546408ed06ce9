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
#include "daemon/daemon_opts.h"
#include "daemon/daemon_rpc_server.h"
#include "daemon/daemon_tags_file.h"
#include "lua/mlua.h"
#include "net/net.h"
#include "serf/serf_intents.h"
#include "serf/serf_leave.h"

typedef struct agent {
    uv_loop_t *loop;
    daemon_opts *o;
    net *net;
    daemon_rpc_server *rpc;
    mlua *lua;                 /* the script's host, NULL without Lua */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t leave_timer;    /* follows the leave's deadline (daemon_leave.c) */
    uv_timer_t intent_timer;   /* sends serf's join intent after a join */
    serf_intents intents;      /* serf's clock, our intents, the relays */
    serf_leave leave;          /* the graceful leave, state by state */
    uv_timer_t relay_timer;    /* broadcasts the queued relays from the loop */
    int signals;
    daemon_rpc_conn *leave_waiters[16];
    size_t nleave_waiters;
    int exit_code;
    bool closing;              /* daemon_close_all has begun */
    uv_timer_t stop_timer;     /* daemon_stop: closes everything from the loop */
    int stop_signal;           /* stopped by this signal without leaving: die of it */
    uv_timer_t retry_timer;    /* the next -retry-join attempt (daemon_retry.c) */
    uint32_t retry_attempts;   /* failed so far */
    daemon_handlers *handlers; /* -event-handler scripts, NULL without */
    daemon_tags_file tags_file;/* -tags-file, written on change */
} agent;

/* daemon_intents.c: serf's join and leave intents (§16) on the loop */
/* Witness and maybe relay a user message that may be a serf intent. */
void daemon_intents_observe(agent *a, const uint8_t *p, size_t n);
/* timer callback: announce our join intent after a join */
void daemon_intents_on_join(uv_timer_t *t);
/* the core's merge_remote_state delegate: learn serf's clock */
void daemon_intents_merge_state(void *ud, const uint8_t *state, size_t len, bool is_join);

/* daemon_leave.c: the graceful leave */
void daemon_leave_begin(agent *a);
/* the leave timer's callback: ticks the leave, shuts down when done */
void daemon_leave_on_timer(uv_timer_t *t);

/* daemon_rpc.c: the control protocol's commands */
void daemon_rpc_serve(void *ud, daemon_rpc_conn *c, const daemon_rpc_request *req);
/* Answer a waiting `leave` request (no error, no body). */
void daemon_rpc_reply_left(daemon_rpc_conn *c);
/* A member event from the core, for the RPC's event streams. */
void daemon_rpc_on_event(agent *a, const swim_event *ev);

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

#endif
