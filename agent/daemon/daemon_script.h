/* daemon_script: the glue between `moonlist agent` (daemon_main) and the Lua
 * host: which script runs, and how its agent.config meets the flags.
 *
 * Precedence: a command-line flag given explicitly wins over the script's
 * setting of the same name; the script wins over the built-in defaults.
 * For protocol knobs: -profile (else the script's profile, else lan) gives
 * the base, the script's knobs go on it, then every knob flag given. */
#ifndef MOONLIST_DAEMON_SCRIPT_H
#define MOONLIST_DAEMON_SCRIPT_H

#include <stddef.h>

#include "daemon/daemon_opts.h"
#include "lua/mlua.h"

/* The default script: scripts/agent.lua beside the binary (a build
 * directory in a checkout) or in ../share/moonlist/scripts. Returns 0 with
 * the path, or -1 if there is none. */
int daemon_script_default(char *out, size_t len);

/* package.path entries for the lua/moonlist/ modules, for every host of a
 * script (the agent's, and `moonlist sim -config`'s): beside the binary,
 * as for the default script, in a checkout or an install, with
 * MOONLIST_LUA_PATH first if set. Malloc'd, the caller frees it; NULL when
 * out of memory. */
char *daemon_script_lua_path(void);

/* Load -config (or the default script) into a new host and apply its
 * settings to `o`. Returns 0 with *out set (NULL if no script was found
 * and none was asked for: the agent runs without Lua, and says so), or -1
 * with a message naming file:line and key in err. The host must outlive
 * `o` (o->join may point into it). */
int daemon_script_load(daemon_opts *o, mlua **out, char *err, size_t errlen);

/* Apply a loaded host's settings to `o`, flags overriding (see above). */
int daemon_script_apply(mlua *h, daemon_opts *o, char *err, size_t errlen);

#endif
