/* The core is not reentrant (swim.h): a callback that calls back into the
 * same core to change it is a bug, and the builds with assertions catch
 * it at the call. Each case runs in a child process that must die of
 * SIGABRT with the guard's message; reading the core from a callback is
 * allowed and must not. Without assertions (NDEBUG) there is nothing to
 * test. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifdef NDEBUG

int main(void)
{
    fprintf(stderr, "test_swim_reentry: skipped, assertions are off in this build (NDEBUG)\n");
    return 0;
}

#else

typedef enum reentry {
    FROM_EVENT,        /* swim_tick from an event */
    FROM_DEADLINE,     /* swim_broadcast from io->deadline */
    FROM_SEND,         /* swim_handle_packet from send_packet */
    FROM_DELEGATE,     /* swim_set_meta from allow_alive */
    FREE_FROM_EVENT,   /* swim_free from an event */
    READ_FROM_EVENT,   /* swim_member_get and friends: allowed */
} reentry;

static const char *const reentry_names[] = {
    [FROM_EVENT] = "swim_tick from an event",
    [FROM_DEADLINE] = "swim_broadcast from io->deadline",
    [FROM_SEND] = "swim_handle_packet from send_packet",
    [FROM_DELEGATE] = "swim_set_meta from allow_alive",
    [FREE_FROM_EVENT] = "swim_free from an event",
    [READ_FROM_EVENT] = "reading the table from an event",
};

static swim *core;
static reentry mode;
static bool armed;             /* past swim_new: the core pointer is set */

static void on_event(void *ud, const swim_event *ev)
{
    (void)ud;
    if (!armed || ev->type != SWIM_EV_JOIN)
        return;
    swim_member m;
    switch (mode) {
    case FROM_EVENT:
        swim_tick(core, 0);
        break;
    case FREE_FROM_EVENT:
        swim_free(core);
        break;
    case READ_FROM_EVENT:
        if (!swim_member_get(core, ev->member.name, &m) || swim_member_count(core) != 2 ||
            strcmp(swim_get_config(core)->name, "me") != 0 || swim_get_stats(core)->received[WIRE_ALIVE] != 1)
            _exit(3);
        break;
    default:
        break;
    }
}

static void on_deadline(void *ud, swim_time next)
{
    (void)ud;
    (void)next;
    if (armed && mode == FROM_DEADLINE)
        swim_broadcast(core, (const uint8_t *)"x", 1, NULL);
}

static void on_send(void *ud, const swim_addr *to, const uint8_t *msg, size_t len, bool crc)
{
    (void)ud;
    (void)crc;
    if (armed && mode == FROM_SEND)
        swim_handle_packet(core, 0, to, msg, len);
}

static bool allow_alive(void *ud, const swim_member *m)
{
    (void)ud;
    (void)m;
    if (armed && mode == FROM_DELEGATE)
        swim_set_meta(core, 0, NULL, 0);
    return true;
}

/* The child: a core, then a peer's alive (an event, a delegate call and a
 * moved deadline), then a ping to answer (a packet sent). */
static void child(void)
{
    swim_config c;
    h_config(&c, "me");
    c.gossip_interval = 60000; /* out of the way of the relay's expiry */
    swim_io io;
    memset(&io, 0, sizeof io);
    io.send_packet = on_send;
    io.event = on_event;
    io.deadline = on_deadline;
    io.delegate.allow_alive = allow_alive;
    core = swim_new(&c, &io, 0);
    if (!core)
        _exit(2);
    armed = true;
    size_t len;
    const uint8_t *m = h_alive("p0", 0, 1, NULL, &len);
    swim_addr from = h_addr(0);
    swim_handle_packet(core, 10, &from, m, len);
    /* an indirect ping moves the deadline (its relay expires) and sends */
    swim_addr tgt = h_addr(1);
    wire_indirect_ping ind;
    memset(&ind, 0, sizeof ind);
    ind.node = wire_bytes_of("p1", 2);
    ind.port = 7946;
    ind.seq_no = 1;
    ind.target = wire_bytes_of(tgt.ip, 4);
    m = h_buf_encoded(wire_encode_indirect_ping(h_buf_fresh(), &ind), &len);
    swim_handle_packet(core, 20, &from, m, len);
    swim_free(core);
    _exit(0);
}

/* Run one case; returns the child's wait status and its stderr. */
static int run(reentry r, char *err, size_t errlen)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        mode = r;
        child();
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < errlen && (k = read(fds[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t)k;
    err[got] = 0;
    close(fds[0]);
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    return st;
}

int main(void)
{
    char err[4096];
    for (reentry r = FROM_EVENT; r <= READ_FROM_EVENT; r++) {
        int st = run(r, err, sizeof err);
        if (r == READ_FROM_EVENT) {
            CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x: %s", reentry_names[r], st, err);
            continue;
        }
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: not aborted (status %#x): %s", reentry_names[r], st, err);
        const char *why = r == FREE_FROM_EVENT ? "freed its own core" : "called back into its own core";
        CHECKF(strstr(err, why) != NULL, "%s: the wrong assertion: %s", reentry_names[r], err);
    }
    wire_buf_free(&h_buf);
    return check_done("test_swim_reentry");
}

#endif
