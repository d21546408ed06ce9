/* daemon_serf: the agent's serf peer (serf/serf_node.h) on the protocol
 * loop. The node rides on the core: it is created first (its delegates
 * are the core's), hears every core event, and runs at its own deadline
 * on a uv timer, outside the core's callbacks, as serf_node.h asks. Its
 * events go to the RPC streams, the event handler scripts and the Lua
 * host; answers to our own queries (acks, responses, done) are copied and
 * handed on from the loop, so that a `query` request's reply always goes
 * out before its first record, and a key query's tally never misses an
 * answer that came while the query was being started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "daemon/daemon_keyring_file.h"
#include "net/net_timer.h"
#include "wire/wire_mp.h"

/* ---- the node's io ------------------------------------------------------ */

static void on_serf_timer(uv_timer_t *t);

/* The timer at the node's deadline. */
static void serf_arm(agent *a, swim_time next)
{
    if (a->closing)
        return;
    net_timer_arm(&a->serf_timer, on_serf_timer, next);
}

static void on_serf_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (a->closing || !a->net)
        return;
    serf_node_tick(a->sn, net_core(a->net), net_now(a->net));
    if (!a->closing)
        net_timer_rearm_spent(&a->serf_timer, on_serf_timer, serf_node_next_deadline(a->sn));
}

static void on_serf_deadline(void *ud, swim_time next)
{
    serf_arm(ud, next);
}

/* the node's lines name their layer already ("serf: ...", as serf's) */
static void on_serf_log(void *ud, base_log_level level, const char *msg)
{
    (void)ud;
    base_log(level, "%s", msg);
}

static void on_answers_timer(uv_timer_t *t);

/* Copy an answer to one of our queries for the loop. */
static void answer_queue(agent *a, const serf_node_event *ev)
{
    if (a->closing)
        return;
    if (a->nanswers >= DAEMON_ANSWERS_MAX) {
        if (a->answers_dropped++ == 0)
            base_log(BASE_LOG_WARN, "serf: %d answers to our queries waiting: dropping more", DAEMON_ANSWERS_MAX);
        return;
    }
    size_t len = ev->type == SERF_EV_QUERY_RESPONSE ? ev->payload.n : 0;
    daemon_answer *x = calloc(1, sizeof *x + len);
    if (!x || (ev->from && !(x->from = strdup(ev->from)))) {
        free(x);
        a->answers_dropped++;
        return;
    }
    x->type = ev->type;
    x->query_id = ev->query_id;
    x->len = len;
    if (len)
        memcpy(x->payload, ev->payload.p, len);
    if (a->answers_tail)
        a->answers_tail->next = x;
    else
        a->answers = x;
    a->answers_tail = x;
    a->nanswers++;
    uv_timer_start(&a->answers_timer, on_answers_timer, 0, 0);
}

/* SERF_EV_KEYRING: the key queries changed the keyring net encrypts with
 * (it is o->net.keyring itself): persist it, as serf's writeKeyringFile. */
static void keyring_changed(agent *a)
{
    char err[600];
    if (!a->o->keyring_file[0])
        return;
    if (daemon_keyring_file_write(a->o->keyring_file, &a->o->net.keyring, err, sizeof err) < 0)
        base_log(BASE_LOG_ERROR, "serf: %s", err);
    else
        base_log(BASE_LOG_INFO, "serf: keyring (%zu keys) written to %s", a->o->net.keyring.n, a->o->keyring_file);
}

