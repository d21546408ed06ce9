/* cli_sim_run: `moonlist sim`'s phases (cli_sim.h): build the nodes, the
 * join burst until convergence, the fault until it is detected, the
 * recovery; and what each phase measured. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_sim.h"
#include "cli/cli_sim_watch.h"
#include "daemon/daemon_script.h"
#include "lua/mlua_sim.h"
#include "serf/serf_tags.h"

/* The join burst: node i joins at i x this / N ms, so all of them within
 * the first second, as a fleet started together. */
#define JOIN_SPREAD_MS 1000
/* Convergence waits past the gossip, which can miss a pair now and then,
 * for two push/pull rounds (memberlist's repair) and a minute more. */
#define CONVERGE_PUSH_PULL_ROUNDS 2
#define CONVERGE_SLACK_MS 60000
/* -duration's default beyond the longest suspicion: time for the first
 * suspicion, for a suspicion shortened by confirmations under loss, and
 * for the dead message's gossip. */
#define DURATION_SLACK_MS 30000
/* Between checks of the phase's end and the suspicion poll. A suspicion
 * lasts at least SuspicionMult x ProbeInterval (3 s on local), so a poll
 * each second sees every first suspicion, and its start time comes from
 * the member's state_change: exact, not rounded to the poll. */
#define POLL_MS 1000

typedef struct run {
    const cli_sim_opts *o;
    cli_sim_result *r;
    sim *s;
    mlua_sim *ms;                /* with -config; then s is its simulator */
    cli_sim_watch w;
    int *faulted;
} run;

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t cli_sim_suspicion_max_ms(const swim_config *c, size_t n)
{
    double scale = log10((double)(n ? n : 1));
    /* Go keeps the integer thousandths of the scale (§10.4) */
    uint64_t min = (uint64_t)c->suspicion_mult * (uint64_t)floor((scale < 1 ? 1 : scale) * 1000) *
                   c->probe_interval / 1000;
    return c->suspicion_max_timeout_mult * min;
}

/* memberlist's pushPullScale: the interval grows by one for each doubling
 * of the cluster past 32 nodes. */
static uint64_t push_pull_ms(const swim_config *c, size_t n)
{
    double over = n > 32 ? ceil(log2((double)n) - 5) : 0;
    return (uint64_t)c->push_pull_interval * (uint64_t)(over + 1);
}

/* ---- driving the simulator, with or without scripts ---- */

/* When a phase is over (checked after every step). */
typedef bool (*until_fn)(const run *x);

static bool never(const run *x) { return false; }
static bool all_list_all(const run *x) { return x->w.full == x->o->nodes; }
static bool all_declared(const run *x) { return x->w.all_dead != SWIM_NEVER; }

typedef struct until_call {
    const run *x;
    until_fn fn;
} until_call;

static bool until_step(sim *s, void *ud)
{
    (void)s;
    const until_call *c = ud;
    return c->fn(c->x);
}

/* Run until virtual time t, or until `until` holds (checked after each
 * step; with scripts, after each of mlua_sim's steps). */
static void advance(run *x, swim_time t, until_fn until)
{
    if (!x->ms) {
        until_call c = { x, until };
        sim_run_while_not(x->s, t, until_step, &c);
        return;
    }
    while (!until(x) && sim_now(x->s) < t) {
        swim_time next = sim_now(x->s) + MLUA_SIM_STEP_MS;
        mlua_sim_run_until(x->ms, next < t ? next : t);
    }
}

/* advance by POLL_MS at most, never past `end` */
static void advance_poll(run *x, swim_time end, until_fn until)
{
    swim_time next = sim_now(x->s) + POLL_MS;
    advance(x, next < end ? next : end, until);
}

/* No core has an alive, suspect or dead left to gossip: the join burst's
 * tail is over. A scan of every core, so checked once per POLL_MS. */
