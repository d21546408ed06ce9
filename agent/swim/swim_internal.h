/* swim_internal: the core's private state, shared by the swim_*.c files.
 * Nothing here is part of the API; see swim.h. */
#ifndef MOONLIST_SWIM_INTERNAL_H
#define MOONLIST_SWIM_INTERNAL_H

#include <assert.h>

#include "swim/swim.h"
#include "wire/wire_buf.h"
#include "wire/wire_msg.h"

/* Most application broadcasts queued at once: serf's MaxQueueDepth default,
 * so that moonlist holds what a serf agent would before it drops. */
#define SWIM_APP_QUEUE_MAX 4096

/* Accusers remembered for the once-per-probe-interval limit on answering
 * stale accusations (swim_repair.c): after a partition heals every member
 * of the other side may be one, and eight cover the clusters where a
 * missed refutation is likely; past eight the oldest is forgotten, which
 * costs at most one extra alive message. */
#define SWIM_STALE_SLOTS 8

/* ---- randomness (swim_rand.c) ---- */
typedef struct swim_rng {
    uint64_t s[4];
} swim_rng;
void swim_rng_seed(swim_rng *r, uint64_t seed);
uint64_t swim_rng_next(swim_rng *r);
/* Uniform in [0, n); 0 when n == 0 (Go's randomOffset). */
uint64_t swim_rng_below(swim_rng *r, uint64_t n);

/* ---- members (swim_members.c) ---- */
struct swim_suspicion;

/* Meta this short lives inside the node: serf's tags are often a few
 * bytes (an agent without tags sends 2), and a malloc'd copy of them cost
 * 32 bytes per member in every core. */
#define SWIM_META_INLINE 8

/* Every core holds one per member: at 10,000 simulated nodes, 10^8 of
 * them, so the record is packed: 64 bytes before its name, so that with a
 * name of up to 7 bytes it is an 80-byte heap chunk (a pointer more, or a
 * name length of 4 bytes, made it 96: 400 MB more at 5,000 nodes). */
typedef struct swim_node {
    struct swim_node *hnext;     /* hash chain */
    /* A suspicion timer only runs in the suspect state it started in, and
     * holds when that began: while it runs, the record's time is the
     * timer's. Read them with swim_node_state_change and swim_node_susp. */
    union {
        swim_time state_change;      /* !has_susp: when it entered its state */
        struct swim_suspicion *susp; /* has_susp: the running timer, owned */
    } since;
    union {
        uint8_t *p;              /* meta_len > SWIM_META_INLINE: owned */
        uint8_t in[SWIM_META_INLINE];
    } meta;                      /* read it with swim_node_meta() */
    uint32_t hash;
    uint32_t incarnation;
    uint16_t name_len;           /* at most SWIM_NODE_FIELD_MAX */
    uint16_t meta_len;           /* at most SWIM_NODE_FIELD_MAX */
    uint8_t state;               /* a swim_state */
    uint8_t vsn[6];
    bool has_susp;
    swim_addr addr;
    char name[];                 /* NUL-terminated, in the same allocation */
} swim_node;

/* The longest name or meta a record holds. memberlist sets no bound on
 * either, but an alive carrying more than this could not have been sent
 * in a UDP packet, and a node state longer than this in a push/pull is
 * refused (logged) rather than held. */
#define SWIM_NODE_FIELD_MAX UINT16_MAX

/* The node's meta (meta_len bytes; not NULL even when empty). */
static inline const uint8_t *swim_node_meta(const swim_node *n)
{
    return n->meta_len > SWIM_META_INLINE ? n->meta.p : n->meta.in;
}

typedef struct swim_members {
    swim_node **buckets;
    size_t nbuckets;             /* power of two */
    swim_node **nodes;           /* probe order; every node, self included */
    size_t n, cap;
    size_t probe_index;
    /* Bumped by every change to what a push/pull carries of the table (a
     * member added or dropped, the order, a name's incarnation, state,
     * address, meta or versions): the cached reply (swim_pushpull.c) is
     * good while it has not moved. */
    uint64_t gen;
} swim_members;

int swim_members_init(swim_members *m);
void swim_members_free(swim_members *m);
swim_node *swim_members_find(const swim_members *m, const char *name, size_t len);
/* The same, given the name's hash as swim_members_prefetch returned it:
 * the callers that prefetched have it, and hashing again was a tenth of
 * an alive's handling. */
