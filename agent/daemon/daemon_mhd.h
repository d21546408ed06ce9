/* daemon_mhd: libmicrohttpd, loaded when -metrics-addr is given.
 *
 * Only the metrics endpoint serves HTTP, and it is off by default; linked,
 * libmicrohttpd would bring GnuTLS and its dependencies into every agent
 * (about 2.3 MiB of their pages resident, docs/footprint.md). So it is
 * not linked: daemon_metrics_start loads libmicrohttpd.so.12 with dlopen
 * and calls it through this table of the few functions it uses. The
 * headers still come from libmicrohttpd-dev at build time (types,
 * constants). Loaded once per process; never unloaded. */
#ifndef MOONLIST_DAEMON_MHD_H
#define MOONLIST_DAEMON_MHD_H

#include <stddef.h>

#include <microhttpd.h>

/* the soname whose ABI the table below is (libmicrohttpd 0.9.x) */
#define DAEMON_MHD_LIB_NAME "libmicrohttpd.so.12"

/* each slot has the type of the function it holds, as microhttpd.h
 * declares it (typeof references nothing: no link to the library) */
typedef struct daemon_mhd {
    __typeof__(&MHD_start_daemon) start_daemon;
    __typeof__(&MHD_stop_daemon) stop_daemon;
    __typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
    __typeof__(&MHD_add_response_header) add_response_header;
    __typeof__(&MHD_queue_response) queue_response;
    __typeof__(&MHD_destroy_response) destroy_response;
} daemon_mhd;

/* The table, the library loaded on the first call; NULL with a sentence
 * in err ("cannot load libmicrohttpd.so.12: <dlerror>") if it cannot be.
 * Called on the loop thread only (daemon_metrics_start). */
const daemon_mhd *daemon_mhd_load(char *err, size_t errlen);

#endif
