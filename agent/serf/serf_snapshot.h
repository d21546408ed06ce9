/* serf_snapshot: serf's snapshot file (-snapshot, serf/snapshot.go in
 * 0.9.4), sans I/O: the replay of a file at start and the writer that
 * turns member events and clocks into lines, with serf's compaction.
 *
 * The format is serf's, line by line, so that serf and moonlist read each
 * other's files:
 *   alive: NAME ADDR:PORT     (NAME is everything before the last space)
 *   not-alive: NAME
 *   clock: N                  (the member clock's last seen time)
 *   event-clock: N
 *   query-clock: N
 *   coordinate: ...           (old serf; ignored, as serf ignores it)
 *   leave                     (we left gracefully)
 *   # ...                     (a comment)
 * Replaying gives the alive members to rejoin and the three clocks. A
 * "leave" forgets the members and zeroes the clocks, so that an agent
 * that left gracefully does not rejoin on restart, unless
 * rejoin_after_leave (serf's RejoinAfterLeave, the agent's -rejoin), which
 * ignores leave records (and keeps the members when leaving).
 *
 * The file is untrusted input: every line is bounded
 * (SERF_SNAPSHOT_LINE_MAX), a bad line is reported with its number and
 * skipped, as serf skips it, and nothing aborts. Where serf is unbounded
 * we are not: a longer line, a line with a NUL, or members past
 * SERF_SNAPSHOT_NODES_MAX are reported and skipped.
 *
 * Nothing here touches a file or reads a clock: the caller feeds bytes and
 * `now`, and gets back bytes to append or a whole new file to write
 * (daemon/daemon_snapshot.h is the libuv side). */
#ifndef MOONLIST_SERF_SNAPSHOT_H
#define MOONLIST_SERF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_node.h"

/* serf's constants (snapshot.go, serf.go), each with serf's reason: */
/* how often buffered lines are forced out to the file */
#define SERF_SNAPSHOT_FLUSH_INTERVAL_MS 500
/* how often the member clock is checked and written if it moved (join
 * and leave intents race with member events, so events alone miss it) */
#define SERF_SNAPSHOT_CLOCK_INTERVAL_MS 500
/* the estimated bytes per alive member, and the factor over that
 * estimate at which the file is compacted */
#define SERF_SNAPSHOT_BYTES_PER_NODE 128
#define SERF_SNAPSHOT_COMPACTION_THRESHOLD 2
/* serf's snapshotSizeLimit: never compact below this, so that a small
 * cluster does not compact all the time */
#define SERF_SNAPSHOT_SIZE_LIMIT (128 * 1024)
/* after a failed write, how long before a compaction is tried to recover */
#define SERF_SNAPSHOT_ERROR_RECOVERY_MS (30 * 1000)
/* bufio.Writer's buffer: serf's lines reach the file when it is full even
 * before the flush interval */
#define SERF_SNAPSHOT_BUFFER 4096
/* the compacted file is written beside the snapshot with this suffix,
 * then renamed over it */
#define SERF_SNAPSHOT_TMP_EXT ".compact"

/* Our bounds, where serf has none: a line longer than this (newline
 * excluded) is not one we wrote nor one serf writes for a sane node name
 * (hostnames are at most 253 bytes); members past NODES_MAX are not kept
 * (so a hostile file costs at most NODES_MAX * LINE_MAX bytes). */
#define SERF_SNAPSHOT_LINE_MAX 1024
#define SERF_SNAPSHOT_NODES_MAX 65536

/* The alive members by name (serf's aliveNodes map): name -> "ADDR:PORT".
 * Strings owned by the table. */
typedef struct serf_snapshot_node {
    char *name;                        /* NULL: empty slot */
    char *addr;
    uint32_t hash;
} serf_snapshot_node;

typedef struct serf_snapshot_nodes {
    serf_snapshot_node *slots;
    size_t cap, count;
} serf_snapshot_nodes;

/* ---- replay ---- */

/* A bad line: its 1-based number and a message that quotes it (escaped,
 * cut short). */
typedef void (*serf_snapshot_warn_fn)(void *ud, size_t line_no, const char *msg);

typedef struct serf_snapshot_replay {
    bool rejoin_after_leave;
    serf_snapshot_warn_fn warn;        /* may be NULL */
    void *ud;
    /* the outcome so far */
    serf_snapshot_nodes alive;
    uint64_t clock, event_clock, query_clock;
    bool left;                         /* a leave emptied the members, and none came back after it */
    size_t leaves_ignored;             /* leave records skipped for rejoin_after_leave */
    size_t lines, bad_lines;
    /* the line being read */
    char line[SERF_SNAPSHOT_LINE_MAX];
    size_t line_len;
    bool line_too_long;
} serf_snapshot_replay;

void serf_snapshot_replay_init(serf_snapshot_replay *r, bool rejoin_after_leave, serf_snapshot_warn_fn warn,
                               void *ud);
/* Feed the file's bytes, in pieces of any size. 0, or -1 if out of memory
 * (the replay so far stays valid). */
int serf_snapshot_replay_feed(serf_snapshot_replay *r, const uint8_t *p, size_t n);
/* The end of the file: an unterminated last line is dropped, as serf's
 * replay drops it (a crash in the middle of a write), with a warning. */
void serf_snapshot_replay_end(serf_snapshot_replay *r);
void serf_snapshot_replay_free(serf_snapshot_replay *r);

/* serf's PreviousNode, to rejoin. */
typedef struct serf_snapshot_prev {
    char *name;
    char *addr;                        /* "ADDR:PORT" as the file has it */
} serf_snapshot_prev;

