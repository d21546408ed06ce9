/* daemon_snapshot: serf_snapshot's writer on the protocol loop, its file
 * written on libuv's thread pool (one write at a time). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base_log.h"
#include "daemon/daemon_snapshot.h"

/* How much of the file the replay reads at a time. */
#define SNAPSHOT_READ_CHUNK 65536

struct daemon_snapshot {
    uv_loop_t *loop;
    char *path;                        /* owned */
    int fd;                            /* O_APPEND; the worker's while busy */
    uint64_t file_size;                /* at open */
    serf_snapshot_replay replay;       /* the outcome of the file at start */
    serf_snapshot_writer writer;
    serf_node *sn;                     /* for its member clock; NULL before start and after close */
    uv_timer_t timer;                  /* the writer's next deadline */
    bool started, closing, timer_closed;
    /* the write on the thread pool */
    uv_work_t work;
    bool busy;
    serf_snapshot_write job;
    int job_err;                       /* errno of the job, 0 if it went well */
    const char *job_step;              /* what failed */
    /* serf's handleRejoin */
    net *net;
    serf_snapshot_prev *prev;
    size_t nprev, next_prev;
    uv_timer_t rejoin_timer;
    bool rejoin_timer_open, joining;
};

static void on_warn(void *ud, size_t line_no, const char *msg)
{
    base_log(BASE_LOG_WARN, "snapshot '%s': line %zu: %s (skipped)", (const char *)ud, line_no, msg);
}

/* Replay the whole file from fd. 0, or -1 with err. */
static int replay_file(daemon_snapshot *s, char *err, size_t errlen)
{
    uint8_t *buf = malloc(SNAPSHOT_READ_CHUNK);
    if (!buf) {
        snprintf(err, errlen, "snapshot '%s': out of memory", s->path);
        return -1;
    }
    off_t off = 0;
    for (;;) {
        ssize_t k = pread(s->fd, buf, SNAPSHOT_READ_CHUNK, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(err, errlen, "snapshot '%s': cannot read it: %s", s->path, strerror(errno));
            free(buf);
            return -1;
        }
        if (k == 0)
            break;
        if (serf_snapshot_replay_feed(&s->replay, buf, (size_t)k) != 0) {
            snprintf(err, errlen, "snapshot '%s': out of memory replaying it", s->path);
            free(buf);
            return -1;
        }
        off += k;
    }
    free(buf);
    serf_snapshot_replay_end(&s->replay);
    return 0;
}

