/* Addresses: text <-> swim_addr <-> sockaddr, and the advertise default. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int net_parse_ip(const char *host, uint16_t port, swim_addr *out)
{
    memset(out, 0, sizeof *out);
    out->port = port;
    if (inet_pton(AF_INET, host, out->ip) == 1) {
        out->ip_len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, out->ip) == 1) {
        out->ip_len = 16;
        /* an IPv4-mapped literal is the IPv4 address: peers gossip 4 bytes */
        if (memcmp(out->ip, v4_mapped_prefix, 12) == 0) {
            memmove(out->ip, out->ip + 12, 4);
            memset(out->ip + 4, 0, 12);
            out->ip_len = 4;
        }
        return 0;
    }
    return -1;
}

int net_split_host_port(const char *s, char *host, size_t hostlen, uint16_t *port, uint16_t def_port)
{
    const char *h = s, *p = NULL;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        if (close[1] == ':')
            p = close + 2;
        else if (close[1] != '\0')
            return -1;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            hl = strlen(s);          /* bare IPv6 literal, no port */
        } else if (colon) {
            hl = (size_t)(colon - s);
            p = colon + 1;
        } else {
            hl = strlen(s);
        }
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!p) {
        *port = def_port;
        return 0;
    }
    char *end;
    if (*p < '0' || *p > '9')
        return -1;
    unsigned long v = strtoul(p, &end, 10);
    if (*end || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

void net_addr_ip_text(const swim_addr *a, char *buf, size_t len)
{
    if (a->ip_len == 4 ? !inet_ntop(AF_INET, a->ip, buf, (socklen_t)len)
        : a->ip_len == 16 ? !inet_ntop(AF_INET6, a->ip, buf, (socklen_t)len) : true)
        snprintf(buf, len, "?");
}

void net_addr_text(const swim_addr *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    net_addr_ip_text(a, ip, sizeof ip);
    snprintf(buf, len, a->ip_len == 16 ? "[%s]:%u" : "%s:%u", ip, a->port);
}

void net_sockaddr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    swim_addr a;
    if (net_swim_from_sockaddr(sa, &a) == 0)
        net_addr_text(&a, buf, len);
    else
        snprintf(buf, len, "?");
}

int net_sockaddr_from_swim(const swim_addr *a, bool v6_socket, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->ip_len == 4 && !v6_socket) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        return 0;
    }
    if (a->ip_len == 4 || a->ip_len == 16) {
        if (!v6_socket && a->ip_len == 16)
            return -1;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        if (a->ip_len == 4) {   /* dual-stack socket: IPv4-mapped */
            memcpy(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12);
            memcpy(s6->sin6_addr.s6_addr + 12, a->ip, 4);
        } else {
            memcpy(s6->sin6_addr.s6_addr, a->ip, 16);
        }
        return 0;
    }
    return -1;
}

int net_swim_from_sockaddr(const struct sockaddr *sa, swim_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(out->ip, &s4->sin_addr, 4);
        out->ip_len = 4;
        out->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        out->port = ntohs(s6->sin6_port);
        if (memcmp(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12) == 0) {
            memcpy(out->ip, s6->sin6_addr.s6_addr + 12, 4);
            out->ip_len = 4;
        } else {
            memcpy(out->ip, s6->sin6_addr.s6_addr, 16);
            out->ip_len = 16;
        }
        return 0;
    }
    return -1;
}

/* memberlist advertises the bind address, or for a wildcard bind the first
 * private address it finds. We take the first non-loopback address of the
 * bind family (link-local IPv6 excluded: useless without a zone). Returns
 * 0, 1 if only loopback was found (and advertised), -1 on error. */
int net_derive_advertise(const char *bind_host, char *out, size_t len, char *err, size_t errlen)
{
    swim_addr b;
    if (net_parse_ip(bind_host, 0, &b) < 0) {
        snprintf(err, errlen, "bind address '%s' is not an IP address", bind_host);
        return -1;
    }
    static const uint8_t zero[16];
    if (memcmp(b.ip, zero, b.ip_len) != 0) {
        snprintf(out, len, "%s", bind_host);
        return 0;
    }
    uv_interface_address_t *ifs;
    int count;
    if (uv_interface_addresses(&ifs, &count) != 0) {
        snprintf(err, errlen, "cannot list network interfaces; pass -advertise");
        return -1;
    }
    int rc = -1;
    for (int i = 0; i < count && rc < 0; i++) {
        if (ifs[i].is_internal)
            continue;
        const struct sockaddr *sa = (const struct sockaddr *)&ifs[i].address;
        if (b.ip_len == 4 && sa->sa_family == AF_INET) {
            rc = inet_ntop(AF_INET, &ifs[i].address.address4.sin_addr, out, (socklen_t)len) ? 0 : -1;
        } else if (b.ip_len == 16 && sa->sa_family == AF_INET6) {
            const uint8_t *ip = ifs[i].address.address6.sin6_addr.s6_addr;
            if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
                continue;
            rc = inet_ntop(AF_INET6, ip, out, (socklen_t)len) ? 0 : -1;
        }
    }
    uv_free_interface_addresses(ifs, count);
    if (rc < 0) {
        /* a machine with only loopback can still run a one-node cluster
         * (or a loopback test): advertise loopback rather than refuse */
        snprintf(out, len, "%s", b.ip_len == 4 ? "127.0.0.1" : "::1");
        return 1;
    }
    return 0;
}
