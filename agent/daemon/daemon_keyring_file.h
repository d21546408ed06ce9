/* daemon_keyring_file: serf's -keyring-file. The keyring is read from it
 * at start (the agent then encrypts with it) and written back whenever a
 * key query changes it (SERF_EV_KEYRING), so that a rotation survives a
 * restart.
 *
 * The format is serf's (agent.go loadKeyringFile, serf.go
 * writeKeyringFile): a JSON array of base64 keys, the primary first,
 * written as Go's json.MarshalIndent(keys, "", "  ") writes it, mode 0600.
 * As serf's agent: a missing file, an empty list or a bad key refuse the
 * start, and -encrypt cannot be given with a keyring file. We write a
 * temporary file beside it and rename it over, so that a crash never
 * leaves half a keyring. */
#ifndef MOONLIST_DAEMON_KEYRING_FILE_H
#define MOONLIST_DAEMON_KEYRING_FILE_H

#include <stddef.h>

#include "wire/wire_keyring.h"

/* A keyring file larger than this is not one: WIRE_KEYRING_MAX keys of
 * 44 base64 characters with quotes and indent are under 1 KiB. */
#define DAEMON_KEYRING_FILE_MAX 65536

/* Parse JSON text (an array of base64 strings; null is an empty array, as
 * json.Unmarshal takes it) into kr, which is initialised first. Returns 0,
 * or -1 with serf's reason in err ("Failed to decode keyring file: ...",
 * "Failed to decode key from keyring: ...", "Keyring file contains no
 * keys"). */
int daemon_keyring_json_parse(const char *text, size_t len, wire_keyring *kr, char *err, size_t errlen);

/* The keyring as serf writes the file: a malloc'd NUL-terminated string
 * (caller frees), or NULL when out of memory. */
char *daemon_keyring_json(const wire_keyring *kr);

/* Read `path` into kr. 0, or -1 with a message naming the file in err (a
 * missing file is an error, as in serf). */
int daemon_keyring_file_read(const char *path, wire_keyring *kr, char *err, size_t errlen);

/* Write kr to `path` (temporary file, fsync, rename; mode 0600). 0, or -1
 * with a message in err. Synchronous: the file is under 1 KiB and written
 * only when an operator rotates keys. */
int daemon_keyring_file_write(const char *path, const wire_keyring *kr, char *err, size_t errlen);

#endif
