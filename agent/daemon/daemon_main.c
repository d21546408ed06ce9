/* daemon_main: `moonlist agent`. One libuv loop runs the protocol (net +
 * swim core) and the RPC server; the script runs on the Lua thread.
 * Membership changes are logged one line each. Signals as serf's agent:
 * SIGINT starts a graceful leave (daemon_leave.c) unless
 * -skip-leave-on-interrupt, SIGTERM only with -leave-on-terminate;
 * otherwise the agent stops without leaving (the others see it fail) and
 * dies of the signal. `moonlist leave` always leaves. A second signal
 * exits at once. */
#include "daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "base/base_pages.h"
#include "daemon/daemon_internal.h"
#include "daemon/daemon_keyring_file.h"
#include "daemon/daemon_script.h"
#include "daemon/daemon_stats.h"
#include "moonlist_version.h"
#include "wire/wire_crypto_lib.h"

/* At exit, a hook still running gets this long to return. */
#define AGENT_LUA_STOP_MS 2000
/* Code pages are handed back (base_pages.h) once the agent has been quiet
 * this long: no member change and no reload since. 5 s: the start's
 * script load, joins and push/pulls, or a change's hooks, are over by then
 * on a healthy network; code that runs again maps back at its first touch,
 * a minor fault; and a cluster changing every few seconds is walked at
 * most once per quiet spell (docs/footprint.md, "Code pages"). */
#define AGENT_PAGES_RELEASE_MS 5000

static void on_pages_timer(uv_timer_t *t)
{
    (void)t;
    size_t n = base_pages_release_code();
    base_log(BASE_LOG_DEBUG, "%zu KiB of read-only file mappings handed back", n >> 10);
}

/* (Re)starts the quiet spell after which code pages are handed back. */
static void pages_release_later(agent *a)
{
    if (!a->closing)
        uv_timer_start(&a->pages_timer, on_pages_timer, AGENT_PAGES_RELEASE_MS, 0);
}

void daemon_member_line(const swim_member *m, char *buf, size_t len)
{
    char ip[64];
    net_addr_ip_text(&m->addr, ip, sizeof ip);
    snprintf(buf, len, m->addr.ip_len == 16 ? "%s [%s]:%u" : "%s %s:%u", m->name, ip, m->addr.port);
}

static void on_event(void *ud, const swim_event *ev)
{
    agent *a = ud;
    char who[400], other[80];
    /* serf's messages reach scripts as serf's events (daemon_serf.c), never
     * raw; member events as today */
    if (a->lua && ev->type != SWIM_EV_USER)
        mlua_post_event(a->lua, ev);   /* copied and queued: never blocks */
    /* the serf node queues only; its member events go to the RPC streams
     * and the event handlers */
    daemon_serf_on_swim_event(a, ev);
    if (ev->type == SWIM_EV_JOIN || ev->type == SWIM_EV_UPDATE || ev->type == SWIM_EV_LEAVE ||
        ev->type == SWIM_EV_CONFLICT)
        pages_release_later(a);   /* the hooks and the serf layer ran code */
    switch (ev->type) {
    case SWIM_EV_JOIN:
        daemon_member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member join: %s", who);
        break;
    case SWIM_EV_UPDATE:
        daemon_member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member update: %s incarnation %u", who, ev->member.incarnation);
        if (strcmp(ev->member.name, a->o->net.swim.name) == 0)   /* our tags changed */
            daemon_tags_file_changed(&a->tags_file, ev->member.meta, ev->member.meta_len);
        break;
    case SWIM_EV_LEAVE:
        daemon_member_line(&ev->member, who, sizeof who);
        base_log(BASE_LOG_INFO, "member leave (%s): %s", swim_state_name(ev->member.state), who);
        break;
    case SWIM_EV_CONFLICT:
        daemon_member_line(&ev->member, who, sizeof who);
        net_addr_ip_text(&ev->other, other, sizeof other);
        base_log(BASE_LOG_WARN, "member conflict: %s is also claimed by %s:%u", who, other, ev->other.port);
        break;
    case SWIM_EV_LEAVE_DONE:
        /* finish from the loop, not from inside the core */
        if (serf_leave_on_event(&a->leave, ev))
            uv_timer_start(&a->leave_timer, daemon_leave_on_timer, 0, 0);
        break;
    default:
        break;
    }
}

static void on_net_log(void *ud, base_log_level level, const char *msg)
{
    (void)ud;
    base_log(level, "%s", msg);
}

/* The core's delegates, answered by the Lua host without waiting on the
 * Lua thread (see lua/mlua.h for what is waited for and how long); the
 * push/pull state is the serf node's, the script's rides inside it. */
