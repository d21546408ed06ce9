/* Target selection (memberlist kRandomNodes, §10.1 step 4, §11.2): k
 * distinct random nodes among those a filter accepts, exactly, so that a
 * failed probe in a 3-node cluster always asks the one possible relay;
 * and uniform: every eligible node, and every position, equally likely. */
#include "harness.h"
#include "swim/swim_internal.h"

static harness H;

/* Eligible: a name in the NULL-terminated list `arg`. */
static bool in_list(const swim *s, const swim_node *n, const void *arg)
{
    (void)s;
    for (const char *const *p = arg; *p; p++)
        if (strcmp(n->name, *p) == 0)
            return true;
    return false;
}

static int index_of(const char *const *list, const swim_node *n)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(n->name, list[i]) == 0)
            return i;
    return -1;
}

/* Exactly k eligible (or fewer): every draw returns all of them, once. */
static void all_eligible_always_chosen(int npeers, const char *const *list, size_t k)
{
    h_setup(&H, npeers);
    size_t neligible = 0;
    while (list[neligible])
        neligible++;
    size_t want = neligible < k ? neligible : k;
    int misses = 0;
    for (int t = 0; t < 20000; t++) {
        swim_node *out[8];
        size_t got = swim_random_nodes(H.core, k, out, in_list, list);
        bool seen[8] = { false };
        bool ok = got == want;
        for (size_t i = 0; i < got && ok; i++) {
            int x = index_of(list, out[i]);
            ok = x >= 0 && !seen[x];
            if (ok)
                seen[x] = true;
        }
        misses += !ok;
    }
    CHECKF(misses == 0, "%d peers, %zu eligible, k %zu: %d of 20000 draws missed one", npeers, neligible, k, misses);
    h_free(&H);
}

/* 30 members, 10 eligible, k 3 (the draw path): each eligible node is
 * picked 3/10 of the time, and is first 1/10 of the time. */
static void uniform(void)
{
    h_setup(&H, 29);
    static const char *const list[] = { "p0", "p3", "p5", "p8", "p11", "p14", "p17", "p20", "p23", "p28", NULL };
    enum { TRIALS = 30000, NE = 10 };
    int picked[NE] = { 0 }, first[NE] = { 0 };
    for (int t = 0; t < TRIALS; t++) {
        swim_node *out[3];
        size_t got = swim_random_nodes(H.core, 3, out, in_list, list);
        REQUIRE(got == 3);
        for (size_t i = 0; i < got; i++)
            picked[index_of(list, out[i])]++;
        first[index_of(list, out[0])]++;
    }
    /* expected 9000 and 3000; binomial sd about 79 and 52: 6 sd of room */
    for (int i = 0; i < NE; i++) {
        CHECKF(picked[i] > 9000 - 480 && picked[i] < 9000 + 480, "%s picked %d times of %d", list[i], picked[i], TRIALS);
        CHECKF(first[i] > 3000 - 320 && first[i] < 3000 + 320, "%s first %d times of %d", list[i], first[i], TRIALS);
    }
    h_free(&H);
}

/* The same through the reservoir (few eligible among many): 3 of 4
 * eligible in a table of 30, each picked 3/4 of the time. */
static void uniform_reservoir(void)
{
    h_setup(&H, 29);
    static const char *const list[] = { "p2", "p9", "p16", "p27", NULL };
    enum { TRIALS = 20000, NE = 4 };
    int picked[NE] = { 0 }, first[NE] = { 0 };
    for (int t = 0; t < TRIALS; t++) {
        swim_node *out[3];
        REQUIRE(swim_random_nodes(H.core, 3, out, in_list, list) == 3);
        for (int i = 0; i < 3; i++)
            picked[index_of(list, out[i])]++;
        first[index_of(list, out[0])]++;
    }
    /* expected 15000 (sd 61) and 5000 (sd 61) */
    for (int i = 0; i < NE; i++) {
        CHECKF(picked[i] > 15000 - 400 && picked[i] < 15000 + 400, "%s picked %d times", list[i], picked[i]);
        CHECKF(first[i] > 5000 - 400 && first[i] < 5000 + 400, "%s first %d times", list[i], first[i]);
    }
    h_free(&H);
}

/* Ping seqs sent to p0 and indirect-ping seqs sent to p1, as they go. */
enum { MAXP = 4096 };
typedef struct seen_seqs {
    uint32_t pinged[MAXP], asked[MAXP];
    size_t npinged, nasked;
} seen_seqs;

static void note_seqs(void *ud, const h_pkt *p, const uint8_t *msg, size_t len)
{
    seen_seqs *ss = ud;
    wire_msg m;
    if (!len || wire_decode_msg(msg, len, &m) != WIRE_OK)
        return;
    int peer = h_peer_of(&p->to);
    if (m.type == WIRE_PING && peer == 0 && ss->npinged < MAXP)
        ss->pinged[ss->npinged++] = m.u.ping.seq_no;
    if (m.type == WIRE_INDIRECT_PING && peer == 1 && ss->nasked < MAXP)
        ss->asked[ss->nasked++] = m.u.indirect_ping.seq_no;
}

/* End to end: in a cluster of three (us, a silent p0, p1), every failed
 * probe of p0 asks p1 to relay. Under 3n random draws about 2.6 % of them
 * asked nobody. */
static void three_nodes_relay_always_asked(void)
{
    h_setup(&H, 2);
    H.auto_ack = true;
    H.down[0] = true;
    static seen_seqs ss;
    memset(&ss, 0, sizeof ss);
    while (H.now < 1200000 && ss.npinged < 300) {
        /* p0 alive again whenever it is found out, so that it is probed */
        if (h_state(&H, "p0") != SWIM_ALIVE) {
            size_t len;
            const uint8_t *m = h_alive("p0", 0, h_inc(&H, "p0") + 1, NULL, &len);
            h_inject(&H, 0, m, len);
        }
        h_run(&H, H.now + 100);
        h_each_msg(&H, note_seqs, &ss);
        h_clear(&H);
    }
    /* the last probe may still be in its direct wait */
    size_t npinged = ss.npinged;
    h_run(&H, H.now + 1000);
    h_each_msg(&H, note_seqs, &ss);
    size_t relayed = 0;
    for (size_t i = 0; i < npinged; i++) {
        bool found = false;
        for (size_t j = 0; j < ss.nasked && !found; j++)
            found = ss.asked[j] == ss.pinged[i];
        relayed += found;
    }
    CHECKF(npinged >= 100, "only %zu probes of p0", npinged);
    CHECKF(relayed == npinged, "%zu of %zu failed probes asked the relay", relayed, npinged);
    h_free(&H);
}

int main(void)
{
    /* the 3-node case: us, the target, one relay; k = 3 (IndirectChecks) */
    static const char *const one[] = { "p1", NULL };
    all_eligible_always_chosen(2, one, 3);
    /* exactly k eligible among many (past the 3k draw threshold) */
    static const char *const three[] = { "p4", "p17", "p30", NULL };
    all_eligible_always_chosen(40, three, 3);
    /* exactly k, small table (shuffle-and-scan region) */
    static const char *const three_small[] = { "p0", "p1", "p3", NULL };
    all_eligible_always_chosen(5, three_small, 3);
    /* fewer than k */
    static const char *const two[] = { "p7", "p8", NULL };
    all_eligible_always_chosen(20, two, 3);
    uniform();
    uniform_reservoir();
    three_nodes_relay_always_asked();
    wire_buf_free(&h_buf);
    return check_done("test_swim_random");
}
