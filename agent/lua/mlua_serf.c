/* mlua_serf: the script on the serf layer, protocol thread side. What a
 * script sends becomes serf's (docs/lua.md, "Events and queries"), so that
 * nothing it sends makes a serf agent warn about a message it does not
 * know (serf logs every user message whose first byte is not its own):
 *   agent.broadcast(p, key) -> user event "moonlist:<key>", coalescing
 *                              when keyed (serf's handlers see
 *                              user:moonlist:<key>);
 *   agent.send(name, p)     -> query "moonlist:send" with a node filter
 *                              {name}, no ack (every other node, serf's
 *                              included, only gossips it on);
 *   agent.event / agent.query / a query hook's answer -> serf's own.
 * And back: serf_node's events, copied for the Lua thread. Everything
 * here runs on the protocol thread; h->queries and h->own are that
 * thread's alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

/* ---- our own broadcasts: serf hands them back to us ---- */

static uint64_t fnv1a(uint64_t hsh, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hsh ^= p[i];
        hsh *= 0x100000001b3ull;
    }
    return hsh;
}

static uint64_t event_hash(wire_bytes name, wire_bytes payload)
{
    uint64_t hsh = 0xcbf29ce484222325ull;
    uint64_t n = name.n;
    hsh = fnv1a(hsh, (const uint8_t *)&n, sizeof n);   /* where the name ends */
    hsh = fnv1a(hsh, name.p, name.n);
    hsh = fnv1a(hsh, payload.p, payload.n);
    return hsh ? hsh : 1;
}

static mlua_own_event *own_remember(mlua *h, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    mlua_own_event *o = &h->own[h->own_next++ % MLUA_OWN_EVENTS];
    o->ltime = ltime;
    o->hash = event_hash(name, payload);
    return o;
}

/* Whether (ltime, name, payload) is one of ours (forgotten then: serf
 * delivers an event once). Another node's event with the same three
 * would be a duplicate of ours that serf drops anyway. */
static bool own_take(mlua *h, uint64_t ltime, wire_bytes name, wire_bytes payload)
{
    uint64_t hsh = event_hash(name, payload);
    for (size_t i = 0; i < MLUA_OWN_EVENTS; i++)
        if (h->own[i].hash == hsh && h->own[i].ltime == ltime) {
            h->own[i].hash = 0;
            return true;
        }
    return false;
}

/* ---- the queries a script asked: handle -> token ---- */

static int map_add(mlua *h, uint64_t query_id, uint64_t token)
{
    if (h->nqueries == h->cap_queries) {
        size_t cap = h->cap_queries ? h->cap_queries * 2 : 8;
        mlua_query_map *v = realloc(h->queries, cap * sizeof *v);
        if (!v)
            return -1;
        h->queries = v;
        h->cap_queries = cap;
    }
    h->queries[h->nqueries++] = (mlua_query_map){ query_id, token };
    return 0;
}

/* The token of query_id (0: not a script's), removed if `done`. */
static uint64_t map_find(mlua *h, uint64_t query_id, bool done)
{
    for (size_t i = 0; i < h->nqueries; i++)
        if (h->queries[i].query_id == query_id) {
            uint64_t token = h->queries[i].token;
            if (done)
                h->queries[i] = h->queries[--h->nqueries];
            return token;
        }
    return 0;
}

void mlua_serf_free(mlua *h)
{
    free(h->queries);
    h->queries = NULL;
    h->nqueries = h->cap_queries = 0;
}

/* ---- up: serf's events, copied ---- */

static char *dup_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        if (n)
            memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

/* A new event of `kind` with name and payload copied (NULL: out of memory,
 * logged). */
static mlua_ev *new_ev(mlua *h, mlua_ev_kind kind, wire_bytes name, wire_bytes payload, const char *from)
{
    mlua_ev *e = calloc(1, sizeof *e);
    if (!e)
        goto oom;
    e->kind = kind;
    if (!(e->name = dup_bytes(name.p, name.n)) || !(e->payload = (uint8_t *)dup_bytes(payload.p, payload.n)))
        goto oom;
    e->name_len = name.n;
    e->len = payload.n;
    if (from && !(e->from_name = strdup(from)))
        goto oom;
    return e;
oom:
    mlua_ev_free(e);
    mlua_logf(h, BASE_LOG_ERROR, "out of memory: a serf event for the script dropped");
    return NULL;
}

