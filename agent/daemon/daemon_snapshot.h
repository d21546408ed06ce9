/* daemon_snapshot: serf's -snapshot and -rejoin on the protocol loop: the
 * file that lets a restarted agent rejoin the members it knew and not
 * deliver old user events and queries again (serf/snapshot.go; the format
 * and the rules are serf/serf_snapshot.h's).
 *
 * At start the file is opened (created if missing) and replayed; the
 * clocks go into the serf node before any join, and the members it knew
 * are rejoined one at a time until one answers, as serf's handleRejoin
 * (not after a graceful leave, unless -rejoin). Then every member event,
 * user event and query is recorded, and the member clock every 500 ms;
 * lines reach the file at most every 500 ms (serf's flushInterval), a
 * leave is synced at once, and past its threshold the file is compacted
 * into "PATH.compact", synced and renamed over PATH. Writes run on libuv's
 * thread pool, one at a time, so a slow disk never stalls the protocol;
 * lines that come meanwhile wait in memory for the next write. A write
 * that fails is logged and, at most every 30 s, a compaction is tried to
 * recover (serf's tryAppend). Every function takes NULL (no -snapshot)
 * and does nothing then.
 *
 * How the agent uses it (daemon_opts.c, daemon_script.c for the
 * agent.config keys, daemon_main.c, daemon_serf.c, daemon_leave.c; `a` is
 * the agent, `o` its options). The rejoin calls net_join itself, not
 * daemon_join: like serf's handleRejoin (memberlist.Join) it sends no join
 * intent and opens no ignore-old window:
 *
 *   daemon_opts.h, in daemon_opts:
 *       char snapshot[1024];         // -snapshot, "" if none
 *       bool rejoin;                 // -rejoin
 *   daemon_opts.c, in the flag table:
 *       { "snapshot", BASE_FLAG_STRING, "FILE", "serf's snapshot file: members and clocks kept across restarts, to rejoin and not replay old events" },
 *       { "rejoin", BASE_FLAG_BOOL, NULL, "rejoin the members of the snapshot even after a graceful leave" },
 *     in daemon_opts_parse (with the other flags):
 *       const char *sp = base_args_str(a, "snapshot", NULL);
 *       if (sp) {
 *           if (!sp[0] || strlen(sp) >= sizeof o->snapshot) {
 *               snprintf(err, errlen, "-snapshot: the path must be 1..%zu bytes", sizeof o->snapshot - 1);
 *               return -1;
 *           }
 *           snprintf(o->snapshot, sizeof o->snapshot, "%s", sp);
 *       }
 *       o->rejoin = base_args_bool(a, "rejoin");
 *     (serf's config-file keys are snapshot_path and rejoin_after_leave.)
 *   daemon_internal.h, in struct agent:
 *       daemon_snapshot *snapshot;   // -snapshot, NULL without
 *   daemon_main.c, in daemon_main, before the serf node is created:
 *       if (o.rejoin && !o.snapshot[0])
 *           base_log(BASE_LOG_WARN, "-rejoin without -snapshot does nothing");   // serf warns too
 *       if (o.snapshot[0] && !(a.snapshot = daemon_snapshot_open(a.loop, o.snapshot, o.rejoin, err, sizeof err))) {
 *           base_log(BASE_LOG_ERROR, "cannot start: %s", err);
 *           ... the same cleanup and `return 1` as when net_start fails ...
 *       }
 *     right after the serf node is created, before any join:
 *       daemon_snapshot_start(a.snapshot, a.serf);
 *     after daemon_joins_start(&a) (serf rejoins whether or not -join is given):
 *       daemon_snapshot_rejoin(a.snapshot, a.net, o.net.swim.name, o.net.swim.seed);
 *     in the serf node's event callback (serf_node_io.event), first:
 *       daemon_snapshot_on_serf_event(a->snapshot, ev);
 *     in daemon_close_all, while the serf node still exists:
 *       daemon_snapshot_close(a->snapshot);
 *       a->snapshot = NULL;
 *   daemon_leave.c, first thing in daemon_leave_begin (serf's Leave tells
 *   the snapshot before its leave intent):
 *       daemon_snapshot_leave(a->snapshot);
 */
#ifndef MOONLIST_DAEMON_SNAPSHOT_H
#define MOONLIST_DAEMON_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/net.h"
#include "serf/serf_node.h"
#include "serf/serf_snapshot.h"

typedef struct daemon_snapshot daemon_snapshot;

/* Open `path` (created if missing, mode 0644 as serf's) and replay it;
 * bad lines are logged with their number and skipped. Returns the
 * snapshot, the caller's until daemon_snapshot_close(), or NULL with a
 * message naming the file in err (the agent does not start, as serf's
 * "Failed to setup snapshot"). */
daemon_snapshot *daemon_snapshot_open(uv_loop_t *loop, const char *path, bool rejoin_after_leave, char *err,
                                      size_t errlen);

/* The replayed clocks go into sn (serf_snapshot_restore), and recording
 * starts; sn must outlive it until daemon_snapshot_close(). */
void daemon_snapshot_start(daemon_snapshot *s, serf_node *sn);

/* The members to rejoin (serf's PreviousNode): the replayed alive members
 * but `self`, shuffled by seed. *out: the caller's, freed with
 * serf_snapshot_prev_free (NULL when *n is 0). 0, or -1 if out of memory. */
int daemon_snapshot_previous_nodes(const daemon_snapshot *s, const char *self, uint64_t seed,
                                   serf_snapshot_prev **out, size_t *n);

/* serf's handleRejoin: join the previous nodes one at a time, from the
 * loop, until one answers; logs each attempt and the outcome. */
void daemon_snapshot_rejoin(daemon_snapshot *s, net *n, const char *self, uint64_t seed);

/* A serf node event: members (join: alive; leave, failed: not alive),
 * user events and queries (their LTime). Safe from inside serf_node's
 * callbacks: it only reads the node's clocks. */
void daemon_snapshot_on_serf_event(daemon_snapshot *s, const serf_node_event *ev);

/* We are leaving gracefully: "leave" is written and synced now, and from
 * now on only clocks are recorded. */
void daemon_snapshot_leave(daemon_snapshot *s);

/* The last clock, everything pending written and synced, the file closed,
 * then s freed (once the loop has run the last write: keep running it).
 * The serf node is not used after this returns. */
void daemon_snapshot_close(daemon_snapshot *s);

#endif
