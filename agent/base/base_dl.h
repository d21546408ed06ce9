/* base_dl: a shared library loaded on first use (dlopen) into a table of
 * function pointers, so that the agent maps it only when a feature needs
 * it (libcrypto for a keyring, libmicrohttpd for -metrics-addr: see
 * docs/footprint.md). The caller owns the table and says when to load. */
#ifndef MOONLIST_BASE_DL_H
#define MOONLIST_BASE_DL_H

#include <stddef.h>

/* One function: its name in the library and the offset of its slot (a
 * function pointer) in the caller's table. */
typedef struct base_dl_sym {
    const char *name;
    size_t at;
} base_dl_sym;

/* dlopen `lib` (RTLD_NOW | RTLD_LOCAL: its symbols serve this table only)
 * and fill every slot of `table` from `syms`. Returns the handle, never
 * closed (the table points into it), or NULL with err saying "cannot load
 * LIB: why" (`hint` appended to a missing function's line, or NULL); the
 * table is then left untouched. */
void *base_dl_load(const char *lib, const base_dl_sym *syms, size_t nsyms, void *table, size_t table_size,
                   const char *hint, char *err, size_t errlen);

#endif
