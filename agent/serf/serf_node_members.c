/* serf_node's member table (serf's s.members and the recent-intent buffer)
 * and the intents that change it: serf 0.9.4's handleNodeJoinIntent and
 * handleNodeLeaveIntent. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_intents.h"
#include "serf/serf_node_internal.h"

/* Intents about members we do not know yet, kept at most this many: serf's
 * buffer is unbounded (reaped after RecentIntentTimeout), but every entry
 * is one join or leave in flight, far fewer in any cluster; beyond it a
 * new one is dropped (logged), as if it had been lost on the way. */
#define SERF_NODE_INTENTS_MAX 4096

static const char *member_name(const void *tab, size_t k)
{
    return ((const serf_node *)tab)->members[k]->name;
}

static const char *intent_name(const void *tab, size_t k)
{
    return ((const serf_node *)tab)->intents[k].name;
}

void serf_node_members_init(serf_node *sn)
{
    sn->members_ix = (serf_node_index){ .name_at = member_name, .tab = sn };
    sn->intents_ix = (serf_node_index){ .name_at = intent_name, .tab = sn };
}

serf_node_mstate *serf_node_find(const serf_node *sn, const char *name)
{
    long k = serf_node_index_find(&sn->members_ix, name);
    return k < 0 ? NULL : sn->members[k];
}

serf_node_mstate *serf_node_add(serf_node *sn, const char *name)
{
    assert(!serf_node_find(sn, name));
    if (sn->nmembers == sn->members_cap) {
        size_t cap = sn->members_cap ? sn->members_cap * 2 : 16;
        serf_node_mstate **v = realloc(sn->members, cap * sizeof *v);
        if (!v)
            return NULL;
        sn->members = v;
        sn->members_cap = cap;
    }
    serf_node_mstate *m = calloc(1, sizeof *m);
    if (!m || !(m->name = strdup(name))) {
        free(m);
        return NULL;
    }
    m->status = SERF_MEMBER_ALIVE;
    sn->members[sn->nmembers] = m;
    if (serf_node_index_add(&sn->members_ix, sn->nmembers) != 0) {
        free(m->name);
        free(m);
        return NULL;
    }
    sn->nmembers++;
    return m;
}

static void mstate_free(serf_node_mstate *m)
{
    free(m->name);
    free(m->meta);
    free(m);
}

serf_node_member serf_node_view(const serf_node_mstate *m)
{
    serf_node_member v = { .name = m->name, .addr = m->addr, .meta = m->meta, .meta_len = m->meta_len,
                           .status = m->status, .status_ltime = m->status_ltime, .leave_time = m->leave_time };
    memcpy(v.vsn, m->vsn, sizeof v.vsn);
    return v;
}

void serf_node_emit_member(serf_node *sn, serf_node_event_type type, const serf_node_mstate *m)
{
    serf_node_event ev = { .type = type, .member = serf_node_view(m) };
    serf_node_emit(sn, &ev);
}

void serf_node_erase(serf_node *sn, serf_node_mstate *m)
{
    assert(m != sn->self);
    size_t k = 0;
    while (sn->members[k] != m)
        k++;
    sn->members[k] = sn->members[--sn->nmembers];
    serf_node_index_fill(&sn->members_ix, sn->nmembers);   /* one moved */
    sn->stats.reaped++;
    serf_node_emit_member(sn, SERF_EV_MEMBER_REAP, m);
    mstate_free(m);
}

void serf_node_members_free(serf_node *sn)
{
    for (size_t k = 0; k < sn->nmembers; k++)
        mstate_free(sn->members[k]);
    free(sn->members);
    serf_node_index_free(&sn->members_ix);
    for (size_t k = 0; k < sn->nintents; k++)
        free(sn->intents[k].name);
    free(sn->intents);
    serf_node_index_free(&sn->intents_ix);
    sn->members = NULL;
    sn->intents = NULL;
    sn->nmembers = sn->nintents = sn->members_cap = sn->intents_cap = 0;
}

/* ---- the recent-intent buffer ---- */

static serf_node_intent *intent_find(serf_node *sn, const char *node)
{
    long k = serf_node_index_find(&sn->intents_ix, node);
    return k < 0 ? NULL : &sn->intents[k];
}

