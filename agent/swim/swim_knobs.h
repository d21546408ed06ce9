/* swim_knobs: the one table of memberlist's protocol knobs (§13).
 *
 * A knob is a row of SWIM_KNOBS, and everything about it is made from that
 * row: its swim_config field, the lan/wan/local profiles
 * (swim_config_profile), its bounds and the rules across knobs
 * (swim_config_check), the `moonlist agent` flag and its usage line
 * (daemon_opts), the agent.config key (mlua_config), flag-over-script
 * precedence (daemon_script), and `moonlist info` (through the iteration
 * API below). A new knob is one row here, plus its use in the core.
 *
 * X(name, flag, kind, lan, wan, local, min, max, help):
 *   name   the swim_config field, and the agent.config key
 *   flag   the agent flag without its dash: name with '-' for '_'
 *          (test_swim_config holds every row to that)
 *   kind   MS: a duration in milliseconds (uint32_t field; flags take
 *          "200ms", "1.5s", agent.config takes seconds); COUNT: a number
 *          (uint32_t); BOOL: a switch (bool; bounds 0..1)
 *   lan, wan, local
 *          memberlist's DefaultLANConfig, DefaultWANConfig and
 *          DefaultLocalConfig. Every value is Go's, so that a mixed cluster
 *          of Go and moonlist nodes detects failures with the same timing:
 *          LAN for round trips well under the probe timeout, WAN for high
 *          latency links (slower but steadier), local for loopback or one
 *          host (fast and cheap)
 *   min, max
 *          the bounds swim_config_check holds the field to, inclusive
 *   help   one line, for the flag's usage
 */
#ifndef MOONLIST_SWIM_KNOBS_H
#define MOONLIST_SWIM_KNOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A day: no memberlist timing means anything beyond it, and milliseconds
 * stay far inside uint32_t (base_parse_duration_ms stops at a day too).
 * A plain literal: swim_knobs.c writes the bounds into static sentences. */
#define SWIM_KNOB_DAY_MS 86400000
/* Far past any useful multiplier or fan-out. */
#define SWIM_KNOB_MAX_COUNT 1000

#define SWIM_KNOBS(X)                                                                                      \
    /* one probe a second per node (wan: every 5 s) */                                                     \
    X(probe_interval, "probe-interval", MS, 1000, 5000, 1000, 1, SWIM_KNOB_DAY_MS,                         \
      "failure detection probe interval")                                                                  \
    /* the direct ack's wait before relays are asked */                                                    \
    X(probe_timeout, "probe-timeout", MS, 500, 3000, 200, 1, SWIM_KNOB_DAY_MS,                             \
      "time to wait for a probe's ack (below the probe interval)")                                         \
    /* fast dissemination, cheap packets */                                                                \
    X(gossip_interval, "gossip-interval", MS, 200, 500, 100, 1, SWIM_KNOB_DAY_MS, "gossip round interval") \
    /* full-state anti-entropy; 0 turns the periodic one off */                                            \
    X(push_pull_interval, "push-pull-interval", MS, 30000, 60000, 15000, 0, SWIM_KNOB_DAY_MS,              \
      "full state sync interval (0 disables)")                                                             \
    /* a whole push/pull exchange, or a TCP ping */                                                        \
    X(tcp_timeout, "tcp-timeout", MS, 10000, 30000, 1000, 1, SWIM_KNOB_DAY_MS, "deadline of every stream") \
    /* dead nodes keep hearing their fate, to refute it if alive */                                        \
    X(gossip_to_the_dead_time, "gossip-to-the-dead-time", MS, 30000, 60000, 15000, 1, SWIM_KNOB_DAY_MS,    \
      "how long a dead node still gets gossip")                                                            \
    /* 0: a dead name is never taken over by a new address */                                              \
    X(dead_node_reclaim_time, "dead-node-reclaim-time", MS, 0, 0, 0, 0, SWIM_KNOB_DAY_MS,                  \
      "after this a dead node's name may return from a new address (0: never)")                            \
    /* relays asked when a direct ping fails; 0: direct probes only */                                     \
    X(indirect_checks, "indirect-checks", COUNT, 3, 3, 1, 0, SWIM_KNOB_MAX_COUNT,                          \
      "indirect probes per failed direct probe")                                                           \
    /* each broadcast is sent mult * ceil(log10(n + 1)) times */                                           \
    X(retransmit_mult, "retransmit-mult", COUNT, 4, 4, 2, 1, SWIM_KNOB_MAX_COUNT,                          \
      "gossip retransmit multiplier")                                                                      \
    /* shortest suspicion = mult * log10(n) * probe interval */                                            \
    X(suspicion_mult, "suspicion-mult", COUNT, 4, 6, 3, 1, SWIM_KNOB_MAX_COUNT,                            \
      "suspicion timeout multiplier")                                                                      \
    /* an unconfirmed suspicion lasts up to 6x the shortest */                                             \
    X(suspicion_max_timeout_mult, "suspicion-max-timeout-mult", COUNT, 6, 6, 6, 1, SWIM_KNOB_MAX_COUNT,    \
      "longest suspicion, as a multiple of the shortest")                                                  \
    /* Lifeguard: a slow node stretches its probe interval up to 8x */                                     \
    X(awareness_max_multiplier, "awareness-max-multiplier", COUNT, 8, 8, 8, 1, SWIM_KNOB_MAX_COUNT,        \
      "Lifeguard: most times a slow node stretches its probe interval")                                    \
    /* targets per gossip round */                                                                         \
    X(gossip_nodes, "gossip-nodes", COUNT, 3, 4, 3, 1, SWIM_KNOB_MAX_COUNT, "nodes gossiped to per round") \
    /* 1400 stays under a 1500 MTU with CRC, crypto and headers; 512 is the                                \
     * payload every host must take (576-byte datagrams); 65536 is past the                                \
     * largest UDP payload (65507), so any real size is accepted */                                        \
    X(udp_buffer_size, "udp-buffer-size", COUNT, 1400, 1400, 1400, 512, 65536,                             \
      "bytes of gossip per UDP packet")                                                                    \
    /* memberlist falls back to a TCP ping where UDP is filtered */                                        \
    X(disable_tcp_pings, "disable-tcp-pings", BOOL, 0, 0, 0, 0, 1,                                         \
      "do not try a TCP ping when a UDP probe fails")                                                      \
    /* moonlist: 40 MiB (WIRE_MAX_INFLATE) is what the stream reader took                                  \
     * before this knob, room for memberlist's largest user state (20 MiB)                                 \
     * and a million node states, so the default refuses nothing it did;                                   \
     * 64 KiB still carries a few hundred members' state. Encrypted bodies                                 \
     * stay under memberlist's maxPushStateBytes (20 MiB) as well */                                       \
    X(max_stream_bytes, "max-stream-bytes", COUNT, 41943040, 41943040, 41943040, 65536, 41943040,         \
      "largest stream message accepted (a push/pull), in bytes")                                           \
    /* moonlist (memberlist has no cap): 32x the largest cluster we have                                   \
     * measured (4,096) and above the simulator's largest (`moonlist sim                                   \
     * -nodes`, 100,000), so no real cluster or simulation meets it, while                                 \
     * a spoofed stream of alive messages stops at tens of MiB of table */                                 \
    X(max_members, "max-members", COUNT, 131072, 131072, 131072, 1, 16777216,                              \
      "most members alive messages may create (new names beyond are dropped)")

