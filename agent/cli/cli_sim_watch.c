/* cli_sim_watch: the events of every simulated node, counted (see
 * cli_sim_watch.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_sim_watch.h"

int cli_sim_watch_init(cli_sim_watch *w, size_t n)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->full_at = SWIM_NEVER;
    w->first_dead = w->all_dead = SWIM_NEVER;
    w->alive = calloc(n, sizeof *w->alive);
    w->falsely = calloc(n, 1);
    w->fidx = malloc(n * sizeof *w->fidx);
    if (!w->alive || !w->falsely || !w->fidx) {
        cli_sim_watch_free(w);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        w->fidx[i] = -1;
    return 0;
}

void cli_sim_watch_free(cli_sim_watch *w)
{
    free(w->alive);
    free(w->falsely);
    free(w->fidx);
    free(w->declared);
    free(w->episodes);
    memset(w, 0, sizeof *w);
}

int cli_sim_watch_fault(cli_sim_watch *w, const int *faulted, size_t k, bool partition)
{
    /* one bit per (direction, faulted node, other node): k x n x 2 bits,
     * not n x n, so a few failures cost little at 10,000 nodes */
    w->declared = calloc((2 * k * w->n + 7) / 8, 1);
    if (!w->declared)
        return -1;
    for (size_t i = 0; i < k; i++)
        w->fidx[faulted[i]] = (int32_t)i;
    w->nfaulted = k;
    w->partition = partition;
    w->expected = (uint64_t)k * (w->n - k) * (partition ? 2 : 1);
    return 0;
}

bool cli_sim_watch_expected(const cli_sim_watch *w, int observer, int subject)
{
    bool fo = w->fidx[observer] >= 0, fs = w->fidx[subject] >= 0;
    /* a crashed or paused node is expected dead; a partition makes each
     * side expect the other dead */
    return fs && !fo ? true : w->partition && fo && !fs;
}

int cli_sim_node_index(const char *name, size_t n)
{
    if (!name || name[0] != 'n' || name[1] < '0' || name[1] > '9')
        return -1;
    char *end;
    unsigned long v = strtoul(name + 1, &end, 10);
    return *end || v >= n ? -1 : (int)v;
}

void cli_sim_watch_episodes(cli_sim_watch *w) { w->episodes_on = true; }

/* A faulted subject declared dead at `inc`: a new episode unless that
 * incarnation's death was counted already. A run has a few hundred at
 * most, so a list will do. */
static void episode(cli_sim_watch *w, int subject, uint32_t inc)
{
    for (size_t i = 0; i < w->nepisodes; i++)
        if (w->episodes[i].subject == subject && w->episodes[i].incarnation == inc)
            return;
    if (w->nepisodes == w->capepisodes) {
        size_t cap = w->capepisodes ? 2 * w->capepisodes : 64;
        struct cli_sim_episode *v = realloc(w->episodes, cap * sizeof *v);
        if (!v)
            return;   /* uncounted rather than a failed run */
        w->episodes = v;
        w->capepisodes = cap;
    }
    w->episodes[w->nepisodes++] = (struct cli_sim_episode){ subject, inc };
}

static void declared_dead(cli_sim_watch *w, int observer, int subject, uint32_t inc, swim_time now)
{
    if (w->episodes_on && w->fidx[subject] >= 0)
        episode(w, subject, inc);
    if (w->declared && !w->partition && w->fidx[observer] >= 0 && w->fidx[subject] >= 0)
        return;   /* one paused node about another: neither healthy nor a detection */
    if (!w->declared || !cli_sim_watch_expected(w, observer, subject)) {
        if (!w->falsely[subject]) {
            w->falsely[subject] = 1;
            w->false_dead++;
        }
        return;
    }
    bool dir = w->fidx[observer] >= 0;
    int f = dir ? w->fidx[observer] : w->fidx[subject];
    int other = dir ? subject : observer;
    size_t bit = ((size_t)dir * w->nfaulted + (size_t)f) * w->n + (size_t)other;
    if (w->declared[bit / 8] & (1u << (bit % 8)))
        return;   /* again, after it came back */
    w->declared[bit / 8] |= (uint8_t)(1u << (bit % 8));
    if (w->ndeclared++ == 0)
        w->first_dead = now;
    if (w->ndeclared == w->expected)
        w->all_dead = now;
}

void cli_sim_watch_event(void *ud, int node, swim_time now, const swim_event *ev)
{
    cli_sim_watch *w = ud;
    if (ev->type != SWIM_EV_JOIN && ev->type != SWIM_EV_LEAVE)
        return;
    if (ev->type == SWIM_EV_JOIN) {
        if (++w->alive[node] == w->n && ++w->full == w->n)
            w->full_at = now;
        return;
    }
    if (w->alive[node]-- == w->n)
        w->full--;
    int subject = cli_sim_node_index(ev->member.name, w->n);
    if (ev->member.state == SWIM_DEAD && subject >= 0 && subject != node)
        declared_dead(w, node, subject, ev->member.incarnation, now);
}
