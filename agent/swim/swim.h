/* swim: the SWIM + Lifeguard protocol core, as HashiCorp memberlist runs it,
 * written sans I/O.
 *
 * The core owns the member table, incarnations, the probe schedule,
 * awareness, suspicion timers, the broadcast queues and push/pull merging.
 * It never touches a socket or reads a clock:
 *   in:  `now` (milliseconds on any monotonic clock) with a received message,
 *        a finished stream, a command, or nothing (a tick);
 *   out: calls on the swim_io callbacks: packets and streams to send,
 *        events, and the next deadline at which it wants swim_tick().
 * Randomness comes from the seed in its config. The same core runs under
 * libuv in the agent (agent/net) and on a virtual clock in the simulator
 * (agent/sim).
 *
 * Messages handed in and out are single memberlist messages starting at
 * their type byte (wire/wire_msg.h), or a compound (07) that the core built.
 * Framing (compression, CRC, encryption, label) belongs to the I/O side:
 * the core only says whether the destination accepts a CRC.
 *
 * Reentrancy: callbacks must not call back into the same core to change
 * it; they queue. Every call taking a `swim *` asserts that it is not
 * inside one (where assertions are on, a callback calling in, or freeing
 * the core, aborts). Reading the core (the calls taking a `const swim *`)
 * from a callback is allowed.
 *
 * Events are queued while the core works and delivered through io->event,
 * in order, just before the public call that caused them returns; then,
 * last, io->deadline hears the next deadline if it moved. So the I/O side
 * keeps one timer, re-armed from that callback alone, and whoever calls
 * into the core has nothing to do afterwards.
 */
#ifndef MOONLIST_SWIM_H
#define MOONLIST_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base_log.h"
#include "swim/swim_knobs.h"
#include "wire/wire.h"

typedef uint64_t swim_time;          /* milliseconds */
#define SWIM_NEVER UINT64_MAX

/* An advertised address: 4 (IPv4) or 16 (IPv6) bytes, and a port. */
typedef struct swim_addr {
    uint8_t ip[16];
    uint8_t ip_len;
    uint16_t port;
} swim_addr;

typedef enum swim_state {
    SWIM_ALIVE = 0,
    SWIM_SUSPECT = 1,
    SWIM_DEAD = 2,
    SWIM_LEFT = 3,
} swim_state;

const char *swim_state_name(swim_state s);   /* "alive", "suspect", "dead", "left" */

/* Every memberlist knob (§13), durations in milliseconds. */
/* A network sources must belong to (memberlist's CIDRsAllowed). */
typedef struct swim_cidr {
    uint8_t ip[16];                  /* the prefix, host bits zero */
    uint8_t ip_len;                  /* 4 or 16 */
    uint8_t bits;                    /* 0..32 or 0..128 */
} swim_cidr;
/* A handful of networks is what an operator lists; a fixed array keeps
 * swim_config a plain value. */
#define SWIM_MAX_CIDRS 16

typedef struct swim_config {
    char name[256];                  /* node name, unique in the cluster */
    swim_addr advertise;             /* what we gossip as our Addr/Port */
    uint8_t meta[512];               /* node meta (serf tags); memberlist's limit is 512 */
    size_t meta_len;
    uint8_t vsn[6];                  /* [PMin PMax PCur DMin DMax DCur] */

    /* the knobs: probe_interval, probe_timeout, ... one field per row of
     * SWIM_KNOBS (swim_knobs.h says what each is, its defaults and bounds) */
#define SWIM_KNOB_FIELD_(name, flag, kind, ...) SWIM_KNOB_CTYPE_##kind name;
    SWIM_KNOBS(SWIM_KNOB_FIELD_)
#undef SWIM_KNOB_FIELD_
    uint32_t packet_overhead;        /* bytes the I/O side adds per packet
                                        (29 for encryption, 2+len for a label) */
    uint64_t seed;                   /* randomness: same seed, same run */
    /* -allow-cidr: alive messages whose address is outside every one are
     * dropped (none: every address is allowed) */
    swim_cidr allow_cidrs[SWIM_MAX_CIDRS];
    size_t nallow_cidrs;
} swim_config;