/* The alive members of the replay but `self` (serf's handleRejoin skips
 * ourselves), in a random order from `seed` (serf shuffles them so that
 * restarted nodes do not all rejoin the same one). *out: an array the
 * caller frees with serf_snapshot_prev_free (NULL when *n is 0). 0, or -1
 * if out of memory. */
int serf_snapshot_previous(const serf_snapshot_replay *r, const char *self, uint64_t seed,
                           serf_snapshot_prev **out, size_t *n);
void serf_snapshot_prev_free(serf_snapshot_prev *p, size_t n);

/* Restore the replayed clocks into a new node, as serf's Create does:
 * each clock witnesses its replayed time, and user events and queries at
 * or before it are not delivered again (serf's eventMinTime and
 * queryMinTime are the replayed times + 1). Before any join. */
void serf_snapshot_restore(serf_node *sn, const serf_snapshot_replay *r);

/* ---- writer (serf's Snapshotter once started) ---- */

typedef enum serf_snapshot_write_kind {
    SERF_SNAPSHOT_WRITE_NONE = 0,
    SERF_SNAPSHOT_WRITE_APPEND,        /* append bytes to the file */
    SERF_SNAPSHOT_WRITE_REWRITE,       /* compaction: bytes are the whole new file */
} serf_snapshot_write_kind;

typedef struct serf_snapshot_write {
    serf_snapshot_write_kind kind;
    char *bytes;                       /* malloc'd, the caller's to free() */
    size_t len;
    bool sync;                         /* fsync after it (a leave was recorded, as serf syncs it) */
} serf_snapshot_write;

typedef struct serf_snapshot_writer {
    serf_snapshot_nodes alive;
    uint64_t last_clock, last_event_clock, last_query_clock;
    uint64_t offset;                   /* the file's size once everything taken is written */
    uint64_t min_compact_size;
    bool rejoin_after_leave;
    bool leaving;                      /* after a leave: member and user events are no longer recorded */
    char *pending;                     /* lines not yet taken */
    size_t pending_len, pending_cap;
    bool compact_wanted, sync_wanted;
    uint64_t last_flush, next_clock;
    bool attempted_compaction;
    uint64_t last_attempted_compaction;
    size_t refused;                    /* lines not written: a name we could not read back, or no memory */
} serf_snapshot_writer;

/* Start after a replay of the file, whose members and clocks it copies
 * (serf's Snapshotter goes on from its replay; NULL: a new file).
 * file_size: the file's size now (serf's offset). 0, or -1 if out of
 * memory (then free it). */
int serf_snapshot_writer_init(serf_snapshot_writer *w, const serf_snapshot_replay *r, uint64_t file_size,
                               bool rejoin_after_leave, uint64_t now);
void serf_snapshot_writer_free(serf_snapshot_writer *w);

typedef enum serf_snapshot_member_change {
    SERF_SNAPSHOT_ALIVE,               /* serf's EventMemberJoin */
    SERF_SNAPSHOT_NOT_ALIVE,           /* EventMemberLeave and EventMemberFailed */
} serf_snapshot_member_change;

/* A member event: addr is "ADDR:PORT" as Go's net.TCPAddr prints it
 * ("10.0.0.1:7946", "[::1]:7946"; only for ALIVE). member_clock: the
 * member clock now (serf_node_get_clocks), written if it moved, as serf
 * does after every member event. */
void serf_snapshot_writer_member(serf_snapshot_writer *w, serf_snapshot_member_change change, const char *name,
                                 const char *addr, uint64_t member_clock);
/* A user event or a query we saw, with its LTime: written if newer. */
void serf_snapshot_writer_user_event(serf_snapshot_writer *w, uint64_t ltime);
void serf_snapshot_writer_query(serf_snapshot_writer *w, uint64_t ltime);
/* serf's updateClock: writes the member clock's last seen time (clock
 * - 1) if it moved. tick() calls it every SERF_SNAPSHOT_CLOCK_INTERVAL_MS;
 * call it also just before closing. */
void serf_snapshot_writer_clock(serf_snapshot_writer *w, uint64_t member_clock);
/* We are leaving gracefully (serf's Snapshotter.Leave): forget the members
 * unless rejoin_after_leave, record "leave", and from now on record only
 * clocks. Then take(force) and write it at once, synced. */
void serf_snapshot_writer_leave(serf_snapshot_writer *w);
/* Run the clock check if due; returns the next time tick() or take()
 * has work (UINT64_MAX: none). */
uint64_t serf_snapshot_writer_tick(serf_snapshot_writer *w, uint64_t now, uint64_t member_clock);
/* What to write now: a REWRITE if the file outgrew its compaction
 * threshold (serf's snapshotMaxSize), else an APPEND of the pending lines
 * if the flush interval passed since the last one, the buffer is full,
 * or force (leave, close); else NONE. */
serf_snapshot_write serf_snapshot_writer_take(serf_snapshot_writer *w, uint64_t now, bool force);
/* The last write taken failed: as serf's tryAppend, try a compaction to
 * recover, at most every SERF_SNAPSHOT_ERROR_RECOVERY_MS. */
void serf_snapshot_writer_failed(serf_snapshot_writer *w, uint64_t now);
/* serf's snapshotMaxSize: the size past which the file is compacted. */
uint64_t serf_snapshot_writer_max_size(const serf_snapshot_writer *w);
/* The compacted file (alive members, then the three clocks, as serf's
 * compact writes it; members sorted by name where serf's map order is
 * random). malloc'd, the caller's; NULL if out of memory. */
char *serf_snapshot_writer_compacted(const serf_snapshot_writer *w, size_t *len);

#endif