daemon_snapshot *daemon_snapshot_open(uv_loop_t *loop, const char *path, bool rejoin_after_leave, char *err,
                                      size_t errlen)
{
    daemon_snapshot *s = calloc(1, sizeof *s);
    char *p = strdup(path);
    if (!s || !p) {
        snprintf(err, errlen, "snapshot '%s': out of memory", path);
        free(s);
        free(p);
        return NULL;
    }
    s->loop = loop;
    s->path = p;
    s->work.data = s;
    serf_snapshot_replay_init(&s->replay, rejoin_after_leave, on_warn, s->path);
    s->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) < 0) {
        snprintf(err, errlen, "failed to open snapshot '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (replay_file(s, err, errlen) != 0)
        goto fail;
    const serf_snapshot_replay *r = &s->replay;
    if (r->leaves_ignored)
        base_log(BASE_LOG_INFO, "snapshot '%s': ignoring the previous leave (-rejoin)", path);
    else if (r->left)
        base_log(BASE_LOG_INFO, "snapshot '%s': this node left gracefully: not rejoining (-rejoin would)", path);
    base_log(BASE_LOG_INFO, "snapshot '%s': %zu alive member%s, clocks %llu/%llu/%llu (member/event/query)%s", path,
             r->alive.count, r->alive.count == 1 ? "" : "s", (unsigned long long)r->clock,
             (unsigned long long)r->event_clock, (unsigned long long)r->query_clock,
             r->bad_lines ? ", some lines skipped" : "");
    s->file_size = (uint64_t)st.st_size;
    return s;
fail:
    if (s->fd >= 0)
        close(s->fd);
    serf_snapshot_replay_free(&s->replay);
    free(s->path);
    free(s);
    return NULL;
}

int daemon_snapshot_previous_nodes(const daemon_snapshot *s, const char *self, uint64_t seed,
                                   serf_snapshot_prev **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    return serf_snapshot_previous(&s->replay, self, seed, out, n);
}

/* ---- the file ---- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Compaction, as serf's compact: the new file beside it, synced, then
 * renamed over (atomic on POSIX, where serf removes first for Windows'
 * sake), and the file opened again for appending. */
static void rewrite(daemon_snapshot *s)
{
    size_t plen = strlen(s->path);
    char *tmp = malloc(plen + sizeof SERF_SNAPSHOT_TMP_EXT);
    if (!tmp) {
        s->job_err = ENOMEM;
        s->job_step = "compacting";
        return;
    }
    memcpy(tmp, s->path, plen);
    memcpy(tmp + plen, SERF_SNAPSHOT_TMP_EXT, sizeof SERF_SNAPSHOT_TMP_EXT);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        s->job_err = errno;
        s->job_step = "failed to open new snapshot";
        free(tmp);
        return;
    }
    int e = 0;
    if (write_all(fd, s->job.bytes, s->job.len) < 0 || fsync(fd) < 0) {
        e = errno;
        s->job_step = "failed to write new snapshot";
    }
    if (close(fd) < 0 && !e) {
        e = errno;
        s->job_step = "failed to write new snapshot";
    }
    if (!e && rename(tmp, s->path) < 0) {
        e = errno;
        s->job_step = "failed to install new snapshot";
    }
    if (e) {
        unlink(tmp);
        free(tmp);
        s->job_err = e;
        return;
    }
    free(tmp);
    int nfd = open(s->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (nfd < 0) {
        /* keep appending to the old file's handle: lost lines, but the next
         * compaction tries again */
        s->job_err = errno;
        s->job_step = "failed to open snapshot after compaction";
        return;
    }
    close(s->fd);
    s->fd = nfd;
}

/* On the thread pool: s->fd and s->job are the worker's until done. */
static void write_work(uv_work_t *w)
{
    daemon_snapshot *s = w->data;
    s->job_err = 0;
    s->job_step = NULL;
    if (s->job.kind == SERF_SNAPSHOT_WRITE_REWRITE) {
        rewrite(s);
        return;
    }
    if (write_all(s->fd, s->job.bytes, s->job.len) < 0) {
        s->job_err = errno;
        s->job_step = "failed to update snapshot";
    } else if (s->job.sync && fsync(s->fd) < 0) {
        s->job_err = errno;
        s->job_step = "failed to sync snapshot";
    }
}

static void pump(daemon_snapshot *s, bool force);
static void maybe_free(daemon_snapshot *s);

static void write_done(uv_work_t *w, int status)
{
    daemon_snapshot *s = w->data;
    s->busy = false;
    bool compaction = s->job.kind == SERF_SNAPSHOT_WRITE_REWRITE;
    free(s->job.bytes);
    s->job = (serf_snapshot_write){ 0 };
    if (status < 0 || s->job_err) {
        base_log(BASE_LOG_ERROR, "snapshot '%s': %s: %s", s->path, s->job_step ? s->job_step : "write cancelled",
                 status < 0 ? uv_strerror(status) : strerror(s->job_err));
        serf_snapshot_writer_failed(&s->writer, uv_now(s->loop));
    } else if (compaction) {
        base_log(BASE_LOG_DEBUG, "snapshot '%s' compacted", s->path);
    }
    pump(s, s->closing);
    maybe_free(s);
}

static void on_timer(uv_timer_t *t);

/* The timer at the writer's next deadline. While a write runs, only the
 * clock check can be due (write_done takes the rest); and never 0 ms: a
 * timer re-armed at 0 from its own callback runs again in the same pass
 * of the loop, which would spin. */
static void arm(daemon_snapshot *s, uint64_t next)
{
    if (s->closing || !s->started)
        return;
    if (s->busy)
        next = s->writer.next_clock;
    uint64_t now = uv_now(s->loop);
    uv_timer_start(&s->timer, on_timer, next > now ? next - now : 1, 0);
}

/* Hand what is due to the thread pool (one write at a time; lines that
 * come meanwhile wait in the writer). */
static void pump(daemon_snapshot *s, bool force)
{
    if (!s->busy) {
        s->job = serf_snapshot_writer_take(&s->writer, uv_now(s->loop), force);
        if (s->job.kind != SERF_SNAPSHOT_WRITE_NONE) {
            s->busy = true;
            int rc = uv_queue_work(s->loop, &s->work, write_work, write_done);
            if (rc < 0) {
                s->busy = false;
                base_log(BASE_LOG_ERROR, "snapshot '%s': cannot queue a write: %s", s->path, uv_strerror(rc));
                free(s->job.bytes);
                s->job = (serf_snapshot_write){ 0 };
                serf_snapshot_writer_failed(&s->writer, uv_now(s->loop));
            }
        }
    }
    uint64_t clock = s->sn ? serf_node_get_clocks(s->sn).member : 0;
    arm(s, serf_snapshot_writer_tick(&s->writer, uv_now(s->loop), clock));
}

static void on_timer(uv_timer_t *t)
{
    daemon_snapshot *s = t->data;
    pump(s, false);
}

void daemon_snapshot_start(daemon_snapshot *s, serf_node *sn)
{
    if (!s || s->started)
        return;
    serf_snapshot_restore(sn, &s->replay);
    if (serf_snapshot_writer_init(&s->writer, &s->replay, s->file_size, s->replay.rejoin_after_leave,
                                  uv_now(s->loop)) != 0) {
        base_log(BASE_LOG_ERROR, "snapshot '%s': out of memory: not recording", s->path);
        return;
    }
    s->sn = sn;
    uv_timer_init(s->loop, &s->timer);
    s->timer.data = s;
    s->started = true;
    pump(s, false);
}

/* Go's net.TCPAddr.String(): "1.2.3.4:7946", "[::1]:7946"; an IPv4-mapped
 * IPv6 address prints as IPv4, as Go's IP.String() prints it. */
static void addr_text(const swim_addr *a, char *buf, size_t len)
{
    static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ip_len == 4 || (a->ip_len == 16 && memcmp(a->ip, v4_mapped, 12) == 0)) {
        inet_ntop(AF_INET, a->ip_len == 4 ? a->ip : a->ip + 12, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, a->port);
    } else {
        if (a->ip_len == 16)
            inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, a->port);
    }
}

