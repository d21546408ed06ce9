#include "cli/cli_rpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int read_all(int fd, uint8_t *p, size_t n, long long deadline)
{
    while (n) {
        if (wait_fd(fd, POLLIN, deadline) < 0)
            return -1;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int cli_rpc_call(const char *host, uint16_t port, const uint8_t *req, size_t reqlen, wire_buf *resp,
                 int timeout_ms, char *err, size_t errlen)
{
    char ports[8];
    snprintf(ports, sizeof ports, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int grc = getaddrinfo(host, ports, &hints, &res);
    if (grc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(grc));
        return -1;
    }
    long long deadline = mono_ms() + timeout_ms;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to the agent at %s:%u: %s (is it running? see -rpc-addr)", host, port,
                 strerror(errno));
        return -1;
    }
    uint8_t hdr[4];
    daemon_rpc_put_len(hdr, reqlen);
    int rc = -1;
    if (write_all(fd, hdr, 4, deadline) < 0 || write_all(fd, req, reqlen, deadline) < 0) {
        snprintf(err, errlen, "cannot send the request to the agent");
    } else if (read_all(fd, hdr, 4, deadline) < 0) {
        snprintf(err, errlen, "no answer from the agent");
    } else {
        size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (len == 0 || len > DAEMON_RPC_MAX_FRAME) {
            snprintf(err, errlen, "bad response length %zu from the agent", len);
        } else if (wire_buf_reserve(resp, len) != 0) {
            snprintf(err, errlen, "out of memory");
        } else if (read_all(fd, resp->data + resp->len, len, deadline) < 0) {
            snprintf(err, errlen, "truncated answer from the agent");
        } else {
            resp->len += len;
            rc = 0;
        }
    }
    close(fd);
    return rc;
}
