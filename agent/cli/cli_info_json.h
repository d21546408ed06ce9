/* cli_info_json: `moonlist info -format json`, serf's `info -format json`
 * for the agent's answer to moonlist-info (or serf's stats): one object
 * per section, in the agent's order, indented two spaces as serf's
 * json.MarshalIndent. Strings stay strings, integers become JSON numbers
 * (serf's stats are all strings; moonlist's counters are numbers).
 *
 * Hooking it into cli_info_main (cli_control.c), whose file was another
 * helper's while this one was written (tried on that helper's branch,
 * against a moonlist agent and Debian's serf 0.9.4):
 *   #include "cli/cli_info_json.h"; in its flags, after RPC_FLAGS:
 *       { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
 *   after the positional check:
 *       const char *format = base_args_str(&a, "format", "text");
 *       if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
 *           return cli_usage_error(&cmd, &a, "-format must be text or json");
 *   and instead of `if (code == 0 && wire_mp_read_map(&r, &ns)) code = 1;`:
 *       if (code == 0 && strcmp(format, "json") == 0) {
 *           wire_buf out;
 *           wire_buf_init(&out, 0);
 *           if (cli_info_json(&out, body) != 0 || fwrite(out.data, 1, out.len, stdout) != out.len)
 *               code = 1;
 *           wire_buf_free(&out);
 *           ns = 0;   // no text
 *       } else if (code == 0 && wire_mp_read_map(&r, &ns))
 *           code = 1;
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
