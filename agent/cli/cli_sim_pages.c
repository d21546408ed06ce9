/* `moonlist sim`'s memory in transparent huge pages, through glibc's own
 * tunable (glibc.malloc.hugetlb=1, glibc 2.35 and later: malloc asks for
 * huge pages with madvise on the memory it takes from the kernel).
 *
 * Why: a large run is one process reading thousands of member tables at
 * random (5,000 nodes: 25 million entries in 5 GB). With 4 KiB pages
 * nearly every one of those reads also misses the TLB and walks the page
 * tables; with 2 MiB pages the walk mostly stays in the cache. Measured at
 * 5,000 nodes (`-seed 1 -kill 1`, the same binary one run after the other,
 * docs/sim-speed.md): 71.1 s of wall time with 4 KiB pages, 53.0 s with
 * huge pages, the same digest. Distributions ship THP in "madvise" mode,
 * which is why malloc has to ask.
 *
 * A tunable is read once, when the process starts, so the command starts
 * itself again with it (execv of /proc/self/exe, the same arguments). An
 * operator who set glibc.malloc.hugetlb in GLIBC_TUNABLES keeps their
 * value (=0 turns this off). The agent never does this: its heap is a few
 * hundred KiB, where a huge page would only cost memory. Under
 * AddressSanitizer the tunable has no effect (its allocator serves
 * malloc) and the restart is harmless. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_sim.h"

#define TUNABLES "GLIBC_TUNABLES"
#define HUGETLB "glibc.malloc.hugetlb="

void cli_sim_exec_with_huge_pages(char **argv)
{
    const char *old = getenv(TUNABLES);
    if (old && strstr(old, HUGETLB))
        return; /* set by the operator, or by us before the exec */
    size_t n = (old ? strlen(old) + 1 : 0) + sizeof HUGETLB + 1;
    char *v = malloc(n);
    if (!v)
        return;
    snprintf(v, n, "%s%s%s1", old ? old : "", old ? ":" : "", HUGETLB);
    if (setenv(TUNABLES, v, 1) == 0)
        execv("/proc/self/exe", argv);
    /* no /proc, or no exec: the run goes on in 4 KiB pages, only slower;
     * the environment goes back to what it was */
    int e = errno;
    if (old)
        setenv(TUNABLES, old, 1);
    else
        unsetenv(TUNABLES);
    fprintf(stderr, "moonlist sim: running without huge pages (cannot restart with %s1: %s)\n", HUGETLB, strerror(e));
    free(v);
}

/* A "Key:   N kB" line's N from a /proc file, or -1 */
static long proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t k = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

int cli_sim_format_pages(wire_buf *b)
{
    long peak = proc_kb("/proc/self/status", "VmHWM");
    long huge = proc_kb("/proc/self/smaps_rollup", "AnonHugePages");
    const char *t = getenv(TUNABLES);
    const char *h = t ? strstr(t, HUGETLB) : NULL;
    char line[256];
    int n = snprintf(line, sizeof line, "memory: peak %.1f MB resident, %.1f MB of it in huge pages (%s%.*s)\n",
                     peak < 0 ? 0 : (double)peak / 1024, huge < 0 ? 0 : (double)huge / 1024, h ? "" : "no ",
                     h ? (int)strcspn(h, ":") : (int)sizeof HUGETLB - 2, h ? h : HUGETLB);
    if (n < 0)
        return -1;
    return wire_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) == WIRE_OK ? 0 : -1;
}
