#include "serf/serf_intents.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg.h"

/* A time this large is an attack on the clock, not a real cluster: taking
 * it would leave no room to count up. */
#define SERF_INTENTS_LTIME_SANE (UINT64_MAX / 2)

int serf_intents_init(serf_intents *si, const char *self, serf_log log)
{
    memset(si, 0, sizeof *si);
    assert(strlen(self) < sizeof si->self);
    snprintf(si->self, sizeof si->self, "%s", self);
    si->log = log;
    si->relay = serf_relay_new(SERF_INTENTS_RELAY_NODES);
    if (!si->relay) {
        serf_logf(&si->log, BASE_LOG_WARN, "out of memory: serf intents will not be relayed");
        return -1;
    }
    return 0;
}

static void drop_queue(serf_intents *si)
{
    for (size_t i = 0; i < si->nqueued; i++)
        free(si->queue[i].payload);
    si->nqueued = 0;
}

void serf_intents_free(serf_intents *si)
{
    drop_queue(si);
    serf_relay_free(si->relay);
    si->relay = NULL;
}

void serf_intents_key(char *buf, size_t len, const char *node)
{
    snprintf(buf, len, "serf-intent:%s", node);
}

static void witness(serf_intents *si, uint64_t ltime)
{
    if (ltime > si->ltime && ltime < SERF_INTENTS_LTIME_SANE)
        si->ltime = ltime;
}

bool serf_intents_observe(serf_intents *si, const uint8_t *p, size_t n)
{
    serf_intent in;
    if (serf_intent_parse(p, n, &in) != 0 || in.ltime >= SERF_INTENTS_LTIME_SANE)
        return false;
    witness(si, in.ltime);
    if (!si->relay)
        return false;
    int rc = serf_relay_observe(si->relay, si->self, in.node, in.ltime);
    if (rc < 0) {
        serf_logf(&si->log, BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return false;
    }
    if (rc == 0)
        return false;
    if (si->nqueued == SERF_INTENTS_RELAY_QUEUE) {
        serf_logf(&si->log, BASE_LOG_WARN, "serf intent from %s not relayed: %d relays already waiting", in.node,
                  SERF_INTENTS_RELAY_QUEUE);
        return false;
    }
    uint8_t *copy = malloc(n);
    if (!copy) {
        serf_logf(&si->log, BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return false;
    }
    memcpy(copy, p, n);
    serf_intents_key(si->queue[si->nqueued].key, sizeof si->queue[si->nqueued].key, in.node);
    si->queue[si->nqueued].payload = copy;
    si->queue[si->nqueued].len = n;
    si->nqueued++;
    serf_logf(&si->log, BASE_LOG_DEBUG, "relaying serf %s intent of %s (LTime %llu)",
              in.type == SERF_MSG_LEAVE ? "leave" : "join", in.node, (unsigned long long)in.ltime);
    return true;
}

void serf_intents_merge_state(serf_intents *si, const uint8_t *state, size_t len)
{
    uint64_t v;
    if (serf_state_ltime(state, len, &v) == 0)
        witness(si, v);
}

void serf_intents_flush(serf_intents *si, swim *core)
{
    for (size_t i = 0; i < si->nqueued; i++)
        if (swim_broadcast(core, si->queue[i].payload, si->queue[i].len, si->queue[i].key) != 0)
            serf_logf(&si->log, BASE_LOG_WARN, "serf intent relay (%s) too large to broadcast", si->queue[i].key);
    drop_queue(si);
}

int serf_intents_announce(serf_intents *si, swim *core, int type, uint64_t *ltime)
{
    assert(type == SERF_MSG_JOIN || type == SERF_MSG_LEAVE);
    uint64_t t = si->ltime + 1;
    wire_buf b;
    wire_buf_init(&b, 0);
    int rc = type == SERF_MSG_JOIN ? serf_join_intent(&b, t, si->self) : serf_leave_intent(&b, t, si->self);
    char key[SERF_INTENTS_KEY_MAX];
    serf_intents_key(key, sizeof key, si->self);
    if (rc == 0)
        rc = swim_broadcast(core, b.data, b.len, key) == 0 ? 0 : -1;
    wire_buf_free(&b);
    if (rc != 0)
        return -1;
    si->ltime = t;
    if (si->relay)
        (void)serf_relay_observe(si->relay, si->self, si->self, t); /* self: never relayed */
    if (ltime)
        *ltime = t;
    return 0;
}
