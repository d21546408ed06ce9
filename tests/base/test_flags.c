/* Flag parsing: serf-like forms, repeatable flags, errors. */
#include "check.h"
#include "base/base_flags.h"

static const base_flag_spec specs[] = {
    { "node", BASE_FLAG_STRING, "NAME", "node name" },
    { "join", BASE_FLAG_LIST, "ADDR", "join address" },
    { "tag", BASE_FLAG_LIST, "K=V", "tag" },
    { "verbose", BASE_FLAG_BOOL, NULL, "verbose" },
};
#define NSPECS (sizeof specs / sizeof specs[0])

static int parse(base_args *a, char **argv, int argc, char *err)
{
    return base_args_parse(a, specs, NSPECS, argc, argv, err, 128);
}

int main(void)
{
    char err[128];
    base_args a;

    /* the three forms, plus --flag value */
    {
        char *argv[] = { "-node", "a", "-join=h1:1", "--join=h2", "--tag", "k=v", "pos1", "-verbose", "pos2" };
        REQUIRE(parse(&a, argv, 9, err) == 0);
        CHECK(strcmp(base_args_str(&a, "node", "x"), "a") == 0);
        const base_flag_value *j = base_args_get(&a, "join");
        REQUIRE(j && j->n == 2);
        CHECK(strcmp(j->list[0], "h1:1") == 0);
        CHECK(strcmp(j->list[1], "h2") == 0);
        CHECK_EQ_INT(base_args_get(&a, "tag")->n, 1);
        CHECK(base_args_bool(&a, "verbose"));
        CHECK_EQ_INT(a.npos, 2);
        CHECK(strcmp(a.pos[0], "pos1") == 0 && strcmp(a.pos[1], "pos2") == 0);
        base_args_free(&a);
    }
    /* defaults; value containing '='; "--" ends flags */
    {
        char *argv[] = { "-tag=role=web=x", "--", "-node" };
        REQUIRE(parse(&a, argv, 3, err) == 0);
        CHECK(strcmp(base_args_str(&a, "node", "dflt"), "dflt") == 0);
        CHECK(strcmp(base_args_get(&a, "tag")->list[0], "role=web=x") == 0);
        CHECK(!base_args_bool(&a, "verbose"));
        CHECK_EQ_INT(a.npos, 1);
        CHECK(strcmp(a.pos[0], "-node") == 0);
        base_args_free(&a);
    }
    /* -verbose=false */
    {
        char *argv[] = { "-verbose=false" };
        REQUIRE(parse(&a, argv, 1, err) == 0);
        CHECK(!base_args_bool(&a, "verbose"));
        base_args_free(&a);
    }
    /* errors */
    {
        char *unknown[] = { "-nope", "x" };
        CHECK(parse(&a, unknown, 2, err) == -1);
        CHECK(strstr(err, "nope") != NULL);
        char *missing[] = { "-node" };
        CHECK(parse(&a, missing, 1, err) == -1);
        char *twice[] = { "-node", "a", "-node=b" };
        CHECK(parse(&a, twice, 3, err) == -1);
        char *badbool[] = { "-verbose=maybe" };
        CHECK(parse(&a, badbool, 1, err) == -1);
        char *triple[] = { "---node=a" };
        CHECK(parse(&a, triple, 1, err) == -1);
        char *empty[] = { "-=a" };
        CHECK(parse(&a, empty, 1, err) == -1);
    }
    /* help */
    {
        char *h1[] = { "-node", "x", "-h" };
        CHECK(base_wants_help(3, h1));
        char *h2[] = { "--help" };
        CHECK(base_wants_help(1, h2));
        char *h3[] = { "--", "-h" };
        CHECK(!base_wants_help(2, h3));
        char *h4[] = { "-node", "h" };
        CHECK(!base_wants_help(2, h4));
    }
    /* durations and integers */
    {
        unsigned ms;
        CHECK(base_parse_duration_ms("1500", &ms) == 0 && ms == 1500);
        CHECK(base_parse_duration_ms("200ms", &ms) == 0 && ms == 200);
        CHECK(base_parse_duration_ms("1.5s", &ms) == 0 && ms == 1500);
        CHECK(base_parse_duration_ms("2m", &ms) == 0 && ms == 120000);
        CHECK(base_parse_duration_ms("-1s", &ms) == -1);
        CHECK(base_parse_duration_ms("1h", &ms) == -1);
        CHECK(base_parse_duration_ms("", &ms) == -1);
        CHECK(base_parse_duration_ms("nan", &ms) == -1);
        unsigned long v;
        CHECK(base_parse_uint("7946", 1, 65535, &v) == 0 && v == 7946);
        CHECK(base_parse_uint("65536", 1, 65535, &v) == -1);
        CHECK(base_parse_uint("12x", 1, 65535, &v) == -1);
        CHECK(base_parse_uint("-1", 0, 65535, &v) == -1);
    }
    return check_done("test_flags");
}
