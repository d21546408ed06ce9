/* `moonlist sim`: its flags and its main (cli_sim.h says what it runs). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_flags.h"
#include "cli/cli_sim.h"
#include "swim/swim.h"

/* What a run is when no fault is named: the target the simulator is
 * sized for, convergence and then one failure. */
#define CLI_SIM_DEFAULT_KILL 1
/* More nodes than one process holds: each core's member table is
 * O(nodes), so the whole run is O(nodes^2) in memory (about 20 GB at
 * 100,000). */
#define CLI_SIM_MAX_NODES 100000
/* -slow-delay's default: each delivery to a slow node waits 0.5 to 1.5 s,
 * past lan's 500 ms probe timeout and, at its upper half, past the 1 s
 * probe interval: what a CPU-starved agent shows (tests/e2e's
 * fault_starve), and where Lifeguard's local health has work to do. */
#define CLI_SIM_DEFAULT_SLOW_DELAY_MS 1000

static const base_flag_spec flags[] = {
    { "nodes", BASE_FLAG_STRING, "N", "nodes in the cluster (required, 2 or more)" },
    { "seed", BASE_FLAG_STRING, "S", "the run's seed: same seed, same result (default 1)" },
    { "profile", BASE_FLAG_STRING, "NAME", "protocol defaults: lan, wan or local (default lan)" },
    { "loss", BASE_FLAG_STRING, "P", "packet loss on every link, 0 to 0.99 (default 0)" },
    { "seeds", BASE_FLAG_STRING, "K", "nodes 0..K-1 are the join seeds; every other node joins through all K, "
                                      "as an agent given -join K times (default 1)" },
    { "kill", BASE_FLAG_STRING, "K", "after convergence, crash K nodes (the default, with K = 1)" },
    { "pause", BASE_FLAG_STRING, "K", "after convergence, pause K nodes; they resume at -heal" },
    { "partition", BASE_FLAG_STRING, "F", "after convergence, cut a fraction F of the nodes off; it heals at -heal" },
    { "slow", BASE_FLAG_STRING, "K", "after convergence, make K nodes slow: everything delivered to them waits "
                                     "-slow-delay/2 plus up to -slow-delay more, as a CPU-starved process reads "
                                     "its socket late; until -heal or -duration (nothing is dead: detection does "
                                     "not end it). Reports how often a slow node was declared dead" },
    { "slow-delay", BASE_FLAG_STRING, "D", "with -slow: D (default 1s), so each delivery to a slow node waits "
                                           "0.5 D to 1.5 D" },
    { "heal", BASE_FLAG_STRING, "D", "end a pause, slowness or partition D after it began (default: once every "
                                     "node has declared the cut-off dead, or at -duration). Members dead longer "
                                     "than gossip-to-the-dead-time (lan 30s) are forgotten: memberlist alone does "
                                     "not bring them back" },
    { "settle", BASE_FLAG_STRING, "D", "after convergence, wait until no node has membership news left to "
                                       "gossip (the join burst's tail), at most D, before the fault or the "
                                       "load window; the papers' figures measure a settled group (default: no "
                                       "wait)" },
    { "duration", BASE_FLAG_STRING, "D", "longest the run watches the failure, and then the recovery "
                                         "(default: the longest suspicion (§10.4) plus 30s)" },
    { "config", BASE_FLAG_STRING, "FILE", "run this config script on every node (agent.config knobs apply)" },
    { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
    { "profile-time", BASE_FLAG_BOOL, NULL, "print where the wall time goes on stderr" },
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moonlist sim -nodes N [flags]\n"
            "\n"
            "Run N cores of this agent in one process on virtual time and a virtual network: node 0\n"
            "starts, the others join in a burst over the first second, and once every node lists all\n"
            "N alive (convergence) the failure is applied: -kill (default 1 node), -pause, -slow or\n"
            "-partition. Reports convergence, detection (first suspicion, first and last node to\n"
            "declare the failed dead), healthy nodes declared dead (and slow ones, with -slow), load\n"
            "per node and memory per member. Faulted nodes are picked by the seed among nodes 1..N-1.\n"
            "\nflags:\n");
    base_flags_usage(flags, NFLAGS, f);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "moonlist sim: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return 2;
}

