/* daemon_rpc: the agent's answers to the control protocol's commands
 * (daemon_rpc.h; the connection's own, handshake to monitor, are
 * daemon_rpc_server.c's), on the protocol thread. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"
#include "daemon/daemon_stats.h"
#include "moonlist_version.h"
#include "serf/serf_tags.h"
#include "swim/swim_knobs.h"
#include "wire/wire_mp.h"

/* A body is one pass over its own buffer: start it (one map open), write
 * its entries, send it with body_send (and the response's error, if any),
 * which checks the pass once and frees the buffer. */
typedef struct body {
    wire_buf b;
    wire_mp_writer w;
    wire_mp_container map;
} body;

static void body_start(body *r, size_t max)
{
    wire_buf_init(&r->b, max);
    wire_mp_writer_init(&r->w, &r->b);
    wire_mp_map_begin(&r->w, &r->map);
}

static void body_send(daemon_rpc_conn *c, body *r, const char *err)
{
    wire_mp_map_end(&r->w, &r->map);
    if (wire_mp_finish(&r->w) == WIRE_OK)
        daemon_rpc_reply(c, err, r->b.data, r->b.len);
    else
        daemon_rpc_reply(c, "out of memory", NULL, 0);
    wire_buf_free(&r->b);
}

static void kv_str(wire_mp_writer *w, const char *k, const char *v)
{
    wire_mp_pack_cstr(w, k);
    wire_mp_pack_cstr(w, v);
}

static void kv_uint(wire_mp_writer *w, const char *k, uint64_t v)
{
    wire_mp_pack_cstr(w, k);
    wire_mp_pack_uint(w, v);
}

/* A number as serf's stats show every value: a string. */
static void kv_num(wire_mp_writer *w, const char *k, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    kv_str(w, k, s);
}

/* "title": {...} inside a body; fill it between section_begin and
 * wire_mp_map_end. */
static void section_begin(wire_mp_writer *w, wire_mp_container *m, const char *title)
{
    wire_mp_pack_cstr(w, title);
    wire_mp_map_begin(w, m);
}

/* ---- members ----------------------------------------------------------- */

swim_member daemon_member_of(const serf_node_member *m)
{
    swim_member v = {
        .name = m->name,
        .addr = m->addr,
        .state = m->status == SERF_MEMBER_FAILED ? SWIM_DEAD : m->status == SERF_MEMBER_LEFT ? SWIM_LEFT : SWIM_ALIVE,
        .meta = m->meta,
        .meta_len = m->meta_len,
    };
    memcpy(v.vsn, m->vsn, sizeof v.vsn);
    return v;
}

/* members-filtered's regexps, compiled as serf compiles them: "^" expr "$"
 * (so "a|b" is "^a" or "b$", as in serf); POSIX extended syntax, where
 * serf's is Go's RE2. */
typedef struct filter {
    bool active;
    regex_t status, name;
    bool has_status, has_name;
    regex_t *tags;
    char **tag_keys;
    size_t ntags;
} filter;

static void filter_free(filter *f)
{
    if (f->has_status)
        regfree(&f->status);
    if (f->has_name)
        regfree(&f->name);
    for (size_t i = 0; i < f->ntags; i++) {
        regfree(&f->tags[i]);
        free(f->tag_keys[i]);
    }
    free(f->tags);
    free(f->tag_keys);
}

/* "^" expr "$" compiled into re: 0, or -1 with serf's message in err. */
static int compile(regex_t *re, wire_bytes expr, char *err, size_t errlen)
{
    if (memchr(expr.p, 0, expr.n)) {
        snprintf(err, errlen, "Failed to compile regex: a NUL byte");
        return -1;
    }
    char *s = malloc(expr.n + 3);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s[0] = '^';
    memcpy(s + 1, expr.p, expr.n);
    memcpy(s + 1 + expr.n, "$", 2);
    int rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
    free(s);
    if (rc != 0) {
        char why[128];
        regerror(rc, re, why, sizeof why);
        snprintf(err, errlen, "Failed to compile regex: %s", why);
        return -1;
    }
    return 0;
}

