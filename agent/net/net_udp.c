/* net: the UDP socket. Datagrams go through the framing layer to the core
 * one message at a time; the core's packets are framed and sent from the
 * bound socket (peers before memberlist 0.2.0 answer the source port). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "wire/wire_crypto_lib.h"

/* memberlist asks the kernel for 2 MiB socket buffers so bursts of gossip
 * are not dropped; we do the same (the kernel caps it at rmem_max). */
#define NET_UDP_SOCKBUF (2 << 20)

typedef struct udp_ctx {
    net *n;
    swim_addr from;
    swim_time now;
} udp_ctx;

static int on_message(void *arg, const uint8_t *msg, size_t len, const wire_packet_info *info)
{
    (void)info;
    udp_ctx *c = arg;
    swim_handle_packet(c->n->core, c->now, &c->from, msg, len);
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    net_rbuf_lend(h->data, buf);
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *sa, unsigned flags)
{
    net *n = u->data;
    net_rbuf_give_back(n, buf);
    if (nread < 0) {
        net_logf(n, BASE_LOG_WARN, "udp receive error: %s", uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || !sa || n->closing)
        return;   /* nothing read, or a zero-length datagram (nothing to do) */
    udp_ctx c = { .n = n, .now = net_now(n) };
    if (net_swim_from_sockaddr(sa, &c.from) < 0)
        return;
    if (!swim_cidr_allows(n->cfg.swim.allow_cidrs, n->cfg.swim.nallow_cidrs, &c.from)) {
        n->counters.sources_refused++;   /* memberlist's ingestPacket: IPAllowed */
        char a[80];
        net_addr_text(&c.from, a, sizeof a);
        net_log_noisy(n, BASE_LOG_WARN, "packet from %s: outside -allow-cidr, dropped", a);
        return;
    }
    n->counters.packets_in++;
    n->counters.bytes_in += (uint64_t)nread;
    if ((flags & UV_UDP_PARTIAL) || (size_t)nread > 65536) {
        n->counters.malformed_packets++;
        net_malformed(n, "packet", &c.from, WIRE_ELIMIT);
        return;
    }
    int rc = wire_packet_receive(&n->rx, &n->cfg.frame, (const uint8_t *)buf->base, (size_t)nread, on_message, &c);
    if (rc != WIRE_OK) {
        n->counters.malformed_packets++;
        net_malformed(n, "packet", &c.from, rc);
    }
}

int net_udp_start(net *n, const struct sockaddr *bind_sa, char *err, size_t errlen)
{
    int rc = uv_udp_init(n->loop, &n->udp);
    if (rc == 0) {
        n->udp.data = n;
        n->handles_open++;
        rc = uv_udp_bind(&n->udp, bind_sa, 0);
    }
    if (rc == 0) {
        int sz = NET_UDP_SOCKBUF;
        (void)uv_recv_buffer_size((uv_handle_t *)&n->udp, &sz);
        sz = NET_UDP_SOCKBUF;
        (void)uv_send_buffer_size((uv_handle_t *)&n->udp, &sz);
        rc = uv_udp_recv_start(&n->udp, on_alloc, on_recv);
    }
    if (rc != 0) {
        char at[80];
        net_sockaddr_text(bind_sa, at, sizeof at);
        snprintf(err, errlen, "cannot bind UDP %s: %s", at, uv_strerror(rc));
        return -1;
    }
    return 0;
}

typedef struct udp_send_req {
    uv_udp_send_t req;
    net *n;
    swim_addr to;
    uint8_t data[];
} udp_send_req;

static void on_sent(uv_udp_send_t *req, int status)
{
    udp_send_req *r = (udp_send_req *)req;
    if (status < 0) {
        r->n->counters.send_errors++;
        net_logf(r->n, BASE_LOG_DEBUG, "udp send failed: %s", uv_strerror(status));
        if (!r->n->closing)
            net_send_failed(r->n, &r->to);
    }
    free(r);
}

void net_udp_send(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    net *n = ud;
    if (n->closing)
        return;
    uint8_t nonce[12];
    if (wire_frame_encrypts(&n->cfg.frame) && wire_crypto_random(nonce, sizeof nonce) != 0) {
        n->counters.send_errors++;
        net_logf(n, BASE_LOG_ERROR, "no randomness for an encryption nonce: packet not sent");
        return;
    }
    wire_buf_reset(&n->tx);
    wire_bytes m = wire_bytes_of(msg, len);
    int rc = wire_packet_build(&n->tx, &n->cfg.frame, &m, 1, crc, nonce);
    struct sockaddr_storage ss;
    bool unreachable = rc == WIRE_OK && net_sockaddr_from_swim(to, n->udp_v6, &ss) < 0;
    if (unreachable)
        rc = WIRE_ERANGE;
    if (rc != WIRE_OK) {
        n->counters.send_errors++;
        /* e.g. an IPv6 member seen from an IPv4 socket, once per probe */
        net_log_noisy(n, BASE_LOG_INFO, "cannot send a packet: %s", unreachable ? "address family not reachable from our socket" : wire_strerror(rc));
        /* the socket could not take that address: what Go's WriteTo
         * reports as a failed write; a framing error is ours, not the
         * route's, and memberlist gives such a probe up rather than
         * asking others, so only the former is reported */
        if (unreachable)
            net_send_failed(n, to);
        return;
    }
    n->counters.packets_out++;
    n->counters.bytes_out += n->tx.len;
    uv_buf_t b = uv_buf_init((char *)n->tx.data, (unsigned)n->tx.len);
    int sent = uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&ss);
    if (sent >= 0)
        return;
    if (sent != UV_EAGAIN) {
        n->counters.send_errors++;
        net_logf(n, BASE_LOG_DEBUG, "udp send failed: %s", uv_strerror(sent));
        net_send_failed(n, to);
        return;
    }
    /* the socket buffer is full: queue a copy */
    udp_send_req *r = malloc(sizeof *r + n->tx.len);
    if (!r) {
        n->counters.send_errors++;
        return;
    }
    r->n = n;
    r->to = *to;
    memcpy(r->data, n->tx.data, n->tx.len);
    b = uv_buf_init((char *)r->data, (unsigned)n->tx.len);
    rc = uv_udp_send(&r->req, &n->udp, &b, 1, (const struct sockaddr *)&ss, on_sent);
    if (rc < 0) {
        n->counters.send_errors++;
        free(r);
    }
}
