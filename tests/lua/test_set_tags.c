/* agent.set_tags merges into the tags the node has (serf's `tags -set`),
 * false deletes a key (`-delete`), at load as later: run against a real
 * core on the simulator, whose meta is read back after each step. */
#include "check.h"
#include "lua/mlua_sim.h"
#include "serf/serf_tags.h"

/* n0's tags as "k=v,k=v" in meta order. */
static void tags_of(mlua_sim *ms, char *out, size_t len)
{
    const swim_config *c = swim_get_config(mlua_sim_core(ms, 0));
    serf_tags t = { 0 };
    int rc = serf_tags_decode(&t, c->meta, c->meta_len);
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; rc == 0 && i < t.n && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s=%s", i ? "," : "", t.v[i].key, t.v[i].value);
    serf_tags_free(&t);
}

static void test_merge_and_delete(void)
{
    static const char script[] =
        "local agent = require 'moonlist'\n"
        "agent.config { tags = { role = 'web', dc = 'eu' } }\n"
        "agent.set_tags { at_load = 'yes' }\n"
        "agent.after(1, function() agent.set_tags { role = false, zone = 'b' } end)\n"
        "agent.after(2, function() agent.set_tags { zone = false, n = 3, missing = false } end)\n"
        /* each over half the meta: the second cannot be merged */
        "agent.after(3, function() agent.set_tags { big = string.rep('x', 300) } end)\n"
        "agent.after(4, function() agent.set_tags { huge = string.rep('y', 300) } end)\n";
    mlua_sim_node_spec nodes[1] = { { .name = "n0", .code = script } };
    mlua_sim_options o = { .seed = 1, .nodes = nodes, .count = 1 };
    mlua_sim *ms;
    char err[512];
    REQUIRE(mlua_sim_new(&o, &ms, err, sizeof err) == 0);
    char tags[1024];
    mlua_sim_run_until(ms, 500);
    tags_of(ms, tags, sizeof tags);
    CHECKF(strcmp(tags, "dc=eu,role=web,at_load=yes") == 0, "at load: %s", tags);
    mlua_sim_run_until(ms, 1500);
    tags_of(ms, tags, sizeof tags);
    CHECKF(strcmp(tags, "dc=eu,at_load=yes,zone=b") == 0, "after the first call: %s", tags);
    mlua_sim_run_until(ms, 2500);
    tags_of(ms, tags, sizeof tags);
    CHECKF(strcmp(tags, "dc=eu,at_load=yes,n=3") == 0, "after the second call: %s", tags);
    mlua_sim_run_until(ms, 4500);
    tags_of(ms, tags, sizeof tags);
    CHECKF(strncmp(tags, "dc=eu,at_load=yes,n=3,big=xxx", 29) == 0 && !strstr(tags, "huge"), "%s", tags);
    size_t loglen;
    const char *log = mlua_sim_log(ms, 0, &loglen);
    CHECKF(strstr(log, "agent.set_tags: ") && strstr(log, "tags unchanged"), "%s", log);
    mlua_sim_free(ms);
}

int main(void)
{
    test_merge_and_delete();
    return check_done("test_set_tags");
}
