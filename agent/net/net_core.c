/* net: start/stop, the deadline timer, and the core's callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "net/net_timer.h"

void net_logf(net *n, base_log_level level, const char *fmt, ...)
{
    if (!n->h.log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n->h.log(n->h.ud, level, line);
}

/* libuv reads into the buffer right after asking for it, and we are done
 * with it before the next read: one buffer serves every datagram and
 * stream read. */
void net_rbuf_lend(net *n, uv_buf_t *buf)
{
    if (n->rbuf_busy) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    n->rbuf_busy = true;
    buf->base = (char *)n->rbuf;
    buf->len = sizeof n->rbuf;
}

void net_rbuf_give_back(net *n, const uv_buf_t *buf)
{
    if (buf->base == (char *)n->rbuf)
        n->rbuf_busy = false;
}

static bool noisy_allowed(net *n, swim_time now)
{
    if (now - n->noisy_window >= NET_NOISY_WINDOW_MS || n->noisy_window == 0) {
        n->noisy_window = now;
        n->noisy_lines = 0;
    }
    if (n->noisy_lines >= NET_NOISY_LINES) {
        n->noisy_suppressed++;
        return false;
    }
    n->noisy_lines++;
    return true;
}

static void noisy_line(net *n, base_log_level level, const char *line)
{
    if (!n->h.log)
        return;
    if (n->noisy_suppressed) {
        char buf[600];
        snprintf(buf, sizeof buf, "%s (and %llu similar lines suppressed)", line,
                 (unsigned long long)n->noisy_suppressed);
        n->noisy_suppressed = 0;
        n->h.log(n->h.ud, level, buf);
    } else {
        n->h.log(n->h.ud, level, line);
    }
}

void net_log_noisy(net *n, base_log_level level, const char *fmt, ...)
{
    if (!noisy_allowed(n, net_now(n)))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    noisy_line(n, level, line);
}

swim_time net_now(net *n)
{
    (void)n;
    return uv_hrtime() / 1000000u;
}

void net_malformed(net *n, const char *what, const swim_addr *from, int err)
{
    n->malformed_unlogged++;
    swim_time now = net_now(n);
    if (n->malformed_logged && now - n->malformed_logged < NET_MALFORMED_LOG_MS)
        return;
    char a[80];
    net_addr_text(from, a, sizeof a);
    net_logf(n, BASE_LOG_WARN, "dropped %llu malformed %s%s (latest from %s: %s)", (unsigned long long)n->malformed_unlogged,
             what, n->malformed_unlogged == 1 ? "" : "s", a, wire_strerror(err));
    n->malformed_unlogged = 0;
    n->malformed_logged = now;
}

static void on_timer(uv_timer_t *t);

/* When the one timer runs: at the deadline the core last reported, or at
 * once while refused datagrams wait to be reported. */
static swim_time timer_at(const net *n)
{
    return n->nsend_failed ? 0 : n->deadline;
}

static void arm(net *n)
{
    if (n->closing)
        return;
    net_timer_arm(&n->timer, on_timer, timer_at(n));
}

static bool same_addr(const swim_addr *a, const swim_addr *b)
{
    return a->ip_len == b->ip_len && a->port == b->port && memcmp(a->ip, b->ip, a->ip_len) == 0;
}

void net_send_failed(net *n, const swim_addr *to)
{
    for (size_t i = 0; i < n->nsend_failed; i++)
        if (same_addr(&n->send_failed[i], to))
            return;
    if (n->nsend_failed == NET_SEND_FAILED_MAX)
        return; /* a burst: the ones kept are enough */
    n->send_failed[n->nsend_failed++] = *to;
    arm(n);
}

static void on_timer(uv_timer_t *t)
{
    net *n = t->data;
    if (n->closing)
        return;
    /* what failed while the core was sending, told now that it is not;
     * reporting may send (indirect pings) and fail again: those wait for
     * the next run */
    size_t nf = n->nsend_failed;
    swim_addr failed[NET_SEND_FAILED_MAX];
    memcpy(failed, n->send_failed, nf * sizeof *failed);
    n->nsend_failed = 0;
    for (size_t i = 0; i < nf; i++)
        swim_send_failed(n->core, net_now(n), &failed[i]);
    swim_tick(n->core, net_now(n));
    if (!n->closing)
        net_timer_rearm_spent(&n->timer, on_timer, timer_at(n));
}

/* The core's io->deadline: the only place the timer is re-armed. */
static void core_deadline(void *ud, swim_time next)
{
    net *n = ud;
    n->deadline = next;
    arm(n);
}

static void core_event(void *ud, const swim_event *ev)
{
    net *n = ud;
    if (n->h.event)
        n->h.event(n->h.ud, ev);
    if (ev->type == SWIM_EV_JOIN_DONE)
        net_join_done(n, ev->join_id, ev->count);
}

/* The core warns once per message it drops; those come from peers, so
 * they share the noisy-line budget. Debug lines and errors pass as is. */
static void core_log(void *ud, base_log_level level, const char *msg)
{
    net *n = ud;
    if (level == BASE_LOG_WARN && !noisy_allowed(n, net_now(n)))
        return;
    if (level == BASE_LOG_WARN)
        noisy_line(n, level, msg);
    else if (n->h.log)
        n->h.log(n->h.ud, level, msg);
}