/* serf's upsertIntent: true if recorded (new, or newer). */
static bool upsert_intent(serf_node *sn, const char *node, int type, uint64_t ltime)
{
    serf_node_intent *in = intent_find(sn, node);
    if (in) {
        if (ltime <= in->ltime)
            return false;
        *in = (serf_node_intent){ in->name, type, ltime, sn->now };
        return true;
    }
    if (sn->nintents == SERF_NODE_INTENTS_MAX) {
        serf_logf(&sn->log, BASE_LOG_WARN, "serf intent about %s dropped: %d intents about unknown members held",
                  node, SERF_NODE_INTENTS_MAX);
        return false;
    }
    if (sn->nintents == sn->intents_cap) {
        size_t cap = sn->intents_cap ? sn->intents_cap * 2 : 16;
        serf_node_intent *v = realloc(sn->intents, cap * sizeof *v);
        if (!v)
            return false;
        sn->intents = v;
        sn->intents_cap = cap;
    }
    char *name = strdup(node);
    if (!name)
        return false;
    sn->intents[sn->nintents] = (serf_node_intent){ name, type, ltime, sn->now };
    if (serf_node_index_add(&sn->intents_ix, sn->nintents) != 0) {
        free(name);
        return false;
    }
    sn->nintents++;
    return true;
}

/* serf's recentIntent */
static bool recent_intent(serf_node *sn, const char *node, int type, uint64_t *ltime)
{
    serf_node_intent *in = intent_find(sn, node);
    if (!in || in->type != type)
        return false;
    *ltime = in->ltime;
    return true;
}

void serf_node_reap_intents(serf_node *sn, swim_time now)
{
    size_t before = sn->nintents;
    for (size_t k = 0; k < sn->nintents;) {
        if (now > sn->intents[k].wall && now - sn->intents[k].wall > SERF_RECENT_INTENT_TIMEOUT_MS) {
            free(sn->intents[k].name);
            sn->intents[k] = sn->intents[--sn->nintents];
        } else {
            k++;
        }
    }
    if (sn->nintents != before)
        serf_node_index_fill(&sn->intents_ix, sn->nintents);
}

/* A new member takes the status time of an intent that came first. */
void serf_node_apply_recent_intent(serf_node *sn, serf_node_mstate *m)
{
    uint64_t t;
    if (recent_intent(sn, m->name, SERF_MSG_JOIN, &t))
        m->status_ltime = t;
    if (recent_intent(sn, m->name, SERF_MSG_LEAVE, &t)) {
        m->status = SERF_MEMBER_LEAVING;
        m->status_ltime = t;
    }
}

void serf_node_intent_key(char *buf, size_t len, const char *node)
{
    serf_intents_key(buf, len, node);   /* the key serf_leave polls */
}

/* ---- intents ---- */

bool serf_node_join_intent(serf_node *sn, uint64_t ltime, const char *node)
{
    serf_clock_witness(&sn->clock, ltime);
    serf_node_mstate *m = serf_node_find(sn, node);
    if (!m)
        return upsert_intent(sn, node, SERF_MSG_JOIN, ltime);
    if (ltime <= m->status_ltime)
        return false;
    m->status_ltime = ltime;
    /* a leave older than this join: back to alive */
    if (m->status == SERF_MEMBER_LEAVING)
        m->status = SERF_MEMBER_ALIVE;
    return true;
}

/* serf's handlePrune, without its wait for a LEAVING member (serf sleeps
 * BroadcastTimeout + LeavePropagateDelay in a goroutine that holds the
 * member lock; we erase at once, the member being gone either way). */
static void prune(serf_node *sn, serf_node_mstate *m)
{
    serf_logf(&sn->log, BASE_LOG_INFO, "EventMemberReap (forced): %s", m->name);
    serf_node_erase(sn, m);
}

