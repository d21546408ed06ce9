/* mlua_sim: scripts on simulated nodes, the mlua backend driven by the
 * simulator (mlua_sim.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"
#include "lua/mlua_sim.h"
#include "serf/serf_tags.h"

/* swim_leave's timeout for a script's agent.leave(): the agent's own. */
#define MLUA_SIM_LEAVE_TIMEOUT_MS 5000

/* A timer the host asked the backend for, due at virtual time `due`. */
typedef struct sim_timer {
    uint64_t id;
    swim_time due;
} sim_timer;

typedef struct sim_node {
    mlua_sim *ms;               /* the owner, for the clock and the core */
    int idx;
    mlua *h;                    /* owned: mlua_free in mlua_sim_free */
    sim_timer *timers;          /* owned array, ntimers of cap used */
    size_t ntimers, cap;
    mlua_members_reply *reply;  /* borrowed while members() answers, else NULL */
    char **env;                 /* owned: "NAME", "value" pairs, NULL-ended; or NULL */
    char *log;                  /* owned, NUL-terminated when not NULL */
    size_t loglen, logcap;
} sim_node;

/* A query the driver asked (mlua_sim_query) and what came back. */
typedef struct sim_query {
    int node;
    uint64_t query_id;          /* node's serf_node handle */
    bool sending;               /* inside serf_node_query: query_id not known yet */
    mlua_sim_answer *v;         /* owned array; from and payload owned */
    size_t n, cap;
    bool done;
} sim_query;

struct mlua_sim {
    sim *s;            /* owned: sim_free in mlua_sim_free */
    sim_node *nodes;   /* owned array of count */
    size_t count;
    bool serf;         /* the nodes run a serf node over their core */
    sim_query *queries;   /* owned array of nqueries */
    size_t nqueries, cap_queries;
};

/* ---- the host's log: kept per node, stamped with virtual time ---- */

static void node_log(void *ud, base_log_level level, const char *msg)
{
    sim_node *n = ud;
    size_t need = strlen(msg) + 32;   /* the stamp, the level tag, the newline */
    if (n->loglen + need + 1 > n->logcap) {
        size_t cap = (n->logcap + need) * 2;
        char *p = realloc(n->log, cap);
        if (!p)
            return;   /* out of memory: the line is lost, the run goes on */
        n->log = p;
        n->logcap = cap;
    }
    n->loglen += (size_t)snprintf(n->log + n->loglen, n->logcap - n->loglen, "%.3f [%s] %s\n",
                                  sim_now(n->ms->s) / 1000.0, base_log_level_tag(level), msg);
}

/* ---- the backend ---- */

static swim *node_core(sim_node *n)
{
    /* while its script loads, the node is not in the simulator yet */
    return (size_t)n->idx < sim_count(n->ms->s) ? sim_core(n->ms->s, n->idx) : NULL;
}

static bool add_member(void *ud, const swim_member *m)
{
    sim_node *n = ud;
    mlua_members_add(n->h, n->reply, m);
    return true;
}

static void b_members(void *ud, mlua *h, mlua_members_reply *r)
{
    sim_node *n = ud;
    swim *core = node_core(n);
    n->reply = r;
    if (core)
        swim_members_each(core, add_member, n);
    n->reply = NULL;
    mlua_members_done(h, r, core ? swim_get_config(core)->name : "");
}

static double b_now(void *ud)
{
    sim_node *n = ud;
    return sim_now(n->ms->s) / 1000.0;
}

static void b_timer_stop(void *ud, uint64_t id)
{
    sim_node *n = ud;
    for (size_t i = 0; i < n->ntimers; i++)
        if (n->timers[i].id == id) {
            n->timers[i] = n->timers[--n->ntimers];
            return;
        }
}

static void b_timer_start(void *ud, uint64_t id, uint64_t ms)
{
    sim_node *n = ud;
    b_timer_stop(ud, id);   /* agent.every re-arms the same id */
    if (n->ntimers == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        sim_timer *t = realloc(n->timers, cap * sizeof *t);
        if (!t) {
            node_log(n, BASE_LOG_ERROR, "out of memory: a timer of the script will never fire");
            return;
        }
        n->timers = t;
        n->cap = cap;
    }
    n->timers[n->ntimers].id = id;
    n->timers[n->ntimers].due = sim_now(n->ms->s) + ms;
    n->ntimers++;
}