swim_node *swim_members_find_hashed(const swim_members *m, const char *name, size_t len, uint32_t hash);
/* A lookup of `name` is coming: start loading its bucket, and return the
 * name's hash for swim_members_prefetch_node (given the name's length
 * too), which starts loading the node the bucket leads to. Hints only: they change nothing. */
uint32_t swim_members_prefetch(const swim_members *m, const char *name, size_t len);
void swim_members_prefetch_node(const swim_members *m, uint32_t hash, size_t len);
/* Then, the head loaded: the next node of the chain if the head is another. */
void swim_members_prefetch_next(const swim_members *m, uint32_t hash, size_t len);
/* Create a node (state dead, as memberlist does, so that it "joins") and put
 * it at a random position of the probe order. NULL if out of memory. */
swim_node *swim_members_add(swim_members *m, swim_rng *r, const char *name, size_t len);
/* Room for n members at once (the buckets at the size the adds would
 * reach, the probe order a sixteenth over n): a push/pull bringing
 * thousands of new members rehashed the table at each doubling, a cache
 * miss per node each time. A hint: out of memory, nothing changes. */
void swim_members_reserve(swim_members *m, size_t n);
/* memberlist's resetNodes: drop dead/left nodes whose state is older than
 * `grace`, except `self`, then shuffle. */
void swim_members_reset(swim_members *m, swim_rng *r, swim_time now, swim_time grace, const swim_node *self);
int swim_node_set_meta(swim_node *n, const uint8_t *meta, size_t len);
void swim_node_view(const swim_node *n, swim_member *out);

/* ---- broadcast queue (swim_queue.c): memberlist's TransmitLimitedQueue ---- */
/* ---- broadcast messages (swim_msg_pool.c) ---- */
/* A queued message and its key, shared by the queues of every core using
 * the same pool (refcounted; the pool is not locked: its cores run in one
 * thread), or private to one entry when there is none. */
typedef struct swim_msg_pool swim_msg_pool;
typedef struct swim_msg {
    struct swim_msg *next;       /* pool chain */
    swim_msg_pool *pool;         /* NULL: private */
    uint32_t refs;
    uint32_t hash;               /* of message and key */
    uint32_t len;
    uint32_t klen;               /* key and its NUL; 0: no key */
    uint32_t follow_hash;        /* pooled: the hash of follow */
    struct swim_msg *follow;     /* pooled: the message got after this one last
                                    time, a prefetch hint (maybe freed since) */
    uint8_t data[];              /* the encoded message, then the key */
} swim_msg;

/* Ownership: the pool is its creator's; free it after every core that
 * used it (swim_msg_pool_free asserts it holds nothing). */
swim_msg_pool *swim_msg_pool_new(void);
void swim_msg_pool_free(swim_msg_pool *p);
size_t swim_msg_pool_count(const swim_msg_pool *p);
/* A reference to msg with key (NULL: none): the pooled one with the same
 * bytes, or a new one (pooled when p is not NULL). NULL if out of memory.
 * The caller owns the reference; swim_msg_release() gives it back. */
swim_msg *swim_msg_get(swim_msg_pool *p, const uint8_t *msg, size_t len, const char *key);
void swim_msg_release(swim_msg *m);
/* Share this core's queued messages through p from now on (the simulator
 * sets it right after swim_new; what was queued before stays private).
 * p must outlive the core. */
void swim_set_msg_pool(swim *s, swim_msg_pool *p);

/* An entry: a core holds one per member while news of a join burst spreads
 * (10^8 of them at 10,000 simulated nodes), so it is 32 bytes: the
 * transmissions and the key's hash in it (a chain of the key table is
 * walked without loading the message), the length and the bytes behind a
 * pointer (the bucket holds the length too, and whoever takes the bytes
 * loads the message anyway). A length of its own made it 40: 200 MB at
 * 5,000 nodes. */
typedef struct swim_bcast {
    struct swim_bcast *knext;    /* key hash chain */
    swim_msg *m;                 /* a reference, owned */
    uint64_t id;                 /* insertion order: newer is larger */
    uint32_t transmits : 31;     /* retransmit limits are far below 2^31 */
    uint32_t notify : 1;         /* our leave message: report when finished */
    uint32_t khash;              /* the key's hash, when it has one */
} swim_bcast;

