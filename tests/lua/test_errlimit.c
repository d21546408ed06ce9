/* Errors that repeat are logged once per MLUA_ERROR_REPEAT_MS with the count
 * of those suppressed, and every error is counted: a timer failing every
 * 10 ms, on a virtual clock (a backend driven here, exact counts) and on
 * the Lua thread in real time. */
#include "check.h"
#include "mlua_harness.h"

/* ---- a backend on a virtual clock ---- */

#define VC_TIMERS 16   /* the scripts below start two */

typedef struct vclock {
    uint64_t now_ms;
    struct {
        uint64_t id, due;
    } t[VC_TIMERS];
    size_t n;
} vclock;

static void vc_members(void *ud, mlua *h, mlua_members_reply *r)
{
    (void)ud;
    mlua_members_done(h, r, "");
}

static double vc_now(void *ud)
{
    return ((vclock *)ud)->now_ms / 1000.0;
}

static void vc_stop(void *ud, uint64_t id)
{
    vclock *c = ud;
    for (size_t i = 0; i < c->n; i++)
        if (c->t[i].id == id) {
            c->t[i] = c->t[--c->n];
            return;
        }
}

static void vc_start(void *ud, uint64_t id, uint64_t ms)
{
    vclock *c = ud;
    vc_stop(ud, id);
    REQUIRE(c->n < VC_TIMERS);
    c->t[c->n].id = id;
    c->t[c->n].due = c->now_ms + ms;
    c->n++;
}

/* Advance to until_ms in 10 ms steps, firing due timers earliest first. */
static void vc_run(mlua *h, vclock *c, uint64_t until_ms)
{
    while (c->now_ms < until_ms) {
        c->now_ms += 10;
        for (;;) {
            size_t best = c->n;
            for (size_t i = 0; i < c->n; i++)
                if (c->t[i].due <= c->now_ms && (best == c->n || c->t[i].due < c->t[best].due))
                    best = i;
            if (best == c->n)
                break;
            uint64_t id = c->t[best].id;
            c->t[best] = c->t[--c->n];
            mlua_timer_due(h, id);
        }
        mlua_run_pending(h);
    }
}

static size_t count_of(harness *t, const char *needle)
{
    size_t n = 0;
    uv_mutex_lock(&t->logmu);
    for (const char *p = t->log; (p = strstr(p, needle)); p++)
        n++;
    uv_mutex_unlock(&t->logmu);
    return n;
}