static void on_event(void *ud, int i, swim_time now, const swim_event *ev)
{
    mlua_sim *ms = ud;
    (void)now;
    /* over a serf node, user messages are serf's: they reach the script as
     * serf's events (on_serf_event), as in the agent */
    if (ms->serf && ev->type == SWIM_EV_USER)
        return;
    if (i >= 0 && (size_t)i < ms->count && ms->nodes[i].h)
        mlua_post_event(ms->nodes[i].h, ev);
}

/* Keep an answer to a driver's query (copied: the views die with the
 * callback). */
static void record_answer(mlua_sim *ms, sim_query *q, const serf_node_event *ev)
{
    if (ev->type == SERF_EV_QUERY_DONE) {
        q->done = true;
        return;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        mlua_sim_answer *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            goto oom;
        q->v = v;
        q->cap = cap;
    }
    mlua_sim_answer *a = &q->v[q->n];
    a->type = ev->type;
    a->from = strdup(ev->from ? ev->from : "");
    a->len = ev->type == SERF_EV_QUERY_RESPONSE ? ev->payload.n : 0;
    uint8_t *p = malloc(a->len ? a->len : 1);
    if (!a->from || !p) {
        free((char *)a->from);
        free(p);
        goto oom;
    }
    if (a->len)
        memcpy(p, ev->payload.p, a->len);
    a->payload = p;
    q->n++;
    return;
oom:
    node_log(&ms->nodes[q->node], BASE_LOG_ERROR, "out of memory: an answer to the simulator's query was lost");
}

static void on_serf_event(void *ud, int i, swim_time now, const serf_node_event *ev)
{
    mlua_sim *ms = ud;
    (void)now;
    if (i < 0 || (size_t)i >= ms->count)
        return;
    if (ev->type == SERF_EV_QUERY_ACK || ev->type == SERF_EV_QUERY_RESPONSE || ev->type == SERF_EV_QUERY_DONE)
        for (size_t k = 0; k < ms->nqueries; k++) {
            sim_query *q = &ms->queries[k];
            /* serf_node answers its own query inside serf_node_query */
            if (q->sending && q->node == i) {
                q->sending = false;
                q->query_id = ev->query_id;
            }
            if (q->node == i && q->query_id == ev->query_id && !q->done) {
                record_answer(ms, q, ev);
                return;
            }
        }
    if (ms->nodes[i].h)
        mlua_post_serf_event(ms->nodes[i].h, ev);
}

static void apply(void *ud, const mlua_cmd *c)
{
    sim_node *n = ud;
    swim *core = node_core(n);   /* up: only drained while it is */
    serf_node *sn = n->ms->serf ? sim_serf(n->ms->s, n->idx) : NULL;
    swim_time now = sim_now(n->ms->s);
    if (c->type == MLUA_CMD_LEAVE) {
        if (sn)
            serf_node_leave_intent(sn, core, now, true);   /* serf's leave: the intent first */
        swim_leave(core, now, MLUA_SIM_LEAVE_TIMEOUT_MS);
    } else
        mlua_cmd_apply(n->h, c, sn, core, now);
}

/* ---- the node's Lua state: its own environment, no luv ---- */

/* os.getenv for one node: its env table (upvalue 1), then the process's
 * (upvalue 2, the os.getenv it replaces) */
static int node_getenv(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1))
        return 1;
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static int no_luv(lua_State *L)
{
    luaL_where(L, 2);   /* level 0 is this loader, 1 require: 2 is the script's line */
    lua_pushliteral(L, "luv is not available on the simulator (virtual time): its loop would run on real "
                       "time beside the virtual clock; use agent.after/agent.every here, and test luv code "
                       "with moonlist.testing's host or agent");
    lua_concat(L, 2);
    return lua_error(L);
}