/* The entry's message and its length. */
static inline const uint8_t *swim_bcast_msg(const swim_bcast *b) { return b->m->data; }
static inline uint32_t swim_bcast_len(const swim_bcast *b) { return b->m->len; }
/* The entry's invalidation key, NULL if it has none. */
static inline const char *swim_bcast_key(const swim_bcast *b)
{
    return b->m->klen ? (const char *)b->m->data + b->m->len : NULL;
}

/* ---- queue buckets (swim_bucket.c) ---- */
/* The queued entries sent `transmits` times whose message is `len` bytes,
 * newest first (id descending); the array has room on both sides. */
typedef struct swim_bucket {
    swim_bcast **items;          /* inside base */
    size_t n, cap;               /* cap: base's slots */
    swim_bcast **base;           /* owned */
    uint32_t transmits, len;
} swim_bucket;

void swim_bucket_init(swim_bucket *k, uint32_t transmits, uint32_t len);
void swim_bucket_free(swim_bucket *k);
/* Put b where its id goes. -1 when out of memory. */
int swim_bucket_insert(swim_bucket *k, swim_bcast *b);
/* Put m entries, sorted newest first, where their ids go. -1 when out of
 * memory (then none is in). */
int swim_bucket_merge(swim_bucket *k, swim_bcast *const *run, size_t m);
/* Take b out (found by its id). False if it is not there. */
bool swim_bucket_remove(swim_bucket *k, const swim_bcast *b);
/* Take the m newest out (m <= n). */
void swim_bucket_drop_front(swim_bucket *k, size_t m);
/* Take the oldest out; NULL if empty. */
swim_bcast *swim_bucket_pop_back(swim_bucket *k);

typedef struct swim_queue {
    swim_bucket *buckets;        /* the non-empty, in send order: transmits
                                    ascending, then len descending */
    size_t nbuckets, capbuckets;
    size_t n;                    /* entries in all buckets */
    swim_bcast **scratch;        /* the picks of one packet */
    size_t capscratch;
    swim_bcast **kbuckets;
    size_t nkbuckets;
    swim_msg_pool *pool;         /* where messages are shared; NULL: none */
    uint64_t next_id;
    size_t min_len;              /* smallest message ever queued: a packet
                                    with less room left is full */
    bool notify_finished;        /* set when a notify entry finished */
    struct swim_bcast_slab *slabs; /* where entries live (swim_queue.c), owned */
    size_t slab_used;            /* entries handed out of the newest slab */
    swim_bcast *free_bcasts;     /* freed entries, chained by knext */
    size_t live_bcasts;          /* handed out and not freed */
} swim_queue;

void swim_queue_init(swim_queue *q);
void swim_queue_free(swim_queue *q);
/* Queue a copy of msg. A queued entry with the same non-NULL key is dropped
 * first. Returns 0 or -1 when out of memory. */
int swim_queue_put(swim_queue *q, const char *key, const uint8_t *msg, size_t len, bool notify);
/* The same, given the key's hash (FNV-1a over the C string, the hash its
 * node has for a member's name): a core queues an alive for every member
 * a push/pull brings, and hashing the name again was a pass over it for
 * nothing. */
int swim_queue_put_hashed(swim_queue *q, const char *key, uint32_t khash, const uint8_t *msg, size_t len,
                          bool notify);
/* A put with this key's hash is coming: start loading its slot of the key
 * table, then (that slot loaded) the first entry it leads to. Hints only,
 * as swim_members_prefetch's are. */
void swim_queue_prefetch_key(const swim_queue *q, uint32_t khash);
void swim_queue_prefetch_key_head(const swim_queue *q, uint32_t khash);
/* Take broadcasts for one packet: each costs len + overhead of `limit`.
 * Calls take(ud, msg, len) for each, in selection order, before the entry
 * may be freed. Returns the bytes used (len + overhead summed). */
/* Whether an entry with this key is queued (not yet retired). */
bool swim_queue_has(const swim_queue *q, const char *key);
/* Drop entries beyond the first `keep` in send order (the most sent, then
 * the smallest, then the oldest go first), as memberlist's
 * TransmitLimitedQueue.Prune. */
