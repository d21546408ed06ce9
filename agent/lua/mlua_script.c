/* mlua_script: a script's text into a lua_State, the same way at the first
 * load, at a reload and when a failed reload runs the previous script
 * again: read once (the text is kept for that last case), compiled,
 * run with agent.inherited and the member snapshot of the load, and its
 * agent.config checked as a whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

/* A script is an operator's file of a few KiB; 16 MiB means a wrong path
 * (a log, a binary), refused before it fills the memory. */
#define MLUA_SCRIPT_MAX ((size_t)16 << 20)

int mlua_script_read(const char *path, char **src, size_t *len, char *err, size_t errlen)
{
    *src = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= MLUA_SCRIPT_MAX)
            break;
        char *more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!buf || failed || n >= MLUA_SCRIPT_MAX) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 !buf ? "out of memory" : failed ? "read error" : "larger than 16 MiB");
        free(buf);
        return -1;
    }
    /* a #! line is not Lua: blanked as luaL_loadfile skips it, the lines
     * keep their numbers */
    if (n && buf[0] == '#')
        for (size_t i = 0; i < n && buf[i] != '\n'; i++)
            buf[i] = ' ';
    *src = buf;
    *len = n;
    return 0;
}

int mlua_script_compile(lua_State *L, const char *chunkname, const char *src, size_t len, char *err, size_t errlen)
{
    if (luaL_loadbuffer(L, src, len, chunkname)) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* The settings must also make a valid swim config as a whole (e.g. probe
 * timeout below the probe interval). */
static int check_settings(mlua *h, char *err, size_t errlen)
{
    swim_config c;
    memset(&c, 0, sizeof c);
    swim_config_profile(&c, "lan");
    snprintf(c.name, sizeof c.name, "check");
    c.advertise.ip_len = 4;
    c.advertise.port = 7946;
    const uint8_t vsn[6] = { WIRE_PROTOCOL_MIN, WIRE_PROTOCOL_MAX, WIRE_PROTOCOL_CUR,
                             WIRE_DELEGATE_MIN, WIRE_DELEGATE_MAX, WIRE_DELEGATE_CUR };
    memcpy(c.vsn, vsn, 6);
    if (mlua_settings_apply_swim(h, &c, err, errlen) < 0)
        return -1;
    const char *why = swim_config_check(&c);
    if (why) {
        snprintf(err, errlen, "%s: agent.config: %s", h->config_where, why);
        return -1;
    }
    return 0;
}

int mlua_script_run(mlua *h, lua_State *L, char *err, size_t errlen)
{
    if (mlua_handoff_give(h, L) < 0) {
        lua_pop(L, 1);   /* the chunk */
        snprintf(err, errlen, "agent.inherited could not be set (logged)");
        return -1;
    }
    h->loading = true;
    bool ok = mlua_pcall(h, L, 0, 0, MLUA_CALL_LOAD, "script");
    h->loading = false;
    if (!ok) {
        /* mlua_pcall logged message + traceback at debug level; the
         * caller reports the message */
        snprintf(err, errlen, "%s", h->last_error);
        return -1;
    }
    return check_settings(h, err, errlen);
}
