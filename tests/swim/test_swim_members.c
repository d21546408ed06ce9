/* The member table: hash lookups, random insertion, reaping and
 * shuffling at a probe-list wrap; the state machine's edges. */
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

/* memberlist's edges: suspicion only of the alive, death only of the
 * living (alive or suspect), anyone back to alive by a newer alive, and
 * a failed member marked left by force-leave. */
static void test_state_edges(void)
{
    static const struct { swim_state from, to; bool ok; } edges[] = {
        { SWIM_ALIVE, SWIM_ALIVE, true },      /* a refresh: incarnation, meta, address */
        { SWIM_ALIVE, SWIM_SUSPECT, true },
        { SWIM_ALIVE, SWIM_DEAD, true },
        { SWIM_ALIVE, SWIM_LEFT, true },
        { SWIM_SUSPECT, SWIM_ALIVE, true },    /* refuted */
        { SWIM_SUSPECT, SWIM_SUSPECT, false }, /* confirmations change the timer, not the state */
        { SWIM_SUSPECT, SWIM_DEAD, true },
        { SWIM_SUSPECT, SWIM_LEFT, true },
        { SWIM_DEAD, SWIM_ALIVE, true },       /* rejoined */
        { SWIM_DEAD, SWIM_SUSPECT, false },    /* a push/pull's remote dead is merged as suspect: not of the dead */
        { SWIM_DEAD, SWIM_DEAD, false },
        { SWIM_DEAD, SWIM_LEFT, true },        /* force-leave */
        { SWIM_LEFT, SWIM_ALIVE, true },
        { SWIM_LEFT, SWIM_SUSPECT, false },
        { SWIM_LEFT, SWIM_DEAD, false },
        { SWIM_LEFT, SWIM_LEFT, false },
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        CHECKF(swim_state_edge(edges[i].from, edges[i].to) == edges[i].ok, "%s -> %s", swim_state_name(edges[i].from),
               swim_state_name(edges[i].to));
    CHECK(!swim_state_edge((swim_state)4, SWIM_ALIVE));
    CHECK(!swim_state_edge(SWIM_ALIVE, (swim_state)-1));
}

int main(void)
{
    test_state_edges();
    swim_members m;
    swim_rng r;
    swim_rng_seed(&r, 42);
    REQUIRE(swim_members_init(&m) == 0);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        swim_node *n = swim_members_add(&m, &r, name, strlen(name));
        REQUIRE(n);
        n->state = SWIM_ALIVE;
    }
    CHECK_EQ_INT(m.n, 1000);
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        swim_node *n = swim_members_find(&m, name, strlen(name));
        found += n && strcmp(n->name, name) == 0;
    }
    CHECK_EQ_INT(found, 1000);
    CHECK(swim_members_find(&m, "node-1000", 9) == NULL);
    /* random insertion: the order is not insertion order */
    int in_order = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        in_order += strcmp(m.nodes[i]->name, name) == 0;
    }
    CHECK(in_order < 100);
    /* reaping: dead/left older than the grace go, the rest stay */
    swim_node *self = swim_members_find(&m, "node-0", 6);
    self->state = SWIM_LEFT;
    self->since.state_change = 0;
    for (int i = 1; i < 1000; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        swim_node *n = swim_members_find(&m, name, strlen(name));
        if (i % 10 == 1) {
            n->state = SWIM_DEAD;
            n->since.state_change = 1000;
        } else if (i % 10 == 2) {
            n->state = SWIM_LEFT;
            n->since.state_change = 1000;
        } else if (i % 10 == 3) {
            n->state = SWIM_DEAD;
            n->since.state_change = 5000; /* within the grace */
        }
    }
    swim_members_reset(&m, &r, 31000, 30000, self); /* exactly at the grace: kept */
    CHECK_EQ_INT(m.n, 1000);
    swim_members_reset(&m, &r, 31001, 30000, self);
    CHECK_EQ_INT(m.n, 1000 - 200);
    CHECK(swim_members_find(&m, "node-0", 6) == self); /* never reaps itself */
    CHECK(swim_members_find(&m, "node-1", 6) == NULL);
    CHECK(swim_members_find(&m, "node-2", 6) == NULL);
    CHECK(swim_members_find(&m, "node-3", 6) != NULL);
    CHECK(swim_members_find(&m, "node-4", 6) != NULL);
    /* every remaining node is in the array exactly once */
    int seen = 0;
    for (size_t i = 0; i < m.n; i++)
        seen += swim_members_find(&m, m.nodes[i]->name, m.nodes[i]->name_len) == m.nodes[i];
    CHECK_EQ_INT(seen, 800);
    swim_members_free(&m);
    return check_done("test_swim_members");
}