swim *net_core(net *n) { return n->core; }
const net_counters *net_get_counters(const net *n) { return &n->counters; }
const char *net_bind_text(const net *n) { return n->bind_text; }
const char *net_advertise_text(const net *n) { return n->adv_text; }

static void free_net(net *n)
{
    wire_packet_rx_free(&n->rx);
    wire_buf_free(&n->tx);
    if (n->core)
        swim_free(n->core);
    net_joins_free(n);
    free(n);
}

void net_handle_close(net *n)
{
    if (--n->handles_open == 0 && n->closing)
        free_net(n);
}

static void on_handle_close(uv_handle_t *h)
{
    net_handle_close(h->data);
}

void net_close(net *n)
{
    if (n->closing)
        return;
    n->closing = true;
    net_joins_free(n);
    net_streams_close_all(n);
    uv_handle_t *hs[] = { (uv_handle_t *)&n->udp, (uv_handle_t *)&n->listener, (uv_handle_t *)&n->timer };
    int open = 0;
    for (size_t i = 0; i < 3; i++) {
        if (hs[i]->data && !uv_is_closing(hs[i])) {
            uv_close(hs[i], on_handle_close);
            open++;
        }
    }
    if (open == 0 && n->handles_open == 0)
        free_net(n);
}

net *net_start(uv_loop_t *loop, const net_config *cfg, const net_handlers *h, char *err, size_t errlen)
{
    net *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->loop = loop;
    n->h = *h;
    n->cfg = *cfg;
    if (!n->cfg.frame.keyring)
        n->cfg.frame.keyring = &n->cfg.keyring;
    /* the operator's cap on one stream message holds whatever form it comes
     * in: plain, compressed (before and after inflating) or encrypted */
    size_t cap = n->cfg.swim.max_stream_bytes;
    if (cap > 0) {
        wire_frame_config *f = &n->cfg.frame;
        f->max_stream_plain = f->max_stream_plain < cap ? f->max_stream_plain : cap;
        f->max_stream_inflate = f->max_stream_inflate < cap ? f->max_stream_inflate : cap;
        f->max_encrypted = f->max_encrypted < cap ? f->max_encrypted : cap;
    }
    wire_packet_rx_init(&n->rx);
    wire_buf_init(&n->tx, 0);

    swim_addr bind;
    if (net_parse_ip(cfg->bind_host, cfg->bind_port, &bind) < 0) {
        snprintf(err, errlen, "bind address '%s' is not an IP address", cfg->bind_host);
        goto fail;
    }
    struct sockaddr_storage ss;
    net_sockaddr_from_swim(&bind, bind.ip_len == 16, &ss);
    n->udp_v6 = bind.ip_len == 16;

    if (uv_timer_init(loop, &n->timer) == 0) {
        n->timer.data = n;
        n->handles_open++;
    }
    if (net_tcp_listen(n, (struct sockaddr *)&ss, err, errlen) < 0)
        goto fail;
    /* with port 0 the kernel chose the TCP port: UDP must share it (§1) */
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&n->listener, (struct sockaddr *)&bound, &blen) != 0 ||
        net_swim_from_sockaddr((struct sockaddr *)&bound, &bind) < 0) {
        snprintf(err, errlen, "cannot read the bound TCP address");
        goto fail;
    }
    if (net_udp_start(n, (struct sockaddr *)&bound, err, errlen) < 0)
        goto fail;
    net_addr_text(&bind, n->bind_text, sizeof n->bind_text);

    char adv_host[256];
    if (cfg->advertise_host[0])
        snprintf(adv_host, sizeof adv_host, "%s", cfg->advertise_host);
    else {
        int drc = net_derive_advertise(cfg->bind_host, adv_host, sizeof adv_host, err, errlen);
        if (drc < 0)
            goto fail;
        if (drc == 1)
            net_logf(n, BASE_LOG_WARN, "no non-loopback address found: advertising %s, reachable from this machine only "
                           "(pass -advertise)", adv_host);
    }
    if (net_parse_ip(adv_host, cfg->advertise_port ? cfg->advertise_port : bind.port, &n->cfg.swim.advertise) < 0) {
        snprintf(err, errlen, "advertise address '%s' is not an IP address", adv_host);
        goto fail;
    }
    net_addr_text(&n->cfg.swim.advertise, n->adv_text, sizeof n->adv_text);
    n->cfg.swim.packet_overhead = (uint32_t)wire_packet_overhead(&n->cfg.frame);

    swim_io io = {
        .ud = n,
        .send_packet = net_udp_send,
        .open_stream = net_stream_open,
        .event = core_event,
        .log = core_log,
        .deadline = core_deadline,
        .delegate = h->delegate,
    };
    n->deadline = SWIM_NEVER;
    n->core = swim_new(&n->cfg.swim, &io, net_now(n));
    if (!n->core) {
        snprintf(err, errlen, "invalid protocol configuration");
        goto fail;
    }
    return n;
fail:
    net_close(n);
    return NULL;
}