static void on_serf_event(void *ud, const serf_node_event *ev)
{
    agent *a = ud;
    daemon_snapshot_on_serf_event(a->snapshot, ev);
    if (a->lua)
        mlua_post_serf_event(a->lua, ev);   /* copied and queued: never blocks */
    switch (ev->type) {
    case SERF_EV_MEMBER_JOIN:
    case SERF_EV_MEMBER_LEAVE:
    case SERF_EV_MEMBER_FAILED:
    case SERF_EV_MEMBER_UPDATE:
    case SERF_EV_MEMBER_REAP: {
        static const daemon_event_kind kinds[] = {
            [SERF_EV_MEMBER_JOIN] = DAEMON_EV_MEMBER_JOIN, [SERF_EV_MEMBER_LEAVE] = DAEMON_EV_MEMBER_LEAVE,
            [SERF_EV_MEMBER_FAILED] = DAEMON_EV_MEMBER_FAILED, [SERF_EV_MEMBER_UPDATE] = DAEMON_EV_MEMBER_UPDATE,
            [SERF_EV_MEMBER_REAP] = DAEMON_EV_MEMBER_REAP,
        };
        swim_member m = daemon_member_of(&ev->member);
        daemon_handlers_member(a->handlers, kinds[ev->type], &m);
        if (ev->type == SERF_EV_MEMBER_REAP)
            base_log(BASE_LOG_INFO, "member reap: %s (%s)", ev->member.name,
                     serf_member_status_name(ev->member.status));
        break;
    }
    case SERF_EV_USER:
        base_log(BASE_LOG_DEBUG, "serf: user event '%.*s' (ltime %llu, %zu bytes)", (int)ev->name.n,
                 (const char *)ev->name.p, (unsigned long long)ev->ltime, ev->payload.n);
        daemon_handlers_user(a->handlers, ev->name, ev->payload, ev->ltime);
        break;
    case SERF_EV_QUERY:
        base_log(BASE_LOG_DEBUG, "serf: query '%.*s' from %s (ltime %llu)", (int)ev->name.n, (const char *)ev->name.p,
                 ev->from ? ev->from : "?", (unsigned long long)ev->ltime);
        daemon_handlers_query(a->handlers, ev->query_id, ev->name, ev->payload, ev->ltime);
        break;
    case SERF_EV_QUERY_ACK:
    case SERF_EV_QUERY_RESPONSE:
    case SERF_EV_QUERY_DONE:
        answer_queue(a, ev);
        break;
    case SERF_EV_KEYRING:
        keyring_changed(a);
        break;
    case SERF_EV_SHUTDOWN:
        /* serf's agent: "Serf shutdown detected, quitting" */
        base_log(BASE_LOG_ERROR, "serf: our name is taken by another node (it won the vote): shutting down");
        daemon_stop(a, 0); /* serf's agent exits 0 once its serf has shut down (command.go: agent.ShutdownCh) */
        break;
    }
    daemon_rpc_on_serf_event(a, ev);
}

/* A query handler's output: the query's answer (from the loop). */
static void handler_respond(void *ud, uint64_t query_id, const uint8_t *p, size_t n)
{
    agent *a = ud;
    if (!a->net || a->closing)
        return;
    int rc = serf_node_respond(a->sn, net_core(a->net), net_now(a->net), query_id, (wire_bytes){ p, n });
    if (rc == WIRE_ELIMIT)
        base_log(BASE_LOG_WARN, "event handler: query response of %zu bytes is over the response size limit", n);
    else if (rc != 0)
        base_log(BASE_LOG_WARN, "event handler: query response not sent: the query timed out or was answered");
}

/* ---- key queries ------------------------------------------------------- */

/* serf's keyResponse: Messages, Keys (list-keys; nil otherwise),
 * NumNodes, NumErr, NumResp. */
static void key_reply(daemon_key_op *k, const char *error)
{
    char verdict[120];
    const serf_keys_tally *t = &k->tally;
    if (!error && serf_keys_outcome(t, verdict, sizeof verdict) < 0)
        error = verdict;
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container map, m;
    wire_buf_init(&b, DAEMON_RPC_MAX_REPLY);
    wire_mp_writer_init(&w, &b);
    wire_mp_map_begin(&w, &map);
    wire_mp_pack_cstr(&w, "Messages");
    wire_mp_map_begin(&w, &m);
    for (size_t i = 0; i < t->messages.n; i++) {
        wire_mp_pack_cstr(&w, t->messages.v[i].name);
        wire_mp_pack_cstr(&w, t->messages.v[i].text ? t->messages.v[i].text : "");
    }
    wire_mp_map_end(&w, &m);
    wire_mp_pack_cstr(&w, "Keys");
    if (k->cmd == DAEMON_RPC_CMD_LIST_KEYS) {
        wire_mp_map_begin(&w, &m);
        for (size_t i = 0; i < t->keys.n; i++) {
            wire_mp_pack_cstr(&w, t->keys.v[i].name);
            wire_mp_pack_uint(&w, t->keys.v[i].count);
        }
        wire_mp_map_end(&w, &m);
    } else {
        wire_mp_pack_nil(&w);
    }
    wire_mp_pack_cstr(&w, "NumNodes");
    wire_mp_pack_uint(&w, t->num_nodes);
    wire_mp_pack_cstr(&w, "NumErr");
    wire_mp_pack_uint(&w, t->num_err);
    wire_mp_pack_cstr(&w, "NumResp");
    wire_mp_pack_uint(&w, t->num_resp);
    wire_mp_map_end(&w, &map);
    if (wire_mp_finish(&w) == WIRE_OK)
        daemon_rpc_reply(k->c, error, b.data, b.len);
    else
        daemon_rpc_reply(k->c, "out of memory", NULL, 0);
    wire_buf_free(&b);
    serf_keys_free(&k->tally);
    k->used = false;
}

