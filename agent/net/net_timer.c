#include "net/net_timer.h"

#include "net/net.h"

void net_timer_arm(uv_timer_t *t, uv_timer_cb cb, swim_time at)
{
    if (at == SWIM_NEVER) {
        uv_timer_stop(t);
        return;
    }
    swim_time now = net_now(NULL);
    uv_timer_start(t, cb, at > now ? at - now : 0, 0);
}

void net_timer_rearm_spent(uv_timer_t *t, uv_timer_cb cb, swim_time at)
{
    if (!uv_is_active((uv_handle_t *)t))
        net_timer_arm(t, cb, at);
}