/* "10.0.0.0/8" or "fd00::/8" (a prefix length is required, as Go's
 * net.ParseCIDR) into *out, host bits cleared. 0, or -1 if malformed. */
int swim_cidr_parse(const char *text, swim_cidr *out);
/* True if `a` is inside one of the n networks, or n is 0. An IPv4-mapped
 * IPv6 address is matched as its IPv4 address. */
bool swim_cidr_allows(const swim_cidr *list, size_t n, const swim_addr *a);

/* Fill `c` with memberlist's defaults for "lan", "wan" or "local" (§13):
 * every knob (the table's column), packet_overhead 0, the version triples;
 * name, advertise, meta and seed are left for the caller. Returns 0, or -1
 * for an unknown profile (c untouched). */
int swim_config_profile(swim_config *c, const char *profile);
/* NULL if swim_new() would accept `c`, else a sentence saying what is
 * wrong (static string): the node's identity (name, address, meta,
 * versions), then swim_config_check_knobs, then udp_buffer_size against
 * packet_overhead. */
const char *swim_config_check(const swim_config *c);
/* The knob rules alone, for a config whose identity and packet_overhead
 * are still to come (the agent's flags, agent.config): every knob within
 * its table bounds, then every rule across knobs. NULL if they hold, else
 * a static sentence naming the knob(s). If `buf` is not NULL it also gets
 * the sentence with c's values, "probe_timeout (900 ms) must be shorter
 * than probe_interval (800 ms)", every knob in the set `as_flag`
 * (SWIM_KNOB_BIT) spelled as its flag ("-probe-interval"), the others as
 * their key. */
const char *swim_config_check_knobs(const swim_config *c, uint64_t as_flag, char *buf, size_t len);

/* A member as the outside sees it. Views are valid until the next call
 * into the core. */
typedef struct swim_member {
    const char *name;
    swim_addr addr;
    swim_state state;
    uint32_t incarnation;
    const uint8_t *meta;
    size_t meta_len;
    uint8_t vsn[6];
    swim_time state_change;          /* when it entered its state */
} swim_member;

typedef enum swim_event_type {
    SWIM_EV_JOIN,        /* a member became alive (new, or back from dead/left);
                            also for ourselves, from swim_new() */
    SWIM_EV_UPDATE,      /* an alive member's meta changed (memberlist notifies
                            nothing for an address or version change) */
    SWIM_EV_LEAVE,       /* a member became dead or left (member.state says which);
                            also for ourselves after swim_leave() */
    SWIM_EV_CONFLICT,    /* another node claims a known member's name; `other` has its address */
    SWIM_EV_USER,        /* a user message or broadcast arrived: `payload`, `from` */
    SWIM_EV_PING,        /* a probe of `member` was acked: `rtt`, `payload` (ack payload) */
    SWIM_EV_JOIN_DONE,   /* a swim_join() finished: `count` seeds answered (0: failed),
                            `join_id` says which */
    SWIM_EV_LEAVE_DONE,  /* our leave has been gossiped (or timed out); safe to stop */
} swim_event_type;

typedef struct swim_event {
    swim_event_type type;
    swim_member member;              /* JOIN, UPDATE, LEAVE, CONFLICT, PING */
    swim_addr other;                 /* CONFLICT: the address that claimed the name */
    wire_bytes payload;              /* USER, PING */
    swim_addr from;                  /* USER: source address */
    uint32_t rtt;                    /* PING, milliseconds */
    int count;                       /* JOIN_DONE */
    uint64_t join_id;                /* JOIN_DONE: what swim_join() returned */
} swim_event;

