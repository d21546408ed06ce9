/* net internals shared by the net_*.c files; not for other modules. */
#ifndef MOONLIST_NET_INTERNAL_H
#define MOONLIST_NET_INTERNAL_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "net/net.h"
#include "wire/wire_buf.h"
#include "wire/wire_packet.h"
#include "wire/wire_stream.h"

/* memberlist reads datagrams into a 64 KiB buffer (§1); one byte more lets
 * us tell a datagram of exactly 65536 bytes from a truncated one. */
#define NET_UDP_RECV_MAX 65537
/* Malformed input is logged at most once per this many milliseconds, so a
 * flood of junk cannot flood the log too. */
#define NET_MALFORMED_LOG_MS 10000

/* Datagrams the socket refused, kept for swim_send_failed until the timer
 * runs (the core cannot be called back from its send callback). One probe
 * runs at a time and only its ping matters; room for a few more covers a
 * burst of gossip failing alongside it. */
#define NET_SEND_FAILED_MAX 16

/* Lines caused by what peers send (malformed input, floods, stream
 * failures) share this budget: at most NET_NOISY_LINES per
 * NET_NOISY_WINDOW_MS, the rest are counted and reported with the next
 * allowed line, so hostile traffic cannot flood the log. */
#define NET_NOISY_LINES 10
#define NET_NOISY_WINDOW_MS 10000

typedef struct net_join_job net_join_job;
typedef struct net_conn net_conn;

struct net {
    uv_loop_t *loop;
    net_handlers h;
    net_config cfg;            /* cfg.frame.keyring: the caller's, or cfg.keyring */
    swim *core;

    uv_udp_t udp;
    uv_tcp_t listener;
    uv_timer_t timer;          /* armed at `deadline` by io->deadline */
    swim_time deadline;        /* the core's, as last reported */
    int handles_open;          /* closed by net_close; free at 0 */
    bool closing;
    bool udp_v6;               /* the UDP socket is IPv6 (maybe dual-stack) */

    wire_packet_rx rx;
    wire_buf tx;               /* reused for every datagram we build */
    uint8_t rbuf[NET_UDP_RECV_MAX];
    bool rbuf_busy;

    swim_addr send_failed[NET_SEND_FAILED_MAX];   /* for swim_send_failed, deduplicated */
    size_t nsend_failed;

    net_counters counters;
    int pushpulls_in;          /* inbound push/pulls being served */
    net_conn *conns;           /* every open stream, for teardown */

    net_join_job *joins;       /* waiting for SWIM_EV_JOIN_DONE, by join id */
    net_join_job *join_starting;  /* inside swim_join: its id is not known yet */

    swim_time malformed_logged;
    uint64_t malformed_unlogged;
    swim_time noisy_window;       /* start of the current window */
    unsigned noisy_lines;         /* lines logged in it */
    uint64_t noisy_suppressed;    /* lines dropped since the last one logged */

    char bind_text[80];
    char adv_text[80];
};

/* net_addr.c */
int net_sockaddr_from_swim(const swim_addr *a, bool v6_socket, struct sockaddr_storage *ss);
int net_swim_from_sockaddr(const struct sockaddr *sa, swim_addr *out);
void net_addr_text(const swim_addr *a, char *buf, size_t len);
/* "?" when sa is neither IPv4 nor IPv6: for error messages */
void net_sockaddr_text(const struct sockaddr *sa, char *buf, size_t len);
int net_derive_advertise(const char *bind_host, char *out, size_t len, char *err, size_t errlen);

/* net_core.c */
void net_logf(net *n, base_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* net_logf under the shared noisy-line budget. */
void net_log_noisy(net *n, base_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void net_malformed(net *n, const char *what, const swim_addr *from, int err);
void net_handle_close(net *n);   /* one of net's own handles closed */
/* A datagram to `to` was refused by the socket: the core hears it from the
 * timer, at once but outside the call that is sending. */
void net_send_failed(net *n, const swim_addr *to);
/* libuv alloc callbacks for UDP and streams: lend n->rbuf, or an empty
 * buffer while it is lent; the read callback gives it back first thing. */
void net_rbuf_lend(net *n, uv_buf_t *buf);
void net_rbuf_give_back(net *n, const uv_buf_t *buf);

/* net_udp.c */
int net_udp_start(net *n, const struct sockaddr *bind_sa, char *err, size_t errlen);
void net_udp_send(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc);

/* net_stream.c */
int net_tcp_listen(net *n, const struct sockaddr *bind_sa, char *err, size_t errlen);
void net_stream_open(void *ud, const swim_stream_req *req);
void net_streams_close_all(net *n);

/* net_join.c */
/* The core's SWIM_EV_JOIN_DONE: the caller of that join hears back. */
void net_join_done(net *n, uint64_t join_id, int count);
/* An outbound stream to `to` failed: a waiting join keeps why, for its
 * error (copied). */
void net_join_stream_failed(net *n, const swim_addr *to, const char *why);
void net_joins_free(net *n);

#endif