static int filter_init(filter *f, const daemon_rpc_request *req, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->active = true;
    daemon_rpc_list tl = req->tags;
    wire_bytes k, v;
    if (tl.n) {
        f->tags = calloc(tl.n, sizeof *f->tags);
        f->tag_keys = calloc(tl.n, sizeof *f->tag_keys);
        if (!f->tags || !f->tag_keys) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    while (daemon_rpc_map_next(&tl, &k, &v)) {
        if (!(f->tag_keys[f->ntags] = strndup((const char *)k.p, k.n))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (compile(&f->tags[f->ntags], v, err, errlen) < 0) {
            free(f->tag_keys[f->ntags]);
            return -1;
        }
        f->ntags++;
    }
    /* serf compiles them even when empty, and applies them when not */
    if (req->status.n) {
        if (compile(&f->status, req->status, err, errlen) < 0)
            return -1;
        f->has_status = true;
    }
    if (req->name.n) {
        if (compile(&f->name, req->name, err, errlen) < 0)
            return -1;
        f->has_name = true;
    }
    return 0;
}

static bool filter_match(const filter *f, const swim_member *m, const char *status)
{
    if (!f->active)
        return true;
    if (f->has_status && regexec(&f->status, status, 0, NULL, 0) != 0)
        return false;
    if (f->has_name && regexec(&f->name, m->name, 0, NULL, 0) != 0)
        return false;
    if (f->ntags == 0)
        return true;
    serf_tags t = { 0 };
    (void)serf_tags_decode(&t, m->meta, m->meta_len);
    bool ok = true;
    for (size_t i = 0; ok && i < f->ntags; i++) {
        const char *value = "";   /* a tag the member lacks is "" */
        for (size_t j = 0; j < t.n; j++)
            if (strcmp(t.v[j].key, f->tag_keys[i]) == 0)
                value = t.v[j].value;
        ok = regexec(&f->tags[i], value, 0, NULL, 0) == 0;
    }
    serf_tags_free(&t);
    return ok;
}

typedef struct members_ctx {
    const agent *a;
    wire_mp_writer *w;
    const filter *f;
    bool moonlist;
} members_ctx;

/* serf's view, as serf lists it; moonlist-members adds the core's
 * incarnation and state where the core still knows the member */
static bool member_row(void *ud, const serf_node_member *sm)
{
    members_ctx *mc = ud;
    const char *status = serf_member_status_name(sm->status);
    swim_member m = daemon_member_of(sm), core;
    if (mc->moonlist && swim_member_get(net_core(mc->a->net), sm->name, &core)) {
        m.state = core.state;
        m.incarnation = core.incarnation;
    }
    if (filter_match(mc->f, &m, status))
        daemon_rpc_put_member(mc->w, &m, status, mc->moonlist);
    return wire_mp_error(mc->w) == WIRE_OK;   /* a full reply: stop walking */
}

static void rpc_members(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    char err[200];
    filter f = { 0 };
    if (req->cmd == DAEMON_RPC_CMD_MEMBERS_FILTERED && filter_init(&f, req, err, sizeof err) < 0) {
        filter_free(&f);
        daemon_rpc_reply(c, err, NULL, 0);
        return;
    }
    body r;
    wire_mp_container rows;
    body_start(&r, DAEMON_RPC_MAX_REPLY);
    wire_mp_pack_cstr(&r.w, "Members");
    wire_mp_array_begin(&r.w, &rows);
    members_ctx mc = { a, &r.w, &f, req->cmd == DAEMON_RPC_CMD_MOONLIST_MEMBERS };
    serf_node_members_each(a->sn, member_row, &mc);
    wire_mp_array_end(&r.w, &rows);
    body_send(c, &r, NULL);
    filter_free(&f);
}

void daemon_rpc_on_serf_event(agent *a, const serf_node_event *ev)
{
    static const unsigned bits[] = {
        [SERF_EV_MEMBER_JOIN] = DAEMON_RPC_EV_MEMBER_JOIN, [SERF_EV_MEMBER_LEAVE] = DAEMON_RPC_EV_MEMBER_LEAVE,
        [SERF_EV_MEMBER_FAILED] = DAEMON_RPC_EV_MEMBER_FAILED, [SERF_EV_MEMBER_UPDATE] = DAEMON_RPC_EV_MEMBER_UPDATE,
        [SERF_EV_MEMBER_REAP] = DAEMON_RPC_EV_MEMBER_REAP,
    };
    if (!a->rpc)
        return;
    switch (ev->type) {
    case SERF_EV_MEMBER_JOIN:
    case SERF_EV_MEMBER_LEAVE:
    case SERF_EV_MEMBER_FAILED:
    case SERF_EV_MEMBER_UPDATE:
    case SERF_EV_MEMBER_REAP: {
        swim_member m = daemon_member_of(&ev->member);
        daemon_rpc_server_member_event(a->rpc, bits[ev->type], &m, serf_member_status_name(ev->member.status));
        break;
    }
    case SERF_EV_USER:
        daemon_rpc_server_user_event(a->rpc, ev->name, ev->payload, ev->ltime, ev->coalesce);
        break;
    case SERF_EV_QUERY:
        daemon_rpc_server_query_event(a->rpc, ev->query_id, ev->name, ev->payload, ev->ltime);
        break;
    default:
        break;
    }
}

/* ---- join, leave, force-leave, tags ------------------------------------ */

/* {Num: n}, with an error when no seed answered */
static void reply_num(daemon_rpc_conn *c, int n, const char *err)
{
    body r;
    body_start(&r, 0);
    kv_uint(&r.w, "Num", (uint64_t)(n > 0 ? n : 0));
    body_send(c, &r, err);
}

static void on_join_done(void *ud, int joined, const char *err)
{
    daemon_rpc_conn *c = ud;
    if (joined <= 0) {
        reply_num(c, 0, err ? err : "no seed answered");
        return;
    }
    if (err)   /* serf's answer has no room for it: the log has */
        base_log(BASE_LOG_WARN, "join over RPC: %s", err);
    reply_num(c, joined, NULL);
}

#define RPC_MAX_JOIN 64   /* seeds per join request: plenty for any cluster */

static void rpc_join(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    daemon_rpc_list l = req->existing;
    if (l.n == 0 || l.n > RPC_MAX_JOIN) {
        reply_num(c, 0, "join needs 1..64 addresses");
        return;
    }
    char buf[RPC_MAX_JOIN][300];
    const char *list[RPC_MAX_JOIN];
    size_t n = 0;
    wire_bytes s;
    while (daemon_rpc_list_next(&l, &s)) {
        if (s.n == 0 || s.n >= sizeof buf[n] || memchr(s.p, 0, s.n)) {
            reply_num(c, 0, "bad address in join request");
            return;
        }
        memcpy(buf[n], s.p, s.n);
        buf[n][s.n] = '\0';
        list[n] = buf[n];
        n++;
    }
    if (daemon_join(a, list, n, req->replay, on_join_done, c) < 0)
        reply_num(c, 0, "out of memory");
}

static void rpc_leave(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    (void)req;
    if (a->nleave_waiters == sizeof a->leave_waiters / sizeof a->leave_waiters[0]) {
        daemon_rpc_reply(c, "leave already in progress", NULL, 0);
        return;
    }
    a->leave_waiters[a->nleave_waiters++] = c;
    base_log(BASE_LOG_INFO, "leave requested over RPC");
    daemon_leave_begin(a);
}

void daemon_rpc_reply_left(daemon_rpc_conn *c)
{
    daemon_rpc_reply(c, NULL, NULL, 0);
}

/* A name from a request as a C string: 0, or -1 (empty, too long, NUL). */
static int name_of(wire_bytes v, char *out, size_t len)
{
    if (v.n == 0 || v.n >= len || memchr(v.p, 0, v.n))
        return -1;
    memcpy(out, v.p, v.n);
    out[v.n] = '\0';
    return 0;
}

static void rpc_force_leave(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    char name[256], err[300];
    if (name_of(req->node, name, sizeof name) < 0) {
        daemon_rpc_reply(c, "force-leave needs a node name", NULL, 0);
        return;
    }
    /* serf's RemoveFailedNode(Prune): a leave intent for it, so that
     * everyone moves it from failed to left (with prune: erased) */
    if (serf_node_force_leave(a->sn, net_core(a->net), net_now(a->net), name, req->prune) < 0) {
        /* serf answers nothing for an unknown name; saying so helps more */
        snprintf(err, sizeof err, "no member named '%s' (other than this agent)", name);
        daemon_rpc_reply(c, err, NULL, 0);
        return;
    }
    base_log(BASE_LOG_INFO, "force-leave%s: %s", req->prune ? " (prune)" : "", name);
    daemon_rpc_reply(c, NULL, NULL, 0);
}

/* serf's `tags`: our tags less DeleteTags, then Tags set on top. */
static void rpc_tags(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    swim *core = net_core(a->net);
    const swim_config *cfg = swim_get_config(core);
    serf_tags cur = { 0 }, next = { 0 };
    char err[200] = "";
    wire_bytes k, v;
    wire_buf meta;
    wire_buf_init(&meta, SERF_TAGS_META_MAX);
    (void)serf_tags_decode(&cur, cfg->meta, cfg->meta_len);   /* ours: well-formed */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cur.n; i++) {
        daemon_rpc_list del = req->delete_tags;
        bool drop = false;
        while (daemon_rpc_list_next(&del, &k))
            drop |= k.n == cur.v[i].klen && memcmp(k.p, cur.v[i].key, k.n) == 0;
        if (!drop)
            rc = serf_tags_set(&next, cur.v[i].key, cur.v[i].klen, cur.v[i].value, cur.v[i].vlen);
    }
    daemon_rpc_list set = req->tags;
    while (rc == 0 && daemon_rpc_map_next(&set, &k, &v))
        rc = serf_tags_set(&next, (const char *)k.p, k.n, (const char *)v.p, v.n);
    if (rc < 0)
        snprintf(err, sizeof err, "out of memory");
    else if (serf_tags_encode(&next, &meta, err, sizeof err) < 0 ||
             serf_node_set_meta(a->sn, core, net_now(a->net), meta.data, meta.len) < 0)
        rc = -1;
    if (rc == 0)
        base_log(BASE_LOG_INFO, "tags changed over RPC (%zu tags)", next.n);
    daemon_rpc_reply(c, rc == 0 ? NULL : err[0] ? err : "tags not set", NULL, 0);
    serf_tags_free(&cur);
    serf_tags_free(&next);
    wire_buf_free(&meta);
}

/* ---- stats and moonlist-info ------------------------------------------- */


static void tags_section(wire_mp_writer *w, const swim_config *cfg)
{
    wire_mp_container m;
    serf_tags t = { 0 };
    (void)serf_tags_decode(&t, cfg->meta, cfg->meta_len);
    section_begin(w, &m, "tags");
    for (size_t i = 0; i < t.n; i++) {
        wire_mp_pack_raw(w, t.v[i].key, t.v[i].klen);
        wire_mp_pack_raw(w, t.v[i].value, t.v[i].vlen);
    }
    wire_mp_map_end(w, &m);
    serf_tags_free(&t);
}

/* serf's `stats` (agent.Stats()): every value a string. serf's
 * event_time, query_time, their queues and coordinate_resets belong to
 * layers moonlist has not got, so they are not listed. */
static void rpc_stats(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    (void)req;
    const swim_config *cfg = swim_get_config(net_core(a->net));
    daemon_stats ds;
    daemon_gather_stats(a, &ds);
    struct utsname u;
    if (uname(&u) < 0)
        memset(&u, 0, sizeof u);
    for (char *p = u.sysname; *p; p++)   /* Go's GOOS: "linux" */
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);

    body r;
    body_start(&r, 0);
    wire_mp_writer *w = &r.w;
    wire_mp_container m;
    section_begin(w, &m, "agent");
    kv_str(w, "name", cfg->name);
    wire_mp_map_end(w, &m);
    section_begin(w, &m, "event_handlers");   /* moonlist's are Lua hooks */
    wire_mp_map_end(w, &m);
    section_begin(w, &m, "runtime");
    kv_str(w, "os", u.sysname);
    kv_str(w, "arch", u.machine);
    kv_str(w, "version", "moonlist " MOONLIST_VERSION);
    kv_num(w, "cpu_count", (uint64_t)(sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 0));
    wire_mp_map_end(w, &m);
    section_begin(w, &m, "serf");
    /* serf's: every member it lists, and its failed and left ones */
    kv_num(w, "members", ds.serf_members);
    kv_num(w, "failed", ds.serf_by_status[SERF_MEMBER_FAILED]);
    kv_num(w, "left", ds.serf_by_status[SERF_MEMBER_LEFT]);
    kv_num(w, "health_score", (uint64_t)ds.health_score);
    kv_num(w, "member_time", ds.serf_clocks.member);
    kv_num(w, "event_time", ds.serf_clocks.event);
    kv_num(w, "query_time", ds.serf_clocks.query);
    kv_str(w, "encrypted", a->o->net.keyring.n ? "true" : "false");
    wire_mp_map_end(w, &m);
    tags_section(w, cfg);
    body_send(c, &r, NULL);
}