void mlua_post_answer(mlua *h, uint64_t token, serf_node_event_type type, const char *from, wire_bytes payload,
                      const char *error)
{
    mlua_ev *e = new_ev(h, MLUA_EVK_ANSWER, wire_bytes_of(NULL, 0), payload, from);
    if (!e)
        return;
    e->id = token;
    e->serf_type = type;
    if (error && !(e->error = strdup(error))) {
        mlua_ev_free(e);
        mlua_logf(h, BASE_LOG_ERROR, "out of memory: a query's answer dropped");
        return;
    }
    /* the end of a query the script waits on is never dropped at a full
     * queue: its callback would wait forever */
    mlua_enqueue(h, e, false);
}

static bool has_prefix(wire_bytes b, const char *prefix)
{
    size_t n = strlen(prefix);
    return b.n >= n && memcmp(b.p, prefix, n) == 0;
}

static bool is_name(wire_bytes b, const char *name)
{
    return b.n == strlen(name) && memcmp(b.p, name, b.n) == 0;
}

void mlua_post_serf_event(mlua *h, const serf_node_event *ev)
{
    mlua_ev *e = NULL;
    switch (ev->type) {
    case SERF_EV_USER:
        if (has_prefix(ev->name, MLUA_SERF_PREFIX)) {
            if (own_take(h, ev->ltime, ev->name, ev->payload))
                return;   /* our own broadcast: it never reached its sender's hooks */
            if (!mlua_admit_event(h))
                return;
            /* a user event does not say who sent it */
            e = new_ev(h, MLUA_EVK_MESSAGE, ev->name, ev->payload, NULL);
        } else {
            if (!mlua_admit_event(h))
                return;
            if ((e = new_ev(h, MLUA_EVK_USER, ev->name, ev->payload, NULL))) {
                e->ltime = ev->ltime;
                e->coalesce = ev->coalesce;
            }
        }
        break;
    case SERF_EV_QUERY:
        if (!mlua_admit_event(h))
            return;
        if (is_name(ev->name, MLUA_SERF_SEND)) {
            e = new_ev(h, MLUA_EVK_MESSAGE, ev->name, ev->payload, ev->from ? ev->from : "");
        } else if ((e = new_ev(h, MLUA_EVK_QUERY, ev->name, ev->payload, ev->from ? ev->from : ""))) {
            e->ltime = ev->ltime;
            e->id = ev->query_id;
        }
        break;
    case SERF_EV_QUERY_ACK:
    case SERF_EV_QUERY_RESPONSE:
    case SERF_EV_QUERY_DONE: {
        uint64_t token = map_find(h, ev->query_id, ev->type == SERF_EV_QUERY_DONE);
        if (!token && h->asking_token && ev->type != SERF_EV_QUERY_DONE &&
            map_add(h, ev->query_id, h->asking_token) == 0)
            token = h->asking_token;   /* our own ack or answer, inside serf_node_query (below) */
        if (token)
            mlua_post_answer(h, token, ev->type, ev->from,
                             ev->type == SERF_EV_QUERY_RESPONSE ? ev->payload : wire_bytes_of(NULL, 0), NULL);
        return;
    }
    default:
        return;   /* members: the core's events; keyring, shutdown: the agent's */
    }
    if (e)
        mlua_enqueue(h, e, false);
}

/* ---- down: a script's command on the serf layer ---- */

/* Why a serf command refused: into buf, returned. */
static const char *limit_text(char *buf, size_t len, int rc, const char *what, size_t limit)
{
    if (rc == WIRE_ELIMIT)
        snprintf(buf, len, "over serf's %s size limit (%zu bytes encoded)", what, limit);
    else
        snprintf(buf, len, "%s", rc == -1 ? "refused" : wire_strerror(rc));
    return buf;
}

static int apply_event(mlua *h, serf_node *sn, swim *core, swim_time now, const char *fn, wire_bytes name,
                       wire_bytes payload, bool coalesce, bool own)
{
    mlua_own_event *o = NULL;
    if (own)   /* before: serf may hand it back to us inside the call */
        o = own_remember(h, serf_node_get_clocks(sn).event, name, payload);
    int rc = serf_node_user_event(sn, core, now, name, payload, coalesce);
    if (rc == 0)
        return 0;
    if (o)
        o->hash = 0;
    char why[160];
    mlua_logf(h, BASE_LOG_ERROR, "%s: event '%.*s' not sent: %s", fn, (int)name.n, (const char *)name.p,
              limit_text(why, sizeof why, rc, "user event", SERF_USER_EVENT_SIZE_LIMIT));
    return -1;
}