void swim_queue_prune(swim_queue *q, size_t keep);
/* The i-th entry in send order (i < n), in O(buckets): for tests and checks. */
const swim_bcast *swim_queue_at(const swim_queue *q, size_t i);
/* assert() the queue's own invariants (order, key table, bounds). */
void swim_queue_check(const swim_queue *q);
size_t swim_queue_take(swim_queue *q, size_t overhead, size_t limit, uint32_t transmit_limit,
                       void (*take)(void *ud, const uint8_t *msg, size_t len), void *ud);
uint32_t swim_retransmit_limit(uint32_t mult, size_t n);

/* ---- suspicion (swim_suspicion.c) ---- */
typedef struct swim_suspicion {
    uint32_t k;                  /* confirmations expected */
    uint32_t n;                  /* confirmations seen */
    swim_time min, max;          /* timeouts, ms */
    swim_time start;
    swim_time deadline;          /* absolute */
    swim_time state_change;      /* the suspect state this timer belongs to */
    wire_bytes *from;            /* names seen (accuser first), owned copies;
                                    compared with their length: a From may
                                    hold a NUL byte */
    size_t nfrom;
} swim_suspicion;

/* The node's running suspicion timer, NULL if none. */
static inline swim_suspicion *swim_node_susp(const swim_node *n) { return n->has_susp ? n->since.susp : NULL; }
/* When the node entered its state (for a suspect with a timer, the timer
 * holds it). */
static inline swim_time swim_node_state_change(const swim_node *n)
{
    return n->has_susp ? n->since.susp->state_change : n->since.state_change;
}

swim_time swim_suspicion_min_timeout(uint32_t mult, size_t n, uint32_t interval);
/* Timeout after c confirmations of k expected, memberlist's
 * remainingSuspicionTime before the elapsed time is subtracted. */
swim_time swim_suspicion_timeout(uint32_t c, uint32_t k, swim_time min, swim_time max);
swim_suspicion *swim_suspicion_new(const char *from, size_t flen, uint32_t k, swim_time min, swim_time max,
                                   swim_time now, swim_time state_change);
void swim_suspicion_free(swim_suspicion *sp);
/* A suspect from `from`: true if it was a new confirmation (re-gossip). */
bool swim_suspicion_confirm(swim_suspicion *sp, const char *from, size_t len);
/* assert() a timer's invariants (confirmations <= k, deadline in range). */
void swim_suspicion_check(const swim_suspicion *sp);

/* ---- the core ---- */
/* The TCP fallback ping of the running probe. */
typedef enum {
    TCP_NONE,                    /* not asked for (yet) */
    TCP_PENDING,                 /* stream tcp_id out, no answer yet */
    TCP_OK,                      /* acked over TCP */
    TCP_FAIL,                    /* failed or a wrong answer */
} swim_tcp_state;

typedef struct swim_probe {
    bool active;
    bool indirect;               /* past ProbeTimeout: relays asked */
    char *name;                  /* the target's whole name, owned (memberlist
                                    probes a copy of the node taken at start) */
    size_t name_len;
    swim_addr addr;
    uint32_t incarnation;        /* as known at probe start */
    uint32_t seq;
    swim_time start, t_direct, t_end;
    int expected_nacks, nacks;
    bool send_failed;            /* the ping was refused by the socket */
    swim_tcp_state tcp;
    uint64_t tcp_id;
} swim_probe;

/* A relayed probe we run for another node (indirect ping). */
typedef struct swim_relay {
    uint32_t seq;                /* our ping's seq */
    uint32_t req_seq;            /* the requester's */
    swim_addr req_addr;
    bool nack;
    swim_time expire;
} swim_relay;

typedef enum { STREAM_PUSH_PULL, STREAM_PING, STREAM_USER } swim_pending_kind;

typedef struct swim_pending_stream {
    uint64_t id;
    swim_pending_kind kind;
    bool join;
    uint64_t join_id;            /* which swim_join() batch */
    bool periodic;
    uint32_t seq;                /* ping: the probe's seq */
    swim_addr to;                /* push/pull: the peer (a join's follow-up goes there again) */
} swim_pending_stream;

typedef struct swim_join_batch {
    uint64_t id;
    int pending, ok;
} swim_join_batch;

/* A queued event. Copies of what its views show (name, meta, payload)
 * are kept in the core's evbytes, by offset (SWIM_EV_NONE: none): one
 * buffer for them all, not three mallocs an event (a push/pull merging a
 * large table queues thousands); the views are pointed at them when the
 * event is delivered. */
