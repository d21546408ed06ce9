/* base_libm: libm loaded on first use, in the static build
 * (MOONLIST_STATIC_DEPS, docs/footprint.md).
 *
 * Mapping libm.so.6 costs an agent about 0.3 MiB of resident pages before
 * any math runs: the dynamic linker calls its 21 IFUNC resolvers at load,
 * spread over its text. What needs libm is LuaJIT's math library (and the
 * `^` operator), and the Lifeguard suspicion timeout (log, log10) when a
 * member is first suspected; the agent's other arithmetic is done in
 * integers. So the static build links no libm: the linker wraps each libm
 * function referenced (ld --wrap=F, the lists in CMakeLists.txt, which
 * also generate base_libm_wraps.h), and
 * __wrap_F below dlopens libm the first time one is called, keeping F's
 * address. A libm function missing from the list fails the link
 * ("undefined reference"), it does not silently load libm at start.
 *
 * A script that never calls math.sin and a cluster without a suspect
 * never map libm; the first call maps it for good. The shared build
 * (libluajit-5.1.so needs libm) calls libm directly and compiles none of
 * this. */
#ifdef MOONLIST_LAZY_LIBM
#include <dlfcn.h>
#include <gnu/lib-names.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*base_libm_f1)(double);
typedef double (*base_libm_f2)(double, double);

/* F from libm, loaded if it is not yet; no libm is a broken system: abort */
static void *libm_sym(const char *name)
{
    static void *lib;
    void *h = __atomic_load_n(&lib, __ATOMIC_ACQUIRE);
    if (!h) {
        /* two threads may both get here: dlopen counts, the handle is the same */
        h = dlopen(LIBM_SO, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *e = dlerror();
            fprintf(stderr, "moonlist: cannot load %s: %s\n", LIBM_SO, e ? e : "unknown error");
            abort();
        }
        __atomic_store_n(&lib, h, __ATOMIC_RELEASE);
    }
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "moonlist: %s has no %s\n", LIBM_SO, name);
        abort();
    }
    return p;
}

/* One wrapper per function: its address cached after the first call. */
#define BASE_LIBM_1(f)                                                                                   \
    double __wrap_##f(double x);                                                                         \
    double __wrap_##f(double x)                                                                          \
    {                                                                                                    \
        static base_libm_f1 fp;                                                                          \
        base_libm_f1 g = __atomic_load_n(&fp, __ATOMIC_RELAXED);                                         \
        if (!g) {                                                                                        \
            g = (base_libm_f1)libm_sym(#f);                                                              \
            __atomic_store_n(&fp, g, __ATOMIC_RELAXED);                                                  \
        }                                                                                                \
        return g(x);                                                                                     \
    }
#define BASE_LIBM_2(f)                                                                                   \
    double __wrap_##f(double x, double y);                                                               \
    double __wrap_##f(double x, double y)                                                                \
    {                                                                                                    \
        static base_libm_f2 fp;                                                                          \
        base_libm_f2 g = __atomic_load_n(&fp, __ATOMIC_RELAXED);                                         \
        if (!g) {                                                                                        \
            g = (base_libm_f2)libm_sym(#f);                                                              \
            __atomic_store_n(&fp, g, __ATOMIC_RELAXED);                                                  \
        }                                                                                                \
        return g(x, y);                                                                                  \
    }

/* one per function of CMakeLists.txt's MOONLIST_LIBM_WRAP_1 and _2, the
 * lists the linker wraps */
#include "base_libm_wraps.h"
#endif