static daemon_key_op *key_op_of(agent *a, uint64_t query_id)
{
    for (size_t i = 0; i < DAEMON_KEY_OPS; i++)
        if (a->key_ops[i].used && a->key_ops[i].query_id == query_id)
            return &a->key_ops[i];
    return NULL;
}

void daemon_serf_key_query(agent *a, daemon_rpc_conn *c, daemon_rpc_cmd cmd, wire_bytes key_b64)
{
    daemon_key_op *k = NULL;
    for (size_t i = 0; i < DAEMON_KEY_OPS && !k; i++)
        if (!a->key_ops[i].used)
            k = &a->key_ops[i];
    if (!k) {
        daemon_rpc_reply(c, "too many key operations at once", NULL, 0);
        return;
    }
    *k = (daemon_key_op){ .c = c, .cmd = cmd };
    swim *core = net_core(a->net);
    serf_keys_init(&k->tally, 0);   /* NumNodes 0 when the key is refused, as serf */
    serf_key_op op = cmd == DAEMON_RPC_CMD_INSTALL_KEY ? SERF_KEY_INSTALL :
                     cmd == DAEMON_RPC_CMD_USE_KEY     ? SERF_KEY_USE :
                     cmd == DAEMON_RPC_CMD_REMOVE_KEY  ? SERF_KEY_REMOVE :
                                                         SERF_KEY_LIST;
    wire_key key = { 0 };
    char err[200], b64[128];
    if (op != SERF_KEY_LIST) {
        /* serf decodes the key before anything else */
        if (key_b64.n >= sizeof b64 || memchr(key_b64.p, 0, key_b64.n)) {
            snprintf(err, sizeof err, "illegal base64 data: a key of %zu bytes", key_b64.n);
            key_reply(k, err);
            return;
        }
        memcpy(b64, key_b64.p, key_b64.n);
        b64[key_b64.n] = '\0';
        if (wire_key_from_base64(b64, &key, err, sizeof err) != WIRE_OK) {
            key_reply(k, err);
            return;
        }
    }
    static const char *const what[] = { "installing a key", "changing the primary key", "removing a key",
                                        "listing the keys" };
    k->used = true;
    /* serf's `keys` has no relay factor over the RPC: 0 */
    size_t num_nodes = 0;
    int rc = serf_node_key_query(a->sn, core, net_now(a->net), op, key.bytes, key.len, 0, &k->query_id, &num_nodes);
    if (rc != 0) {
        snprintf(err, sizeof err, "could not start the key query: %s", wire_strerror(rc));
        key_reply(k, err);
        return;
    }
    k->tally.num_nodes = num_nodes;   /* serf's NumNodes, counted by the node */
    base_log(BASE_LOG_INFO, "serf: %s on every member (%zu)", what[op], num_nodes);
}

/* ---- our queries' answers, from the loop ------------------------------- */

static void answer_deliver(agent *a, const daemon_answer *x)
{
    daemon_key_op *k = key_op_of(a, x->query_id);
    if (k) {
        /* serf's KeyManager returns once every node answered, or at the
         * query's end */
        bool all = x->type == SERF_EV_QUERY_RESPONSE &&
                   serf_keys_add(&k->tally, x->from ? x->from : "?", (wire_bytes){ x->payload, x->len });
        if (all || x->type == SERF_EV_QUERY_DONE)
            key_reply(k, NULL);
        return;
    }
    if (!a->rpc)
        return;
    const char *type = x->type == SERF_EV_QUERY_ACK ? "ack" : x->type == SERF_EV_QUERY_RESPONSE ? "response" : "done";
    wire_bytes payload = { x->type == SERF_EV_QUERY_RESPONSE ? x->payload : NULL, x->len };
    daemon_rpc_server_query_record(a->rpc, x->query_id, type, x->from, payload);
}

static void on_answers_timer(uv_timer_t *t)
{
    agent *a = t->data;
    while (a->answers && !a->closing) {
        daemon_answer *x = a->answers;
        a->answers = x->next;
        if (!a->answers)
            a->answers_tail = NULL;
        a->nanswers--;
        answer_deliver(a, x);
        free(x->from);
        free(x);
    }
    if (a->answers_dropped) {
        base_log(BASE_LOG_WARN, "serf: %llu answers to our queries were dropped (the loop fell behind)",
                 (unsigned long long)a->answers_dropped);
        a->answers_dropped = 0;
    }
}

/* ---- joins ------------------------------------------------------------- */

/* A serf Join waiting for its outcome: the caller's callback, after our
 * join intent is scheduled. Owned by the join, freed when it is done. */
typedef struct serf_join {
    agent *a;
    net_join_cb done;
    void *ud;
} serf_join;

