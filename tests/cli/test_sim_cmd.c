/* `moonlist sim` as built: the JSON of a small run has every key, detects
 * the kill within memberlist's bound (docs/protocol.md §10.4), declares no
 * healthy node dead at 0 loss, and is the same twice for the same seed but
 * for the wall time; a config script on every node runs; slow nodes are
 * slow for as long as asked and then fast; bad flags exit 2. */
#include <math.h>
#include <stdarg.h>

#include "check.h"
#include "cli/cli_sim.h"

/* argv from `first` and the NULL-ended rest; returns argc */
static int args(char **argv, int max, const char *first, va_list ap)
{
    int argc = 0;
    for (const char *a = first; a && argc < max - 1; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return argc;
}

/* The JSON of `moonlist sim` with these flags (NULL-ended), as a
 * malloc'd string; the test stops if the run fails. */
static char *run_json(const char *first, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, first);
    int argc = args(argv, 32, first, ap);
    va_end(ap);
    cli_sim_opts o;
    REQUIRE(cli_sim_parse(&o, argc, argv) == -1);
    cli_sim_result r;
    char err[1024];
    int rc = cli_sim_run(&o, &r, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    REQUIRE(rc == 0);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(cli_sim_format(&o, &r, &b) == 0);
    char *s = strndup((const char *)b.data, b.len);
    wire_buf_free(&b);
    REQUIRE(s);
    return s;
}

/* The number after "key": in a flat JSON object; -1 for null, -2 when the
 * key is missing. */
static double num(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(json, k);
    if (!p)
        return -2;
    p += strlen(k);
    return strncmp(p, "null", 4) == 0 ? -1 : strtod(p, NULL);
}

/* Everything before "wall_s", the one key that may differ between runs. */
static size_t before_wall(const char *json)
{
    const char *p = strstr(json, "\"wall_s\"");
    return p ? (size_t)(p - json) : strlen(json);
}

/* cli_sim_main's exit code for these flags (NULL-ended) */
static int main_of(const char *first, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, first);
    int argc = args(argv, 32, first, ap);
    va_end(ap);
    return cli_sim_main(argc, argv);
}

