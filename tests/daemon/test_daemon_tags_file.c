/* serf's tags file: the JSON serf reads and writes (an object of strings),
 * read into serf meta, written from it as serf writes it, and the writer
 * on a loop (a temporary file renamed over, the latest change last). */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_tags_file.h"

static int parse(const char *text, serf_tags *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    return daemon_tags_json_parse(text, strlen(text), t, err, errlen);
}

static bool has(const serf_tags *t, const char *k, const char *v, size_t vlen)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, k) == 0)
            return t->v[i].vlen == vlen && memcmp(t->v[i].value, v, vlen) == 0;
    return false;
}

static void test_parse(void)
{
    char err[256];
    serf_tags t;
    /* what serf writes (json.MarshalIndent, HTML escaped) */
    REQUIRE(parse("{\n  \"dc\": \"eu\",\n  \"role\": \"\\u003cweb\\u003e\"\n}", &t, err, sizeof err) == 0);
    CHECK_EQ_INT(t.n, 2);
    CHECK(has(&t, "dc", "eu", 2) && has(&t, "role", "<web>", 5));
    serf_tags_free(&t);
    /* escapes, a surrogate pair, a lone half (U+FFFD), a key twice (the last) */
    REQUIRE(parse(" {\"a\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"e\":\"\\ud83d\\ude00\",\"h\":\"\\ud800z\",\"a\":\"y\"} ", &t,
                  err, sizeof err) == 0);
    CHECK_EQ_INT(t.n, 3);
    CHECK(has(&t, "a", "y", 1));
    CHECK(has(&t, "e", "\xf0\x9f\x98\x80", 4));
    CHECK(has(&t, "h", "\xef\xbf\xbdz", 4));
    serf_tags_free(&t);
    REQUIRE(parse("{\"a\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", &t, err, sizeof err) == 0);
    CHECK(has(&t, "a", "x\"\\/\b\f\n\r\t", 9));
    serf_tags_free(&t);
    /* empty, null: no tags */
    REQUIRE(parse("{}", &t, err, sizeof err) == 0 && t.n == 0);
    REQUIRE(parse("null\n", &t, err, sizeof err) == 0 && t.n == 0);
    /* errors say what and where */
    CHECK(parse("", &t, err, sizeof err) == -1 && strstr(err, "not a JSON object"));
    serf_tags_free(&t);
    CHECK(parse("[\"a\"]", &t, err, sizeof err) == -1 && strstr(err, "not a JSON object"));
    serf_tags_free(&t);
    CHECK(parse("{\"port\": 80}", &t, err, sizeof err) == -1 && strstr(err, "'port' is not a string"));
    serf_tags_free(&t);
    CHECK(parse("{\"a\":\"b\"", &t, err, sizeof err) == -1 && strstr(err, "at byte 8"));
    serf_tags_free(&t);
    CHECK(parse("{\"a\":\"b\"} x", &t, err, sizeof err) == -1 && strstr(err, "text after"));
    serf_tags_free(&t);
    CHECK(parse("{\"a\":\"b\nc\"}", &t, err, sizeof err) == -1 && strstr(err, "control character"));
    serf_tags_free(&t);
    CHECK(parse("{\"a\":\"\\x\"}", &t, err, sizeof err) == -1 && strstr(err, "bad escape"));
    serf_tags_free(&t);
    CHECK(parse("{\"a\" \"b\"}", &t, err, sizeof err) == -1 && strstr(err, "':'"));
    serf_tags_free(&t);
}

static void meta_of(const char *json, uint8_t *meta, size_t *len)
{
    serf_tags t;
    char err[256];
    REQUIRE(parse(json, &t, err, sizeof err) == 0);
    wire_buf b;
    wire_buf_init(&b, 0);
    REQUIRE(serf_tags_encode(&t, &b, err, sizeof err) == 0);
    memcpy(meta, b.data, b.len);
    *len = b.len;
    wire_buf_free(&b);
    serf_tags_free(&t);
}

