/* base_pages: see base_pages.h. */
#define _GNU_SOURCE
#include "base/base_pages.h"

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Mappings of a file that hold private copies of some of its pages: a
 * read-only one has them only from ptrace (breakpoints) or a uprobe, and
 * MADV_DONTNEED would drop them, so such a mapping is left alone. 64: a
 * process has one such mapping per loaded object at most (its relocated
 * read-only data, which lies in a writable segment, skipped anyway), and
 * the agent loads fewer than a dozen; with more the walk gives up. */
#define PAGES_COPIED_MAX 64

typedef struct pages_range {
    uintptr_t lo, hi;
} pages_range;

typedef struct pages_walk {
    uintptr_t page;
    bool read;   /* smaps read, on the first object: under the loader's lock */
    bool failed; /* smaps unreadable or too many copied mappings: release nothing */
    pages_range copied[PAGES_COPIED_MAX];
    size_t ncopied;
    size_t bytes;
} pages_walk;

/* The mappings of /proc/self/smaps with private pages ("Anonymous:" above
 * 0) that are not writable: the ones a release must not touch. */
static void read_copied(pages_walk *w)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f) {
        w->failed = true;
        return;
    }
    char line[512];
    uintptr_t lo = 0, hi = 0;
    bool writable = true;
    while (fgets(line, sizeof line, f)) {
        /* a longer line (a long path) is read on to its end: its tail is
         * not a line of its own */
        if (!strchr(line, '\n')) {
            char rest[512];
            while (fgets(rest, sizeof rest, f) && !strchr(rest, '\n'))
                ;
        }
        unsigned long a, b;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s ", &a, &b, perms) == 3) {
            lo = a;
            hi = b;
            writable = strchr(perms, 'w') != NULL;
            continue;
        }
        unsigned long kib;
        if (!writable && sscanf(line, "Anonymous: %lu kB", &kib) == 1 && kib > 0) {
            if (w->ncopied == PAGES_COPIED_MAX) {
                w->failed = true;
                break;
            }
            w->copied[w->ncopied++] = (pages_range){ lo, hi };
        }
    }
    /* a line cut short would misread the rest: trust only a whole file */
    if (ferror(f))
        w->failed = true;
    fclose(f);
}

static bool overlaps_copied(const pages_walk *w, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < w->ncopied; i++)
        if (lo < w->copied[i].hi && w->copied[i].lo < hi)
            return true;
    return false;
}

static int release_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    pages_walk *w = arg;
    if (!w->read) {
        read_copied(w);
        w->read = true;
    }
    if (w->failed)
        return 1;
    /* the executable ("") and files by path; not the vDSO, the kernel's */
    if (info->dlpi_name[0] && info->dlpi_name[0] != '/')
        return 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
            continue;
        /* whole pages inside the segment only: a page shared with a
         * writable neighbour keeps its mapping */
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        uintptr_t lo = (start + w->page - 1) & ~(w->page - 1);
        uintptr_t hi = (start + ph->p_filesz) & ~(w->page - 1);
        if (hi <= lo || overlaps_copied(w, lo, hi))
            continue;
        if (madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
            w->bytes += hi - lo;
    }
    return 0;
}

size_t base_pages_release_code(void)
{
    pages_walk w = { .page = (uintptr_t)sysconf(_SC_PAGESIZE) };
    /* the whole walk, smaps read included, under the lock that dlopen and
     * dlclose take: no object comes or goes between reading and releasing */
    dl_iterate_phdr(release_object, &w);
    return w.bytes;   /* 0 when failed: that is decided before any release */
}