static void prepare_state(void *ud, lua_State *L)
{
    sim_node *n = ud;
    lua_getglobal(L, "os");
    lua_newtable(L);
    for (char **e = n->env; e && e[0] && e[1]; e += 2) {
        lua_pushstring(L, e[1]);
        lua_setfield(L, -2, e[0]);
    }
    lua_getfield(L, -2, "getenv");
    lua_pushcclosure(L, node_getenv, 2);
    lua_setfield(L, -2, "getenv");
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, no_luv);
    lua_setfield(L, -2, "luv");
    lua_pop(L, 2);
}

static void free_env(char **env)
{
    for (char **e = env; e && *e; e++)
        free(*e);
    free(env);
}

/* A copy of a spec's env pairs, or NULL for none; -1 if out of memory. */
static int copy_env(const char *const *src, char ***out)
{
    *out = NULL;
    size_t n = 0;
    while (src && src[n] && src[n + 1])
        n += 2;
    if (!n)
        return 0;
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(src[i]))) {
            free_env(v);
            return -1;
        }
    *out = v;
    return 0;
}

/* ---- building the nodes ---- */

/* Load node i's script and add it to the simulator. Returns 0 or an
 * MLUA_SIM_E* code with err filled. */
static int add_node(mlua_sim *ms, const mlua_sim_options *opt, int i, char *err, size_t errlen)
{
    const mlua_sim_node_spec *spec = &opt->nodes[i];
    sim_node *n = &ms->nodes[i];
    n->ms = ms;
    n->idx = i;
    if (!spec->code == !spec->path) {
        snprintf(err, errlen, "node %d needs code or path", i);
        return MLUA_SIM_EOTHER;
    }
    if (spec->meta && spec->meta_len > sizeof ((swim_config *)0)->meta) {
        snprintf(err, errlen, "node %d: its meta is over %zu bytes", i, sizeof ((swim_config *)0)->meta);
        return MLUA_SIM_EOTHER;
    }
    char self[32];   /* the name the node gets below: agent.self() while its script loads */
    snprintf(self, sizeof self, "n%d", i);
    mlua_options o = { .log = node_log, .log_ud = n, .lua_path = opt->lua_path,
                       .self_name = spec->name && spec->name[0] ? spec->name : self,
                       .self_meta = spec->meta, .self_meta_len = spec->meta ? spec->meta_len : 0 };
    mlua_backend b = { .ud = n, .members = b_members, .now = b_now, .timer_start = b_timer_start,
                       .timer_stop = b_timer_stop, .prepare = prepare_state };
    n->h = mlua_new(&o);
    if (copy_env(spec->env, &n->env) < 0 || !n->h || mlua_set_backend(n->h, &b) < 0) {
        snprintf(err, errlen, "out of memory");
        return MLUA_SIM_EOTHER;
    }
    char herr[1024];
    int rc = spec->path ? mlua_load(n->h, spec->path, herr, sizeof herr)
                        : mlua_load_string(n->h, "=sim.lua", spec->code, herr, sizeof herr);
    swim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    swim_config_profile(&cfg, opt->profile);   /* checked by mlua_sim_new */
    if (rc < 0 || mlua_settings_apply_knobs(n->h, &cfg, herr, sizeof herr) < 0) {
        snprintf(err, errlen, "node %d: %s", i, herr);
        return MLUA_SIM_ESCRIPT;
    }
    if (spec->name && spec->name[0])
        snprintf(cfg.name, sizeof cfg.name, "%s", spec->name);
    else
        snprintf(cfg.name, sizeof cfg.name, "n%d", i);
    int ml = spec->meta ? (int)spec->meta_len : mlua_settings_meta(n->h, cfg.meta, sizeof cfg.meta);
    if (spec->meta)
        memcpy(cfg.meta, spec->meta, spec->meta_len);
    else if (ml < 0) {
        /* no tags: an empty msgpack map, what a serf agent without tags sends */
        cfg.meta[0] = SERF_TAGS_MAGIC;
        cfg.meta[1] = 0x80;
        ml = 2;
    }
    cfg.meta_len = (size_t)ml;
    /* over a serf node the core keeps ack_payload and the vetoes; the
     * state rides inside serf's push/pull */
    swim_delegate d = mlua_delegate(n->h);
    if (sim_add(ms->s, &cfg, &d) != i) {
        snprintf(err, errlen, "node %d: the simulator refused its config", i);
        return MLUA_SIM_EOTHER;
    }
    if (ms->serf) {
        serf_node_state_delegate st = mlua_serf_state(n->h);
        sim_set_serf_state(ms->s, i, &st);
    }
    return 0;
}

