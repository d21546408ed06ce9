/* daemon_intents: serf's join and leave intents (§16). We witness serf's
 * Lamport time in the intents and push/pull states we see, announce our
 * own join intent after a join (newer than anything the cluster holds for
 * us), and relay intents that are news to us, as serf agents do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "serf/serf_msg.h"

/* The key our broadcast of an intent about `node` goes under: a newer
 * intent about the same node replaces one still queued. */
void daemon_intents_key(char *buf, size_t len, const char *node)
{
    snprintf(buf, len, "serf-intent:%s", node);
}

static void on_relay_timer(uv_timer_t *t)
{
    agent *a = t->data;
    for (size_t i = 0; i < a->nrelays; i++) {
        if (a->net && swim_broadcast(net_core(a->net), a->relays[i].payload, a->relays[i].len, a->relays[i].key) != 0)
            base_log(BASE_LOG_WARN, "serf intent relay (%s) too large to broadcast", a->relays[i].key);
        free(a->relays[i].payload);
    }
    a->nrelays = 0;
}

/* Witness serf's Lamport time in join/leave intents, so our own intent is
 * newer than what serf agents hold for us; and relay the intents that are
 * news to us, as serf agents do (serf_relay.h). Called from inside the
 * core: the relay is queued for the loop. */
void daemon_intents_observe(agent *a, const uint8_t *p, size_t n)
{
    serf_intent in;
    if (serf_intent_parse(p, n, &in) != 0)
        return;
    /* a wildly large time is an attack on the clock, not a real cluster */
    if (in.ltime >= UINT64_MAX / 2)
        return;
    if (in.ltime > a->serf_ltime)
        a->serf_ltime = in.ltime;
    if (!a->relay || !a->net)
        return;
    int rc = serf_relay_observe(a->relay, swim_get_config(net_core(a->net))->name, in.node, in.ltime);
    if (rc < 0) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return;
    }
    if (rc == 0)
        return;
    if (a->nrelays == AGENT_RELAY_QUEUE) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: %d relays already waiting", in.node, AGENT_RELAY_QUEUE);
        return;
    }
    uint8_t *copy = malloc(n);
    if (!copy) {
        base_log(BASE_LOG_WARN, "serf intent from %s not relayed: out of memory", in.node);
        return;
    }
    memcpy(copy, p, n);
    daemon_intents_key(a->relays[a->nrelays].key, sizeof a->relays[a->nrelays].key, in.node);
    a->relays[a->nrelays].payload = copy;
    a->relays[a->nrelays].len = n;
    a->nrelays++;
    base_log(BASE_LOG_DEBUG, "relaying serf %s intent of %s (LTime %llu)", in.type == SERF_MSG_LEAVE ? "leave" : "join",
            in.node, (unsigned long long)in.ltime);
    uv_timer_start(&a->relay_timer, on_relay_timer, 0, 0);
}

/* Broadcast our own intent (built in b): under our per-node key, and
 * recorded as seen so it is not relayed back. 0 or -1. */
int daemon_intents_broadcast_own(agent *a, const wire_buf *b, uint64_t ltime)
{
    const char *name = swim_get_config(net_core(a->net))->name;
    char key[300];
    daemon_intents_key(key, sizeof key, name);
    if (swim_broadcast(net_core(a->net), b->data, b->len, key) != 0)
        return -1;
    if (a->relay)
        (void)serf_relay_observe(a->relay, name, name, ltime); /* self: never relayed */
    return 0;
}

/* After a successful join, announce a serf join intent newer than the
 * cluster's member clock (learnt from the push/pull): serf then holds that
 * time for us, which clears a "leaving" state left over from an earlier
 * run under the same name, and our later leave intent beats it. */
void daemon_intents_on_join(uv_timer_t *t)
{
    agent *a = t->data;
    if (a->leave_phase || !a->net)
        return;
    wire_buf b;
    wire_buf_init(&b, 0);
    uint64_t ltime = a->serf_ltime + 1;
    if (serf_join_intent(&b, ltime, swim_get_config(net_core(a->net))->name) == 0 &&
        daemon_intents_broadcast_own(a, &b, ltime) == 0) {
        a->serf_ltime = ltime;
    }
    wire_buf_free(&b);
}

void daemon_intents_merge_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    (void)is_join;
    agent *a = ud;
    uint64_t v;
    if (serf_state_ltime(state, len, &v) == 0 && v > a->serf_ltime && v < UINT64_MAX / 2)
        a->serf_ltime = v;
}