void daemon_snapshot_on_serf_event(daemon_snapshot *s, const serf_node_event *ev)
{
    if (!s || !s->started || s->closing)
        return;
    serf_snapshot_writer *w = &s->writer;
    size_t refused = w->refused;
    uint64_t clock = serf_node_get_clocks(s->sn).member;
    char addr[80];
    switch (ev->type) {
    case SERF_EV_MEMBER_JOIN:
        addr_text(&ev->member.addr, addr, sizeof addr);
        serf_snapshot_writer_member(w, SERF_SNAPSHOT_ALIVE, ev->member.name, addr, clock);
        break;
    case SERF_EV_MEMBER_LEAVE:
    case SERF_EV_MEMBER_FAILED:
        serf_snapshot_writer_member(w, SERF_SNAPSHOT_NOT_ALIVE, ev->member.name, NULL, clock);
        break;
    case SERF_EV_MEMBER_UPDATE:
    case SERF_EV_MEMBER_REAP:
        /* serf records nothing for these but still looks at the clock */
        if (!w->leaving)
            serf_snapshot_writer_clock(w, clock);
        break;
    case SERF_EV_USER:
        serf_snapshot_writer_user_event(w, ev->ltime);
        break;
    case SERF_EV_QUERY:
        serf_snapshot_writer_query(w, ev->ltime);
        break;
    default:
        return;
    }
    /* a name with a newline, or too long to read back: logged now and
     * then, not on every event (the names come from the network) */
    if (w->refused > refused && (w->refused == 1 || w->refused % 1000 == 0))
        base_log(BASE_LOG_WARN, "snapshot '%s': a member event not recorded (%zu so far): a name with a "
                 "newline, or longer than %d bytes, would not read back", s->path, w->refused,
                 SERF_SNAPSHOT_LINE_MAX);
    pump(s, false);
}

