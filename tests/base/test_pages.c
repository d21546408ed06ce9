/* base_pages_release_code: read-only file pages leave this process's page
 * tables and come back intact on the next touch; written pages (data,
 * relocated pointers, a private copy of a read-only page) stay as they are. */
#define _GNU_SOURCE
#include "check.h"
#include "base/base_pages.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOB_PAGES 256
#define PAGE 4096

/* 1 MiB of constants from the file (.rodata): every page non-zero */
#define ROW(i) [(i) * PAGE] = (uint8_t)((i) + 1)
#define ROWS8(i) ROW(i), ROW(i + 1), ROW(i + 2), ROW(i + 3), ROW(i + 4), ROW(i + 5), ROW(i + 6), ROW(i + 7)
#define ROWS64(i) ROWS8(i), ROWS8(i + 8), ROWS8(i + 16), ROWS8(i + 24), ROWS8(i + 32), ROWS8(i + 40), \
    ROWS8(i + 48), ROWS8(i + 56)
static const uint8_t blob[BLOB_PAGES * PAGE] __attribute__((aligned(PAGE))) = {
    ROWS64(0), ROWS64(64), ROWS64(128), ROWS64(192)
};
/* relocated at load (PIE): in a writable segment, never released */
static const char *const names[] = { "alpha", "beta" };
static int counter = 1;

static unsigned sum_blob(void)
{
    unsigned s = 0;
    for (size_t i = 0; i < sizeof blob; i += PAGE)
        s += *(volatile const uint8_t *)&blob[i];
    return s;
}

/* pages of blob mapped in this process now (/proc/self/pagemap's bit 63) */
static int present(void)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    uint64_t e[BLOB_PAGES];
    off_t at = (off_t)((uintptr_t)blob / PAGE * sizeof e[0]);
    REQUIRE(pread(fd, e, sizeof e, at) == (ssize_t)sizeof e);
    close(fd);
    int n = 0;
    for (int i = 0; i < BLOB_PAGES; i++)
        n += (int)(e[i] >> 63);
    return n;
}

int main(void)
{
    REQUIRE(sysconf(_SC_PAGESIZE) == PAGE);
    unsigned want = 0;
    for (unsigned i = 0; i < BLOB_PAGES; i++)
        want += (i + 1) & 0xff;
    counter++;

    CHECK_EQ_INT(sum_blob(), want);
    CHECK_EQ_INT(present(), BLOB_PAGES);
    size_t released = base_pages_release_code();
    CHECKF(released >= sizeof blob, "released %zu bytes", released);
    /* unmapped here; a touch elsewhere may map a folio back with some */
    int after = present();
    CHECKF(after < BLOB_PAGES / 4, "%d of %d pages still mapped", after, BLOB_PAGES);
    CHECK_EQ_INT(sum_blob(), want);
    CHECK_EQ_INT(present(), BLOB_PAGES);
    CHECK_EQ_INT(counter, 2);
    CHECK(strcmp(names[0], "alpha") == 0 && strcmp(names[1], "beta") == 0);

    /* a private copy of a read-only page (what a breakpoint is): its whole
     * mapping is left alone, so the copy survives */
    uint8_t *p = (uint8_t *)&blob[PAGE];
    REQUIRE(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0);
    *(volatile uint8_t *)p = 0x55;
    REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
    base_pages_release_code();
    CHECK_EQ_INT(*(volatile const uint8_t *)p, 0x55);
    return check_done("test_pages");
}
