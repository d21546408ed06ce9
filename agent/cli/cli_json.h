/* cli_json: JSON text for `moonlist members -format json`.
 *
 * Node names and tags come from the network and may hold any byte: strings
 * are escaped per RFC 8259 (quote, backslash, control characters), valid
 * UTF-8 passes through, and each byte of an invalid UTF-8 sequence becomes
 * U+FFFD so the output is always valid JSON. */
#ifndef MOONLIST_CLI_JSON_H
#define MOONLIST_CLI_JSON_H

#include <stddef.h>

#include "wire/wire_mp.h"

/* Text goes through the writer for its sticky error (wire_mp.h): a caller
 * writes a whole document and checks once, with wire_mp_finish. */

/* Append s[0..len) as a quoted JSON string. */
void cli_json_str(wire_mp_writer *w, const char *s, size_t len);
/* Append a C string unquoted. */
void cli_json_raw(wire_mp_writer *w, const char *s);

#endif
