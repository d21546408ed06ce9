/* Two nets (sockets + core) in one process on loopback, on a real libuv
 * loop: join through a seed, both see two alive members, a graceful leave
 * is seen as "left", and everything closes cleanly. Run plain and with
 * encryption; and with keyrings the caller owns and rotates while the
 * nets run (serf's key queries do that). Waits are bounded by a deadline
 * timer, never bare sleeps. */
#include <string.h>

#include "check.h"
#include "loop_wait.h"
#include "net/net.h"

typedef struct peer {
    const char *name;
    net *n;
    int joins, leaves_left, leave_done;
} peer;

typedef struct world {
    uv_loop_t loop;
    peer p[2];
    int joined;                /* join callback result, -1 until called */
    loop_wait wait;
} world;

static void on_event(void *ud, const swim_event *ev)
{
    peer *p = ud;
    if (ev->type == SWIM_EV_JOIN)
        p->joins++;
    if (ev->type == SWIM_EV_LEAVE && ev->member.state == SWIM_LEFT)
        p->leaves_left++;
    if (ev->type == SWIM_EV_LEAVE_DONE)
        p->leave_done++;
}

static void on_log(void *ud, base_log_level level, const char *msg)
{
    peer *p = ud;
    if (level >= 2)
        fprintf(stderr, "[%s] %s\n", p->name, msg);
}

static void on_joined(void *ud, int joined, const char *err)
{
    world *w = ud;
    w->joined = joined;
    if (err)
        fprintf(stderr, "join: %s\n", err);
}

/* Run the loop until done(w) says so or `ms` pass. Returns true if done. */
static bool run_until(world *w, int (*done)(void *w), uint64_t ms)
{
    return loop_wait_run(&w->wait, done, w, ms);
}

static int both_see_two(void *ud)
{
    world *w = ud;
    return w->joined >= 0 && swim_alive_count(net_core(w->p[0].n)) == 2 &&
           swim_alive_count(net_core(w->p[1].n)) == 2;
}

static int a_sees_b_left(void *ud)
{
    world *w = ud;
    swim_member m;
    return swim_member_get(net_core(w->p[0].n), "b", &m) && m.state == SWIM_LEFT && w->p[1].leave_done;
}

static int join_answered(void *ud)
{
    world *w = ud;
    return w->joined >= 0;
}

static void scenario(const char *host, const char *key_b64)
{
    world w;
    memset(&w, 0, sizeof w);
    w.joined = -1;
    REQUIRE(uv_loop_init(&w.loop) == 0);
    loop_wait_init(&w.wait, &w.loop);

    for (int i = 0; i < 2; i++) {
        peer *p = &w.p[i];
        p->name = i ? "b" : "a";
        net_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c.swim, "local") == 0);
        snprintf(c.swim.name, sizeof c.swim.name, "%s", p->name);
        memcpy(c.swim.meta, "\xff\x80", 2);
        c.swim.meta_len = 2;
        static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
        memcpy(c.swim.vsn, vsn, 6);
        c.swim.seed = 42 + (uint64_t)i;
        snprintf(c.bind_host, sizeof c.bind_host, "%s", host);
        c.bind_port = 0;   /* any free port; UDP follows TCP */
        wire_frame_config_init(&c.frame);
        wire_keyring_init(&c.keyring);
        if (key_b64) {
            char err[128];
            REQUIRE(wire_keyring_add_base64(&c.keyring, key_b64, err, sizeof err) == WIRE_OK);
        }
        net_handlers h = { .ud = p, .event = on_event, .log = on_log };
        char err[256];
        p->n = net_start(&w.loop, &c, &h, err, sizeof err);
        if (!p->n && i == 0 && strchr(host, ':')) {
            fprintf(stderr, "no IPv6 loopback here (%s): IPv6 scenario skipped\n", err);
            loop_wait_close(&w.wait);
            uv_run(&w.loop, UV_RUN_DEFAULT);
            uv_loop_close(&w.loop);
            return;
        }
        if (!p->n)
            fprintf(stderr, "net_start: %s\n", err);
        REQUIRE(p->n != NULL);
        /* bound to loopback: advertised as the bind address */
        CHECK(strcmp(net_bind_text(p->n), net_advertise_text(p->n)) == 0);
    }

    const char *seed = net_bind_text(w.p[0].n);
    REQUIRE(net_join(w.p[1].n, &seed, 1, on_joined, &w) == 0);
    CHECK(run_until(&w, both_see_two, 5000));
    CHECK_EQ_INT(w.joined, 1);
    CHECK(w.p[0].joins >= 2 && w.p[1].joins >= 2);   /* self + the other */
    CHECK_EQ_INT(net_get_counters(w.p[0].n)->malformed_packets, 0);
    CHECK(net_get_counters(w.p[0].n)->streams_in >= 1);
    CHECK(net_get_counters(w.p[1].n)->streams_out >= 1);

    /* b leaves: a sees it left */
    swim_leave(net_core(w.p[1].n), net_now(w.p[1].n), 2000);
    CHECK(run_until(&w, a_sees_b_left, 5000));
    CHECK(w.p[0].leaves_left >= 1);

    /* a join with no usable address fails cleanly through the callback
     * (no name lookup: tests stay off the network) */
    w.joined = -1;
    const char *bad = "127.0.0.1:99999";
    REQUIRE(net_join(w.p[0].n, &bad, 1, on_joined, &w) == 0);
    CHECK(run_until(&w, join_answered, 5000));
    CHECK_EQ_INT(w.joined, 0);

    net_close(w.p[0].n);
    net_close(w.p[1].n);
    loop_wait_close(&w.wait);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&w.loop) == 0);
}

