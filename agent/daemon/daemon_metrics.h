/* daemon_metrics: Prometheus metrics over HTTP on -metrics-addr (off by
 * default), served by libmicrohttpd on its own thread.
 *
 * The protocol thread never waits on anyone, so the scrape asks it: the
 * HTTP thread wakes the protocol loop through a uv_async_t, the loop's
 * callback renders the text from the counters it owns (the render
 * callback: daemon_stats_render_prometheus for the agent) into a buffer
 * and hands it over under a mutex; the HTTP thread waits for it at most
 * DAEMON_METRICS_WAIT_MS. A loop stuck longer gets the last rendering with
 * moonlist_metrics_stale 1 (503 if there was none yet); so does a loop
 * whose render says it has nothing (shutting down), at once. Nothing on the
 * HTTP thread touches the core, the serf node or the Lua host.
 *
 * Hooking it into the agent (daemon_opts.h / daemon_opts.c, daemon_main.c,
 * daemon_internal.h; none of it here because those files were another
 * helper's while this one was written; tried on that helper's branch:
 * flag, scrape of a 2-node cluster, a taken port):
 *
 *   daemon_opts.h, in daemon_opts:
 *       char metrics_addr[300];      // -metrics-addr, "" = off
 *   daemon_opts.c: #include "daemon/daemon_metrics.h", and in agent_flags:
 *       { "metrics-addr", BASE_FLAG_STRING, "ADDR", "serve Prometheus metrics over HTTP at host:port (default off)" },
 *   and with the other serf agent flags (a bad address is a flag error):
 *       const char *ma = base_args_str(a, "metrics-addr", "");
 *       if (strlen(ma) >= sizeof o->metrics_addr) {
 *           snprintf(err, errlen, "-metrics-addr: at most %zu bytes", sizeof o->metrics_addr - 1);
 *           return -1;
 *       }
 *       char why[200];
 *       if (ma[0] && daemon_metrics_addr_check(ma, why, sizeof why) < 0) {
 *           snprintf(err, errlen, "-metrics-addr: %s", why);
 *           return -1;
 *       }
 *       snprintf(o->metrics_addr, sizeof o->metrics_addr, "%s", ma);
 *   daemon_internal.h: #include "daemon/daemon_metrics.h", and in agent:
 *       daemon_metrics *metrics;     // -metrics-addr, NULL when off
 *   daemon_main.c: #include "daemon/daemon_stats.h", and
 *       static int daemon_metrics_agent_render(void *ud, wire_buf *out)
 *       {
 *           agent *a = ud;
 *           if (!a->net)
 *               return -1;   // shutting down
 *           daemon_stats st;
 *           daemon_stats_sources src = { net_core(a->net), a->net, a->sn, a->lua, a->rpc };
 *           daemon_stats_gather(&src, &st);
 *           return daemon_stats_render_prometheus(&st, out);
 *       }
 *   first thing in daemon_close_all:
 *       if (a->metrics) {
 *           daemon_metrics_close(a->metrics);
 *           a->metrics = NULL;
 *       }
 *   in daemon_main right after the RPC server started (a control port too):
 *       if (o.metrics_addr[0] &&
 *           !(a.metrics = daemon_metrics_start(a.loop, o.metrics_addr, daemon_metrics_agent_render, &a, err,
 *                                              sizeof err))) {
 *           base_log(BASE_LOG_ERROR, "cannot start: -metrics-addr: %s", err);
 *           daemon_rpc_server_close(a.rpc);
 *           uv_run(a.loop, UV_RUN_DEFAULT);
 *           daemon_opts_free(&o);
 *           mlua_free(a.lua);
 *           return 1;
 *       }
 *       if (a.metrics)
 *           base_log(BASE_LOG_INFO, "metrics on http://%s/metrics", daemon_metrics_addr_text(a.metrics));
 *   and in the "cannot start" path after net_start failed, beside
 *   daemon_rpc_server_close(a.rpc):
 *       if (a.metrics)
 *           daemon_metrics_close(a.metrics);
 */
#ifndef MOONLIST_DAEMON_METRICS_H
#define MOONLIST_DAEMON_METRICS_H

#include <stddef.h>
#include <uv.h>

#include "wire/wire_buf.h"

/* How long a scrape waits for the protocol loop: Prometheus' default
 * scrape timeout is 10 s, and a loop that has not answered in one second
 * is stuck (its own timers are tens of milliseconds), so the scraper gets
 * the last numbers, marked stale, well before it gives up. */
#define DAEMON_METRICS_WAIT_MS 1000
/* Concurrent HTTP connections: a few scrapers, never a flood of them
 * (each waits on the same one rendering). */
#define DAEMON_METRICS_MAX_CONNS 16
/* An idle HTTP connection is closed after this many seconds. */
#define DAEMON_METRICS_IDLE_S 30
/* Cap on one rendering: the agent's is a few kilobytes. */
#define DAEMON_METRICS_MAX_TEXT ((size_t)1 << 20)

/* Write the exposition into `out` (appending), on the protocol loop.
 * 0, or anything else when there is nothing to say (the agent is
 * shutting down): the scrape then gets the last rendering, stale. */
typedef int (*daemon_metrics_render_fn)(void *ud, wire_buf *out);

typedef struct daemon_metrics daemon_metrics;

/* 0 if addr is one daemon_metrics_start takes (an IP literal and a
 * port), else -1 with a sentence in err: for the flag's check. */
int daemon_metrics_addr_check(const char *addr, char *err, size_t errlen);

/* Serve GET /metrics on addr ("host:port", "[v6]:port"; an IP literal,
 * port 0 picks one). NULL with a sentence in err if the address is bad
 * or the port cannot be bound. Ownership: the caller's, released by
 * daemon_metrics_close; loop must outlive it. */
daemon_metrics *daemon_metrics_start(uv_loop_t *loop, const char *addr, daemon_metrics_render_fn render, void *ud,
                                     char *err, size_t errlen);
/* Stop serving (waits for the HTTP thread, whose scrapes in flight are
 * released at once) and free once the loop has closed the async handle:
 * keep running the loop. No render call after this returns. */
void daemon_metrics_close(daemon_metrics *m);
/* "127.0.0.1:9100", with the port actually bound. */
const char *daemon_metrics_addr_text(const daemon_metrics *m);

#endif
