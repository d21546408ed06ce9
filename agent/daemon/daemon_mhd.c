#include "daemon/daemon_mhd.h"

#include <stddef.h>

#include "base/base_dl.h"

/* each function's slot in daemon_mhd */
static const base_dl_sym syms[] = {
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
    /* a failed load is tried again: it is one start, and a failure stops
     * the agent */
    daemon_mhd t;
    if (!base_dl_load(DAEMON_MHD_LIB_NAME, syms, sizeof syms / sizeof syms[0], &t, sizeof t, NULL, err, errlen))
        return NULL;
    table = t;
    loaded = &table;
    return loaded;
}