static void d_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    mlua_ack_payload(((agent *)ud)->lua, out, len);
}
static bool d_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    return mlua_allow_merge(((agent *)ud)->lua, peers, n, reason);
}
static bool d_allow_alive(void *ud, const swim_member *m)
{
    return mlua_allow_alive(((agent *)ud)->lua, m);
}

/* A command from the script (agent.broadcast, send, set_tags, leave,
 * members), on this loop. */
static void on_lua_command(void *ud, const mlua_cmd *c)
{
    agent *a = ud;
    if (!a->net)
        return;
    if (c->type == MLUA_CMD_LEAVE) {
        base_log(BASE_LOG_INFO, "leave requested by the script");
        daemon_leave_begin(a);
        return;
    }
    mlua_cmd_apply(a->lua, c, a->sn, net_core(a->net), net_now(a->net));
}

static void on_sighup(uv_signal_t *s, int signum)
{
    agent *a = s->data;
    (void)signum;
    if (a->lua) {
        base_log(BASE_LOG_INFO, "caught SIGHUP: reloading the script");
        mlua_reload(a->lua);
        pages_release_later(a);   /* the new script's load maps the parser again */
    } else
        base_log(BASE_LOG_WARN, "caught SIGHUP: no script to reload");
}

/* A scrape of -metrics-addr, on this loop (daemon_metrics.h). */
static int daemon_metrics_agent_render(void *ud, wire_buf *out)
{
    agent *a = ud;
    if (!a->net)
        return -1;   /* shutting down */
    daemon_stats st;
    daemon_gather_stats(a, &st);
    return daemon_stats_render_prometheus(&st, out);
}

void daemon_gather_stats(agent *a, daemon_stats *out)
{
    daemon_stats_sources src = { net_core(a->net), a->net, a->sn, a->lua, a->rpc };
    daemon_stats_gather(&src, out);
}

void daemon_close_all(agent *a)
{
    if (a->metrics) {
        daemon_metrics_close(a->metrics);
        a->metrics = NULL;
    }
    /* its last clock comes from the serf node, still there */
    daemon_snapshot_close(a->snapshot);
    a->snapshot = NULL;
    daemon_serf_close(a);   /* answers the key queries still waiting */
    a->closing = true;
    daemon_handlers_close(a->handlers);
    a->handlers = NULL;
    if (a->lua)
        mlua_detach(a->lua);
    if (a->rpc)
        daemon_rpc_server_close(a->rpc);
    a->rpc = NULL;
    if (a->net)
        net_close(a->net);
    a->net = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sighup, NULL);
    uv_close((uv_handle_t *)&a->leave_timer, NULL);
    uv_close((uv_handle_t *)&a->intent_timer, NULL);
    uv_close((uv_handle_t *)&a->stop_timer, NULL);
    uv_close((uv_handle_t *)&a->retry_timer, NULL);
    uv_close((uv_handle_t *)&a->pages_timer, NULL);
}

static void on_stop_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (!a->closing)
        daemon_close_all(a);
}

void daemon_stop(agent *a, int exit_code)
{
    if (a->closing)
        return;
    a->exit_code = exit_code;
    uv_timer_start(&a->stop_timer, on_stop_timer, 0, 0);
}


/* serf's handleSignals: SIGINT leaves unless skip_leave_on_interrupt,
 * SIGTERM only with leave_on_terminate; else stop without leaving. */
static void on_signal(uv_signal_t *s, int signum)
{
    agent *a = s->data;
    if (++a->signals > 1) {
        base_log(BASE_LOG_WARN, "second signal (%s): exiting now", strsignal(signum));
        _exit(1);
    }
    bool leave = signum == SIGINT ? !a->o->skip_leave_on_interrupt : a->o->leave_on_terminate;
    if (leave) {
        base_log(BASE_LOG_INFO, "caught %s: leaving gracefully (signal again to exit at once)", strsignal(signum));
        daemon_leave_begin(a);
        return;
    }
    base_log(BASE_LOG_INFO, "caught %s: stopping without leaving (the others will see this node fail; %s)",
             strsignal(signum),
             signum == SIGINT ? "-skip-leave-on-interrupt is set" : "-leave-on-terminate to leave on SIGTERM");
    a->stop_signal = signum;
    daemon_stop(a, 1);
}

/* for the event handlers: our name and meta as they are now */
static void handlers_self(void *ud, const char **name, const uint8_t **meta, size_t *len)
{
    agent *a = ud;
    const swim_config *c = a->net ? swim_get_config(net_core(a->net)) : &a->o->net.swim;
    *name = c->name;
    *meta = c->meta;
    *len = c->meta_len;
}