static void test_write_text(void)
{
    uint8_t meta[512];
    size_t len;
    /* serf's layout: keys sorted, two spaces, no newline at the end */
    meta_of("{\"role\":\"web\",\"dc\":\"eu\",\"q\":\"a\\\"b\\\\c\\nd\\u0001\"}", meta, &len);
    char *text = daemon_tags_json_from_meta(meta, len);
    REQUIRE(text);
    CHECKF(strcmp(text, "{\n  \"dc\": \"eu\",\n  \"q\": \"a\\\"b\\\\c\\nd\\u0001\",\n  \"role\": \"web\"\n}") == 0, "%s",
           text);
    /* and it reads back the same */
    serf_tags t;
    char err[256];
    REQUIRE(parse(text, &t, err, sizeof err) == 0);
    CHECK(t.n == 3 && has(&t, "q", "a\"b\\c\nd\x01", 8));
    serf_tags_free(&t);
    free(text);
    /* no tags: "{}" */
    meta_of("{}", meta, &len);
    text = daemon_tags_json_from_meta(meta, len);
    CHECK(text && strcmp(text, "{}") == 0);
    free(text);
    text = daemon_tags_json_from_meta(NULL, 0);
    CHECK(text && strcmp(text, "{}") == 0);
    free(text);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
}

static void test_read_and_write(void)
{
    char dir[] = "/tmp/moonlist-tags-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/tags.json", dir);
    uint8_t meta[512];
    size_t len = 99, n = 99;

    /* missing: no tags, nothing set */
    CHECK(daemon_tags_file_read(path, meta, &len, &n, err, sizeof err) == 0 && len == 99);
    write_file(path, "{\"role\": \"db\"}\n");
    CHECK(daemon_tags_file_read(path, meta, &len, &n, err, sizeof err) == 1 && n == 1);
    CHECK_MEM(meta, len, "\xff\x81\xa4role\xa2" "db", 10);
    write_file(path, "{\"role\": 1}");
    CHECK(daemon_tags_file_read(path, meta, &len, &n, err, sizeof err) == -1 && strstr(err, path) &&
          strstr(err, "'role'"));
    /* over 512 bytes of meta */
    char big[700];
    snprintf(big, sizeof big, "{\"k\": \"%0600d\"}", 0);
    write_file(path, big);
    CHECK(daemon_tags_file_read(path, meta, &len, &n, err, sizeof err) == -1 && strstr(err, "512"));
    CHECK(daemon_tags_file_read(dir, meta, &len, &n, err, sizeof err) == -1);   /* a directory */

    /* the writer: two changes while the first is written; the file ends
     * with the last one, mode 0600, no temporary file left */
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    daemon_tags_file w;
    daemon_tags_file_init(&w, &loop, path);
    meta_of("{\"v\":\"1\"}", meta, &len);
    daemon_tags_file_changed(&w, meta, len);
    meta_of("{\"v\":\"2\"}", meta, &len);
    daemon_tags_file_changed(&w, meta, len);
    meta_of("{\"v\":\"3\",\"role\":\"x\"}", meta, &len);
    daemon_tags_file_changed(&w, meta, len);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(!w.busy && !w.next);
    uint8_t back[512];
    size_t blen;
    CHECK(daemon_tags_file_read(path, back, &blen, &n, err, sizeof err) == 1 && n == 2);
    CHECK_MEM(back, blen, "\xff\x82\xa4role\xa1x\xa1v\xa1" "3", 13);   /* the file's order: sorted */
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    /* a directory that is not there: logged, nothing else */
    daemon_tags_file bad;
    daemon_tags_file_init(&bad, &loop, "/nonexistent/dir/tags.json");
    daemon_tags_file_changed(&bad, meta, len);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(!bad.busy);
    /* no path: nothing */
    daemon_tags_file none;
    daemon_tags_file_init(&none, &loop, "");
    daemon_tags_file_changed(&none, meta, len);
    CHECK(!none.busy);
    daemon_tags_file_free(&w);
    daemon_tags_file_free(&bad);
    daemon_tags_file_free(&none);
    CHECK(uv_loop_close(&loop) == 0);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_parse();
    test_write_text();
    test_read_and_write();
    return check_done("test_daemon_tags_file");
}