/* A stream (TCP connection) the core wants opened. The I/O side connects to
 * `to`, sends `msg` (framed for streams; `msg` is only valid during the
 * open_stream call: copy it), and, if `want_reply`, reads one message back
 * and hands it to swim_stream_done() with the same id, or reports failure
 * there (reply NULL). For want_reply == false (user messages) the core
 * forgets the id at once: no swim_stream_done() is needed, and one for an
 * unknown id is ignored.
 *
 * Time limits: `deadline` (absolute) is when the connection must be
 * established. With `phase_timeout` 0 (the TCP ping, bounded by its probe
 * as in memberlist's sendPingAndWaitForAck) it is also when the whole
 * exchange must be over. Otherwise writing the request, then reading the
 * reply, each get phase_timeout milliseconds from their own start, as
 * memberlist's sendAndReceiveState gives the dial, the write and the read
 * a fresh TCPTimeout each: a large push/pull may take longer than one
 * TCPTimeout in all. An I/O side whose streams take one network delay (the
 * simulator) may treat `deadline` as the bound of it all. */
typedef enum swim_stream_kind {
    SWIM_STREAM_PUSH_PULL,
    SWIM_STREAM_PING,
    SWIM_STREAM_USER,
} swim_stream_kind;

typedef struct swim_stream_req {
    uint64_t id;
    swim_stream_kind kind;
    swim_addr to;
    const uint8_t *msg;
    size_t len;
    bool want_reply;
    swim_time deadline;
    uint32_t phase_timeout;          /* ms for each phase after the connect; 0: only `deadline` */
} swim_stream_req;

/* The application's delegates (memberlist's Delegate, AliveDelegate and
 * MergeDelegate), all optional (NULL), called with their own `ud`. They
 * are called synchronously from inside the core and must answer at once. */
typedef struct swim_delegate {
    void *ud;
    /* Our user state for a push/pull (join: is_join). Set *out and *len to a
     * buffer that stays valid until the next call into the core. */
    void (*local_state)(void *ud, bool is_join, const uint8_t **out, size_t *len);
    void (*merge_remote_state)(void *ud, const uint8_t *state, size_t len, bool is_join);
    /* Ack payload we answer pings with (serf: its coordinate). */
    void (*ack_payload)(void *ud, const uint8_t **out, size_t *len);
    /* Veto a push/pull merge (return false); reason is logged. */
    bool (*allow_merge)(void *ud, const swim_member *peers, size_t n, const char **reason);
    /* Veto one alive message about another node. */
    bool (*allow_alive)(void *ud, const swim_member *m);
} swim_delegate;

typedef struct swim_io {
    void *ud;
    /* Send one UDP packet (a message or a compound). `crc`: wrap it in
     * hasCrc, as memberlist would: the destination node is known and has
     * PMax >= 5 (always known for gossip, probing a suspect and best-effort
     * user messages; for pings, acks, nacks and indirect pings memberlist
     * looks the node up by the bare IP string as a node name, so those go
     * without CRC unless nodes are named by their IP). If the socket refuses the datagram,
     * the I/O side says so with swim_send_failed(), later, outside any
     * callback. */
    void (*send_packet)(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc);
    void (*open_stream)(void *ud, const swim_stream_req *req);
    void (*event)(void *ud, const swim_event *ev);
    /* Log a protocol-level line. */
    void (*log)(void *ud, base_log_level level, const char *msg);
    /* The next time swim_tick() has work moved to `next` (absolute, on the
     * clock `now` comes from; SWIM_NEVER: nothing is due, stop the timer;
     * at or before the current time: tick at once). Called at the end of
     * every call that changes the core, swim_new() included, after its
     * events, and only when `next` differs from the value last reported
     * (before the first report: SWIM_NEVER). A one-shot timer that fired
     * and whose swim_tick() reported nothing new (it fired early, or the
     * work it ran left the same deadline) is spent: the I/O side arms it
     * again at the deadline it holds. */
    void (*deadline)(void *ud, swim_time next);
    /* The application's answers; they have an owner of their own. */
    swim_delegate delegate;
} swim_io;

typedef struct swim swim;

/* Create a core. Ownership: the returned core is the caller's, released by
 * swim_free(); `cfg` and `io` are copied. Returns NULL if out of memory or
 * the config is invalid. Our own alive (incarnation 1) is queued at once. */
swim *swim_new(const swim_config *cfg, const swim_io *io, swim_time now);
void swim_free(swim *s);

