/* net: the libuv side of an agent. One loop (the protocol thread's), one
 * UDP socket and one TCP listener on the same address and port, outgoing
 * streams, and one timer armed at the core's next deadline.
 *
 * net translates between sockets and the swim core, nothing more:
 *   datagram -> wire_packet_receive -> swim_handle_packet per message
 *   swim send_packet -> wire_packet_build -> uv_udp_send (from the bound socket)
 *   inbound stream -> wire_stream_reader -> swim_handle_stream -> reply
 *   swim open_stream -> connect, frame, write, read one reply -> swim_stream_done
 * Every stream has deadlines: per phase (connect, write, read) as the core
 * asks (swim_stream_req), TCPTimeout to read an inbound request and another
 * to write the reply; inbound push/pulls are capped at
 * NET_MAX_INBOUND_PUSH_PULLS.
 *
 * Threading: everything here runs on the loop's thread. The core may be
 * called directly (net_core()) from that thread, outside its callbacks:
 * the timer follows the core's deadline by itself (io->deadline), so
 * nothing has to be re-armed afterwards. */
#ifndef MOONLIST_NET_H
#define MOONLIST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "swim/swim.h"
#include "wire/wire_frame.h"
#include "wire/wire_keyring.h"

/* memberlist's default gossip port (§1, §13) */
#define NET_DEFAULT_PORT 7946
/* memberlist's maxPushPullRequests (§6.1): handleConn drops an inbound
 * push/pull, once its type is read, when this many (itself included) would
 * be running. Nothing else is capped: an idle connection holds a socket
 * only until its read deadline (TCPTimeout). */
#define NET_MAX_INBOUND_PUSH_PULLS 128

typedef struct net_config {
    char bind_host[256];       /* IP literal; "0.0.0.0" or "::" for any */
    uint16_t bind_port;        /* 0: any free port (UDP gets the TCP one) */
    char advertise_host[256];  /* IP literal; "" derives it (see net_start) */
    uint16_t advertise_port;   /* 0: the bound port */
    swim_config swim;          /* name, meta, vsn, timings; advertise and
                                  packet_overhead are filled by net_start */
    wire_keyring keyring;      /* n == 0: no encryption; unused when
                                  frame.keyring is set */
    wire_frame_config frame;   /* compress, label, limits. frame.keyring
                                  NULL: net_start points it at its own copy
                                  of `keyring`. Non-NULL: the caller's
                                  keyring, used for every packet and stream
                                  as it is then (serf's key rotation changes
                                  it between packets, serf_node.h); it must
                                  outlive the net */
} net_config;

typedef struct net_handlers {
    void *ud;
    /* A core event. Called from inside the core: must not call into it
     * (queue instead); the member view dies when it returns. */
    void (*event)(void *ud, const swim_event *ev);
    /* A log line. */
    void (*log)(void *ud, base_log_level level, const char *msg);
    /* The core's delegates, handed to it as they are (swim.h: synchronous,
     * no calls back into the core). */
    swim_delegate delegate;
} net_handlers;

typedef struct net_counters {
    uint64_t packets_in, packets_out;
    uint64_t bytes_in, bytes_out;     /* UDP datagrams as on the wire (framed) */
    uint64_t malformed_packets;      /* dropped by the framing layer */
    uint64_t send_errors;
    uint64_t streams_in, streams_out;
    uint64_t streams_rejected;       /* push/pulls over NET_MAX_INBOUND_PUSH_PULLS */
    uint64_t stream_errors;          /* malformed, timed out, reset */
    uint64_t sources_refused;        /* packets and streams from outside -allow-cidr */
    uint64_t streams_too_large;      /* refused at max_stream_bytes (also in stream_errors) */
} net_counters;

typedef struct net net;

/* Bind the sockets, create the core and start serving. The advertise
 * address is cfg->advertise_host if set, else the bind address, else (bind
 * to 0.0.0.0 or ::) the first non-loopback address of that family. Returns
 * NULL with a message in err on failure. Ownership: the net is the
 * caller's; net_close() starts its teardown. */
net *net_start(uv_loop_t *loop, const net_config *cfg, const net_handlers *h, char *err, size_t errlen);
/* Close every handle; the net frees itself once libuv has closed them
 * (keep running the loop). The core is freed too. */
void net_close(net *n);

swim *net_core(net *n);
/* The loop's clock for the core (monotonic milliseconds); n may be NULL
 * (the same clock before net_start, for what is created first). */
swim_time net_now(net *n);
const net_counters *net_get_counters(const net *n);
/* The bound and advertised addresses as text ("127.0.0.1:7946", "[::1]:7946"). */
const char *net_bind_text(const net *n);
const char *net_advertise_text(const net *n);

/* Join through seeds given as "host", "host:port", "[v6]:port" (DNS names
 * allowed, default port 7946). Names resolve with uv_getaddrinfo; every
 * address found becomes a seed. `done` gets the number of seeds that
 * answered (0: the join failed) and, if some could not be resolved, a
 * message; it runs from inside the core (see net_handlers.event). */
typedef void (*net_join_cb)(void *ud, int joined, const char *err);
int net_join(net *n, const char *const *addrs, size_t naddrs, net_join_cb done, void *ud);

/* Format a swim_addr as text without port ("10.0.0.1", "::1"). */
void net_addr_ip_text(const swim_addr *a, char *buf, size_t len);
/* Parse "host", "host:port", "[v6]:port" into host and port (def_port if
 * absent). Returns 0 or -1. */
int net_split_host_port(const char *s, char *host, size_t hostlen, uint16_t *port, uint16_t def_port);
/* An IP literal (v4 or v6) to swim_addr; -1 if not a literal. */
int net_parse_ip(const char *host, uint16_t port, swim_addr *out);

#endif