static void stats_section(wire_mp_writer *w, const char *title, const uint64_t *v)
{
    wire_mp_container m;
    section_begin(w, &m, title);
    /* type bytes 0..13 are every message memberlist defines (§2) */
    for (int t = 0; t <= WIRE_ERR; t++)
        kv_uint(w, wire_type_name(t), v[t]);
    wire_mp_map_end(w, &m);
}

/* `moonlist info`: sections and keys in display order. */
static void rpc_moonlist_info(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    (void)req;
    const swim_config *cfg = swim_get_config(net_core(a->net));
    daemon_stats ds;
    daemon_gather_stats(a, &ds);
    const swim_stats *st = &ds.swim;
    const net_counters *nc = &ds.net;
    char rpc[300], vsn[64];
    snprintf(rpc, sizeof rpc, "%s:%u", a->o->rpc_host, a->o->rpc_port);

    body r;
    body_start(&r, 0);
    wire_mp_writer *w = &r.w;
    wire_mp_container m;

    section_begin(w, &m, "agent");
    kv_str(w, "name", cfg->name);
    kv_str(w, "version", MOONLIST_VERSION);
    kv_str(w, "advertise", net_advertise_text(a->net));
    kv_str(w, "bind", net_bind_text(a->net));
    kv_str(w, "rpc_addr", rpc);
    kv_str(w, "config", a->o->config_path[0] ? a->o->config_path : "(none)");
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "members");
    kv_uint(w, "total", ds.members_total);
    kv_uint(w, "alive", ds.members_by_state[SWIM_ALIVE]);
    kv_uint(w, "suspect", ds.members_by_state[SWIM_SUSPECT]);
    kv_uint(w, "dead", ds.members_by_state[SWIM_DEAD]);
    kv_uint(w, "left", ds.members_by_state[SWIM_LEFT]);
    kv_uint(w, "health_score", (uint64_t)ds.health_score);
    wire_mp_map_end(w, &m);

    /* serf's layer: its view (failed and left kept until reaped), its
     * Lamport clocks and what it received */
    const serf_node_stats *ss = &ds.serf;
    section_begin(w, &m, "serf");
    kv_uint(w, "members", ds.serf_members);
    kv_uint(w, "alive", ds.serf_by_status[SERF_MEMBER_ALIVE]);
    kv_uint(w, "leaving", ds.serf_by_status[SERF_MEMBER_LEAVING]);
    kv_uint(w, "left", ds.serf_by_status[SERF_MEMBER_LEFT]);
    kv_uint(w, "failed", ds.serf_by_status[SERF_MEMBER_FAILED]);
    kv_uint(w, "member_time", ds.serf_clocks.member);
    kv_uint(w, "event_time", ds.serf_clocks.event);
    kv_uint(w, "query_time", ds.serf_clocks.query);
    kv_uint(w, "events_received", ss->events_received);
    kv_uint(w, "events_dup", ss->events_dup);
    kv_uint(w, "queries_received", ss->queries_received);
    kv_uint(w, "queries_dup", ss->queries_dup);
    kv_uint(w, "intents_received", ss->intents_received);
    kv_uint(w, "unknown_messages", ss->unknown_messages);
    kv_uint(w, "reconnects", ss->reconnects);
    kv_uint(w, "reaped", ss->reaped);
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "versions");
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[0], cfg->vsn[1], cfg->vsn[2]);
    kv_str(w, "protocol", vsn);
    snprintf(vsn, sizeof vsn, "min %u max %u cur %u", cfg->vsn[3], cfg->vsn[4], cfg->vsn[5]);
    kv_str(w, "delegate", vsn);
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "config");
    kv_str(w, "profile", a->o->profile);
    kv_str(w, "encryption", a->o->net.keyring.n ? "on" : "off");
    kv_str(w, "compression", a->o->net.frame.compress ? "on" : "off");
    /* every knob of the table, durations in milliseconds */
    for (size_t i = 0; i < swim_knob_count(); i++) {
        const swim_knob *k = swim_knob_at(i);
        uint64_t v = swim_knob_get(cfg, i);
        char key[64];
        snprintf(key, sizeof key, "%s%s", k->name, k->kind == SWIM_KNOB_KIND_MS ? "_ms" : "");
        if (k->kind == SWIM_KNOB_KIND_BOOL)
            kv_str(w, key, v ? "true" : "false");
        else
            kv_uint(w, key, v);
    }
    kv_uint(w, "meta_bytes", cfg->meta_len);
    wire_mp_map_end(w, &m);

    section_begin(w, &m, "protocol");
    kv_uint(w, "dropped", st->dropped);
    kv_uint(w, "broadcasts_dropped", st->broadcasts_dropped);
    kv_uint(w, "members_refused", st->members_refused);
    kv_uint(w, "probes", st->probes);
    kv_uint(w, "probe_failures", st->probe_failures);
    kv_uint(w, "refutations", st->refutations);
    kv_uint(w, "stale_answers", st->stale_answers);
    kv_uint(w, "repair_push_pulls", st->repair_push_pulls);
    wire_mp_map_end(w, &m);

    stats_section(w, "messages sent", st->sent);
    stats_section(w, "messages received", st->received);
    stats_section(w, "messages dropped", st->dropped_by_type);

    section_begin(w, &m, "network");
    kv_uint(w, "packets_in", nc->packets_in);
    kv_uint(w, "packets_out", nc->packets_out);
    kv_uint(w, "malformed_packets", nc->malformed_packets);
    kv_uint(w, "send_errors", nc->send_errors);
    kv_uint(w, "streams_in", nc->streams_in);
    kv_uint(w, "streams_out", nc->streams_out);
    kv_uint(w, "streams_rejected", nc->streams_rejected);
    kv_uint(w, "stream_errors", nc->stream_errors);
    kv_uint(w, "streams_too_large", nc->streams_too_large);
    kv_uint(w, "sources_refused", nc->sources_refused);
    wire_mp_map_end(w, &m);

    /* the control port: who is connected and who was dropped */
    section_begin(w, &m, "rpc");
    kv_str(w, "auth", daemon_rpc_server_auth_required(a->rpc) ? "on" : "off");