static bool all_quiet(const run *x)
{
    for (size_t i = 0; i < x->o->nodes; i++) {
        const swim *core = sim_core(x->s, (int)i);
        size_t membership, application;
        if (!core)
            continue;
        swim_queue_depths(core, &membership, &application);
        if (membership)
            return false;
    }
    return true;
}

/* -settle: after convergence, until all_quiet or the limit; polled at
 * POLL_MS, so the wait ends up to a second after the last queue drained. */
static void settle_phase(run *x)
{
    swim_time from = sim_now(x->s), end = from + x->o->settle_ms;
    while (!all_quiet(x) && sim_now(x->s) < end)
        advance_poll(x, end, never);
    x->r->settled = all_quiet(x);
    x->r->settle_ms = sim_now(x->s) - from;
}

static int build(run *x, char *err, size_t errlen)
{
    const cli_sim_opts *o = x->o;
    if (o->config) {
        mlua_sim_node_spec *specs = calloc(o->nodes, sizeof *specs);
        if (!specs) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < o->nodes; i++)
            specs[i].path = o->config;   /* named n<i> */
        char *lp = daemon_script_lua_path();
        if (!lp) {
            free(specs);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        mlua_sim_options mo = { .seed = o->seed, .profile = o->profile, .lua_path = lp, .nodes = specs,
                                .count = o->nodes };
        int rc = mlua_sim_new(&mo, &x->ms, err, errlen);
        free(specs);
        free(lp);
        if (rc < 0)
            return -1;
        x->s = mlua_sim_sim(x->ms);
    } else {
        x->s = sim_new(o->seed);
        for (size_t i = 0; x->s && i < o->nodes; i++) {
            swim_config c;
            memset(&c, 0, sizeof c);
            swim_config_profile(&c, o->profile);   /* checked by cli_sim_parse */
            snprintf(c.name, sizeof c.name, "n%zu", i);
            /* an agent without tags still sends serf's empty tag map */
            c.meta[0] = SERF_TAGS_MAGIC;
            c.meta[1] = 0x80;
            c.meta_len = 2;
            if (sim_add(x->s, &c, NULL) != (int)i) {
                snprintf(err, errlen, "cannot add node %zu: out of memory", i);
                return -1;
            }
        }
        if (!x->s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    uint32_t delay, jitter;
    double loss;
    sim_get_default_link(x->s, &delay, &jitter, &loss);
    sim_set_default_link(x->s, delay, jitter, o->loss);
    sim_set_timing(x->s, o->profile_time);
    if (cli_sim_watch_init(&x->w, o->nodes) < 0 || sim_watch_events(x->s, cli_sim_watch_event, &x->w) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* the cores announced themselves as they started, before the watch */
    for (size_t i = 0; i < o->nodes; i++)
        x->w.alive[i] = (uint32_t)swim_alive_count(sim_core(x->s, (int)i));
    return 0;
}

/* ---- measuring ---- */

typedef struct traffic {
    uint64_t msgs, bytes;
} traffic;

static traffic total_traffic(const sim *s)
{
    traffic t = { 0, 0 };
    for (size_t i = 0; i < sim_count(s); i++) {
        const sim_traffic *n = sim_node_traffic(s, (int)i);
        t.msgs += n->msgs_sent;
        t.bytes += n->bytes_sent;
    }
    return t;
}

/* msgs and bytes sent since `since`, per node per virtual second */
static void load(const sim *s, traffic since, swim_time from, size_t nodes, double *msgs, double *bytes)
{
    traffic now = total_traffic(s);
    double secs = (double)(sim_now(s) - from) / 1000.0;
    double per = secs > 0 && nodes ? 1.0 / (secs * (double)nodes) : 0;
    *msgs = (double)(now.msgs - since.msgs) * per;
    *bytes = (double)(now.bytes - since.bytes) * per;
}

/* The earliest first suspicion of a faulted node (or, for a partition, of
 * a node across it) that any node holds now; SWIM_NEVER if none. */
static swim_time poll_suspicion(run *x)
{
    swim_time first = SWIM_NEVER;
    size_t n = x->o->nodes;
    for (size_t o = 0; o < n; o++) {
        const swim *core = sim_core(x->s, (int)o);
        if (!core)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (!cli_sim_watch_expected(&x->w, (int)o, (int)k))
                continue;
            char name[32];
            swim_member m;
            snprintf(name, sizeof name, "n%zu", k);
            if (swim_member_get(core, name, &m) && m.state == SWIM_SUSPECT && m.state_change < first)
                first = m.state_change;
        }
    }
    return first;
}

/* ---- the phases ---- */

static int join_phase(run *x)
{
    const cli_sim_opts *o = x->o;
    cli_sim_result *r = x->r;
    int *seeds = malloc(o->seeds * sizeof *seeds);
    if (!seeds)
        return -1;
    for (size_t i = 0; i < o->seeds; i++)
        seeds[i] = (int)i;
    for (size_t i = 1; i < o->nodes; i++) {
        advance(x, (swim_time)(JOIN_SPREAD_MS * (uint64_t)i / o->nodes), never);
        sim_join(x->s, (int)i, seeds, i < o->seeds ? i : o->seeds);
    }
    free(seeds);
    const swim_config *c = swim_get_config(sim_core(x->s, 0));
    r->converge_limit_ms = CONVERGE_PUSH_PULL_ROUNDS * push_pull_ms(c, o->nodes) + CONVERGE_SLACK_MS;
    advance(x, r->converge_limit_ms, all_list_all);
    r->converge_ms = all_list_all(x) ? x->w.full_at : CLI_SIM_NONE_MS;
    uint64_t entries;
    uint64_t bytes = sim_member_bytes(x->s, &entries);
    r->bytes_per_member = entries ? (double)bytes / (double)entries : 0;
    traffic zero = { 0, 0 };
    load(x->s, zero, 0, o->nodes, &r->join_msgs_per_node_s, &r->join_bytes_per_node_s);
    double secs = (double)sim_now(x->s) / 1000.0;
    for (size_t i = 0; i < o->nodes; i++) {
        double m = (double)sim_node_traffic(x->s, (int)i)->msgs_sent / secs;
        if (m > r->busiest_msgs_s) {
            r->busiest_msgs_s = m;
            r->busiest_node = (int)i;
        }
    }
    return 0;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The first k of a shuffle of 1..n-1 (node 0 stays: the first seed). */
static int pick_faulted(run *x, size_t k)
{
    size_t n = x->o->nodes;
    int *v = malloc((n - 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n - 1; i++)
        v[i] = (int)i + 1;
    uint64_t st = x->o->seed ^ 0x5eed5eed5eed5eedULL;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)(splitmix(&st) % (n - 1 - i));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    x->faulted = v;
    return 0;
}

static void fault_phase(run *x, swim_time start)
{
    const cli_sim_opts *o = x->o;
    cli_sim_result *r = x->r;
    size_t k = r->faulted;
    for (size_t i = 0; i < k; i++) {
        int f = x->faulted[i];
        if (o->fault == CLI_SIM_KILL)
            sim_kill(x->s, f);
        else if (o->fault == CLI_SIM_PAUSE)
            sim_pause(x->s, f);
        else if (o->fault == CLI_SIM_SLOW)
            sim_set_slow(x->s, f, o->slow_delay_ms / 2, o->slow_delay_ms);
        else
            sim_set_group(x->s, f, 1);
    }
    swim_time end = start + (o->heal_ms ? o->heal_ms : r->duration_ms);
    /* with -heal the fault lasts that long, detected or not; a slow node
     * is alive, its "detection" a false positive: it lasts its time */
    until_fn until = o->heal_ms || o->fault == CLI_SIM_SLOW ? never : all_declared;
    while (!until(x) && sim_now(x->s) < end) {
        if (r->suspect_first_ms == CLI_SIM_NONE_MS) {
            swim_time t = poll_suspicion(x);
            if (t != SWIM_NEVER)
                r->suspect_first_ms = t - start;
        }
        advance_poll(x, end, until);
    }
    if (x->w.first_dead != SWIM_NEVER)
        r->detect_first_ms = x->w.first_dead - start;
    if (x->w.all_dead != SWIM_NEVER)
        r->detect_all_ms = x->w.all_dead - start;
}

static void recover_phase(run *x, swim_time start)
{
    const cli_sim_opts *o = x->o;
    cli_sim_result *r = x->r;
    swim_time heal = sim_now(x->s);
    r->heal_ms = heal - start;
    for (size_t i = 0; i < r->faulted; i++) {
        if (o->fault == CLI_SIM_PAUSE)
            sim_resume(x->s, x->faulted[i]);
        else if (o->fault == CLI_SIM_SLOW)
            sim_set_slow(x->s, x->faulted[i], 0, 0);
        else
            sim_set_group(x->s, x->faulted[i], 0);
    }
    swim_time end = heal + r->duration_ms;
    advance(x, end, all_list_all);
    /* healed before anyone was declared dead: nothing to recover */
    if (all_list_all(x))
        r->recover_ms = x->w.full_at > heal ? x->w.full_at - heal : 0;
}

int cli_sim_run(const cli_sim_opts *o, cli_sim_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->converge_ms = r->suspect_first_ms = r->detect_first_ms = r->detect_all_ms = CLI_SIM_NONE_MS;
    r->heal_ms = r->recover_ms = r->settle_ms = CLI_SIM_NONE_MS;
    r->busiest_node = -1;
    run x = { .o = o, .r = r };
    double t0 = wall();
    int rc = -1;
    if (build(&x, err, errlen) < 0)
        goto out;
    double t1 = wall();
    r->wall_build_s = t1 - t0;
    if (join_phase(&x) < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (o->settle_ms)
        settle_phase(&x);
    double t2 = wall();
    r->wall_join_s = t2 - t1;
    const swim_config *c = swim_get_config(sim_core(x.s, 0));
    r->suspicion_max_ms = cli_sim_suspicion_max_ms(c, o->nodes);
    r->duration_ms = o->duration_ms ? o->duration_ms : r->suspicion_max_ms + DURATION_SLACK_MS;
    r->faulted = o->fault == CLI_SIM_NONE ? 0 : o->faulted;
    swim_time start = sim_now(x.s);
    traffic before = total_traffic(x.s);
    if (r->faulted) {
        if (pick_faulted(&x, r->faulted) < 0 ||
            cli_sim_watch_fault(&x.w, x.faulted, r->faulted, o->fault == CLI_SIM_PARTITION) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        if (o->fault == CLI_SIM_SLOW)
            cli_sim_watch_episodes(&x.w);
        fault_phase(&x, start);
        if (o->fault != CLI_SIM_KILL)
            recover_phase(&x, start);
    } else {
        /* no fault: the converged cluster's own load */
        advance(&x, start + r->duration_ms, never);
    }
    r->false_dead = x.w.false_dead;
    r->slow_declared = x.w.nepisodes;
    size_t up = o->nodes - (o->fault == CLI_SIM_KILL ? r->faulted : 0);
    load(x.s, before, start, up, &r->msgs_per_node_s, &r->bytes_per_node_s);
    r->end_ms = sim_now(x.s);
    r->steps = sim_get_stats(x.s)->steps;
    r->digest = sim_hash(x.s);
    r->timing = *sim_get_timing(x.s);
    r->wall_fault_s = wall() - t2;
    rc = 0;
out:
    /* with opts.exiting, the process's exit returns it at once */
    r->left_to_exit = o->exiting && rc == 0;
    if (!r->left_to_exit) {
        if (x.ms)
            mlua_sim_free(x.ms);
        else
            sim_free(x.s);
    }
    cli_sim_watch_free(&x.w);
    free(x.faulted);
    r->wall_s = wall() - t0;
    return rc;
}