/* The C type of each kind's swim_config field. */
#define SWIM_KNOB_CTYPE_MS uint32_t
#define SWIM_KNOB_CTYPE_COUNT uint32_t
#define SWIM_KNOB_CTYPE_BOOL bool

typedef enum swim_knob_kind {
    SWIM_KNOB_KIND_MS,
    SWIM_KNOB_KIND_COUNT,
    SWIM_KNOB_KIND_BOOL,
} swim_knob_kind;

/* Every knob's index: SWIM_KNOB_ID(probe_timeout); SWIM_KNOB_N of them. */
#define SWIM_KNOB_ID(name) SWIM_KNOB_I_##name
#define SWIM_KNOB_ENUM_(name, ...) SWIM_KNOB_ID(name),
typedef enum swim_knob_id { SWIM_KNOBS(SWIM_KNOB_ENUM_) SWIM_KNOB_N } swim_knob_id;
#undef SWIM_KNOB_ENUM_

/* A set of knobs, one bit (1 << index) each: SWIM_KNOB_BIT(i). */
#define SWIM_KNOB_BIT(i) ((uint64_t)1 << (i))
_Static_assert(SWIM_KNOB_N <= 64, "a knob set is a uint64_t");

/* One row of the table, as data. */
typedef struct swim_knob {
    const char *name;          /* field and agent.config key: "probe_interval" */
    const char *flag;          /* agent flag, no dash: "probe-interval" */
    swim_knob_kind kind;
    uint32_t lan, wan, local;  /* memberlist's defaults (bool: 0 or 1) */
    uint32_t min, max;         /* accepted, inclusive */
    const char *help;          /* one line for the flag's usage */
} swim_knob;

struct swim_config;

/* Iterating the table, e.g. for `moonlist info`:
 *
 *     for (size_t i = 0; i < swim_knob_count(); i++) {
 *         const swim_knob *k = swim_knob_at(i);
 *         uint64_t v = swim_knob_get(cfg, i);   // milliseconds if k->kind is MS
 *         ...
 *     }
 *
 * Rows are static and the calls pure: any thread may use them. */

/* The number of knobs (SWIM_KNOB_N), in the table's order (that of the
 * fields, the flags and the agent.config keys). */
size_t swim_knob_count(void);
/* Row i, or NULL past the end. */
const swim_knob *swim_knob_at(size_t i);
/* The index of the knob whose name (not flag) is `name`, or -1. */
int swim_knob_find(const char *name);

/* Knob i's value in c (bool: 0 or 1), whatever its kind; i below
 * swim_knob_count(). */
uint64_t swim_knob_get(const struct swim_config *c, size_t i);
/* Store v in knob i of c, unchecked (swim_config_check judges the
 * whole); a bool stores v != 0, the others truncate to 32 bits. */
void swim_knob_set(struct swim_config *c, size_t i, uint64_t v);
/* True if v is within knob k's bounds. */
bool swim_knob_accepts(const swim_knob *k, uint64_t v);
/* v as a person reads it for knob k: "800 ms", "3", "true". */
void swim_knob_format(const swim_knob *k, uint64_t v, char *buf, size_t len);

#endif
