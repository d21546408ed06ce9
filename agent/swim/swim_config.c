/* swim_config: memberlist's configuration profiles (§13) and validation. */
#include <string.h>

#include "swim/swim_internal.h"

const char *swim_state_name(swim_state s)
{
    switch (s) {
    case SWIM_ALIVE: return "alive";
    case SWIM_SUSPECT: return "suspect";
    case SWIM_DEAD: return "dead";
    case SWIM_LEFT: return "left";
    }
    return "unknown";
}

/* DefaultLANConfig: tuned for a LAN where a probe round trip is well under
 * ProbeTimeout. Every value is memberlist's, so that a mixed cluster of Go
 * and moonlist nodes detects failures with the same timing. */
static void profile_lan(swim_config *c)
{
    c->probe_interval = 1000;              /* one probe a second per node */
    c->probe_timeout = 500;                /* direct ack wait before relays are asked */
    c->gossip_interval = 200;              /* fast dissemination, cheap packets */
    c->push_pull_interval = 30000;         /* full-state anti-entropy every 30 s */
    c->tcp_timeout = 10000;                /* whole push/pull exchange */
    c->gossip_to_the_dead_time = 30000;    /* dead nodes keep hearing their fate */
    c->dead_node_reclaim_time = 0;         /* a dead name is never reclaimed by a new address */
    c->indirect_checks = 3;                /* relays asked when a direct ping fails */
    c->retransmit_mult = 4;                /* each broadcast sent 4*ceil(log10(n+1)) times */
    c->suspicion_mult = 4;                 /* suspicion min = 4 * log10(n) * probe interval */
    c->suspicion_max_timeout_mult = 6;     /* unconfirmed suspicion lasts up to 6x min */
    c->awareness_max_multiplier = 8;       /* Lifeguard: probe interval scales up to 8x */
    c->gossip_nodes = 3;                   /* targets per gossip tick */
    c->udp_buffer_size = 1400;             /* stays under a 1500 MTU with CRC, crypto, headers */
}

int swim_config_profile(swim_config *c, const char *profile)
{
    if (!profile)
        return -1;
    if (strcmp(profile, "lan") == 0) {
        profile_lan(c);
    } else if (strcmp(profile, "wan") == 0) {
        /* DefaultWANConfig: high latency links, slower but steadier. */
        profile_lan(c);
        c->tcp_timeout = 30000;
        c->suspicion_mult = 6;
        c->push_pull_interval = 60000;
        c->probe_timeout = 3000;
        c->probe_interval = 5000;
        c->gossip_nodes = 4;
        c->gossip_interval = 500;
        c->gossip_to_the_dead_time = 60000;
    } else if (strcmp(profile, "local") == 0) {
        /* DefaultLocalConfig: loopback or one host, fast and cheap. */
        profile_lan(c);
        c->tcp_timeout = 1000;
        c->indirect_checks = 1;
        c->retransmit_mult = 2;
        c->suspicion_mult = 3;
        c->push_pull_interval = 15000;
        c->probe_timeout = 200;
        c->gossip_interval = 100;
        c->gossip_to_the_dead_time = 15000;
    } else {
        return -1;
    }
    c->packet_overhead = 0;
    c->disable_tcp_pings = false;
    /* Go memberlist's protocol range and serf's delegate triple (§9.1):
     * anything else is refused by serf's version check. */
    c->vsn[0] = WIRE_PROTOCOL_MIN;
    c->vsn[1] = WIRE_PROTOCOL_MAX;
    c->vsn[2] = WIRE_PROTOCOL_CUR;
    c->vsn[3] = WIRE_DELEGATE_MIN;
    c->vsn[4] = WIRE_DELEGATE_MAX;
    c->vsn[5] = WIRE_DELEGATE_CUR;
    return 0;
}

/* Returns NULL when the config can run, else what is wrong with it. */
const char *swim_config_check(const swim_config *c)
{
    size_t nlen = strnlen(c->name, sizeof c->name);
    if (nlen == 0)
        return "name is empty";
    if (nlen == sizeof c->name)
        return "name is not NUL-terminated";
    if (c->advertise.ip_len != 4 && c->advertise.ip_len != 16)
        return "advertise address must be IPv4 or IPv6";
    if (c->meta_len > sizeof c->meta)
        return "meta over 512 bytes";
    if (c->probe_interval == 0 || c->probe_timeout == 0 || c->gossip_interval == 0)
        return "probe_interval, probe_timeout and gossip_interval must be > 0";
    if (c->awareness_max_multiplier == 0)
        return "awareness_max_multiplier must be >= 1";
    if (c->suspicion_mult == 0 || c->suspicion_max_timeout_mult == 0 || c->retransmit_mult == 0)
        return "suspicion_mult, suspicion_max_timeout_mult and retransmit_mult must be >= 1";
    /* A packet must hold at least a compound header and one small message. */
    if (c->udp_buffer_size < c->packet_overhead + 64)
        return "udp_buffer_size too small for packet_overhead";
    if (c->vsn[0] == 0 || c->vsn[1] == 0 || c->vsn[0] > c->vsn[1] || c->vsn[2] < c->vsn[0] ||
        c->vsn[2] > c->vsn[1])
        return "vsn protocol triple is invalid";
    if (c->vsn[3] > c->vsn[4] || c->vsn[5] < c->vsn[3] || c->vsn[5] > c->vsn[4])
        return "vsn delegate triple is invalid";
    return NULL;
}
