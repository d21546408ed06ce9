/* TEMPORARY (removed when main has branches serf and lua): the interfaces
 * H1 (serf_leave over a serf_node), H2 (serf_node_user_event) and H4 (the
 * Lua host over serf) land at the same time as this branch. */
#ifndef MOONLIST_DAEMON_COMPAT_H
#define MOONLIST_DAEMON_COMPAT_H

#include "lua/mlua.h"
#include "serf/serf_leave.h"
#include "serf/serf_node.h"

void serf_leave_init_node(serf_leave *l, serf_node *node, serf_log log);
void mlua_post_serf_event(mlua *h, const serf_node_event *ev);
serf_node_state_delegate mlua_serf_state(mlua *h);

#endif