#define SWIM_EV_NONE SIZE_MAX
typedef struct swim_qevent {
    swim_event ev;
    size_t name, meta, payload;
} swim_qevent;

struct swim {
    swim_config cfg;
    swim_io io;
    swim_rng rng;
    swim_time now;
    swim_members members;
    swim_node *self;
    swim_queue bq;               /* membership messages, keyed by node name */
    swim_queue uq;               /* application broadcasts */
    uint32_t seq;
    uint32_t awareness;
    bool leaving;
    swim_time leave_deadline;    /* SWIM_NEVER when no leave is waiting */

    swim_time probe_tick;        /* next probe ticker tick */
    bool probe_tick_buffered;    /* one tick missed while probing (Go ticker's buffer) */
    swim_probe probe;
    swim_time gossip_tick;
    swim_time push_pull_tick;    /* SWIM_NEVER when disabled or one is running */
    bool push_pull_running;
    bool push_pull_staggered;    /* the random initial delay is over */
    bool leave_waiting;          /* a swim_leave() awaits its broadcast */
    swim_time leave_done_at;     /* broadcast out: LEAVE_DONE then, after the
                                    propagate delay; SWIM_NEVER otherwise */
    /* swim_repair.c: the accusers answered lately (name hash, and until
     * when it is not answered again; 0: a free slot), and the earliest
     * time for the next push/pull with an unknown pinger */
    struct {
        uint32_t hash;
        swim_time until;
    } stale_answered[SWIM_STALE_SLOTS];
    swim_time repair_pp_next;
    /* swim_pushpull.c: a push/pull with the seed of our join, once, this
     * long after it (SWIM_JOIN_FOLLOWUP_MS); SWIM_NEVER: none due */
    swim_time join_followup_at;
    swim_addr join_followup_to;
    /* the source of the packet whose suspect or dead message is being
     * handled (swim_dispatch.c), NULL otherwise: swim_repair.c answers it */
    const swim_addr *rx_from;

    /* swim_pushpull.c: the node states of a push/pull reply, kept while
     * members.gen stays at gen; last_gen is the table's gen at the last
     * reply, so that only a table sent twice unchanged is kept */
    struct {
        uint8_t *bytes;
        size_t len;
        uint64_t gen, last_gen;
    } pp_cache;

    swim_node **susp_nodes;      /* nodes with a running suspicion timer */
    size_t nsusp, capsusp;
    /* The earliest of their deadlines (SWIM_NEVER without one), kept as
     * timers start, shorten and stop: every call into the core reports its
     * next deadline, and reading each timer's through its node cost two
     * cache misses a call in the simulator (1 % of a 5,000-node run). */
    swim_time susp_next;
    swim_relay *relays;
    size_t nrelays, caprelays;
    swim_pending_stream *streams;
    size_t nstreams, capstreams;
    uint64_t next_stream_id;
    swim_join_batch *joins;
    size_t njoins, capjoins;
    uint64_t next_join_id;

    swim_qevent *events;
    size_t nevents, capevents;
    uint8_t *evbytes;            /* the queued events' copies */
    size_t nevbytes, capevbytes;
    bool flushing;
    bool in_call;                /* inside a public call that changes the core:
                                    a callback calling in again is a bug */
    swim_time deadline_reported; /* last value given to io->deadline */

    wire_buf scratch;            /* encoding a message */
    wire_buf pkt;                /* building a packet */
    wire_buf parts;              /* broadcasts taken for one packet */
    wire_bytes *partv;           /* offsets (p == NULL) and lengths into parts */
    size_t nparts, capparts;
    swim_stats stats;
};