#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "ZWxlcGhhbnRzIGFyZSBncg=="

typedef struct rot {
    world w;
    uint64_t malformed, packets;   /* b's, when the keyrings last changed */
} rot;

static int b_cannot_read_a(void *ud)
{
    rot *r = ud;
    return net_get_counters(r->w.p[1].n)->malformed_packets > r->malformed;
}

static int b_reads_a_again(void *ud)
{
    rot *r = ud;
    const net_counters *c = net_get_counters(r->w.p[1].n);
    return c->packets_in >= r->packets + 3;
}

/* The keyrings are the caller's (frame.keyring): what they hold when a
 * packet goes out or comes in is what counts. */
static void scenario_rotate(void)
{
    rot r;
    memset(&r, 0, sizeof r);
    world *w = &r.w;
    w->joined = -1;
    wire_keyring kr[2];
    char err[256];
    REQUIRE(uv_loop_init(&w->loop) == 0);
    loop_wait_init(&w->wait, &w->loop);
    for (int i = 0; i < 2; i++) {
        peer *p = &w->p[i];
        p->name = i ? "b" : "a";
        net_config c;
        memset(&c, 0, sizeof c);
        REQUIRE(swim_config_profile(&c.swim, "local") == 0);
        snprintf(c.swim.name, sizeof c.swim.name, "%s", p->name);
        memcpy(c.swim.meta, "\xff\x80", 2);
        c.swim.meta_len = 2;
        static const uint8_t vsn[6] = { 1, 5, 2, 2, 5, 5 };
        memcpy(c.swim.vsn, vsn, 6);
        c.swim.seed = 7 + (uint64_t)i;
        snprintf(c.bind_host, sizeof c.bind_host, "127.0.0.1");
        wire_frame_config_init(&c.frame);
        wire_keyring_init(&c.keyring);   /* not used: the caller's is */
        wire_keyring_init(&kr[i]);
        REQUIRE(wire_keyring_add_base64(&kr[i], K1, err, sizeof err) == WIRE_OK);
        c.frame.keyring = &kr[i];
        net_handlers h = { .ud = p, .event = on_event, .log = on_log };
        p->n = net_start(&w->loop, &c, &h, err, sizeof err);
        REQUIRE(p->n != NULL);
    }
    const char *seed = net_bind_text(w->p[0].n);
    REQUIRE(net_join(w->p[1].n, &seed, 1, on_joined, w) == 0);
    CHECK(run_until(w, both_see_two, 5000));
    CHECK_EQ_INT(net_get_counters(w->p[1].n)->malformed_packets, 0);

    /* a speaks K2 from now on, still reading K1 (serf's use-key before
     * everyone has K2): b, with K1 only, cannot read it */
    wire_keyring_init(&kr[0]);
    REQUIRE(wire_keyring_add_base64(&kr[0], K2, err, sizeof err) == WIRE_OK);
    REQUIRE(wire_keyring_add_base64(&kr[0], K1, err, sizeof err) == WIRE_OK);
    CHECK(loop_wait_run(&w->wait, b_cannot_read_a, &r, 5000));
    /* b installs K2 beside K1 (serf's install-key): everything from a
     * reads again, nothing more is malformed */
    REQUIRE(wire_keyring_add_base64(&kr[1], K2, err, sizeof err) == WIRE_OK);
    r.malformed = net_get_counters(w->p[1].n)->malformed_packets;
    r.packets = net_get_counters(w->p[1].n)->packets_in;
    CHECK(loop_wait_run(&w->wait, b_reads_a_again, &r, 10000));
    CHECK_EQ_INT(net_get_counters(w->p[1].n)->malformed_packets, r.malformed);
    CHECK(both_see_two(w));

    net_close(w->p[0].n);
    net_close(w->p[1].n);
    loop_wait_close(&w->wait);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&w->loop) == 0);
}

int main(void)
{
    scenario_rotate();
    scenario("127.0.0.1", NULL);
    scenario("127.0.0.1", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    scenario("::1", NULL);
    return check_done("test_loopback");
}
