/* daemon_stats: every number the running agent counts, gathered in one
 * place on the protocol thread, for `moonlist info` and serf's `stats`
 * (daemon_rpc.c) and the Prometheus endpoint (daemon_metrics.h) alike: a
 * counter gathered here is there for each to show.
 *
 * Each source is optional but the core: an agent before its serf node,
 * without a script or without an RPC server leaves that part out (has_*
 * false) instead of showing zeros that look measured. Nothing here may be
 * called from another thread: the core, the serf node and the server are
 * the protocol thread's, and mlua_get_stats is the host's own snapshot. */
#ifndef MOONLIST_DAEMON_STATS_H
#define MOONLIST_DAEMON_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/daemon_rpc_server.h"
#include "lua/mlua.h"
#include "net/net.h"
#include "serf/serf_node.h"
#include "swim/swim.h"
#include "wire/wire_buf.h"

/* Where the numbers come from. Borrowed for the one call. */
typedef struct daemon_stats_sources {
    swim *core;                  /* required */
    const net *net;              /* NULL: no socket counters */
    const serf_node *sn;         /* NULL: no serf layer */
    mlua *lua;                   /* NULL: no script */
    daemon_rpc_server *rpc;      /* NULL: no control port */
} daemon_stats_sources;

/* A copy, so that it can be rendered after the sources moved on. */
typedef struct daemon_stats {
    uint64_t members_total;
    uint64_t members_by_state[4];      /* swim_state: alive, suspect, dead, left */
    int health_score;
    swim_stats swim;
    uint64_t queue_membership, queue_application;   /* broadcasts waiting now */
    bool has_net;
    net_counters net;
    bool has_serf;
    uint64_t serf_members;
    uint64_t serf_by_status[SERF_MEMBER_FAILED + 1];   /* serf_member_status */
    serf_node_clocks serf_clocks;
    serf_node_stats serf;
    bool has_lua;
    mlua_stats lua;
    uint64_t lua_queue_depth;          /* events waiting for the hooks now */
    bool has_rpc;
    daemon_rpc_stats rpc;
} daemon_stats;

void daemon_stats_gather(const daemon_stats_sources *src, daemon_stats *out);

/* Append the Prometheus text exposition (format 0.0.4) of `st` to `out`:
 * a # HELP and # TYPE line per family, counters named *_total, labels for
 * the member status and the message type. Returns 0, or a wire_err when
 * `out` reached its cap (out is then as it was before the call). */
int daemon_stats_render_prometheus(const daemon_stats *st, wire_buf *out);

#endif
