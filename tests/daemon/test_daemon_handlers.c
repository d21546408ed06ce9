/* serf's event handlers: "[filter=]script" parsed as serf parses it, the
 * filters matched as serf matches them, and scripts run on a loop with
 * serf's environment and member lines, one at a time, in event order;
 * user events and queries with their payload, a query answered with the
 * output. */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_handlers.h"
#include "serf/serf_tags.h"

static void test_parse(void)
{
    char err[512];
    daemon_handler h;

    /* no filter: every event, the whole text is the script */
    REQUIRE(daemon_handler_parse("/usr/bin/handle", &h, err, sizeof err) == 0);
    CHECK(strcmp(h.script, "/usr/bin/handle") == 0);
    CHECK(h.nfilters == 1 && h.filters[0].any);
    for (int k = 0; k < DAEMON_EV_COUNT; k++)
        CHECK(daemon_handler_matches(&h, (daemon_event_kind)k, NULL));
    daemon_handler_free(&h);

    /* split at the first '=': the script may hold more */
    REQUIRE(daemon_handler_parse("member-join=echo a=b", &h, err, sizeof err) == 0);
    CHECK(strcmp(h.script, "echo a=b") == 0);
    CHECK(h.nfilters == 1 && !h.filters[0].any && h.filters[0].kind == DAEMON_EV_MEMBER_JOIN);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_JOIN, NULL));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_MEMBER_LEAVE, NULL));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_USER, "deploy"));
    daemon_handler_free(&h);

    /* a list, with named user events and queries */
    REQUIRE(daemon_handler_parse("member-leave,member-failed,user:deploy,query:load,member-reap=run.sh", &h, err,
                                 sizeof err) == 0);
    CHECK_EQ_INT(h.nfilters, 5);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_LEAVE, NULL));
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_FAILED, NULL));
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_REAP, NULL));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_MEMBER_JOIN, NULL));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_MEMBER_UPDATE, NULL));
    CHECK(daemon_handler_matches(&h, DAEMON_EV_USER, "deploy"));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_USER, "restart"));
    CHECK(daemon_handler_matches(&h, DAEMON_EV_QUERY, "load"));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_QUERY, "other"));
    daemon_handler_free(&h);

    /* "user" and "user:" take every user event; "*" in a list takes all */
    REQUIRE(daemon_handler_parse("user=x", &h, err, sizeof err) == 0);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_USER, "anything"));
    CHECK(!daemon_handler_matches(&h, DAEMON_EV_QUERY, "anything"));
    daemon_handler_free(&h);
    REQUIRE(daemon_handler_parse("query:=x", &h, err, sizeof err) == 0);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_QUERY, "q"));
    daemon_handler_free(&h);
    REQUIRE(daemon_handler_parse("member-join,*=x", &h, err, sizeof err) == 0);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_UPDATE, NULL));
    daemon_handler_free(&h);
    REQUIRE(daemon_handler_parse("member-update=x", &h, err, sizeof err) == 0);
    CHECK(daemon_handler_matches(&h, DAEMON_EV_MEMBER_UPDATE, NULL));
    daemon_handler_free(&h);

    /* errors name the filter */
    CHECK(daemon_handler_parse("member-joined=x", &h, err, sizeof err) == -1 && strstr(err, "'member-joined'"));
    CHECK(daemon_handler_parse("member-join,,member-leave=x", &h, err, sizeof err) == -1 && strstr(err, "''"));
    CHECK(daemon_handler_parse("echo a=b", &h, err, sizeof err) == -1 && strstr(err, "'echo a'"));
    CHECK(daemon_handler_parse("member-join=", &h, err, sizeof err) == -1 && strstr(err, "no script"));
    CHECK(daemon_handler_parse("", &h, err, sizeof err) == -1);

    CHECK(strcmp(daemon_event_name(DAEMON_EV_MEMBER_FAILED), "member-failed") == 0);
    CHECK(strcmp(daemon_event_name(DAEMON_EV_QUERY), "query") == 0);
}

/* ---- running scripts on a loop ---- */