void daemon_snapshot_leave(daemon_snapshot *s)
{
    if (!s || !s->started || s->closing || s->writer.leaving)
        return;
    serf_snapshot_writer_leave(&s->writer);
    pump(s, true);
}

/* ---- rejoin ---- */

static void rejoin_next(uv_timer_t *t);

/* From inside the core (net_join_cb): log; the next attempt from the loop. */
static void on_rejoin(void *ud, int joined, const char *err)
{
    daemon_snapshot *s = ud;
    s->joining = false;
    const serf_snapshot_prev *p = &s->prev[s->next_prev - 1];
    if (joined > 0) {
        base_log(BASE_LOG_INFO, "snapshot: re-joined to previously known node: %s: %s", p->name, p->addr);
        s->next_prev = s->nprev;
    } else if (!s->closing) {
        base_log(BASE_LOG_INFO, "snapshot: re-join to %s: %s failed: %s", p->name, p->addr,
                 err ? err : "no answer");
        if (s->next_prev == s->nprev)
            base_log(BASE_LOG_WARN, "snapshot: failed to re-join any previously known node");
    }
    if (s->next_prev < s->nprev && !s->closing)
        uv_timer_start(&s->rejoin_timer, rejoin_next, 0, 0);
    maybe_free(s);
}

static void rejoin_next(uv_timer_t *t)
{
    daemon_snapshot *s = t->data;
    if (s->closing || s->next_prev >= s->nprev)
        return;
    const serf_snapshot_prev *p = &s->prev[s->next_prev++];
    base_log(BASE_LOG_INFO, "snapshot: attempting re-join to previously known node: %s: %s", p->name, p->addr);
    const char *addr = p->addr;
    s->joining = true;
    if (net_join(s->net, &addr, 1, on_rejoin, s) < 0) {
        s->joining = false;
        base_log(BASE_LOG_ERROR, "snapshot: re-join: out of memory");
    }
}

void daemon_snapshot_rejoin(daemon_snapshot *s, net *n, const char *self, uint64_t seed)
{
    if (!s || s->closing || s->rejoin_timer_open)
        return;
    if (daemon_snapshot_previous_nodes(s, self, seed, &s->prev, &s->nprev) != 0) {
        base_log(BASE_LOG_ERROR, "snapshot: re-join: out of memory");
        return;
    }
    if (!s->nprev)
        return;
    s->net = n;
    uv_timer_init(s->loop, &s->rejoin_timer);
    s->rejoin_timer.data = s;
    s->rejoin_timer_open = true;
    uv_timer_start(&s->rejoin_timer, rejoin_next, 0, 0);
}

/* ---- close ---- */

static void maybe_free(daemon_snapshot *s)
{
    if (!s->closing || s->busy || s->joining || !s->timer_closed || s->rejoin_timer_open)
        return;
    /* serf syncs at shutdown; the loop is ending, so waiting here is fine */
    if (s->started && fsync(s->fd) < 0)
        base_log(BASE_LOG_ERROR, "snapshot '%s': failed to sync snapshot: %s", s->path, strerror(errno));
    if (close(s->fd) < 0)
        base_log(BASE_LOG_ERROR, "snapshot '%s': failed to close: %s", s->path, strerror(errno));
    serf_snapshot_writer_free(&s->writer);
    serf_snapshot_replay_free(&s->replay);
    serf_snapshot_prev_free(s->prev, s->nprev);
    free(s->path);
    free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    daemon_snapshot *s = h->data;
    if (h == (uv_handle_t *)&s->rejoin_timer)
        s->rejoin_timer_open = false;
    else
        s->timer_closed = true;
    maybe_free(s);
}

void daemon_snapshot_close(daemon_snapshot *s)
{
    if (!s || s->closing)
        return;
    if (s->started) {
        /* serf's shutdown: snapshot the clock, flush, sync */
        serf_snapshot_writer_clock(&s->writer, serf_node_get_clocks(s->sn).member);
        pump(s, true);
    }
    s->closing = true;
    s->sn = NULL;
    if (s->started)
        uv_close((uv_handle_t *)&s->timer, on_timer_closed);
    else
        s->timer_closed = true;
    if (s->rejoin_timer_open)
        uv_close((uv_handle_t *)&s->rejoin_timer, on_timer_closed);
    maybe_free(s);
}
