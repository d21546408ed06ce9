/* How long the script's calls take (mlua_stats: hook_us and the
 * hooks_over_* counts, the metrics endpoint's histogram): a load that
 * spins 15 ms of CPU time is counted over 1 ms and over 10 ms, with at
 * least that much time; the counts nest (over 1 ms >= over 10 ms >= ...);
 * the event queue's depth counts the events waiting for the hooks. */
#include "check.h"
#include "lua/mlua_harness.h"

static void check_nested(const mlua_stats *st)
{
    CHECK(st->hooks_run >= st->hooks_over_1ms);
    CHECK(st->hooks_over_1ms >= st->hooks_over_10ms);
    CHECK(st->hooks_over_10ms >= st->hooks_over_100ms);
    CHECK(st->hooks_over_100ms >= st->hooks_over_1s);
}

int main(void)
{
    harness t;
    h_init(&t);
    char err[512];
    /* os.clock is CPU time: the wall time the host measures is at least it */
    int rc = h_load(&t, "local t0 = os.clock()\nwhile os.clock() - t0 < 0.015 do end\n", err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    mlua_stats st;
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.hooks_run, 1);
    CHECK_EQ_INT(mlua_event_queue_depth(t.h), 0);
    CHECK_EQ_INT(st.hooks_over_1ms, 1);
    CHECK_EQ_INT(st.hooks_over_10ms, 1);
    CHECKF(st.hook_us >= 15000, "%llu us", (unsigned long long)st.hook_us);
    check_nested(&st);
    h_finish(&t);

    /* a load that does nothing still counts, its time included */
    h_init(&t);
    rc = h_load(&t, "local x = 1\n", err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    mlua_get_stats(t.h, &st);
    CHECK_EQ_INT(st.hooks_run, 1);
    CHECK(st.hook_us < 15000000);   /* a sanity bound, not a timing claim */
    check_nested(&st);
    /* the Lua thread not started: events wait, and the depth says so */
    swim_member m = h_member("peer", 7946, SWIM_ALIVE, NULL, 0);
    for (int i = 0; i < 3; i++)
        h_post(&t, SWIM_EV_JOIN, &m);
    CHECK_EQ_INT(mlua_event_queue_depth(t.h), 3);
    h_finish(&t);
    return check_done("test_hook_time");
}
