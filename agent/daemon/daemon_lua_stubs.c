/* TEMPORARY (removed when main has branch lua): weak stand-ins for the
 * Lua host's serf functions (H4's), so that the agent links before they
 * land; the real ones win once they do. Scripts see no serf events
 * meanwhile, and their push/pull state is not carried. */
#include "daemon/daemon_compat.h"

__attribute__((weak)) void mlua_post_serf_event(mlua *h, const serf_node_event *ev)
{
    (void)h;
    (void)ev;
}

__attribute__((weak)) serf_node_state_delegate mlua_serf_state(mlua *h)
{
    (void)h;
    return (serf_node_state_delegate){ 0 };
}
