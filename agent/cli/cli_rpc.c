#include "cli/cli_rpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire/wire_mp.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = ev };
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int write_all(int fd, const uint8_t *p, size_t n, long long deadline)
{
    while (n) {
        if (wait_fd(fd, POLLOUT, deadline) < 0)
            return -1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* More bytes into c->in: 0, or -1 (closed, timed out, or an answer over
 * DAEMON_RPC_MAX_REPLY). */
static int fill(cli_rpc *c)
{
    if (wire_buf_reserve(&c->in, 65536) != 0)
        return -1;
    for (;;) {
        if (wait_fd(c->fd, POLLIN, c->deadline) < 0)
            return -1;
        ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return -1;
        c->in.len += (size_t)r;
        return 0;
    }
}

/* The next item in the input: a response header (body false) or a body. */
static daemon_rpc_parse next_item(cli_rpc *c, bool body, uint64_t *seq, wire_bytes *error, size_t *used)
{
    for (;;) {
        const uint8_t *p = c->in.data + c->taken;
        size_t n = c->in.len - c->taken;
        daemon_rpc_parse pr = body ? daemon_rpc_value_len(p, n, used)
                                   : daemon_rpc_decode_response_header(p, n, seq, error, used);
        if (pr != DAEMON_RPC_PARTIAL || fill(c) < 0)
            return pr;
    }
}

int cli_rpc_call(cli_rpc *c, daemon_rpc_cmd command, const uint8_t *body, size_t len, wire_bytes *resp, char *err,
                 size_t errlen)
{
    *resp = (wire_bytes){ (const uint8_t *)"", 0 };
    /* what earlier calls handed out is no longer needed */
    memmove(c->in.data, c->in.data + c->taken, c->in.len - c->taken);
    c->in.len -= c->taken;
    c->taken = 0;

    uint64_t seq = ++c->seq;
    wire_buf req;
    wire_mp_writer w;
    wire_buf_init(&req, 0);
    wire_mp_writer_init(&w, &req);
    daemon_rpc_put_request_header(&w, daemon_rpc_cmd_name(command), seq);
    wire_mp_put(&w, body, len);
    int rc = wire_mp_finish(&w);
    if (rc == WIRE_OK && write_all(c->fd, req.data, req.len, c->deadline) < 0)
        rc = -1;
    wire_buf_free(&req);
    if (rc != WIRE_OK) {
        snprintf(err, errlen, "cannot send the request to the agent");
        return -1;
    }

    uint64_t rseq;
    wire_bytes e;
    size_t used;
    daemon_rpc_parse pr = next_item(c, false, &rseq, &e, &used);
    if (pr != DAEMON_RPC_OK || rseq != seq) {
        snprintf(err, errlen, pr == DAEMON_RPC_PARTIAL ? "no answer from the agent" : "malformed answer from the agent");
        return -1;
    }
    c->taken += used;
    /* copied now: reading the body may move the buffer */
    char error[512];
    snprintf(error, sizeof error, "%.*s", (int)e.n, (const char *)e.p);
    if (daemon_rpc_cmd_replies_body(command) && strcmp(error, DAEMON_RPC_E_AUTH_REQUIRED) != 0) {
        pr = next_item(c, true, NULL, NULL, &used);
        if (pr == DAEMON_RPC_OK) {
            *resp = (wire_bytes){ c->in.data + c->taken, used };
            c->taken += used;
        } else if (!error[0]) {   /* after an error the agent may close instead */
            snprintf(err, errlen, pr == DAEMON_RPC_PARTIAL ? "truncated answer from the agent"
                                                           : "malformed answer from the agent");
            return -1;
        }
    }
    if (error[0]) {
        snprintf(err, errlen, "%s", error);
        return 1;
    }
    return 0;
}

int cli_rpc_record(cli_rpc *c, uint64_t seq, wire_bytes *rec, char *err, size_t errlen)
{
    memmove(c->in.data, c->in.data + c->taken, c->in.len - c->taken);
    c->in.len -= c->taken;
    c->taken = 0;
    for (;;) {
        uint64_t rseq;
        wire_bytes e;
        size_t used;
        daemon_rpc_parse pr = next_item(c, false, &rseq, &e, &used);
        if (pr != DAEMON_RPC_OK) {
            snprintf(err, errlen, pr == DAEMON_RPC_PARTIAL ? "no more answers from the agent"
                                                           : "malformed answer from the agent");
            return -1;
        }
        c->taken += used;
        char error[512];
        snprintf(error, sizeof error, "%.*s", (int)e.n, (const char *)e.p);
        pr = next_item(c, true, NULL, NULL, &used);
        if (pr != DAEMON_RPC_OK) {
            snprintf(err, errlen, "truncated record from the agent");
            return -1;
        }
        *rec = (wire_bytes){ c->in.data + c->taken, used };
        c->taken += used;
        if (rseq != seq)   /* another stream's record: not ours */
            continue;
        if (error[0]) {
            snprintf(err, errlen, "%s", error);
            return 1;
        }
        return 0;
    }
}

void cli_rpc_set_timeout(cli_rpc *c, int timeout_ms)
{
    c->deadline = mono_ms() + timeout_ms;
}

int cli_rpc_open(cli_rpc *c, const char *host, uint16_t port, const char *auth_key, int timeout_ms, char *err,
                 size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    wire_buf_init(&c->in, DAEMON_RPC_MAX_REPLY + 65536);
    if (wire_buf_reserve(&c->in, 65536) != 0) {   /* never NULL from here on */
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char ports[8];
    snprintf(ports, sizeof ports, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int grc = getaddrinfo(host, ports, &hints, &res);
    if (grc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(grc));
        return -1;
    }
    c->deadline = mono_ms() + timeout_ms;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(c->fd);
            c->fd = -1;
        }
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(err, errlen, "cannot connect to the agent at %s:%u: %s (is it running? see -rpc-addr)", host, port,
                 strerror(errno));
        cli_rpc_close(c);
        return -1;
    }
    /* {Version: 1}, then {AuthKey: key} */
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container m;
    wire_bytes resp;
    char why[400];
    wire_buf_init(&b, 0);
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &m);
    wire_mp_pack_cstr(&w, "Version");
    wire_mp_pack_uint(&w, DAEMON_RPC_VERSION);
    wire_mp_map_end(&w, &m);
    int rc = wire_mp_finish(&w) == WIRE_OK ? cli_rpc_call(c, DAEMON_RPC_CMD_HANDSHAKE, b.data, b.len, &resp, why,
                                                          sizeof why) : -1;
    if (rc == 0 && auth_key && auth_key[0]) {
        wire_buf_reset(&b);
        wire_mp_writer_init(&w, &b);
        wire_mp_map_begin(&w, &m);
        wire_mp_pack_cstr(&w, "AuthKey");
        wire_mp_pack_cstr(&w, auth_key);
        wire_mp_map_end(&w, &m);
        rc = wire_mp_finish(&w) == WIRE_OK ? cli_rpc_call(c, DAEMON_RPC_CMD_AUTH, b.data, b.len, &resp, why,
                                                          sizeof why) : -1;
    }
    wire_buf_free(&b);
    if (rc != 0) {
        snprintf(err, errlen, "%s with the agent at %s:%u: %s", c->seq > 1 ? "auth" : "handshake", host, port,
                 rc < 0 && c->seq == 0 ? "cannot build the request" : why);
        cli_rpc_close(c);
        return -1;
    }
    return 0;
}

void cli_rpc_close(cli_rpc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    wire_buf_free(&c->in);
}