static int apply_send(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now)
{
    serf_node_member m;
    if (!serf_node_member_get(sn, cmd->name, &m) || m.status != SERF_MEMBER_ALIVE) {
        mlua_logf(h, BASE_LOG_WARN, "agent.send: no member named '%s'", cmd->name);
        return -1;
    }
    /* gossiped like a broadcast (reliable or not): only `name` passes the
     * filter, every other node passes it on */
    const char *nodes[1] = { cmd->name };
    serf_node_query_opts o = { .nodes = nodes, .nnodes = 1 };
    uint64_t id;
    int rc = serf_node_query(sn, core, now, wire_bytes_of(MLUA_SERF_SEND, strlen(MLUA_SERF_SEND)),
                             wire_bytes_of(cmd->payload, cmd->len), &o, &id);
    if (rc != 0) {
        char why[160];
        mlua_logf(h, BASE_LOG_ERROR, "agent.send: message to '%s' not sent: %s", cmd->name,
                  limit_text(why, sizeof why, rc, "query", SERF_QUERY_SIZE_LIMIT));
        return -1;
    }
    return 0;
}

static int apply_query(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now)
{
    const char *tag_keys[MLUA_QUERY_TAGS_MAX], *tag_exprs[MLUA_QUERY_TAGS_MAX];
    for (size_t i = 0; i < cmd->ntags; i++) {
        tag_keys[i] = cmd->tags[2 * i];
        tag_exprs[i] = cmd->tags[2 * i + 1];
    }
    serf_node_query_opts o = {
        .nodes = (const char *const *)cmd->nodes, .nnodes = cmd->nnodes,
        .tag_keys = tag_keys, .tag_exprs = tag_exprs, .ntags = cmd->ntags,
        .request_ack = cmd->ack, .relay_factor = cmd->relay_factor, .timeout_ms = cmd->timeout_ms,
    };
    uint64_t id = 0;
    /* serf_node answers its own query inside the call (its ack and its
     * response to itself): their handle is not known yet, only that they
     * are this query's */
    h->asking_token = cmd->token;
    int rc = serf_node_query(sn, core, now, wire_bytes_of(cmd->name, strlen(cmd->name)),
                             wire_bytes_of(cmd->payload, cmd->len), &o, &id);
    h->asking_token = 0;
    char err[300], why[160];
    if (rc == 0 && (map_find(h, id, false) || map_add(h, id, cmd->token) == 0))
        return 0;
    if (rc == 0)
        snprintf(err, sizeof err, "agent.query: out of memory: the answers to '%s' are lost", cmd->name);
    else
        snprintf(err, sizeof err, "agent.query: query '%s' not sent: %s", cmd->name,
                 limit_text(why, sizeof why, rc, "query", SERF_QUERY_SIZE_LIMIT));
    mlua_logf(h, BASE_LOG_ERROR, "%s", err);
    mlua_post_answer(h, cmd->token, SERF_EV_QUERY_DONE, NULL, wire_bytes_of(NULL, 0), err);
    return -1;
}

int mlua_serf_apply(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now)
{
    switch (cmd->type) {
    case MLUA_CMD_BROADCAST: {
        char name[sizeof MLUA_SERF_PREFIX + SERF_USER_EVENT_SIZE_LIMIT];
        int nl = snprintf(name, sizeof name, "%s%s", MLUA_SERF_PREFIX, cmd->key);
        if (nl < 0 || (size_t)nl >= sizeof name) {
            mlua_logf(h, BASE_LOG_ERROR, "agent.broadcast: key of %zu bytes is too long", strlen(cmd->key));
            return -1;
        }
        return apply_event(h, sn, core, now, "agent.broadcast", wire_bytes_of(name, (size_t)nl),
                           wire_bytes_of(cmd->payload, cmd->len), cmd->key[0] != '\0', true);
    }
    case MLUA_CMD_SEND:
        return apply_send(h, cmd, sn, core, now);
    case MLUA_CMD_EVENT:
        return apply_event(h, sn, core, now, "agent.event", wire_bytes_of(cmd->name, strlen(cmd->name)),
                           wire_bytes_of(cmd->payload, cmd->len), cmd->coalesce, false);
    case MLUA_CMD_QUERY:
        return apply_query(h, cmd, sn, core, now);
    case MLUA_CMD_RESPOND: {
        int rc = serf_node_respond(sn, core, now, cmd->query_id, wire_bytes_of(cmd->payload, cmd->len));
        if (rc == 0)
            return 0;
        char why[160];
        mlua_logf(h, BASE_LOG_WARN, "query hook: answer not sent: %s",
                  rc == -1 ? "the query is closed (answered already, or its timeout passed)"
                           : limit_text(why, sizeof why, rc, "query response", SERF_QUERY_RESPONSE_SIZE_LIMIT));
        return -1;
    }
    default:
        return -1;
    }
}