/* A number in [lo, hi): 0, or -1. */
static int parse_fraction(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v >= hi)
        return -1;
    *out = v;
    return 0;
}

/* -kill / -pause / -slow: K, which leaves at least node 0 standing. */
static int parse_count(const base_args *a, const char *name, size_t nodes, size_t *out)
{
    unsigned long v;
    const char *s = base_args_str(a, name, NULL);
    if (base_parse_uint(s, 0, nodes - 1, &v) < 0)
        return bad("-%s: '%s' is not a count from 0 to %zu (nodes - 1)", name, s, nodes - 1);
    *out = v;
    return -1;
}

static bool given(const base_args *a, const char *name)
{
    return base_args_get(a, name)->set;
}

int cli_sim_parse(cli_sim_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    if (base_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    base_args a;
    char err[256];
    if (base_args_parse(&a, flags, NFLAGS, argc, argv, err, sizeof err) < 0)
        return bad("%s", err);
    int rc = -1;
    unsigned long v;
    const char *s;
    if (a.npos) {
        rc = bad("unexpected argument '%s'", a.pos[0]);
        goto out;
    }
    s = base_args_str(&a, "nodes", NULL);
    if (!s || base_parse_uint(s, 2, CLI_SIM_MAX_NODES, &v) < 0) {
        rc = s ? bad("-nodes: '%s' is not a count from 2 to %d", s, CLI_SIM_MAX_NODES) : bad("-nodes is required");
        goto out;
    }
    o->nodes = v;
    s = base_args_str(&a, "seed", "1");
    unsigned long long seed;
    char *end;
    errno = 0;
    seed = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        rc = bad("-seed: '%s' is not an unsigned integer", s);
        goto out;
    }
    o->seed = seed;
    o->profile = base_args_str(&a, "profile", "lan");
    swim_config scratch;
    if (swim_config_profile(&scratch, o->profile) < 0) {
        rc = bad("-profile: '%s' is not lan, wan or local", o->profile);
        goto out;
    }
    s = base_args_str(&a, "loss", "0");
    if (parse_fraction(s, 0, 1, &o->loss) < 0 || o->loss > 0.99) {
        rc = bad("-loss: '%s' is not a fraction from 0 to 0.99", s);
        goto out;
    }
    s = base_args_str(&a, "seeds", "1");
    if (base_parse_uint(s, 1, o->nodes, &v) < 0) {
        rc = bad("-seeds: '%s' is not a count from 1 to %zu (nodes)", s, o->nodes);
        goto out;
    }
    o->seeds = v;
    int faults = given(&a, "kill") + given(&a, "pause") + given(&a, "partition") + given(&a, "slow");
    if (faults > 1) {
        rc = bad("-kill, -pause, -slow and -partition exclude each other");
        goto out;
    }
    o->fault = CLI_SIM_KILL;
    o->faulted = CLI_SIM_DEFAULT_KILL;
    if (given(&a, "kill") && (rc = parse_count(&a, "kill", o->nodes, &o->faulted)) >= 0)
        goto out;
    if (given(&a, "pause")) {
        o->fault = CLI_SIM_PAUSE;
        if ((rc = parse_count(&a, "pause", o->nodes, &o->faulted)) >= 0)
            goto out;
    }
    if (given(&a, "slow")) {
        o->fault = CLI_SIM_SLOW;
        if ((rc = parse_count(&a, "slow", o->nodes, &o->faulted)) >= 0)
            goto out;
    }
    s = base_args_str(&a, "slow-delay", NULL);
    unsigned ms;
    if (s && !given(&a, "slow")) {
        rc = bad("-slow-delay goes with -slow");
        goto out;
    }
    /* D/2 + [0, D] in ms: D up to a day keeps both far inside 32 bits */
    if (s && (base_parse_duration_ms(s, &ms) < 0 || ms == 0 || ms > 86400000)) {
        rc = bad("-slow-delay: '%s' is not a duration from 1ms to 24h (1500, 200ms, 2s)", s);
        goto out;
    }
    o->slow_delay_ms = s ? ms : CLI_SIM_DEFAULT_SLOW_DELAY_MS;
    if (given(&a, "partition")) {
        o->fault = CLI_SIM_PARTITION;
        s = base_args_str(&a, "partition", NULL);
        if (parse_fraction(s, 0, 1, &o->partition) < 0 || o->partition == 0) {
            rc = bad("-partition: '%s' is not a fraction between 0 and 1", s);
            goto out;
        }
        /* at least one node on each side */
        double k = floor(o->partition * (double)o->nodes);
        o->faulted = k < 1 ? 1 : k > (double)(o->nodes - 1) ? o->nodes - 1 : (size_t)k;
    }
    if (o->faulted == 0)
        o->fault = CLI_SIM_NONE;
    s = base_args_str(&a, "duration", NULL);
    if (s && (base_parse_duration_ms(s, &ms) < 0 || ms == 0)) {
        rc = bad("-duration: '%s' is not a duration (1500, 200ms, 30s, 2m)", s);
        goto out;
    }
    o->duration_ms = s ? ms : 0;
    s = base_args_str(&a, "settle", NULL);
    if (s && (base_parse_duration_ms(s, &ms) < 0 || ms == 0 || ms > 86400000)) {
        rc = bad("-settle: '%s' is not a duration from 1ms to 24h (1500, 200ms, 30s, 2m)", s);
        goto out;
    }
    o->settle_ms = s ? ms : 0;
    s = base_args_str(&a, "heal", NULL);
    if (s && (o->fault == CLI_SIM_KILL || o->fault == CLI_SIM_NONE)) {
        rc = bad("-heal goes with -pause, -slow or -partition");
        goto out;
    }
    if (s && (base_parse_duration_ms(s, &ms) < 0 || ms == 0)) {
        rc = bad("-heal: '%s' is not a duration (1500, 200ms, 30s, 2m)", s);
        goto out;
    }
    o->heal_ms = s ? ms : 0;
    o->config = base_args_str(&a, "config", NULL);
    s = base_args_str(&a, "format", "text");
    if (strcmp(s, "text") != 0 && strcmp(s, "json") != 0) {
        rc = bad("-format must be text or json");
        goto out;
    }
    o->json = strcmp(s, "json") == 0;
    o->profile_time = base_args_bool(&a, "profile-time");
out:
    /* o->profile and o->config point into argv, not into a */
    base_args_free(&a);
    return rc;
}

