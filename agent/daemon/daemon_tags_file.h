/* daemon_tags_file: serf's -tags-file. Our tags are read from it at start
 * and written to it whenever they change at run time (agent.set_tags), so
 * that they survive a restart.
 *
 * The file is serf's: a JSON object of strings, written as serf writes it
 * (keys sorted, two-space indent, mode 0600), so serf and moonlist read
 * each other's. A missing file is no tags (the first change creates it).
 * As in serf, tags from -tag or agent.config's `tags` cannot be given
 * with it (the options refuse that). We write a temporary file beside it
 * and rename it over, so a crash never leaves half a file. */
#ifndef MOONLIST_DAEMON_TAGS_FILE_H
#define MOONLIST_DAEMON_TAGS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "serf/serf_tags.h"

/* A tags file larger than this is not a tags file (the tags must fit in
 * 512 bytes of meta anyway). */
#define DAEMON_TAGS_FILE_MAX 65536

/* Parse JSON text: an object of strings, or null (no tags), as Go's
 * json.Unmarshal into a map[string]string takes it (a key given twice:
 * the last value). Returns 0 with the tags added to t, or -1 with the
 * reason and the byte offset in err. */
int daemon_tags_json_parse(const char *text, size_t len, serf_tags *t, char *err, size_t errlen);
/* Sort tags by key, bytewise (serf writes Go maps in random order; we
 * write them sorted: the tags file, the event handlers' member lines). */
void daemon_tags_sort(serf_tags *t);
/* The tags of serf meta as serf writes the file: a malloc'd string, or
 * NULL (out of memory, or meta that does not decode). */
char *daemon_tags_json_from_meta(const uint8_t *meta, size_t len);

/* Read `path` into serf meta (meta[0..SERF_TAGS_META_MAX)). Returns 1
 * with *meta_len and *ntags set, 0 if the file does not exist (nothing
 * set), or -1 with a message naming the file in err. */
int daemon_tags_file_read(const char *path, uint8_t *meta, size_t *meta_len, size_t *ntags, char *err,
                          size_t errlen);

/* The writer, on the protocol loop: one write at a time on libuv's thread
 * pool; a change that arrives meanwhile is written after it (only the
 * latest). */
typedef struct daemon_tags_file {
    uv_loop_t *loop;
    const char *path;          /* not owned; "" or NULL: no file */
    uv_work_t work;
    bool busy;
    char *text;                /* being written */
    char *next;                /* the latest change, waiting */
    char err[300];             /* the work's error, "" if none */
} daemon_tags_file;

void daemon_tags_file_init(daemon_tags_file *f, uv_loop_t *loop, const char *path);
/* Our meta changed: write its tags (nothing without a path). */
void daemon_tags_file_changed(daemon_tags_file *f, const uint8_t *meta, size_t len);
/* After the loop ended (every write done). */
void daemon_tags_file_free(daemon_tags_file *f);

#endif