#define RPC_STAT(name, why) kv_uint(w, #name, ds.rpc.name);
    DAEMON_RPC_STATS(RPC_STAT)
#undef RPC_STAT
    wire_mp_map_end(w, &m);

    /* the script's host: what its hooks cost and what went wrong there */
    section_begin(w, &m, "lua");
    kv_str(w, "script", ds.has_lua ? "running" : "none");
#define LUA_STAT(name, why) kv_uint(w, #name, ds.lua.name);
    MLUA_STATS(LUA_STAT)
#undef LUA_STAT
    wire_mp_map_end(w, &m);

    body_send(c, &r, NULL);
}

/* serf with coordinates off (ours are): no error, Ok false */
static void rpc_get_coordinate(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    (void)a;
    (void)req;
    body r;
    wire_mp_container coord;
    body_start(&r, 0);
    wire_mp_pack_cstr(&r.w, "Coord");
    wire_mp_map_begin(&r.w, &coord);
    wire_mp_map_end(&r.w, &coord);
    wire_mp_pack_cstr(&r.w, "Ok");
    wire_mp_pack_bool(&r.w, false);
    body_send(c, &r, NULL);
}

/* ---- dispatch ---------------------------------------------------------- */

/* The agent's commands (the connection's own never come here), and those
 * refused once our leave has begun. */
