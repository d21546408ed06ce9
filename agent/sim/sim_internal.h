/* sim_internal: the simulator's private state. */
#ifndef MOONLIST_SIM_INTERNAL_H
#define MOONLIST_SIM_INTERNAL_H

#include "sim/sim.h"
#include "swim/swim_internal.h"

/* What a pending piece of simulator work is. */
typedef enum sim_item_kind {
    SIM_TICK,                    /* a core's deadline (stale unless gen matches) */
    SIM_PACKET,                  /* a datagram arriving */
    SIM_STREAM_REQ,              /* a stream's request arriving */
    SIM_STREAM_REPLY,            /* its reply arriving back */
    SIM_STREAM_TIMEOUT,          /* the requester's deadline guard */
    SIM_SERF_TICK,               /* a serf_node's deadline (sim_serf.c) */
} sim_item_kind;

typedef struct sim_item {
    swim_time t;
    uint64_t seq;                /* scheduling order: ties go first-come */
    sim_item_kind kind;
    int to;                      /* node index */
    uint32_t gen;                /* TICK: tick generation */
    int from;                    /* node index of the sender */
    uint32_t stream;             /* stream record (STREAM_*) */
    uint8_t *data;               /* owned */
    size_t len;
} sim_item;

typedef struct sim_heap {
    sim_item *v;
    size_t n, cap;
} sim_heap;

int sim_heap_push(sim_heap *h, const sim_item *it);
bool sim_heap_pop(sim_heap *h, sim_item *out);
const sim_item *sim_heap_top(const sim_heap *h);
void sim_heap_free(sim_heap *h);

typedef struct sim_stream {
    int from;                    /* requester */
    uint32_t life;               /* requester's life when opened */
    uint64_t id;                 /* the core's stream id */
    swim_time deadline;
    bool want_reply;
    bool done;
} sim_stream;

typedef struct sim_link_override {
    int from, to;
    uint32_t delay, jitter;
    double loss;
} sim_link_override;

typedef struct sim_node {
    sim *sim;
    int index;
    swim *core;
    swim_config cfg;
    swim_delegate delegates;
    bool up, paused;
    int group;
    uint32_t slow_delay, slow_jitter;  /* sim_set_slow: added to every delivery to it */
    uint32_t life;               /* restarts */
    uint32_t tick_gen;           /* bumped per schedule: older TICKs are stale */
    swim_time tick_at;           /* the core's deadline, as last reported */
    sim_item *backlog;           /* held while paused */
    size_t nbacklog, capbacklog;
    sim_traffic traffic;
    struct sim_serf_node *serf;  /* NULL: no serf (sim_serf.c) */
} sim_node;

typedef struct sim_watcher {
    sim_event_fn fn;
    void *ud;
} sim_watcher;

struct sim {
    uint64_t seed;
    swim_rng rng;
    swim_time now;
    uint64_t seq;
    sim_heap heap;
    sim_node **nodes;
    size_t n, cap;
    uint32_t delay, jitter;
    double loss;
    sim_link_override *links;
    size_t nlinks, caplinks;
    sim_stream *streams;
    size_t nstreams, capstreams;
    sim_event_fn on_event;
    void *on_event_ud;
    sim_watcher watchers[SIM_WATCHERS_MAX];
    size_t nwatchers;
    uint64_t hash;
    sim_stats stats;
    bool timing_on;
    sim_timing timing;
    wire_buf reply;
    struct sim_serf *serf;       /* NULL: sim_use_serf not called */
    swim_msg_pool *msgs;         /* the cores' queued messages, shared */
};

/* shared between sim.c (the loop), sim_net.c and sim_node.c */
/* Fold n bytes into the run's digest h (sim.c). */
uint64_t sim_digest(uint64_t h, const void *p, size_t n);
void sim_push(sim *s, sim_item *it);                 /* takes it->data */
/* it->data: a malloc'd copy of data (for sim_push to take); -1 when out of memory. */
int sim_item_copy(sim_item *it, const void *data, size_t len);
void sim_node_clear_backlog(sim_node *n);
int sim_addr_node(const sim *s, const swim_addr *a);  /* -1: nobody there */
/* A packet's or stream request's time on the link from -> to, plus what a
 * slow `to` adds (sim_slow_extra); -1, -1: the default link alone. */
swim_time sim_transit(sim *s, int from, int to, bool *lost);
/* How much later than its transit a delivery to node `to` is read, per
 * sim_set_slow: 0 for a node that is not slow (no draw from the rng). */
swim_time sim_slow_extra(sim *s, int to);
/* Queue n's tick at `at` (SWIM_NEVER: none), dropping any queued before. */
void sim_schedule(sim_node *n, swim_time at);
int sim_start_core(sim_node *n);
/* Count a datagram or a stream message (request, reply) sent by node `from`. */
void sim_count_sent(sim *s, int from, size_t len, bool stream);
void sim_io_send_packet(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc);
void sim_io_open_stream(void *ud, const swim_stream_req *req);

/* serf's hooks (sim_serf.c), each a no-op for a node without serf */
int sim_serf_start(sim_node *n, swim_io *io);      /* before swim_new: sets io->delegate */
void sim_serf_stop(sim_node *n);                   /* the node went down */
void sim_serf_on_event(sim_node *n, const swim_event *ev);
void sim_serf_step(sim_node *n, const sim_item *it);
void sim_serf_resume(sim_node *n);
void sim_serf_join_begin(sim_node *n);
void sim_serf_join_end(sim_node *n, uint64_t join_id);
void sim_serf_free(sim *s);

#endif
