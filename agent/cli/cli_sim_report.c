/* cli_sim_report: `moonlist sim`'s result as a table or one JSON object,
 * and -profile-time's breakdown of the wall time. Virtual times are in
 * seconds with millisecond precision; what a run did not reach (no
 * convergence, no detection) is "-" in the table and null in JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>

#include "cli/cli_sim.h"

static const char *fault_name(cli_sim_fault f)
{
    static const char *const names[] = { "none", "kill", "pause", "partition", "slow" };
    return names[f];
}

/* Append printf-style text; the first error sticks in *rc. */
static void out(wire_buf *b, int *rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void out(wire_buf *b, int *rc, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (*rc == 0 && (n < 0 || (size_t)n >= sizeof line || wire_buf_append(b, line, (size_t)n) != 0))
        *rc = -1;
}

/* ms as seconds, or the `none` spelling */
static const char *secs(char *buf, size_t len, uint64_t ms, const char *none)
{
    if (ms == CLI_SIM_NONE_MS)
        snprintf(buf, len, "%s", none);
    else
        snprintf(buf, len, "%llu.%03llu", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
    return buf;
}

static int json(const cli_sim_opts *o, const cli_sim_result *r, wire_buf *b)
{
    int rc = 0;
    char t[10][32];
    out(b, &rc,
        "{\"nodes\":%zu,\"seed\":%llu,\"profile\":\"%s\",\"loss\":%g,\"seeds\":%zu,\"fault\":\"%s\",\"faulted\":%zu,"
        "\"slow_delay_s\":%s,\"config\":%s,",
        o->nodes, (unsigned long long)o->seed, o->profile, o->loss, o->seeds, fault_name(o->fault), r->faulted,
        secs(t[8], 32, o->fault == CLI_SIM_SLOW ? o->slow_delay_ms : CLI_SIM_NONE_MS, "null"),
        o->config ? "true" : "false");
    out(b, &rc,
        "\"converge_s\":%s,\"converge_limit_s\":%s,\"settle_s\":%s,\"settled\":%s,\"suspect_first_s\":%s,\"detect_first_s\":%s,"
        "\"detect_all_s\":%s,\"suspicion_max_s\":%s,\"heal_s\":%s,\"recover_s\":%s,\"false_dead\":%llu,\"slow_declared\":%llu,",
        secs(t[0], 32, r->converge_ms, "null"), secs(t[1], 32, r->converge_limit_ms, "null"),
        secs(t[9], 32, r->settle_ms, "null"), r->settle_ms == CLI_SIM_NONE_MS ? "null" : r->settled ? "true" : "false",
        secs(t[2], 32, r->suspect_first_ms, "null"), secs(t[3], 32, r->detect_first_ms, "null"),
        secs(t[4], 32, r->detect_all_ms, "null"), secs(t[5], 32, r->suspicion_max_ms, "null"),
        secs(t[6], 32, r->heal_ms, "null"), secs(t[7], 32, r->recover_ms, "null"),
        (unsigned long long)r->false_dead, (unsigned long long)r->slow_declared);
    out(b, &rc,
        "\"msgs_per_node_s\":%.3f,\"bytes_per_node_s\":%.1f,\"join_msgs_per_node_s\":%.3f,"
        "\"join_bytes_per_node_s\":%.1f,\"busiest_node\":%d,\"busiest_msgs_s\":%.3f,\"bytes_per_member\":%.1f,",
        r->msgs_per_node_s, r->bytes_per_node_s, r->join_msgs_per_node_s, r->join_bytes_per_node_s,
        r->busiest_node, r->busiest_msgs_s, r->bytes_per_member);
    out(b, &rc, "\"virtual_s\":%s,\"steps\":%llu,\"digest\":\"%016llx\",\"wall_s\":%.3f}\n",
        secs(t[0], 32, r->end_ms, "null"), (unsigned long long)r->steps, (unsigned long long)r->digest, r->wall_s);
    return rc;
}

static int text(const cli_sim_opts *o, const cli_sim_result *r, wire_buf *b)
{
    int rc = 0;
    char t[32], u[32];
    out(b, &rc, "%zu nodes, profile %s, seed %llu, loss %g, %zu join seed%s%s; %s %zu\n\n", o->nodes, o->profile,
        (unsigned long long)o->seed, o->loss, o->seeds, o->seeds == 1 ? "" : "s",
        o->config ? ", config script on every node" : "", fault_name(o->fault), r->faulted);
    out(b, &rc, "%-40s %12s s  (virtual; the limit %s s)\n", "converged: all list all alive",
        secs(t, 32, r->converge_ms, "-"), secs(u, 32, r->converge_limit_ms, "-"));
    if (r->settle_ms != CLI_SIM_NONE_MS)
        out(b, &rc, "%-40s %12s s  after convergence (%s)\n", "settled: no membership news queued",
            secs(t, 32, r->settle_ms, "-"), r->settled ? "drained" : "the -settle limit; not drained");
    if (r->faulted) {
        out(b, &rc, "%-40s %12s s  after the %s\n", "first suspicion", secs(t, 32, r->suspect_first_ms, "-"),
            fault_name(o->fault));
        out(b, &rc, "%-40s %12s s\n", "first declared dead", secs(t, 32, r->detect_first_ms, "-"));
        out(b, &rc, "%-40s %12s s  (longest suspicion %s s)\n", "declared dead by all", secs(t, 32, r->detect_all_ms, "-"),
            secs(u, 32, r->suspicion_max_ms, "-"));
        if (o->fault != CLI_SIM_KILL) {
            out(b, &rc, "%-40s %12s s  after the %s\n",
                o->fault == CLI_SIM_PAUSE ? "resumed" : o->fault == CLI_SIM_SLOW ? "fast again" : "healed",
                secs(t, 32, r->heal_ms, "-"), fault_name(o->fault));
            out(b, &rc, "%-40s %12s s  after that\n", "all list all alive again", secs(t, 32, r->recover_ms, "-"));
        }
    }
    out(b, &rc, "%-40s %12llu\n", "healthy nodes declared dead (false)", (unsigned long long)r->false_dead);
    if (o->fault == CLI_SIM_SLOW)
        out(b, &rc, "%-40s %12llu  (once per node and incarnation; delay %s s + up to %s s)\n",
            "slow nodes declared dead (false)", (unsigned long long)r->slow_declared,
            secs(t, 32, o->slow_delay_ms / 2, "-"), secs(u, 32, o->slow_delay_ms, "-"));
    out(b, &rc, "%-40s %12.1f msgs %10.0f bytes  per node per s (busiest: n%d, %.1f msgs/s)\n", "load, join phase",
        r->join_msgs_per_node_s, r->join_bytes_per_node_s, r->busiest_node, r->busiest_msgs_s);
    out(b, &rc, "%-40s %12.1f msgs %10.0f bytes  per node per s\n", "load, after convergence", r->msgs_per_node_s,
        r->bytes_per_node_s);
    out(b, &rc, "%-40s %12.1f bytes (member table, at convergence)\n", "memory per member entry", r->bytes_per_member);
    out(b, &rc, "%-40s %12s s virtual, %llu steps, digest %016llx, %.2f s wall\n", "run",
        secs(t, 32, r->end_ms, "-"), (unsigned long long)r->steps, (unsigned long long)r->digest, r->wall_s);
    return rc;
}

int cli_sim_format(const cli_sim_opts *o, const cli_sim_result *r, wire_buf *b)
{
    return o->json ? json(o, r, b) : text(o, r, b);
}

int cli_sim_format_timing(const cli_sim_result *r, wire_buf *b)
{
    static const char *const what[SIM_WORK_KINDS] = { "cores: ticks (probe, gossip, timers)",
                                                       "cores: packets received", "cores: streams" };
    int rc = 0;
    double in_cores = 0;
    out(b, &rc, "wall time: %.2f s\n", r->wall_s);
    out(b, &rc, "  %-38s %8.2f s\n", "build (cores, scripts)", r->wall_build_s);
    out(b, &rc, "  %-38s %8.2f s\n", "join and convergence", r->wall_join_s);
    out(b, &rc, "  %-38s %8.2f s\n", "fault and recovery", r->wall_fault_s);
    out(b, &rc, "  %-38s %8.2f s%s\n", "freeing", r->wall_s - r->wall_build_s - r->wall_join_s - r->wall_fault_s,
        r->left_to_exit ? "  (left to the process's exit)" : "");
    for (int k = 0; k < SIM_WORK_KINDS; k++) {
        double s = (double)r->timing.ns[k] / 1e9;
        in_cores += s;
        out(b, &rc, "  %-38s %8.2f s  %12llu calls  %6.2f us each\n", what[k], s,
            (unsigned long long)r->timing.calls[k], r->timing.calls[k] ? s * 1e6 / (double)r->timing.calls[k] : 0);
    }
    out(b, &rc, "  %-38s %8.2f s  (heap, copies, the run's checks)\n", "simulator and driver",
        r->wall_join_s + r->wall_fault_s - in_cores);
    /* The parts above are wall time; the kernel's share of it is mostly
     * zeroing memory the run touches for the first time (page faults),
     * which on a VM can be a third of a large run (docs/sim-speed.md,
     * "Eighth pass"): its size says whether memory or CPU is the lever. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        out(b, &rc, "  %-38s %8.2f s\n", "CPU, user",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
        out(b, &rc, "  %-38s %8.2f s  (%ld page faults)\n", "CPU, kernel",
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_minflt + ru.ru_majflt);
    }
    return rc;
}