bool serf_node_leave_intent_in(serf_node *sn, uint64_t ltime, const char *node, bool prune_it)
{
    serf_clock_witness(&sn->clock, ltime);
    serf_node_mstate *m = serf_node_find(sn, node);
    if (!m)
        return upsert_intent(sn, node, SERF_MSG_LEAVE, ltime);
    if (ltime <= m->status_ltime)
        return false;
    if (m == sn->self && !sn->leaving) {
        serf_logf(&sn->log, BASE_LOG_DEBUG, "refuting an older leave intent");
        (void)serf_node_broadcast_join(sn, serf_clock_time(&sn->clock));
        return false;
    }
    /* always taken, even without a change of status: two successive
     * leaves would otherwise be rebroadcast forever (consul#8179) */
    m->status_ltime = ltime;
    switch (m->status) {
    case SERF_MEMBER_ALIVE:
        m->status = SERF_MEMBER_LEAVING;
        if (prune_it && m != sn->self)
            prune(sn, m);
        return true;
    case SERF_MEMBER_FAILED:
        m->status = SERF_MEMBER_LEFT;
        serf_logf(&sn->log, BASE_LOG_INFO, "EventMemberLeave (forced): %s", m->name);
        serf_node_emit_member(sn, SERF_EV_MEMBER_LEAVE, m);
        if (prune_it)
            prune(sn, m);
        return true;
    case SERF_MEMBER_LEAVING:
    case SERF_MEMBER_LEFT:
        if (prune_it && m != sn->self)
            prune(sn, m);
        return true;
    case SERF_MEMBER_NONE:
        break;
    }
    return false;
}

int serf_node_broadcast_join(serf_node *sn, uint64_t ltime)
{
    serf_clock_witness(&sn->clock, ltime);
    (void)serf_node_join_intent(sn, ltime, sn->name);
    wire_buf b;
    wire_buf_init(&b, 0);
    char key[SERF_NODE_KEY_MAX];
    serf_node_intent_key(key, sizeof key, sn->name);
    int rc = serf_join_intent(&b, ltime, sn->name) == 0 ? serf_node_out_broadcast(sn, b.data, b.len, key) : -1;
    wire_buf_free(&b);
    if (rc != 0)
        serf_logf(&sn->log, BASE_LOG_WARN, "failed to broadcast join intent");
    return rc;
}

/* ---- the public views ---- */

void serf_node_members_each(const serf_node *sn, bool (*fn)(void *ud, const serf_node_member *m), void *ud)
{
    for (size_t k = 0; k < sn->nmembers; k++) {
        serf_node_member v = serf_node_view(sn->members[k]);
        if (!fn(ud, &v))
            return;
    }
}

size_t serf_node_member_count(const serf_node *sn)
{
    return sn->nmembers;
}

bool serf_node_member_get(const serf_node *sn, const char *name, serf_node_member *out)
{
    serf_node_mstate *m = serf_node_find(sn, name);
    if (!m)
        return false;
    *out = serf_node_view(m);
    return true;
}

size_t serf_node_alive_count(const serf_node *sn)
{
    return sn->nmembers;   /* serf's NumNodes: "regardless of their health or status" */
}

size_t serf_node_random_alive(serf_node *sn, size_t n, const char *exclude, serf_node_member *out)
{
    /* serf's kRandomMembers with relayResponse's filter: up to 3 * members
     * random draws, skipping the unfit and those already taken */
    size_t got = 0, total = sn->nmembers;
    for (size_t i = 0; i < 3 * total && got < n; i++) {
        serf_node_mstate *m = sn->members[serf_node_rand(sn) % total];
        if (m == sn->self || m->status != SERF_MEMBER_ALIVE || m->vsn[1] < 5 ||
            (exclude && strcmp(m->name, exclude) == 0))
            continue;
        bool taken = false;
        for (size_t j = 0; j < got && !taken; j++)
            taken = strcmp(out[j].name, m->name) == 0;
        if (!taken)
            out[got++] = serf_node_view(m);
    }
    return got;
}

const char *serf_member_status_name(serf_member_status s)
{
    switch (s) {
    case SERF_MEMBER_NONE:
        return "none";
    case SERF_MEMBER_ALIVE:
        return "alive";
    case SERF_MEMBER_LEAVING:
        return "leaving";
    case SERF_MEMBER_LEFT:
        return "left";
    case SERF_MEMBER_FAILED:
        return "failed";
    }
    return "unknown";
}