/* swim_events.c */
void swim_emit(swim *s, swim_event_type type, const swim_node *n);
void swim_emit_event(swim *s, const swim_event *ev);
void swim_flush_events(swim *s);
void swim_logf(swim *s, base_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Count n dropped messages of a type byte (-1: none could be read). */
static inline void swim_count_drop(swim *s, int type, uint64_t n)
{
    s->stats.dropped += n;
    if (type >= 0 && type < 16)
        s->stats.dropped_by_type[type] += n;
}

/* swim_send.c */
/* Go's compoundHeaderOverhead and compoundOverhead: the 07 and count
 * bytes, then two length bytes per part. */
#define SWIM_COMPOUND_HEADER_OVERHEAD 2
#define SWIM_COMPOUND_PART_OVERHEAD 2
/* A message is encoded into s->scratch by one of these (0 or -1). */
int swim_enc_alive_of(swim *s, const swim_node *n);
struct swim_alive_in;
int swim_enc_alive_in(swim *s, const struct swim_alive_in *in);
int swim_enc_suspect(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen);
int swim_enc_dead(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen);
int swim_enc_ping(swim *s, uint32_t seq, const char *node, size_t nlen);
int swim_enc_ack(swim *s, uint32_t seq, const uint8_t *payload, size_t len, bool nil_payload);
/* Queue s->scratch as a membership broadcast about `node`. */
/* Queue the scratch message as the broadcast about member n, replacing
 * any queued about it. */
void swim_broadcast_scratch(swim *s, const swim_node *n, bool notify);
/* Send msg with piggy-backed gossip (memberlist sendMsg). */
void swim_send_msg(swim *s, const swim_addr *to, const uint8_t *msg, size_t len);
/* Send msg as is (rawSendMsgPacket). `dst` names the destination node
 * when memberlist passes it (gossip, probing a suspect), else NULL. */
void swim_send_raw(swim *s, const swim_addr *to, const char *dst, const uint8_t *msg, size_t len);
/* Build and send compound(s) from parts in s->pkt; see swim_send.c. */
void swim_send_compound(swim *s, const swim_addr *to, const char *dst, const wire_bytes *parts, size_t n);
/* memberlist getBroadcasts: fill s->partv with queued broadcasts (then
 * application ones) costing at most `limit` bytes. */
void swim_collect(swim *s, size_t overhead, size_t limit);
/* Bytes left for gossip in a packet already holding `used` bytes. */
size_t swim_budget(const swim *s, size_t used);
/* swim_gossip.c */
void swim_gossip(swim *s);
size_t swim_random_nodes(swim *s, size_t k, swim_node **out,
                         bool (*ok)(const swim *, const swim_node *, const void *), const void *arg);
void swim_count_sent(swim *s, const uint8_t *msg, size_t len);

/* swim_state.c */
struct swim_alive_in {
    const char *node; size_t nlen;
    swim_addr addr;
    uint32_t incarnation;
    const uint8_t *meta; size_t meta_len;
    const uint8_t *vsn; size_t vsn_len;
    bool hashed;                 /* hash is node's, from swim_members_prefetch */
    uint32_t hash;
};
typedef struct swim_alive_in swim_alive_in;
/* Whether the member state machine has an edge from -> to (the table is
 * in swim_state.c). */
bool swim_state_edge(swim_state from, swim_state to);
/* Every change of a member's state or incarnation: along an edge, the
 * incarnation never going back unless `takeover` (a new node at another
 * address claiming a left or reclaimable dead member's name). */
void swim_node_transition(swim *s, swim_node *n, swim_state to, uint32_t inc, bool takeover);
void swim_alive_node(swim *s, const swim_alive_in *a, bool bootstrap);
void swim_suspect_node(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen);
void swim_dead_node(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen);
void swim_refute(swim *s, uint32_t accused);
void swim_awareness_delta(swim *s, int delta);
void swim_suspicion_tick(swim *s);
/* The earliest deadline of the running timers, walked (SWIM_NEVER without
 * one); swim_suspicion_rearm keeps it in susp_next, after a timer started,
 * stopped or was confirmed. */
swim_time swim_suspicion_earliest(const swim *s);
void swim_suspicion_rearm(swim *s);
void swim_suspicion_clear(swim *s, swim_node *n);
swim_time swim_suspicion_next(const swim *s);
bool swim_addr_eq(const swim_addr *a, const swim_addr *b);
bool swim_addr_from_bytes(swim_addr *out, wire_bytes ip, uint16_t port);
/* Fill *a from an alive's wire fields (alive message or push/pull node
 * state); a borrows node, meta and vsn's bytes. NULL if there is something
 * to apply, else why not (a static phrase: an empty name, a name holding
 * a NUL byte, a bad address, a Vsn of 1 to 5 bytes). */
const char *swim_alive_from_wire(const swim *s, swim_alive_in *a, wire_bytes node, uint32_t incarnation,
                                 wire_bytes addr, uint16_t port, wire_bytes meta, const wire_vsn *vsn);
/* Whether an alive with these wire fields (its name hashed: `hash`) is one
 * that swim_alive_from_wire takes and swim_alive_node then drops with no
 * effect at all: about a member we hold at this incarnation or a newer
 * one, at the address we hold, not about us, with nothing that logs on
 * the way (a bad Vsn), and no -allow-cidr or alive filter to ask. Nearly
 * every alive a large cluster gossips is such a repeat (docs/sim-speed.md:
 * at 5,000 simulated nodes, tens of millions); this answers for them
 * without building the input swim_alive_node takes. False means only
 * "not sure": the caller goes the whole way. */
bool swim_alive_is_repeat(swim *s, wire_bytes node, uint32_t hash, uint32_t incarnation, wire_bytes addr,
                          uint16_t port, const wire_vsn *vsn);

/* swim_probe.c */
void swim_probe_tick(swim *s);
swim_time swim_probe_next(const swim *s);
void swim_handle_ping(swim *s, const swim_addr *from, const wire_ping *p);
void swim_handle_indirect(swim *s, const swim_addr *from, const wire_indirect_ping *p);
void swim_handle_ack(swim *s, const wire_ack *a);
void swim_handle_nack(swim *s, const wire_nack *n);
void swim_probe_tcp_done(swim *s, uint32_t seq, const uint8_t *reply, size_t len);
void swim_probe_send_failed(swim *s, const swim_addr *to);
uint32_t swim_scale(const swim *s, uint32_t t);

/* swim_pushpull.c */
int swim_encode_local_state(swim *s, wire_buf *out, bool join);
/* The same bytes, for a push/pull reply: the node states come from the
 * cache when the table has not changed since it was filled. */
int swim_encode_reply_state(swim *s, wire_buf *out, bool join);
void swim_pp_cache_free(swim *s);
/* Parse and merge a push/pull message (06 ...). Returns 0, or -1 when
 * malformed or refused (version check, merge veto). */
typedef struct swim_remote_state {
    bool join;
    wire_push_node_state *nodes; /* owned array of views into the message */
    size_t n;
    const uint8_t *user;
    size_t user_len;
} swim_remote_state;
int swim_parse_remote(swim *s, const uint8_t *msg, size_t len, swim_remote_state *out);
void swim_remote_free(swim_remote_state *rs);
int swim_merge_remote(swim *s, const swim_remote_state *rs);
void swim_push_pull_done(swim *s, const swim_pending_stream *ps, const uint8_t *reply, size_t len);
void swim_push_pull_start(swim *s, const swim_addr *to, bool join, uint64_t join_id);
/* The same, saying whether it is the periodic one (whose timer waits for
 * it); a join's is never periodic. */
void swim_push_pull_open(swim *s, const swim_addr *to, bool join, uint64_t join_id, bool periodic);

/* swim_repair.c */
/* A suspect or dead message about us below our incarnation, accused by
 * `from`: our alive straight to it. */
void swim_answer_stale(swim *s, const char *from, size_t flen);
/* A ping whose source node we do not know or hold dead, answered at
 * `to`: a push/pull with it. */
void swim_repair_unknown_pinger(swim *s, const wire_ping *p, const swim_addr *to);
void swim_push_pull_tick(swim *s);
swim_time swim_push_pull_scale(uint32_t interval, size_t n);

/* swim_dispatch.c */
void swim_dispatch(swim *s, const swim_addr *from, const uint8_t *msg, size_t len, int depth);
bool swim_dispatch_stream(swim *s, const swim_addr *from, const uint8_t *msg, size_t len, wire_buf *reply);

/* swim_check.c: assert() everything the core promises between calls (the
 * member table, suspicion timers, queues, the probe, pending streams and
 * joins). Called at the end of every public call unless NDEBUG. */
void swim_check(const swim *s);

/* swim_core.c */
swim_pending_stream *swim_stream_add(swim *s, swim_pending_kind kind);
/* Ask the I/O side for a stream (swim_stream_req says what deadline and
 * phase_timeout mean). */
void swim_open_stream(swim *s, uint64_t id, swim_stream_kind kind, const swim_addr *to,
                      const uint8_t *msg, size_t len, bool want_reply, swim_time deadline, uint32_t phase_timeout);

#endif
