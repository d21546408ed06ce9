/* Test harness for the Lua host: plays the protocol thread (a uv loop on
 * the test's main thread that receives the script's commands) and records
 * log lines. Header-only, one copy per test program. */
#ifndef MOONLIST_TEST_MLUA_HARNESS_H
#define MOONLIST_TEST_MLUA_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check.h"
#include "lua/mlua.h"

#define H_MAX_CMDS 4096

typedef struct harness {
    uv_loop_t loop;
    uv_timer_t tick;
    mlua *h;
    char *cmds[H_MAX_CMDS];   /* "broadcast key payload", "send name payload", ... */
    size_t ncmds;
    /* fake members answered to agent.members() */
    swim_member members[8];
    size_t nmembers;
    uv_mutex_t logmu;
    char log[65536];
    size_t loglen;
} harness;

static inline void h_log(void *ud, base_log_level level, const char *msg)
{
    harness *t = ud;
    uv_mutex_lock(&t->logmu);
    int n = snprintf(t->log + t->loglen, sizeof t->log - t->loglen, "[%d] %s\n", level, msg);
    if (n > 0 && t->loglen + (size_t)n < sizeof t->log)
        t->loglen += (size_t)n;
    uv_mutex_unlock(&t->logmu);
    if (getenv("MLUA_TEST_VERBOSE"))
        fprintf(stderr, "log[%d] %s\n", level, msg);
}

static inline bool h_log_has(harness *t, const char *needle)
{
    uv_mutex_lock(&t->logmu);
    bool yes = strstr(t->log, needle) != NULL;
    uv_mutex_unlock(&t->logmu);
    return yes;
}

static inline void h_sink(void *ud, const mlua_cmd *c)
{
    harness *t = ud;
    char buf[1024];
    switch (c->type) {
    case MLUA_CMD_BROADCAST:
        snprintf(buf, sizeof buf, "broadcast %s %.*s", c->key, (int)c->len, (const char *)c->payload);
        break;
    case MLUA_CMD_SEND:
        snprintf(buf, sizeof buf, "send %s %s %.*s", c->name, c->reliable ? "reliable" : "udp", (int)c->len,
                 (const char *)c->payload);
        break;
    case MLUA_CMD_SET_META: {
        int n = snprintf(buf, sizeof buf, "meta ");
        for (size_t i = 0; i < c->len && n < (int)sizeof buf - 3; i++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%02x", c->payload[i]);
        break;
    }
    case MLUA_CMD_LEAVE:
        snprintf(buf, sizeof buf, "leave");
        break;
    case MLUA_CMD_EVENT:
        snprintf(buf, sizeof buf, "event %s %s %.*s", c->name, c->coalesce ? "cc" : "nocc", (int)c->len,
                 (const char *)c->payload);
        break;
    case MLUA_CMD_QUERY:
        snprintf(buf, sizeof buf, "query %s %.*s", c->name, (int)c->len, (const char *)c->payload);
        break;
    case MLUA_CMD_RESPOND:
        snprintf(buf, sizeof buf, "respond %llu %.*s", (unsigned long long)c->query_id, (int)c->len,
                 (const char *)c->payload);
        break;
    case MLUA_CMD_MEMBERS:
        for (size_t i = 0; i < t->nmembers; i++)
            mlua_members_add(t->h, c->reply, &t->members[i]);
        mlua_members_done(t->h, c->reply, t->nmembers ? t->members[0].name : "");
        return;
    }
    if (t->ncmds < H_MAX_CMDS)
        t->cmds[t->ncmds++] = strdup(buf);
}

static inline void h_tick(uv_timer_t *tm) { (void)tm; }

static inline void h_init(harness *t)
{
    memset(t, 0, sizeof *t);
    uv_loop_init(&t->loop);
    uv_timer_init(&t->loop, &t->tick);
    uv_mutex_init(&t->logmu);
}

/* New host, load `code`; returns the load status with err filled. */
static inline int h_load(harness *t, const char *code, char *err, size_t errlen)
{
    mlua_options o = { .log = h_log, .log_ud = t, .lua_path = "../../lua/?.lua" };
    t->h = mlua_new(&o);
    if (!t->h)
        return -1;
    return mlua_load_string(t->h, "=test.lua", code, err, errlen);
}

static inline int h_start(harness *t)
{
    char err[256];
    if (mlua_attach(t->h, &t->loop, h_sink, t) < 0)
        return -1;
    int rc = mlua_start(t->h, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "mlua_start: %s\n", err);
    return rc;
}

/* h_init, a new host with `code` loaded, and its thread started: the
 * steps most tests begin with. A load error is a failed check (with the
 * error); a host that cannot start stops the test. */
static inline void h_boot(harness *t, const char *code)
{
    char err[512];
    h_init(t);
    int rc = h_load(t, code, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(h_start(t) == 0);
}

/* Run the protocol loop until done(t, arg) holds or timeout_ms passed;
 * whether it holds. */
static inline bool h_wait_until(harness *t, bool (*done)(harness *t, const void *arg), const void *arg,
                                unsigned timeout_ms)
{
    uint64_t deadline = uv_hrtime() / 1000000u + timeout_ms;
    uv_timer_start(&t->tick, h_tick, 5, 5);
    while (!done(t, arg) && uv_hrtime() / 1000000u < deadline)
        uv_run(&t->loop, UV_RUN_ONCE);
    uv_timer_stop(&t->tick);
    return done(t, arg);
}

static inline bool h_cmds_at_least(harness *t, const void *n)
{
    return t->ncmds >= *(const size_t *)n;
}

/* Run the protocol loop until n commands arrived or timeout_ms passed. */
static inline bool h_wait_cmds(harness *t, size_t n, unsigned timeout_ms)
{
    return h_wait_until(t, h_cmds_at_least, &n, timeout_ms);
}

static inline bool h_log_has_arg(harness *t, const void *needle)
{
    return h_log_has(t, needle);
}

/* Poll the log for `needle` (the Lua thread writes it). */
static inline bool h_wait_log(harness *t, const char *needle, unsigned timeout_ms)
{
    return h_wait_until(t, h_log_has_arg, needle, timeout_ms);
}

static inline void h_finish(harness *t)
{
    if (t->h) {
        mlua_stop(t->h, 5000);
        mlua_detach(t->h);
        mlua_free(t->h);
        t->h = NULL;
    }
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    for (size_t i = 0; i < t->ncmds; i++)
        free(t->cmds[i]);
    uv_mutex_destroy(&t->logmu);
}

static inline swim_member h_member(const char *name, uint16_t port, swim_state st, const uint8_t *meta, size_t mlen)
{
    swim_member m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.addr.ip_len = 4;
    m.addr.ip[0] = 127;
    m.addr.ip[3] = 1;
    m.addr.port = port;
    m.state = st;
    m.incarnation = 3;
    m.meta = meta;
    m.meta_len = mlen;
    static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 4 };
    memcpy(m.vsn, vsn, 6);
    return m;
}

static inline void h_post(harness *t, swim_event_type type, const swim_member *m)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    if (m)
        ev.member = *m;
    mlua_post_event(t->h, &ev);
}

#endif
