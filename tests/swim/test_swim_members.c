/* The member table: hash lookups, random insertion, reaping and
 * shuffling at a probe-list wrap. */
#include <string.h>

#include "check.h"
#include "swim/swim_internal.h"

int main(void)
{
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
    self->state_change = 0;
    for (int i = 1; i < 1000; i++) {
        snprintf(name, sizeof name, "node-%d", i);
        swim_node *n = swim_members_find(&m, name, strlen(name));
        if (i % 10 == 1) {
            n->state = SWIM_DEAD;
            n->state_change = 1000;
        } else if (i % 10 == 2) {
            n->state = SWIM_LEFT;
            n->state_change = 1000;
        } else if (i % 10 == 3) {
            n->state = SWIM_DEAD;
            n->state_change = 5000; /* within the grace */
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