static const struct {
    void (*fn)(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req);
    bool not_while_leaving;
} commands[DAEMON_RPC_NCMDS] = {
    [DAEMON_RPC_CMD_MEMBERS] = { rpc_members, false },
    [DAEMON_RPC_CMD_MEMBERS_FILTERED] = { rpc_members, false },
    [DAEMON_RPC_CMD_MOONLIST_MEMBERS] = { rpc_members, false },
    [DAEMON_RPC_CMD_JOIN] = { rpc_join, true },
    [DAEMON_RPC_CMD_LEAVE] = { rpc_leave, false },
    [DAEMON_RPC_CMD_FORCE_LEAVE] = { rpc_force_leave, true },
    [DAEMON_RPC_CMD_TAGS] = { rpc_tags, true },
    [DAEMON_RPC_CMD_STATS] = { rpc_stats, false },
    [DAEMON_RPC_CMD_MOONLIST_INFO] = { rpc_moonlist_info, false },
    [DAEMON_RPC_CMD_GET_COORDINATE] = { rpc_get_coordinate, false },
    [DAEMON_RPC_CMD_EVENT] = { daemon_rpc_event, true },
    [DAEMON_RPC_CMD_QUERY] = { daemon_rpc_query, true },
    [DAEMON_RPC_CMD_RESPOND] = { daemon_rpc_respond, false },
    [DAEMON_RPC_CMD_INSTALL_KEY] = { daemon_rpc_keys, true },
    [DAEMON_RPC_CMD_USE_KEY] = { daemon_rpc_keys, true },
    [DAEMON_RPC_CMD_REMOVE_KEY] = { daemon_rpc_keys, true },
    [DAEMON_RPC_CMD_LIST_KEYS] = { daemon_rpc_keys, false },
};

void daemon_rpc_serve(void *ud, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    agent *a = ud;
    if ((unsigned)req->cmd >= DAEMON_RPC_NCMDS || !commands[req->cmd].fn)
        daemon_rpc_reply(c, DAEMON_RPC_E_UNSUPPORTED, NULL, 0);
    else if (!a->net)
        daemon_rpc_reply(c, "the agent is shutting down", NULL, 0);
    else if (commands[req->cmd].not_while_leaving && serf_leave_active(&a->leave))
        daemon_rpc_reply(c, "the agent is leaving", NULL, 0);
    else
        commands[req->cmd].fn(a, c, req);
}