static mlua *vc_host(harness *t, vclock *c, const char *code)
{
    mlua_options o = { .log = h_log, .log_ud = t };
    mlua_backend b = { .ud = c, .members = vc_members, .now = vc_now, .timer_start = vc_start,
                       .timer_stop = vc_stop };
    mlua *h = mlua_new(&o);
    REQUIRE(h && mlua_set_backend(h, &b) == 0);
    char err[512];
    int rc = mlua_load_string(h, "=limit.lua", code, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    return h;
}

static void test_virtual_clock(void)
{
    harness t;
    h_init(&t);
    vclock c = { .now_ms = 0 };
    /* the message carries a counter: alike all the same (digits aside) */
    mlua *h = vc_host(&t, &c,
        "local agent = require 'moonlist'\n"
        "local n, every = 0\n"
        "every = agent.every(0.01, function()\n"
        "  n = n + 1\n"
        "  if n == 100 then every:stop() end\n"
        "  error('boom ' .. n)\n"
        "end)\n"
        "agent.after(0.5, function() error('other') end)\n");
    vc_run(h, &c, 1000);
    mlua_stats st;
    mlua_get_stats(h, &st);
    CHECK_EQ_INT(st.timer_errors, 101);
    CHECK_EQ_INT(st.suppressed_log_lines, 99);
    CHECK_EQ_INT(count_of(&t, "agent.every callback failed: limit.lua:6: boom 1\nstack traceback:"), 1);
    CHECK_EQ_INT(count_of(&t, "agent.after callback failed: limit.lua:8: other"), 1);
    CHECK_EQ_INT(count_of(&t, " failed: "), 2);
    /* the window since the first line (at 10 ms) passes with no more
     * errors: the count is logged once */
    vc_run(h, &c, 10000);
    CHECK_EQ_INT(count_of(&t, " failed: "), 2);
    vc_run(h, &c, 10010);
    CHECK_EQ_INT(count_of(&t, "agent.every callback failed: limit.lua:6: boom 1 (99 more like this suppressed)"), 1);
    CHECK_EQ_INT(count_of(&t, " failed: "), 3);
    vc_run(h, &c, 30000);
    CHECK_EQ_INT(count_of(&t, " failed: "), 3);
    mlua_free(h);

    /* an error that goes on: one line per window, the next occurrence
     * logged in full with the count before it */
    t.loglen = 0;
    t.log[0] = '\0';
    c = (vclock){ .now_ms = 0 };
    h = vc_host(&t, &c, "local agent = require 'moonlist'\nagent.every(0.5, function() error('again') end)\n");
    vc_run(h, &c, 25000);
    mlua_get_stats(h, &st);
    CHECK_EQ_INT(st.timer_errors, 50);
    CHECK_EQ_INT(count_of(&t, "agent.every callback failed: limit.lua:2: again\nstack traceback:"), 1);
    CHECK_EQ_INT(count_of(&t, "agent.every callback failed: limit.lua:2: again (19 more like this suppressed)\n"
                              "stack traceback:"), 2);
    /* the ten since t = 20.5 s: logged when the host goes */
    mlua_free(h);
    CHECK_EQ_INT(count_of(&t, "limit.lua:2: again (9 more like this suppressed)\n"), 1);
    h_finish(&t);
}

/* The same on the agent's Lua thread, in real time: all counted, a few
 * lines logged. */
#define REAL_ERRORS_WANTED 50          /* half a second of a 10 ms timer */
#define REAL_DEADLINE_MS 10000         /* far more than a loaded machine needs */

static void test_real_thread(void)
{
    harness t;
    h_boot(&t, "local agent = require 'moonlist'\nagent.every(0.01, function() error('tick') end)\n");
    mlua_stats st;
    uint64_t deadline = uv_hrtime() / 1000000u + REAL_DEADLINE_MS;
    do {
        h_wait_log(&t, "never logged", 20);
        mlua_get_stats(t.h, &st);
    } while (st.timer_errors < REAL_ERRORS_WANTED && uv_hrtime() / 1000000u < deadline);
    CHECKF(st.timer_errors >= REAL_ERRORS_WANTED, "%llu timer errors", (unsigned long long)st.timer_errors);
    CHECK_EQ_INT(st.hook_errors, 0);
    CHECK_EQ_INT(count_of(&t, "agent.every callback failed: test.lua:2: tick\nstack traceback:"), 1);
    /* unless the run took a whole window, that line is all */
    CHECKF(count_of(&t, " failed: ") <= 2, "%zu lines", count_of(&t, " failed: "));
    /* stopping logs what was suppressed: every error is a line or in a count */
    REQUIRE(mlua_stop(t.h, 5000) == 0);
    CHECK_EQ_INT(count_of(&t, "more like this suppressed"), 1);
    h_finish(&t);
}

/* On the Lua thread the count is logged by a timer that runs only while a
 * count waits (an idle script has none): an error that stops after a
 * repeat still has its count logged once the window passes, not only at
 * the stop. */
#define REAL_WINDOW_DEADLINE_MS (MLUA_ERROR_REPEAT_MS + 5000)

static void test_real_thread_count_after_window(void)
{
    harness t;
    h_boot(&t,
        "local agent = require 'moonlist'\n"
        "local k, every = 0\n"
        "every = agent.every(0.01, function() k = k + 1; if k == 2 then every:stop() end; error('twice') end)\n");
    CHECK(h_wait_log(&t, "test.lua:3: twice (1 more like this suppressed)", REAL_WINDOW_DEADLINE_MS));
    h_finish(&t);
}

int main(void)
{
    test_virtual_clock();
    test_real_thread();
    test_real_thread_count_after_window();
    return check_done("test_errlimit");
}