typedef struct world {
    uv_loop_t loop;
    uint8_t meta[512];
    size_t meta_len;
} world;

static void self_fn(void *ud, const char **name, const uint8_t **meta, size_t *len)
{
    world *w = ud;
    *name = "me";
    *meta = w->meta;
    *len = w->meta_len;
}

static void set_meta(uint8_t *meta, size_t *len, const char *const *kv, size_t n)
{
    serf_tags t = { 0 };
    char err[160];
    for (size_t i = 0; i < n; i++)
        REQUIRE(serf_tags_parse_kv(&t, kv[i], err, sizeof err) == 0);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
    memcpy(meta, b.data, b.len);
    *len = b.len;
    wire_buf_free(&b);
    serf_tags_free(&t);
}

static swim_event member_event(swim_event_type type, const char *name, swim_state state, const uint8_t *meta,
                               size_t len)
{
    swim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.member.name = name;
    ev.member.state = state;
    ev.member.addr.ip_len = 4;
    memcpy(ev.member.addr.ip, "\x7f\x00\x00\x02", 4);
    ev.member.addr.port = 7946;
    ev.member.meta = meta;
    ev.member.meta_len = len;
    return ev;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void on_poll(uv_timer_t *t)
{
    const char *path = t->data;
    if (access(path, F_OK) == 0)
        uv_stop(t->loop);
}

/* Run the loop until `path` exists, at most 10 s. */
static bool run_until_file(world *w, const char *path)
{
    uv_timer_t poll;
    uv_timer_init(&w->loop, &poll);
    poll.data = (void *)path;
    uv_timer_start(&poll, on_poll, 10, 10);
    for (int i = 0; i < 1000 && access(path, F_OK) != 0; i++)
        uv_run(&w->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
    return access(path, F_OK) == 0;
}

static void test_run(void)
{
    char dir[] = "/tmp/moonlist-handlers-XXXXXX";
    REQUIRE(mkdtemp(dir));
    world w;
    memset(&w, 0, sizeof w);
    REQUIRE(uv_loop_init(&w.loop) == 0);
    const char *self_tags[] = { "role=lb", "dc=eu-1", "rack.nr=7" };
    set_meta(w.meta, &w.meta_len, self_tags, 3);
    setenv("MOONLIST_TEST_INHERITED", "yes", 1);
    setenv("SERF_EVENT", "stale", 1);   /* ours wins */

    /* a handler for everything writes its environment and stdin to a
     * numbered file (the sequence number is kept in a counter file), one
     * for failures only appends to its own file, a slow one goes first
     * (the script holds '=', so it needs its filter: "*=") */
    char all[4096], failed[1024], seq[64], done[64];
    snprintf(seq, sizeof seq, "%s/seq", dir);
    snprintf(done, sizeof done, "%s/done", dir);
    snprintf(all, sizeof all,
             "*=n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; f=%s/$n.$SERF_EVENT; "
             "env | grep -E '^(SERF_|MOONLIST_TEST_)' | sort > $f.tmp; echo --- >> $f.tmp; cat >> $f.tmp; "
             "mv $f.tmp $f; echo out; echo err >&2",
             seq, seq, dir);
    snprintf(failed, sizeof failed, "member-failed,user:deploy=cat >> %s/failed; touch %s", dir, done);
    const char *specs[] = { "member-join=sleep 0.3", all, failed };
    char err[256];
    daemon_handlers *hs = daemon_handlers_start(&w.loop, specs, 3, self_fn, &w, err, sizeof err);
    REQUIRE(hs);

    const char *web_tags[] = { "role=web", "port=80", "note=a\tb" };
    uint8_t web[512];
    size_t web_len;
    set_meta(web, &web_len, web_tags, 3);
    swim_event e1 = member_event(SWIM_EV_JOIN, "web1", SWIM_ALIVE, web, web_len);
    swim_event e2 = member_event(SWIM_EV_JOIN, "web2", SWIM_ALIVE, NULL, 0);
    swim_event e3 = member_event(SWIM_EV_LEAVE, "web1", SWIM_DEAD, web, web_len);
    swim_event e4 = member_event(SWIM_EV_LEAVE, "web2", SWIM_LEFT, NULL, 0);
    swim_event e5 = member_event(SWIM_EV_PING, "web2", SWIM_ALIVE, NULL, 0);   /* not a serf event */
    daemon_handlers_event(hs, &e1);
    daemon_handlers_event(hs, &e2);
    daemon_handlers_event(hs, &e3);
    daemon_handlers_event(hs, &e4);
    daemon_handlers_event(hs, &e5);
    CHECK(run_until_file(&w, done));
    /* the last handler of the failure ran; wait for the leave's */
    char last[700];
    snprintf(last, sizeof last, "%s/3.member-leave", dir);
    CHECK(run_until_file(&w, last));

    /* both joins in one run (they waited together), in order; then failed
     * and left apart, in order */
    char p[700];
    snprintf(p, sizeof p, "%s/1.member-join", dir);
    const char *r = slurp(p);
    REQUIRE(r);
    CHECK(strstr(r, "SERF_EVENT=member-join\n"));
    CHECK(strstr(r, "SERF_SELF_NAME=me\n"));
    CHECK(strstr(r, "SERF_SELF_ROLE=lb\n"));
    CHECK(strstr(r, "SERF_TAG_DC=eu-1\n"));
    CHECK(strstr(r, "SERF_TAG_ROLE=lb\n"));
    CHECK(strstr(r, "SERF_TAG_RACK_NR=7\n"));
    CHECK(strstr(r, "MOONLIST_TEST_INHERITED=yes\n"));
    CHECKF(strstr(r, "---\nweb1\t127.0.0.2\tweb\tnote=a\\tb,port=80,role=web\nweb2\t127.0.0.2\t\t\n") != NULL, "%s", r);
    snprintf(p, sizeof p, "%s/2.member-failed", dir);
    r = slurp(p);
    REQUIRE(r);
    CHECK(strstr(r, "SERF_EVENT=member-failed\n") && !strstr(r, "stale"));
    CHECK(strstr(r, "---\nweb1\t127.0.0.2\tweb\tnote=a\\tb,port=80,role=web\n"));
    r = slurp(last);
    REQUIRE(r);
    CHECK(strstr(r, "---\nweb2\t127.0.0.2\t\t\n"));
    snprintf(p, sizeof p, "%s/failed", dir);
    r = slurp(p);
    CHECK(r && strcmp(r, "web1\t127.0.0.2\tweb\tnote=a\\tb,port=80,role=web\n") == 0);
    snprintf(p, sizeof p, "%s/4.member-leave", dir);
    CHECK(access(p, F_OK) != 0);   /* nothing more ran */

    daemon_handlers_close(hs);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&w.loop) == 0);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0);
}

