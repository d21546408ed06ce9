/* Whether a query reaches every node it selects, on a lossless simulated
 * network. serf gossips a query only RetransmitMult x ceil(log10(n + 1))
 * times per node, one fresh batch per gossip target, so in a small
 * cluster a node now and then gets no copy at all: at the local profile
 * (RetransmitMult 2) with 4 nodes, each holder sends it to 2 of its 3
 * peers. The asker's direct copies (serf_node_query_direct.c) close that
 * gap wherever it sends them; above the cap gossip alone carries the query,
 * as in serf, and that scene is printed, not asserted.
 *
 * Prints one line per scene: queries, selected (node, query) pairs, and
 * the pairs that never saw the query. */
#include "query_world.h"

#define QUERIES 300

typedef struct scene {
    const char *what, *profile;
    int n;
    bool name_one;                    /* a node filter naming one other node */
    bool assert_all;                  /* within the direct cap: none may miss */
} scene;

static uint64_t next_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

static void run_scene(const scene *sc, uint64_t seed)
{
    qworld w;
    qw_make_profile(&w, sc->n, seed, sc->profile, NULL, NULL, NULL);
    /* memberlist gossips an alive a few times only; a node all of them
     * missed learns of the member at the next push/pull (30 s on lan) */
    REQUIRE(qw_settle(&w, 65000));
    uint64_t r = seed;
    size_t pairs = 0, missed = 0;
    for (int k = 0; k < QUERIES; k++) {
        int asker = (int)(next_rand(&r) % (uint64_t)sc->n);
        int target = (asker + 1 + (int)(next_rand(&r) % (uint64_t)(sc->n - 1))) % sc->n;
        char qname[16], tname[32];
        snprintf(qname, sizeof qname, "q%d", k);
        snprintf(tname, sizeof tname, "node-%d", target);
        const char *nodes[] = { tname };
        serf_node_query_opts o = { .nodes = sc->name_one ? nodes : NULL, .nnodes = sc->name_one ? 1 : 0,
                                   .timeout_ms = 3000 };
        uint64_t h = 0;
        CHECK_EQ_INT(serf_node_query(sim_serf(w.s, asker), sim_core(w.s, asker), sim_now(w.s),
                                     wire_bytes_of(qname, strlen(qname)), wire_bytes_of("?", 1), &o, &h),
                     WIRE_OK);
        qw_run(&w, sim_now(w.s) + 3000);
        for (int i = 0; i < sc->n; i++) {
            if (sc->name_one ? i != target : i == asker)
                continue;
            pairs++;
            missed += qw_count(&w, i, SERF_EV_QUERY, qname) == 0;
        }
    }
    printf("%-40s n=%-3d %s: %d queries, %zu selected, %zu missed (%.2f %%)\n", sc->what, sc->n, sc->profile,
           QUERIES, pairs, missed, 100.0 * (double)missed / (double)pairs);
    if (sc->assert_all)
        CHECK_EQ_INT(missed, 0);
    qw_free(&w);
}

int main(void)
{
    static const scene scenes[] = {
        { "node filter naming one node", "local", 4, true, true },
        { "no filter", "local", 4, false, true },
        { "no filter", "lan", 6, false, true },
        { "node filter naming one node", "lan", 60, true, true },
        /* past the direct cap: gossip alone, as serf */
        { "no filter (over the direct cap)", "lan", 60, false, false },
    };
    for (size_t i = 0; i < sizeof scenes / sizeof scenes[0]; i++)
        run_scene(&scenes[i], 101 + i);
    return check_done("test_serf_query_reach");
}