int main(void)
{
    static const char *const keys[] = { "nodes", "seed", "profile", "loss", "converge_s", "suspect_first_s",
                                        "detect_first_s", "detect_all_s", "suspicion_max_s", "false_dead",
                                        "msgs_per_node_s", "bytes_per_node_s", "bytes_per_member", "heal_s",
                                        "recover_s", "virtual_s", "digest", "wall_s", "slow_declared",
                                        "slow_delay_s" };
    char *a = run_json("-nodes", "20", "-seed", "1", "-kill", "1", "-format", "json", NULL);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECKF(strstr(a, keys[i]) != NULL, "no key %s in %s", keys[i], a);
    CHECK(a[0] == '{' && a[strlen(a) - 2] == '}');
    CHECK_EQ_INT(num(a, "nodes"), 20);
    double conv = num(a, "converge_s"), susp = num(a, "suspect_first_s");
    double first = num(a, "detect_first_s"), all = num(a, "detect_all_s"), max = num(a, "suspicion_max_s");
    CHECKF(conv > 0 && conv < 30, "converge_s %g", conv);
    /* §10.4 for n = 20 on lan: min = 4 x log10(20) x 1 s = 5.204 s, max 6x */
    CHECKF(max == 31.224, "suspicion_max_s %g", max);
    /* some node probes the dead one within a few rounds (each round every
     * node probes one member: missed five times in a row by all 19 is
     * under 1%) */
    CHECKF(susp >= 0 && susp <= 5, "suspect_first_s %g", susp);
    /* a suspicion ends in dead by `max` at the latest; then the dead
     * message's gossip reaches the others in a few gossip rounds */
    CHECKF(first >= susp && first - susp <= max, "detect_first_s %g after suspicion at %g", first, susp);
    CHECKF(all >= first && all - susp <= max + 2, "detect_all_s %g", all);
    CHECK_EQ_INT(num(a, "false_dead"), 0);
    CHECK(num(a, "msgs_per_node_s") > 0 && num(a, "bytes_per_node_s") > 0);
    /* a record, a name, serf's empty tags and a few pointers */
    CHECKF(num(a, "bytes_per_member") > 64 && num(a, "bytes_per_member") < 512, "bytes_per_member %g",
           num(a, "bytes_per_member"));

    /* same seed, same run */
    char *b = run_json("-nodes", "20", "-seed", "1", "-kill", "1", "-format", "json", NULL);
    CHECKF(before_wall(a) == before_wall(b) && memcmp(a, b, before_wall(a)) == 0, "\n%s\n%s", a, b);
    /* another seed, another run */
    char *c = run_json("-nodes", "20", "-seed", "2", "-format", "json", NULL);
    CHECK(before_wall(a) != before_wall(c) || memcmp(a, c, before_wall(a)) != 0);

    /* the default script on every node: hooks and logs, same protocol */
    char *d = run_json("-nodes", "20", "-seed", "1", "-config", "../../scripts/agent.lua", "-format", "json", NULL);
    CHECK(strstr(d, "\"config\":true") != NULL);
    CHECK(num(d, "converge_s") == conv);
    /* Open question, written down in the issue: since a join's reply is
     * merged under our own Join flag (memberlist's pushPullNode), the
     * presence of the Lua host's delegates moves this seed's run by a few
     * milliseconds (6.344 s without a script, 6.339 s with; 3 % fewer
     * bytes). Until that is explained, the detection is held within one
     * gossip interval of the run without a script, not to the millisecond. */
    CHECKF(fabs(num(d, "detect_first_s") - first) <= 0.2, "detect_first_s %g vs %g", num(d, "detect_first_s"),
           first);
    CHECK_EQ_INT(num(d, "false_dead"), 0);

    /* a pause: detected, resumed, back in the list */
    char *e = run_json("-nodes", "12", "-pause", "1", "-format", "json", NULL);
    CHECK(num(e, "detect_all_s") > 0 && num(e, "heal_s") == num(e, "detect_all_s"));
    CHECK(num(e, "recover_s") >= 0);

    /* -settle: the fault waits for the join's gossip to drain; the run up
     * to convergence is the same, and without the flag there is no key */
    CHECK(strstr(a, "\"settle_s\":null") != NULL && strstr(a, "\"settled\":null") != NULL);
    char *h = run_json("-nodes", "20", "-seed", "1", "-settle", "600s", "-format", "json", NULL);
    CHECK(num(h, "converge_s") == conv);
    CHECK(strstr(h, "\"settled\":true") != NULL);
    CHECKF(num(h, "settle_s") > 0 && num(h, "settle_s") < 600, "settle_s %g", num(h, "settle_s"));
    CHECK(num(h, "detect_all_s") > 0);
    /* a limit shorter than the tail: the wait ends at it, not drained */
    char *k = run_json("-nodes", "20", "-seed", "1", "-settle", "1ms", "-format", "json", NULL);
    CHECK(strstr(k, "\"settled\":false") != NULL && num(k, "settle_s") == 0.001);
    /* a settled group's load is SWIM's constant: a ping and an ack a node
     * a period (probe interval 1 s on lan), push/pulls aside */
    char *l = run_json("-nodes", "20", "-seed", "1", "-kill", "0", "-settle", "600s", "-duration", "300s",
                       "-format", "json", NULL);
    CHECKF(num(l, "msgs_per_node_s") > 1.9 && num(l, "msgs_per_node_s") < 2.3, "msgs_per_node_s %g",
           num(l, "msgs_per_node_s"));
    CHECK_EQ_INT(main_of("-nodes", "20", "-settle", "0", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-settle", "later", NULL), 2);

    /* -slow: the flags as parsed */
    {
        char *argv[] = { "-nodes", "20", "-slow", "3", "-slow-delay", "2s", "-heal", "40s", NULL };
        cli_sim_opts o;
        REQUIRE(cli_sim_parse(&o, 8, argv) == -1);
        CHECK(o.fault == CLI_SIM_SLOW && o.faulted == 3 && o.slow_delay_ms == 2000 && o.heal_ms == 40000);
        char *argv2[] = { "-nodes", "20", "-slow", "2", NULL };
        REQUIRE(cli_sim_parse(&o, 4, argv2) == -1);
        CHECK(o.fault == CLI_SIM_SLOW && o.faulted == 2 && o.slow_delay_ms == 1000 && o.heal_ms == 0);
    }
    /* slow nodes are alive: the phase lasts -duration, not until a
     * detection; at a 3 s delay (1.5 to 4.5 s a delivery) past the whole
     * probe, the others suspect them, and they come back once fast. Same
     * seed, same run. */
    char *f = run_json("-nodes", "12", "-slow", "2", "-slow-delay", "3s", "-duration", "60s", "-format", "json", NULL);
    CHECK(strstr(f, "\"fault\":\"slow\"") != NULL);
    CHECK_EQ_INT(num(f, "faulted"), 2);
    CHECK(num(f, "slow_delay_s") == 3);
    CHECKF(num(f, "heal_s") == 60, "heal_s %g", num(f, "heal_s"));
    CHECKF(num(f, "suspect_first_s") >= 0 && num(f, "suspect_first_s") < 10, "suspect_first_s %g",
           num(f, "suspect_first_s"));
    CHECK(num(f, "slow_declared") >= 0 && num(f, "false_dead") >= 0);
    CHECKF(num(f, "recover_s") >= 0, "recover_s %g", num(f, "recover_s"));
    char *g = run_json("-nodes", "12", "-slow", "2", "-slow-delay", "3s", "-duration", "60s", "-format", "json", NULL);
    CHECKF(before_wall(f) == before_wall(g) && memcmp(f, g, before_wall(f)) == 0, "\n%s\n%s", f, g);
    /* other faults have no slow delay */
    CHECK(num(a, "slow_delay_s") == -1 && num(a, "slow_declared") == 0);

    /* bad usage: exit 2 (usage goes to stderr) */
    CHECK_EQ_INT(main_of("-nodes", "20", "-bogus", NULL), 2);
    CHECK_EQ_INT(main_of(NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "1", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-kill", "1", "-pause", "1", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "1", "-pause", "1", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "1", "-partition", "0.5", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "20", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "x", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow-delay", "1s", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-kill", "1", "-slow-delay", "1s", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "1", "-slow-delay", "0", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "1", "-slow-delay", "soon", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-slow", "1", "-slow-delay", "25h", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-kill", "20", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-loss", "1.5", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-partition", "0", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-profile", "moon", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-format", "xml", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "-heal", "5s", NULL), 2);
    CHECK_EQ_INT(main_of("-nodes", "20", "extra", NULL), 2);
    /* a script that does not load: exit 1 with its error */
    CHECK_EQ_INT(main_of("-nodes", "3", "-config", "no/such/script.lua", NULL), 1);

    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
    free(g);
    free(h);
    free(k);
    free(l);
    return check_done("test_sim_cmd");
}