/* What the respond callback was given. */
typedef struct responses {
    uint64_t ids[8];
    char text[8][128];
    size_t n;
} responses;

static void on_respond(void *ud, uint64_t query_id, const uint8_t *p, size_t n)
{
    responses *r = ud;
    if (r->n == 8)
        return;
    r->ids[r->n] = query_id;
    snprintf(r->text[r->n], sizeof r->text[r->n], "%.*s", (int)n, (const char *)p);
    r->n++;
}

/* serf's user events and queries: SERF_USER_EVENT / SERF_USER_LTIME and
 * SERF_QUERY_NAME / SERF_QUERY_LTIME, the payload on stdin (a newline
 * added), user:NAME and query:NAME filters, each event its own run; a
 * query handler that exits 0 answers with its output, one that fails
 * does not. */
static void test_user_and_query(void)
{
    char dir[] = "/tmp/moonlist-handlers-XXXXXX";
    REQUIRE(mkdtemp(dir));
    world w;
    memset(&w, 0, sizeof w);
    REQUIRE(uv_loop_init(&w.loop) == 0);
    char user[1024], deploy[512], load[256], done[128], p[700];
    snprintf(user, sizeof user,
             "user=f=%s/user.$SERF_USER_EVENT; env | grep -E '^SERF_(EVENT|USER)' | sort > $f; echo --- >> $f; "
             "cat >> $f",
             dir);
    snprintf(deploy, sizeof deploy, "user:deploy=echo deploy >> %s/deploy-only", dir);
    snprintf(load, sizeof load, "query:load=printf 'answer %%s' \"$(cat)\"; echo \"$SERF_QUERY_LTIME\" > %s/load",
             dir);
    snprintf(done, sizeof done, "query:last=touch %s/done", dir);
    const char *specs[] = { user, deploy, load, "query:fail=echo nope; exit 3", done };
    char err[256];
    daemon_handlers *hs = daemon_handlers_start(&w.loop, specs, 5, self_fn, &w, err, sizeof err);
    REQUIRE(hs);
    responses got = { .n = 0 };
    daemon_handlers_set_respond(hs, on_respond, &got);
#define B(s) ((wire_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })
    daemon_handlers_user(hs, B("deploy"), B("v1"), 7);
    daemon_handlers_user(hs, B("restart"), B("line\n"), 8);
    daemon_handlers_user(hs, B("empty"), (wire_bytes){ NULL, 0 }, 9);
    daemon_handlers_query(hs, 42, B("load"), B("hi"), 11);
    daemon_handlers_query(hs, 43, B("fail"), B(""), 12);
    daemon_handlers_query(hs, 44, B("last"), B(""), 13);
#undef B
    snprintf(p, sizeof p, "%s/done", dir);
    CHECK(run_until_file(&w, p));

    snprintf(p, sizeof p, "%s/user.deploy", dir);
    const char *r = slurp(p);
    REQUIRE(r);
    CHECKF(strcmp(r, "SERF_EVENT=user\nSERF_USER_EVENT=deploy\nSERF_USER_LTIME=7\n---\nv1\n") == 0, "%s", r);
    snprintf(p, sizeof p, "%s/user.restart", dir);
    r = slurp(p);
    CHECKF(r && strstr(r, "SERF_USER_LTIME=8\n---\nline\n") && !strstr(r, "line\n\n"), "%s", r ? r : "");
    snprintf(p, sizeof p, "%s/user.empty", dir);
    r = slurp(p);
    CHECKF(r && strstr(r, "---\n") && strcmp(strstr(r, "---\n"), "---\n") == 0, "%s", r ? r : "");
    snprintf(p, sizeof p, "%s/deploy-only", dir);
    r = slurp(p);
    CHECK(r && strcmp(r, "deploy\n") == 0);
    snprintf(p, sizeof p, "%s/load", dir);
    r = slurp(p);
    CHECK(r && strcmp(r, "11\n") == 0);
    /* the load query answered with the output; the failing one not; the
     * last one wrote nothing, so it answers nothing */
    CHECK_EQ_INT(got.n, 1);
    CHECK_EQ_INT(got.ids[0], 42);
    CHECKF(strcmp(got.text[0], "answer hi") == 0, "'%s'", got.text[0]);

    daemon_handlers_close(hs);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&w.loop) == 0);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0);
}

/* No handler, or none for an event: nothing is queued; a closed runner
 * takes no more events. */
static void test_none(void)
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    char err[256] = "x";
    CHECK(daemon_handlers_start(&loop, NULL, 0, self_fn, NULL, err, sizeof err) == NULL && err[0] == '\0');
    const char *bad[] = { "nope=x" };
    CHECK(daemon_handlers_start(&loop, bad, 1, self_fn, NULL, err, sizeof err) == NULL && strstr(err, "nope"));
    daemon_handlers_event(NULL, NULL);   /* no handlers: a no-op */
    CHECK(uv_loop_close(&loop) == 0);
}

int main(void)
{
    /* as the agent (daemon_main.c): a script that exits without reading
     * its input makes the write fail with EPIPE, not kill us */
    signal(SIGPIPE, SIG_IGN);
    test_parse();
    test_run();
    test_user_and_query();
    test_none();
    return check_done("test_daemon_handlers");
}