/* Run whatever is due at `now`. */
void swim_tick(swim *s, swim_time now);
/* The next time swim_tick() has work; SWIM_NEVER if none. The same value
 * io->deadline was last told: for a driver without that callback (a test
 * stepping a core by hand). */
swim_time swim_next_deadline(const swim *s);

/* A message from a UDP packet (after the I/O side removed label,
 * encryption, CRC and compression). A compound (07) is accepted too and
 * split here, so the I/O side may hand either the parts or the whole.
 * `from` is the datagram's source. Malformed messages are counted and
 * dropped. */
void swim_handle_packet(swim *s, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len);

/* A datagram to `to` could not be sent: the socket refused it (a route or
 * address error, not a loss, which nobody sees). Called after the
 * send_packet call that handed it over has returned, never from inside a
 * callback. If it was the running probe's ping, the probe goes to its
 * indirect pings (and TCP ping) at once instead of waiting out
 * ProbeTimeout, as memberlist's probeNode does on a failed write
 * (failedRemote: goto HANDLE_REMOTE_FAILURE); otherwise it changes
 * nothing. */
void swim_send_failed(swim *s, swim_time now, const swim_addr *to);

/* An inbound stream's request message. If the protocol answers (push/pull,
 * ping), the reply is appended to `reply` (a wire_buf) and true returned. */
struct wire_buf;
bool swim_handle_stream(swim *s, swim_time now, const swim_addr *from, const uint8_t *msg, size_t len,
                        struct wire_buf *reply);
/* Outcome of a stream we asked for: the reply message, or reply == NULL on
 * connect/timeout/read failure (the error is logged by the I/O side). */
void swim_stream_done(swim *s, swim_time now, uint64_t id, const uint8_t *reply, size_t len);

/* Join through the given seeds: a push/pull with Join=true to each. The
 * outcome comes as SWIM_EV_JOIN_DONE carrying the id returned here (never
 * 0). Joins finish in any order (a failing seed may take a TCPTimeout, a
 * live one a round trip): match them by id. The event may come before
 * swim_join returns (no seeds, or none could be tried), so a caller that
 * must tell its joins apart records "this one is starting" before calling;
 * an event with an id it does not know, during the call, is this one. */
uint64_t swim_join(swim *s, swim_time now, const swim_addr *seeds, size_t n);
/* serf's LeavePropagateDelay (serf.DefaultConfig, 1 s, in serf 0.9.4 as
 * now): once our leave has been sent its full retransmit count, serf's
 * Leave stays up this long more before it reports left, so that the
 * message spreads through the cluster and the probes of nodes that have
 * not heard it yet are still answered. memberlist's own Leave has no such
 * wait; serf sleeps it after memberlist's Leave returns. */
#define SWIM_LEAVE_PROPAGATE_DELAY_MS 1000

/* A join's push/pull gives us the seed's table as it was then; in a burst
 * of joins through one seed (a deployment starting every agent at once)
 * the early joiners miss the later ones until gossip or a probe's repair
 * (swim_repair.c) brings them, and with few retransmits (local: 2 per
 * log10 N) the last ones wait for the periodic push/pull, 45 s at 100
 * members. One more push/pull with the same seed this long after the join
 * takes its table once the burst is over: a second, because tools that
 * start a fleet at once start it within about that (§12.2). */
#define SWIM_JOIN_FOLLOWUP_MS 1000

/* Leave gracefully: gossip our own dead (= left) message. SWIM_EV_LEAVE_DONE
 * follows SWIM_LEAVE_PROPAGATE_DELAY_MS after it has been sent its full
 * retransmit count, or as soon as `timeout` milliseconds passed without
 * that (no delay then: serf's Leave returns its timeout error without
 * sleeping), or at once when no other member is alive (there is nobody to
 * tell, and nobody probes us). The core keeps running meanwhile: it
 * answers pings and gossips. */
void swim_leave(swim *s, swim_time now, uint32_t timeout);
/* swim_leave, and our leave also sent at once to every member alive or
 * suspect, each copy alone in its packet, so that everyone has us left
 * within a round trip instead of after ceil(log N) gossip rounds (§12.3;
 * memberlist only gossips it). For a leave whose serf intent went out the
 * same way: a leave that overtakes its intent shows us failed to serf. */
