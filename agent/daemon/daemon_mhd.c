#include "daemon/daemon_mhd.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t at;   /* offset of its slot in daemon_mhd */
} syms[] = {
    { "MHD_start_daemon", offsetof(daemon_mhd, start_daemon) },
    { "MHD_stop_daemon", offsetof(daemon_mhd, stop_daemon) },
    { "MHD_create_response_from_buffer", offsetof(daemon_mhd, create_response_from_buffer) },
    { "MHD_add_response_header", offsetof(daemon_mhd, add_response_header) },
    { "MHD_queue_response", offsetof(daemon_mhd, queue_response) },
    { "MHD_destroy_response", offsetof(daemon_mhd, destroy_response) },
};

/* filled once, by the first successful load; its HTTP thread reads it
 * only after MHD_start_daemon, which the load happens before */
static daemon_mhd table;
static const daemon_mhd *loaded;

const daemon_mhd *daemon_mhd_load(char *err, size_t errlen)
{
    if (loaded)
        return loaded;
    /* RTLD_LOCAL: its symbols serve this table only; never closed, the
     * table points into it (a failed load is tried again: it is one
     * start, and a failure stops the agent) */
    void *h = dlopen(DAEMON_MHD_LIB_NAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load %s: %s", DAEMON_MHD_LIB_NAME, e ? e : "unknown error");
        return NULL;
    }
    daemon_mhd t;
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *p = dlsym(h, syms[i].name);
        if (!p) {
            snprintf(err, errlen, "cannot load %s: it has no %s", DAEMON_MHD_LIB_NAME, syms[i].name);
            dlclose(h);
            return NULL;
        }
        /* POSIX: a function pointer has the representation of a void * */
        memcpy((char *)&t + syms[i].at, &p, sizeof p);
    }
    table = t;
    loaded = &table;
    return loaded;
}
