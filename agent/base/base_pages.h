/* base_pages: hand back the page mappings of code that ran once.
 *
 * The kernel maps file pages into a process by the page-cache folio (up to
 * 256 KiB on this machine's ext4) or 64 KiB of fault-around, so starting
 * an agent (LuaJIT's parser and libraries, the config script, name
 * resolution, the first join) leaves nearly all of its binary's and libc's
 * code resident in it for good, although an idle agent runs a small part
 * of it (docs/footprint.md, "Code pages"). */
#ifndef MOONLIST_BASE_PAGES_H
#define MOONLIST_BASE_PAGES_H

#include <stddef.h>

/* Unmaps, from this process only, the read-only file pages of every
 * loaded object (the executable, libc, ld.so, anything dlopen'ed): the
 * segments that are never written, code and constants, but only those
 * with no private copy (a debugger's breakpoint, a uprobe) in their
 * mapping. The pages stay in the page cache, shared with every other
 * process, and come back at their next touch as a minor fault: nothing
 * changes but what is resident in this process. Safe with other threads
 * running (and loading or unloading libraries: the walk holds the dynamic
 * linker's lock). Returns the bytes of mappings released (0 when
 * /proc/self/smaps cannot be read: nothing is then released). */
size_t base_pages_release_code(void);

#endif
