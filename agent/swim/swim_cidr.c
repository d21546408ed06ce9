/* swim_cidr: memberlist's CIDRsAllowed, the networks whose sources an
 * agent listens to (config.go IPAllowed). Pure parsing and matching: the
 * core drops alive messages with it, the I/O side packets and streams. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim.h"

int swim_cidr_parse(const char *text, swim_cidr *out)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || (size_t)(slash - text) >= 64 || !slash[1])
        return -1;
    char host[64];
    memcpy(host, text, (size_t)(slash - text));
    host[slash - text] = '\0';
    swim_cidr c;
    memset(&c, 0, sizeof c);
    if (inet_pton(AF_INET, host, c.ip) == 1)
        c.ip_len = 4;
    else if (inet_pton(AF_INET6, host, c.ip) == 1)
        c.ip_len = 16;
    else
        return -1;
    char *end = NULL;
    long bits = strtol(slash + 1, &end, 10);
    if (*end || slash[1] < '0' || slash[1] > '9' || bits < 0 || bits > c.ip_len * 8)
        return -1;
    c.bits = (uint8_t)bits;
    for (size_t i = 0; i < c.ip_len; i++) {
        int keep = (int)bits - (int)i * 8;
        c.ip[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
    *out = c;
    return 0;
}

static bool inside(const swim_cidr *c, const uint8_t *ip, size_t len)
{
    if (len != c->ip_len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int keep = (int)c->bits - (int)i * 8;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        if ((ip[i] & mask) != c->ip[i])
            return false;
    }
    return true;
}

bool swim_cidr_allows(const swim_cidr *list, size_t n, const swim_addr *a)
{
    if (n == 0)
        return true;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const uint8_t *ip = a->ip;
    size_t len = a->ip_len;
    if (len == 16 && memcmp(ip, mapped, sizeof mapped) == 0) {
        ip += 12;   /* Go's IPNet.Contains compares ::ffff:a.b.c.d as a.b.c.d */
        len = 4;
    }
    for (size_t i = 0; i < n; i++)
        if (inside(&list[i], ip, len))
            return true;
    return false;
}
