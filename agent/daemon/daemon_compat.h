/* TEMPORARY (removed when main has branch lua): the Lua host over serf
 * (H4) lands at the same time as this branch; daemon_lua_stubs.c stands
 * in until then. */
#ifndef MOONLIST_DAEMON_COMPAT_H
#define MOONLIST_DAEMON_COMPAT_H

#include "lua/mlua.h"
#include "serf/serf_leave.h"
#include "serf/serf_node.h"

void mlua_post_serf_event(mlua *h, const serf_node_event *ev);
serf_node_state_delegate mlua_serf_state(mlua *h);

#endif
