/* daemon_retry: the joins of serf's agent at start.
 *
 * -join first: if no seed answers, the agent stops with exit code 1 (the
 * error names each seed and why it failed), as serf's does. Then
 * -retry-join: every -retry-interval, a join through all its seeds (names
 * resolved again each time) until one attempt reaches a seed; each
 * failure is logged with the seeds and reasons. After the first attempt
 * and -retry-max retries have failed (0: retry forever), the agent stops
 * with exit code 1, as serf counts them. */
#include <stdio.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"

static void retry_attempt(agent *a);

static bool stopping(const agent *a)
{
    return a->closing || !a->net || serf_leave_active(&a->leave);
}

static void on_retry_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (!stopping(a))
        retry_attempt(a);
}

/* From inside the core (net_join_cb): log, then a timer does the rest. */
static void on_retry_join(void *ud, int joined, const char *err)
{
    agent *a = ud;
    if (stopping(a))
        return;
    const daemon_opts *o = a->o;
    if (joined > 0) {
        base_log(BASE_LOG_INFO, "retry-join: joined through %d seed%s%s%s", joined, joined == 1 ? "" : "s",
                 err ? "; failed: " : "", err ? err : "");
        return;
    }
    a->retry_attempts++;
    if (o->retry_max && a->retry_attempts > o->retry_max) {
        base_log(BASE_LOG_ERROR, "retry-join: giving up after %u attempts: %s", a->retry_attempts,
                 err ? err : "no seed answered");
        daemon_stop(a, 1);
        return;
    }
    char every[32];
    if (o->retry_interval_ms % 1000 == 0)
        snprintf(every, sizeof every, "%us", o->retry_interval_ms / 1000);
    else
        snprintf(every, sizeof every, "%ums", o->retry_interval_ms);
    base_log(BASE_LOG_WARN, "retry-join: join failed (attempt %u): %s; retrying in %s", a->retry_attempts,
             err ? err : "no seed answered", every);
    uv_timer_start(&a->retry_timer, on_retry_timer, o->retry_interval_ms, 0);
}

static void retry_attempt(agent *a)
{
    base_log(BASE_LOG_INFO, "retry-join: joining through %zu address%s", a->o->nretry_join,
             a->o->nretry_join == 1 ? "" : "es");
    if (daemon_join(a, a->o->retry_join, a->o->nretry_join, a->o->replay, on_retry_join, a) < 0) {
        base_log(BASE_LOG_ERROR, "retry-join: out of memory");
        daemon_stop(a, 1);
    }
}

/* From inside the core, as on_retry_join. */
static void on_startup_join(void *ud, int joined, const char *err)
{
    agent *a = ud;
    if (stopping(a))
        return;
    if (joined <= 0) {
        base_log(BASE_LOG_ERROR, "join failed: %s", err ? err : "no seed answered");
        daemon_stop(a, 1);
        return;
    }
    base_log(BASE_LOG_INFO, "join: %d seed%s answered%s%s", joined, joined == 1 ? "" : "s",
             err ? "; failed: " : "", err ? err : "");
    if (a->o->nretry_join)
        uv_timer_start(&a->retry_timer, on_retry_timer, 0, 0);
}

void daemon_joins_start(agent *a)
{
    const daemon_opts *o = a->o;
    if (o->njoin) {
        if (daemon_join(a, o->join, o->njoin, o->replay, on_startup_join, a) < 0) {
            base_log(BASE_LOG_ERROR, "join: out of memory");
            daemon_stop(a, 1);
        }
        return;
    }
    if (o->nretry_join)
        retry_attempt(a);
}