int daemon_main(int argc, char **argv)
{
    daemon_opts o;
    char err[512];
    if (base_wants_help(argc, argv)) {
        daemon_usage(stdout);
        return 0;
    }
    if (daemon_opts_parse(&o, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist agent: %s\n\n", err);
        daemon_usage(stderr);
        return 2;
    }
    base_log_set_level((int)o.log_level);
    /* one malloc arena for both threads: the Lua thread's mallocs are few
     * (LuaJIT has its own allocator), and a second arena would reserve
     * 64 MiB of address space and keep free pages of its own */
    mallopt(M_ARENA_MAX, 1);
    /* and a heap that gives back its free top: glibc keeps up to 128 KiB
     * free there and grows it by 128 KiB more than asked, when an agent
     * uses about 150 KiB and a compression's 64 KiB table comes and goes
     * (at N = 20: 240 -> 96 KiB resident, for about 4 brk calls a second) */
    mallopt(M_TRIM_THRESHOLD, 32 << 10);
    mallopt(M_TOP_PAD, 4 << 10);
    if (getrandom(&o.net.swim.seed, sizeof o.net.swim.seed, 0) != (ssize_t)sizeof o.net.swim.seed) {
        fprintf(stderr, "moonlist agent: no randomness available\n");
        daemon_opts_free(&o);
        return 1;
    }
    /* a peer closing a stream while we write must not kill the agent */
    signal(SIGPIPE, SIG_IGN);

    agent a = { .loop = uv_default_loop(), .o = &o, .exit_code = 1 };
    /* the script first: its agent.config feeds the options (flags win) */
    if (daemon_script_load(&o, &a.lua, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist agent: %s\n", err);
        daemon_opts_free(&o);
        return 2;
    }
    base_log_set_level((int)o.log_level);
    /* serf's keyring file, as serf's agent loads it (-encrypt and the
     * script's keys refused with it) */
    if (o.keyring_file[0]) {
        if (o.net.keyring.n) {
            fprintf(stderr, "moonlist agent: an encryption key (-encrypt, or the script's encrypt/keyring) cannot "
                            "be used with -keyring-file\n");
            daemon_opts_free(&o);
            mlua_free(a.lua);
            return 2;
        }
        if (daemon_keyring_file_read(o.keyring_file, &o.net.keyring, err, sizeof err) < 0) {
            fprintf(stderr, "moonlist agent: %s\n", err);
            daemon_opts_free(&o);
            mlua_free(a.lua);
            return 1;
        }
        base_log(BASE_LOG_INFO, "restored keyring with %zu keys from %s", o.net.keyring.n, o.keyring_file);
    }
    /* OpenSSL's libcrypto only for encryption, loaded now if there is a
     * key (wire_crypto_lib.h): an agent without one never maps it (1.5 MiB
     * resident, docs/footprint.md), one with a key it cannot encrypt with
     * stops here rather than at its first packet */
    if (o.net.keyring.n && wire_crypto_lib_load(err, sizeof err) < 0) {
        fprintf(stderr, "moonlist agent: encryption needs OpenSSL: %s\n", err);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    /* net encrypts with the keyring the serf node rotates: this one */
    o.net.frame.keyring = &o.net.keyring;
    net_handlers h = { .ud = &a, .event = on_event, .log = on_net_log };
    swim_delegate app = { 0 };
    if (a.lua) {
        app = (swim_delegate){
            .ud = &a,
            .ack_payload = d_ack_payload,
            .allow_merge = d_allow_merge,
            .allow_alive = d_allow_alive,
        };
    }
    /* RPC first: a taken control port should fail before we announce
     * ourselves to anyone (requests are only served once the loop runs,
     * after net is up) */
    a.rpc = daemon_rpc_server_start(a.loop, o.rpc_host, o.rpc_port, o.rpc_auth[0] ? o.rpc_auth : NULL,
                                    daemon_rpc_serve, &a, err, sizeof err);
    if (!a.rpc) {
        base_log(BASE_LOG_ERROR, "cannot start: %s", err);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    if (o.metrics_addr[0] &&
        !(a.metrics = daemon_metrics_start(a.loop, o.metrics_addr, daemon_metrics_agent_render, &a, err, sizeof err))) {
        base_log(BASE_LOG_ERROR, "cannot start: -metrics-addr: %s", err);
        daemon_rpc_server_close(a.rpc);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    if (a.metrics)
        base_log(BASE_LOG_INFO, "metrics on http://%s/metrics", daemon_metrics_addr_text(a.metrics));
    if (o.rejoin && !o.snapshot[0])
        base_log(BASE_LOG_WARN, "-rejoin without -snapshot does nothing");   /* serf warns too */
    /* serf's "Failed to setup snapshot" stops the agent, as the rest */
    if (o.snapshot[0])
        a.snapshot = daemon_snapshot_open(a.loop, o.snapshot, o.rejoin, err, sizeof err);
    /* before the core: our own join is its first event */
    daemon_tags_file_init(&a.tags_file, a.loop, o.tags_file);
    if (a.snapshot || !o.snapshot[0])   /* else err says why it did not open */
        a.handlers = daemon_handlers_start(a.loop, o.event_handlers, o.nevent_handlers, handlers_self, &a, err,
                                           sizeof err);
    /* armed by our own join, the core's first event */
    uv_timer_init(a.loop, &a.pages_timer);
    a.pages_timer.data = &a;
    /* the snapshot's clocks go into the node before any join */
    if ((a.handlers || !err[0]) &&   /* none given, or started */
        daemon_serf_start(&a, a.lua ? &app : NULL, &h.delegate, err, sizeof err) == 0) {
        daemon_snapshot_start(a.snapshot, a.sn);
        a.net = net_start(a.loop, &o.net, &h, err, sizeof err);
    }
    if (!a.net) {
        base_log(BASE_LOG_ERROR, "cannot start: %s", err);
        daemon_snapshot_close(a.snapshot);
        a.snapshot = NULL;
        daemon_handlers_close(a.handlers);
        daemon_rpc_server_close(a.rpc);
        if (a.metrics)
            daemon_metrics_close(a.metrics);
        daemon_serf_close(&a);
        uv_close((uv_handle_t *)&a.pages_timer, NULL);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_serf_free(&a);
        daemon_opts_free(&o);
        mlua_free(a.lua);
        return 1;
    }
    uv_signal_init(a.loop, &a.sighup);
    a.sighup.data = &a;
    uv_signal_start(&a.sighup, on_sighup, SIGHUP);
    /* every handle close_all closes exists from here on */
    uv_timer_init(a.loop, &a.leave_timer);
    a.leave_timer.data = &a;
    uv_timer_init(a.loop, &a.intent_timer);
    a.intent_timer.data = &a;
    uv_timer_init(a.loop, &a.stop_timer);
    a.stop_timer.data = &a;
    uv_timer_init(a.loop, &a.retry_timer);
    a.retry_timer.data = &a;
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    serf_log serf_lines = { .fn = on_net_log };
    serf_leave_init_node(&a.leave, a.sn, serf_lines);
    if (a.lua && (mlua_attach(a.lua, a.loop, on_lua_command, &a) < 0 || mlua_start(a.lua, err, sizeof err) < 0)) {
        base_log(BASE_LOG_ERROR, "cannot start the Lua thread: %s", err);
        mlua_detach(a.lua);
        mlua_free(a.lua);   /* never started */
        a.lua = NULL;
        daemon_close_all(&a);
        uv_run(a.loop, UV_RUN_DEFAULT);
        daemon_serf_free(&a);
        daemon_opts_free(&o);
        return 1;
    }
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);

    base_log(BASE_LOG_INFO, "moonlist agent %s: node '%s', gossip on %s (advertised as %s), RPC on %s:%u, profile %s%s",
            MOONLIST_VERSION, o.net.swim.name, net_bind_text(a.net), net_advertise_text(a.net), o.rpc_host,
            o.rpc_port, o.profile, o.net.keyring.n ? ", encrypted" : "");
    if (a.lua)
        base_log(BASE_LOG_INFO, "config script %s running on the Lua thread", o.config_path);
    daemon_joins_start(&a);
    /* serf rejoins the snapshot's members whether or not -join is given */
    daemon_snapshot_rejoin(a.snapshot, a.net, o.net.swim.name, o.net.swim.seed);

    uv_run(a.loop, UV_RUN_DEFAULT);
    uv_loop_close(a.loop);
    /* a hook stuck for good cannot be stopped: then exit without it */
    if (a.lua && mlua_stop(a.lua, AGENT_LUA_STOP_MS) == 0)
        mlua_free(a.lua);
    daemon_serf_free(&a);
    daemon_tags_file_free(&a.tags_file);
    daemon_opts_free(&o);
    if (a.stop_signal) {
        /* stopped by a signal without leaving: die of it, as a process
         * that does not handle it would (a supervisor sees a clean stop) */
        signal(a.stop_signal, SIG_DFL);
        raise(a.stop_signal);
    }
    return a.exit_code;
}
