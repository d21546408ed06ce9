/* Minimal assertions for the C tests: a failed check prints where and why,
 * and the test program exits non-zero at the end (CHECK) or at once
 * (REQUIRE). ctest reads the exit code. */
#ifndef MOONLIST_TEST_CHECK_H
#define MOONLIST_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define REQUIRE(cond) do { check_count++; if (!(cond)) { \
    fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); \
    CHECKF(va_ == vb_, "%lld != %lld", va_, vb_); } while (0)
#define CHECK_MEM(a, alen, b, blen) do { size_t la_ = (alen), lb_ = (blen); \
    CHECKF(la_ == lb_ && memcmp((a), (b), la_) == 0, "byte strings differ (%zu vs %zu bytes)", la_, lb_); } while (0)

/* Call last in main: prints a summary and returns the exit code. */
static inline int check_done(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