int mlua_sim_new(const mlua_sim_options *opt, mlua_sim **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *profile = opt->profile ? opt->profile : "lan";
    swim_config scratch;
    if (opt->count < 1 || opt->count > (size_t)INT32_MAX) {
        snprintf(err, errlen, "no nodes");
        return MLUA_SIM_EOTHER;
    }
    if (swim_config_profile(&scratch, profile) < 0) {
        snprintf(err, errlen, "unknown profile '%s'", profile);
        return MLUA_SIM_EOTHER;
    }
    mlua_sim *ms = calloc(1, sizeof *ms);
    if (ms)
        ms->nodes = calloc(opt->count, sizeof *ms->nodes);
    if (ms && ms->nodes)
        ms->s = sim_new(opt->seed);
    if (!ms || !ms->s) {
        if (ms)
            free(ms->nodes);
        free(ms);
        snprintf(err, errlen, "out of memory");
        return MLUA_SIM_EOTHER;
    }
    sim_on_event(ms->s, on_event, ms);
    ms->serf = opt->serf;
    if (ms->serf) {
        sim_use_serf(ms->s, NULL);
        sim_on_serf_event(ms->s, on_serf_event, ms);
    }
    mlua_sim_options o = *opt;
    o.profile = profile;
    for (size_t i = 0; i < opt->count; i++) {
        ms->count = i + 1;   /* what mlua_sim_free releases if this node fails */
        int rc = add_node(ms, &o, (int)i, err, errlen);
        if (rc < 0) {
            mlua_sim_free(ms);
            return rc;
        }
    }
    *out = ms;
    return 0;
}

void mlua_sim_free(mlua_sim *ms)
{
    if (!ms)
        return;
    for (size_t i = 0; i < ms->count; i++) {
        sim_node *n = &ms->nodes[i];
        if (n->h)
            mlua_free(n->h);   /* before the timers and the sim: closing timers calls the backend */
        free(n->timers);
        free(n->log);
        free_env(n->env);
    }
    free(ms->nodes);
    sim_free(ms->s);
    for (size_t k = 0; k < ms->nqueries; k++) {
        for (size_t j = 0; j < ms->queries[k].n; j++) {
            free((char *)ms->queries[k].v[j].from);
            free((uint8_t *)ms->queries[k].v[j].payload);
        }
        free(ms->queries[k].v);
    }
    free(ms->queries);
    free(ms);
}

/* ---- the driver's own events and queries ---- */

static serf_node *driver_serf(mlua_sim *ms, int i, char *err, size_t errlen)
{
    serf_node *sn = ms->serf && sim_core(ms->s, i) ? sim_serf(ms->s, i) : NULL;
    if (!sn)
        snprintf(err, errlen, "node %d %s", i, !ms->serf ? "has no serf layer (mlua_sim_options.serf)" : "is down or has no serf node");
    return sn;
}

int mlua_sim_event(mlua_sim *ms, int i, wire_bytes name, wire_bytes payload, bool coalesce, char *err, size_t errlen)
{
    serf_node *sn = driver_serf(ms, i, err, errlen);
    if (!sn)
        return -1;
    int rc = serf_node_user_event(sn, sim_core(ms->s, i), sim_now(ms->s), name, payload, coalesce);
    if (rc != 0)
        snprintf(err, errlen, "%s", rc == WIRE_ELIMIT ? "over serf's user event size limit" : wire_strerror(rc));
    return rc ? -1 : 0;
}

