/* base_dl: see base_dl.h. */
#include "base/base_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *base_dl_load(const char *lib, const base_dl_sym *syms, size_t nsyms, void *table, size_t table_size,
                   const char *hint, char *err, size_t errlen)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load %s: %s", lib, e ? e : "unknown error");
        return NULL;
    }
    /* filled aside, copied in whole: a half-filled table is never seen */
    char *t = malloc(table_size);
    if (!t) {
        snprintf(err, errlen, "cannot load %s: out of memory", lib);
        dlclose(h);
        return NULL;
    }
    for (size_t i = 0; i < nsyms; i++) {
        void *p = dlsym(h, syms[i].name);
        if (!p) {
            snprintf(err, errlen, "cannot load %s: it has no %s%s", lib, syms[i].name, hint ? hint : "");
            free(t);
            dlclose(h);
            return NULL;
        }
        /* POSIX: a function pointer has the representation of a void * */
        memcpy(t + syms[i].at, &p, sizeof p);
    }
    memcpy(table, t, table_size);
    free(t);
    return h;
}
