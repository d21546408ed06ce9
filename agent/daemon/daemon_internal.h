/* daemon_internal: what the files of the running agent share. One agent
 * per process, on the protocol thread's loop; nothing here is called from
 * the Lua thread. */
#ifndef MOONLIST_DAEMON_INTERNAL_H
#define MOONLIST_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/daemon_opts.h"
#include "daemon/daemon_rpc_server.h"
#include "lua/mlua.h"
#include "net/net.h"
#include "serf/serf_intents.h"

/* How long swim_leave may take to gossip our leave, as serf's default
 * LeavePropagateDelay/BroadcastTimeout (5 s). */
#define AGENT_LEAVE_TIMEOUT_MS 5000
/* The leave intent rides on gossip; the memberlist leave must follow it,
 * not overtake it (serf shows a node "left" only if the intent came
 * first). Wait until it has been sent its full retransmit count, but at
 * most this long: serf's BroadcastTimeout (5 s), which bounds its own wait
 * for the same broadcast. */
#define AGENT_INTENT_TIMEOUT_MS 5000
/* How often to look whether the intent is out: a small fraction of the
 * 200 ms (lan) gossip interval, so the leave follows its last send soon. */
#define AGENT_INTENT_POLL_MS 20
/* Hard stop if the core never reports the leave done. */
#define AGENT_LEAVE_GRACE_MS 1000

typedef struct agent {
    uv_loop_t *loop;
    daemon_opts *o;
    net *net;
    daemon_rpc_server *rpc;
    mlua *lua;                 /* the script's host, NULL without Lua */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t leave_timer;
    uv_timer_t intent_timer;   /* sends serf's join intent after a join */
    int leave_phase;           /* 0 running, 1 intent out, 2 swim leaving, 3 done */
    uint64_t intent_deadline;  /* phase 1: swim_leave by then at the latest (loop ms) */
    serf_intents intents;      /* serf's clock, our intents, the relays */
    uv_timer_t relay_timer;    /* broadcasts the queued relays from the loop */
    int signals;
    daemon_rpc_conn *leave_waiters[16];
    size_t nleave_waiters;
    int exit_code;
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
/* the leave timer's callback: polls phase 1, bounds phase 2 */
void daemon_leave_on_timer(uv_timer_t *t);

/* daemon_rpc.c: the control protocol's commands */
void daemon_rpc_request(void *ud, daemon_rpc_conn *c, const uint8_t *req, size_t len);
/* Answer a waiting `leave` request: {"Left": true}. */
void daemon_rpc_reply_left(daemon_rpc_conn *c);

/* daemon_main.c */
void daemon_close_all(agent *a);
/* "name addr:port" (IPv6 in brackets) for log lines */
void daemon_member_line(const swim_member *m, char *buf, size_t len);

#endif