int mlua_sim_query(mlua_sim *ms, int i, wire_bytes name, wire_bytes payload, const serf_node_query_opts *o,
                   size_t *handle, char *err, size_t errlen)
{
    serf_node *sn = driver_serf(ms, i, err, errlen);
    if (!sn)
        return -1;
    if (ms->nqueries == ms->cap_queries) {
        size_t cap = ms->cap_queries ? ms->cap_queries * 2 : 8;
        sim_query *v = realloc(ms->queries, cap * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        ms->queries = v;
        ms->cap_queries = cap;
    }
    uint64_t id;
    sim_query *q = &ms->queries[ms->nqueries++];
    *q = (sim_query){ .node = i, .sending = true };
    int rc = serf_node_query(sn, sim_core(ms->s, i), sim_now(ms->s), name, payload, o, &id);
    q = &ms->queries[ms->nqueries - 1];
    q->sending = false;
    if (rc != 0) {
        ms->nqueries--;
        free(q->v);
        snprintf(err, errlen, "%s", rc == WIRE_ELIMIT ? "over serf's query size limit" : wire_strerror(rc));
        return -1;
    }
    q->query_id = id;
    *handle = ms->nqueries - 1;
    return 0;
}

size_t mlua_sim_answers(const mlua_sim *ms, size_t handle, const mlua_sim_answer **v, bool *done)
{
    if (handle >= ms->nqueries) {
        *v = NULL;
        *done = false;
        return 0;
    }
    *v = ms->queries[handle].v;
    *done = ms->queries[handle].done;
    return ms->queries[handle].n;
}

/* ---- running ---- */

/* Fire node n's timers due at t, earliest first (ties: the older timer);
 * a timer started by one of them fires too if it is due by t. */
static void fire_due(sim_node *n, swim_time t)
{
    for (;;) {
        size_t best = n->ntimers;
        for (size_t k = 0; k < n->ntimers; k++) {
            const sim_timer *c = &n->timers[k];
            if (c->due > t)
                continue;
            if (best == n->ntimers || c->due < n->timers[best].due ||
                (c->due == n->timers[best].due && c->id < n->timers[best].id))
                best = k;
        }
        if (best == n->ntimers)
            return;
        uint64_t id = n->timers[best].id;
        n->timers[best] = n->timers[--n->ntimers];
        mlua_timer_due(n->h, id);
    }
}

void mlua_sim_run_until(mlua_sim *ms, swim_time until)
{
    swim_time t = sim_now(ms->s);
    do {
        t = t + MLUA_SIM_STEP_MS < until ? t + MLUA_SIM_STEP_MS : until;
        sim_run_until(ms->s, t);
        for (size_t i = 0; i < ms->count; i++) {
            sim_node *n = &ms->nodes[i];
            fire_due(n, t);
            mlua_run_pending(n->h);
            if (node_core(n))
                mlua_drain_commands(n->h, apply, n);
        }
    } while (t < until);
}

/* ---- looking at the nodes ---- */

sim *mlua_sim_sim(mlua_sim *ms)
{
    return ms->s;
}

size_t mlua_sim_count(const mlua_sim *ms)
{
    return ms->count;
}

mlua *mlua_sim_host(mlua_sim *ms, int i)
{
    return ms->nodes[i].h;
}

swim *mlua_sim_core(mlua_sim *ms, int i)
{
    return node_core(&ms->nodes[i]);
}

/* A core's view as a script sees it: the same table agent.members() gives. */
static void push_member(lua_State *L, const swim_member *m)
{
    mlua_mcopy view = { .name = (char *)m->name, .addr = m->addr, .state = m->state,
                        .incarnation = m->incarnation, .meta = (uint8_t *)m->meta, .meta_len = m->meta_len };
    memcpy(view.vsn, m->vsn, sizeof view.vsn);
    mlua_push_member(L, &view);
}

static bool push_row(void *ud, const swim_member *m)
{
    lua_State *L = ud;
    push_member(L, m);
    lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
    return true;
}

void mlua_sim_push_members(mlua_sim *ms, int i, lua_State *L)
{
    swim *core = node_core(&ms->nodes[i]);
    lua_newtable(L);
    if (core)
        swim_members_each(core, push_row, L);
}

void mlua_sim_push_member(mlua_sim *ms, int i, const char *name, lua_State *L)
{
    swim *core = node_core(&ms->nodes[i]);
    swim_member m;
    if (core && swim_member_get(core, name, &m))
        push_member(L, &m);
    else
        lua_pushnil(L);
}

const char *mlua_sim_log(const mlua_sim *ms, int i, size_t *len)
{
    const sim_node *n = &ms->nodes[i];
    *len = n->loglen;
    return n->log ? n->log : "";
}
