/* serf's Lamport clock as lamport.go (and lamport_test.go) has it. */
#include "check.h"
#include "serf/serf_clock.h"

int main(void)
{
    serf_clock c = { 0 };
    CHECK_EQ_INT(serf_clock_time(&c), 0);
    CHECK_EQ_INT(serf_clock_increment(&c), 1);
    CHECK_EQ_INT(serf_clock_time(&c), 1);

    /* witness a newer time: one past it */
    serf_clock_witness(&c, 41);
    CHECK_EQ_INT(serf_clock_time(&c), 42);
    /* an older one: nothing */
    serf_clock_witness(&c, 30);
    CHECK_EQ_INT(serf_clock_time(&c), 42);
    /* the current time itself still moves it on (v >= current) */
    serf_clock_witness(&c, 42);
    CHECK_EQ_INT(serf_clock_time(&c), 43);
    /* one below: nothing */
    serf_clock_witness(&c, 42);
    CHECK_EQ_INT(serf_clock_time(&c), 43);

    /* the top saturates where Go would wrap to 0 */
    serf_clock_witness(&c, UINT64_MAX - 1);
    CHECK(serf_clock_time(&c) == UINT64_MAX);
    serf_clock_witness(&c, UINT64_MAX);
    CHECK(serf_clock_time(&c) == UINT64_MAX);
    CHECK(serf_clock_increment(&c) == UINT64_MAX);
    serf_clock d = { UINT64_MAX - 1 };
    CHECK(serf_clock_increment(&d) == UINT64_MAX);
    return check_done("test_serf_clock");
}
