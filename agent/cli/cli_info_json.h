/* cli_info_json: `moonlist info -format json`, serf's `info -format json`
 * for the agent's answer to moonlist-info (or serf's stats): one object
 * per section, in the agent's order, indented two spaces as serf's
 * json.MarshalIndent. Strings stay strings, integers become JSON numbers
 * (serf's stats are all strings; moonlist's counters are numbers).
 *
 * Hooking it into cli_info_main (cli_control.c), whose file was another
 * helper's while this one was written: add to its flags
 *     { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
 * refuse anything but text and json as `members` does, and when the
 * format is json, instead of the text loop:
 *     wire_buf out;
 *     wire_buf_init(&out, 0);
 *     if (code == 0 && (cli_info_json(&out, body) != 0 ||
 *                       fwrite(out.data, 1, out.len, stdout) != out.len))
 *         code = 1;
 *     wire_buf_free(&out);
 */
#ifndef MOONLIST_CLI_INFO_JSON_H
#define MOONLIST_CLI_INFO_JSON_H

#include "wire/wire.h"
#include "wire/wire_buf.h"

/* Append the JSON document (with a final newline) for the msgpack map
 * `body` ({section: {key: string or unsigned integer}}) to out. 0, or -1
 * if the body is not that shape (out is then as it was) or out is full. */
int cli_info_json(wire_buf *out, wire_bytes body);

#endif