/* From inside the core: our join intent goes out from the loop. Only
 * serf's Join sends it: the snapshot's rejoin (memberlist.Join in serf's
 * handleRejoin) calls net_join itself and sends none. */
static void on_serf_join(void *ud, int joined, const char *err)
{
    serf_join *j = ud;
    agent *a = j->a;
    if (joined > 0 && !serf_leave_active(&a->leave) && !a->closing)
        uv_timer_start(&a->intent_timer, daemon_serf_on_joined, 0, 0);
    j->done(j->ud, joined, err);
    free(j);
}

int daemon_join(agent *a, const char *const *addrs, size_t n, bool replay, net_join_cb done, void *ud)
{
    serf_join *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (serf_join){ .a = a, .done = done, .ud = ud };
    /* serf's Join(addrs, ignoreOld): without replay, the user events the
     * push/pulls of this join bring are older than us and not delivered */
    serf_node_joining(a->sn, !replay);
    if (net_join(a->net, addrs, n, on_serf_join, j) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

void daemon_serf_on_joined(uv_timer_t *t)
{
    agent *a = t->data;
    if (serf_leave_active(&a->leave) || !a->net || a->closing)
        return;
    if (serf_node_joined(a->sn, net_core(a->net), net_now(a->net)) != 0)
        base_log(BASE_LOG_WARN, "serf: could not queue our join intent: serf agents keep our old status time");
}

/* ---- life -------------------------------------------------------------- */

void daemon_serf_on_swim_event(agent *a, const swim_event *ev)
{
    if (a->sn)
        serf_node_on_swim_event(a->sn, net_now(a->net), ev);
}

int daemon_serf_start(agent *a, const swim_delegate *app, swim_delegate *delegate, char *err, size_t errlen)
{
    const daemon_opts *o = a->o;
    uv_timer_init(a->loop, &a->serf_timer);
    uv_timer_init(a->loop, &a->answers_timer);
    a->serf_timer.data = a->answers_timer.data = a;
    serf_node_config cfg = {
        .name = o->net.swim.name,
        .gossip_interval_ms = o->net.swim.gossip_interval,
        .user_event_size_limit = o->user_event_size_limit,
        .query_size_limit = o->query_size_limit,
        .query_response_size_limit = o->query_response_size_limit,
        /* serf's agent coalesces user events that ask for it (command.go:
         * UserCoalescePeriod 3 s, UserQuiescentPeriod 1 s) */
        .coalesce_period_ms = 3000,
        .quiescent_period_ms = 1000,
        .reconnect_interval_ms = o->reconnect_interval_ms,
        .reconnect_timeout_ms = o->reconnect_timeout_ms,
        .tombstone_timeout_ms = o->tombstone_timeout_ms,
        .disable_name_resolution = o->disable_name_resolution,
        /* the keyring net encrypts with (frame.keyring points at it too):
         * serf's key queries change it in place */
        .keyring = o->net.keyring.n ? &a->o->net.keyring : NULL,
        .seed = o->net.swim.seed ^ 0x5e4f5e4f5e4f5e4full,
    };
    serf_node_io io = {
        .ud = a,
        .event = on_serf_event,
        .log = on_serf_log,
        .deadline = on_serf_deadline,
    };
    if (a->lua)
        io.state = mlua_serf_state(a->lua);
    a->serf_open = true;
    a->sn = serf_node_new(&cfg, &io, net_now(NULL));
    if (!a->sn) {
        snprintf(err, errlen, "cannot create the serf layer (out of memory)");
        daemon_serf_close(a);
        return -1;
    }
    *delegate = serf_node_swim_delegate(a->sn, app);
    daemon_handlers_set_respond(a->handlers, handler_respond, a);
    return 0;
}

void daemon_serf_close(agent *a)
{
    if (!a->serf_open)
        return;
    a->serf_open = false;
    for (size_t i = 0; i < DAEMON_KEY_OPS; i++)
        if (a->key_ops[i].used)
            key_reply(&a->key_ops[i], "the agent is shutting down");
    uv_close((uv_handle_t *)&a->serf_timer, NULL);
    uv_close((uv_handle_t *)&a->answers_timer, NULL);
}

void daemon_serf_free(agent *a)
{
    while (a->answers) {
        daemon_answer *x = a->answers;
        a->answers = x->next;
        free(x->from);
        free(x);
    }
    a->answers_tail = NULL;
    for (size_t i = 0; i < DAEMON_KEY_OPS; i++)
        if (a->key_ops[i].used)
            serf_keys_free(&a->key_ops[i].tally);
    serf_node_free(a->sn);
    a->sn = NULL;
}