/* Under AddressSanitizer the exit checks for leaks: the simulator is
 * freed there, so that the check still sees the cores' own. */
#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED 1
#endif
#endif
#ifndef LEAK_CHECKED
#define LEAK_CHECKED 0
#endif

/* Write what a formatter (its return code rc) put in b, and free b. */
static int put(wire_buf *b, int rc, FILE *to)
{
    if (rc == 0 && fwrite(b->data ? (const void *)b->data : "", 1, b->len, to) != b->len)
        rc = -1;
    wire_buf_free(b);
    return rc;
}

int cli_sim_main(int argc, char **argv)
{
    cli_sim_opts o;
    int rc = cli_sim_parse(&o, argc, argv);
    if (rc >= 0)
        return rc;
    o.exiting = !LEAK_CHECKED;
    cli_sim_result r;
    char err[1024];
    if (cli_sim_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "moonlist sim: %s\n", err);
        return 1;
    }
    wire_buf b;
    wire_buf_init(&b, 0);
    if (put(&b, cli_sim_format(&o, &r, &b), stdout) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "moonlist sim: cannot write the report\n");
        return 1;
    }
    if (!o.profile_time)
        return 0;
    wire_buf_init(&b, 0);
    int frc = cli_sim_format_timing(&r, &b);
    if (frc == 0)
        frc = cli_sim_format_pages(&b);
    return put(&b, frc, stderr) < 0 ? 1 : 0;
}
