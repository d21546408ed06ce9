/* What the simulator measures for `moonlist sim`: per-node traffic adds
 * up to the network's totals, a second event observer sees what the first
 * sees, and the member tables' size grows with what the cores know. */
#include <string.h>

#include "check.h"
#include "sim/sim.h"

#define N 6

static int seen[2];
static void count_a(void *ud, int node, swim_time now, const swim_event *ev) { seen[0]++; }
static void count_b(void *ud, int node, swim_time now, const swim_event *ev) { seen[1]++; }

int main(void)
{
    sim *s = sim_new(7);
    REQUIRE(s);
    sim_on_event(s, count_a, NULL);
    for (int i = 0; i < SIM_WATCHERS_MAX; i++)
        CHECK_EQ_INT(sim_watch_events(s, count_b, NULL), 0);
    CHECK_EQ_INT(sim_watch_events(s, count_b, NULL), -1);
    REQUIRE(sim_add_many(s, N, "n", "lan") == 0);

    uint64_t entries, alone = sim_member_bytes(s, &entries);
    CHECK_EQ_INT(entries, N);   /* each knows itself */
    CHECK(alone > 0);

    int seed = 0;
    for (int i = 1; i < N; i++)
        sim_join(s, i, &seed, 1);
    sim_run_until(s, 20000);
    CHECK(seen[0] > N);
    CHECK_EQ_INT(seen[1], SIM_WATCHERS_MAX * seen[0]);

    uint64_t all = sim_member_bytes(s, &entries);
    CHECK_EQ_INT(entries, N * N);
    CHECK(all > alone);
    /* a record, a name, and a few pointers at least; not kilobytes */
    CHECK(all / entries > 32 && all / entries < 1024);

    /* what every node sent and got adds up to the network's counters:
     * datagrams are counted once each, streams carry requests and replies */
    const sim_stats *st = sim_get_stats(s);
    uint64_t sent = 0, bytes = 0, got = 0, got_bytes = 0;
    for (int i = 0; i < N; i++) {
        const sim_traffic *t = sim_node_traffic(s, i);
        sent += t->msgs_sent;
        bytes += t->bytes_sent;
        got += t->msgs_received;
        got_bytes += t->bytes_received;
    }
    CHECK(st->streams_opened >= N - 1);   /* the joins' push/pulls at least */
    CHECK_EQ_INT(bytes, st->bytes_sent + st->stream_bytes);
    CHECK(sent > st->packets_sent);
    /* nothing lost on a lossless link between live nodes: what is not
     * received yet is in flight, a few messages a node at most */
    CHECK(got <= sent && sent - got <= 4 * N);
    CHECK(got_bytes <= bytes);

    /* a dead node gets nothing more */
    sim_kill(s, 2);
    uint64_t before = sim_node_traffic(s, 2)->msgs_received;
    sim_run_until(s, 40000);
    CHECK_EQ_INT(sim_node_traffic(s, 2)->msgs_received, before);
    sim_member_bytes(s, &entries);
    CHECK(entries <= (N - 1) * N);

    sim_free(s);
    return check_done("test_sim_measure");
}