void swim_leave_all(swim *s, swim_time now, uint32_t timeout);
/* Mark a failed member left at once and gossip it (serf force-leave). Returns
 * false if no such member. */
bool swim_force_leave(swim *s, swim_time now, const char *name);

/* Replace our meta: incarnation + 1, alive gossiped. Returns 0 or -1 if over
 * 512 bytes. */
int swim_set_meta(swim *s, swim_time now, const uint8_t *meta, size_t len);
/* Queue an application broadcast (sent as a UDP user message piggy-backed on
 * gossip). A newer broadcast with the same non-empty key replaces one still
 * queued. Returns 0, or -1 when too large for one packet. */
int swim_broadcast(swim *s, const uint8_t *payload, size_t len, const char *key);
/* True while the application broadcast queued under `key` (non-empty) has
 * not yet been sent its full retransmit count: memberlist's
 * NotifyBroadcast finished, for a caller that must not go on before its
 * message is out (serf's leave intent before the memberlist leave). False
 * once it was sent that many times, or if nothing is queued under `key`. */
bool swim_broadcast_pending(const swim *s, const char *key);
/* Send a user message to one member, by UDP (best effort) or over a stream
 * (reliable). Returns 0, or -1 if the member is unknown. */
int swim_send_user(swim *s, swim_time now, const char *name, const uint8_t *payload, size_t len,
                   bool reliable);

/* Send a user message to an address by UDP, member or not, as
 * memberlist's SendToAddress (serf's query responses and relays): alone in
 * its packet, best effort. Returns 0, or -1 when it cannot be encoded. */
int swim_send_user_addr(swim *s, swim_time now, const swim_addr *to, const uint8_t *payload, size_t len);

/* Send a user message by UDP to every member alive or suspect but us, each
 * copy alone in its packet, as swim_send_user_addr does: an announcement
 * that must reach everyone within a round trip rather than after
 * ceil(log N) gossip rounds (serf's leave intent, §12.3). Best effort: a
 * caller that needs it to arrive gossips it as well. Returns how many
 * copies went out, or -1 when it cannot be encoded. */
int swim_send_user_all(swim *s, swim_time now, const uint8_t *payload, size_t len);

/* Member table. */
size_t swim_member_count(const swim *s);            /* every member, self included */
size_t swim_alive_count(const swim *s);             /* alive + suspect */
/* Call fn for every member; stop early if fn returns false. */
void swim_members_each(const swim *s, bool (*fn)(void *ud, const swim_member *m), void *ud);
bool swim_member_get(const swim *s, const char *name, swim_member *out);
/* Our own awareness score, 0 .. awareness_max_multiplier - 1 (Lifeguard). */
int swim_health_score(const swim *s);
const swim_config *swim_get_config(const swim *s);

/* Counters for `moonlist info`: messages by type byte, sent, received and
 * dropped (malformed or unexpected; a compound's unreadable parts count
 * under compound, an empty message under no type). */
typedef struct swim_stats {
    uint64_t sent[16];
    uint64_t received[16];
    uint64_t dropped_by_type[16];
    uint64_t dropped;               /* all dropped messages */
    uint64_t broadcasts_dropped;    /* application broadcasts pruned from a full queue */
    uint64_t members_refused;       /* new names from alive messages or push/pulls past max_members */
    uint64_t probes, probe_failures, refutations;
    /* stale views mended at once (swim_repair.c): our alive sent straight
     * to an accuser below our incarnation; push/pulls with a pinger we did
     * not know */
    uint64_t stale_answers, repair_push_pulls;
    /* bytes of the messages above, by type, as the core hands them out or
     * takes them in (before the I/O side's framing; a compound's parts
     * under their own types, its header not counted) */
    uint64_t bytes_sent[16];
    uint64_t bytes_received[16];
} swim_stats;
const swim_stats *swim_get_stats(const swim *s);
/* Messages waiting in the two broadcast queues now: membership (alive,
 * suspect, dead) and the application's (serf's messages). */
void swim_queue_depths(const swim *s, size_t *membership, size_t *application);

#endif
