/* serf's keyring file: the JSON serf's agent reads at start and writes
 * after a key rotation (a list of base64 keys, the primary first), its
 * errors as serf words them, and a write read back. */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon_keyring_file.h"

/* three keys of 16, 24 and 32 bytes */
#define K16 "ZWxlcGhhbnRzIGFyZSBncg=="
#define K24 "dGhpcyBpcyBhIDI0IGJ5dGUga2V5IS4u"
#define K32 "T2l3U2VjcmV0S2V5MzJCeXRlc0xvbmdYWFhYWFhYWFg="

static int parse(const char *text, wire_keyring *kr, char *err, size_t errlen)
{
    return daemon_keyring_json_parse(text, strlen(text), kr, err, errlen);
}

static void test_parse(void)
{
    char err[256];
    wire_keyring kr;
    /* what serf writes (json.MarshalIndent), primary first */
    REQUIRE(parse("[\n  \"" K16 "\",\n  \"" K24 "\",\n  \"" K32 "\"\n]", &kr, err, sizeof err) == 0);
    CHECK_EQ_INT(kr.n, 3);
    CHECK_EQ_INT(kr.keys[0].len, 16);
    CHECK_EQ_INT(kr.keys[1].len, 24);
    CHECK_EQ_INT(kr.keys[2].len, 32);
    CHECK_MEM(kr.keys[0].bytes, 16, "elephants are gr", 16);
    /* one line, surrounding space */
    REQUIRE(parse(" [\"" K16 "\"] ", &kr, err, sizeof err) == 0);
    CHECK_EQ_INT(kr.n, 1);
    /* "\/" as a JSON writer may escape it: sixteen 0xff bytes */
    REQUIRE(parse("[\"\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/w==\"]", &kr, err, sizeof err) == 0);
    CHECK(kr.n == 1 && kr.keys[0].len == 16 && kr.keys[0].bytes[0] == 0xff && kr.keys[0].bytes[15] == 0xff);
    /* a key given twice is one key */
    REQUIRE(parse("[\"" K16 "\", \"" K16 "\"]", &kr, err, sizeof err) == 0);
    CHECK_EQ_INT(kr.n, 1);
    /* serf's errors */
    CHECK(parse("[]", &kr, err, sizeof err) < 0 && strcmp(err, "Keyring file contains no keys") == 0);
    CHECK(parse("null", &kr, err, sizeof err) < 0 && strcmp(err, "Keyring file contains no keys") == 0);
    CHECK(parse("{}", &kr, err, sizeof err) < 0 && strstr(err, "Failed to decode keyring file"));
    CHECK(parse("[\"" K16 "\"", &kr, err, sizeof err) < 0 && strstr(err, "Failed to decode keyring file"));
    CHECK(parse("[\"" K16 "\"] x", &kr, err, sizeof err) < 0 && strstr(err, "text after"));
    CHECK(parse("[\"not base64!\"]", &kr, err, sizeof err) < 0 && strstr(err, "Failed to decode key from keyring"));
    CHECK(parse("[\"YWJj\"]", &kr, err, sizeof err) < 0 && strstr(err, "Failed to decode key from keyring"));
    CHECK(parse("[\"" K16 "\\n\"]", &kr, err, sizeof err) < 0 && strstr(err, "Failed to decode key from keyring"));
    CHECK(parse("[12]", &kr, err, sizeof err) < 0 && strstr(err, "a string was expected"));
    CHECK(parse("", &kr, err, sizeof err) < 0);
    /* more keys than a keyring holds */
    char many[4096] = "[";
    for (int i = 0; i <= WIRE_KEYRING_MAX; i++) {
        char k[64];
        /* 16 distinct bytes each: "key number NN..." */
        unsigned char raw[16];
        memset(raw, 'a' + i, sizeof raw);
        wire_keyring one;
        wire_keyring_init(&one);
        REQUIRE(wire_keyring_add(&one, raw, 16) == WIRE_OK);
        char *js = daemon_keyring_json(&one);
        REQUIRE(js);
        /* js is ["\n  \"...\"\n]": take the quoted key */
        char *q = strchr(js, '"');
        snprintf(k, sizeof k, "%s%.*s", i ? "," : "", 26, q);
        strcat(many, k);
        free(js);
    }
    strcat(many, "]");
    CHECK(parse(many, &kr, err, sizeof err) < 0 && strstr(err, "Failed to restore keyring"));
}

static void test_json(void)
{
    char err[256];
    wire_keyring kr, back;
    REQUIRE(parse("[\"" K24 "\",\"" K16 "\"]", &kr, err, sizeof err) == 0);
    char *js = daemon_keyring_json(&kr);
    REQUIRE(js);
    CHECK(strcmp(js, "[\n  \"" K24 "\",\n  \"" K16 "\"\n]") == 0);
    REQUIRE(parse(js, &back, err, sizeof err) == 0);
    CHECK_EQ_INT(back.n, 2);
    CHECK_MEM(back.keys[0].bytes, back.keys[0].len, kr.keys[0].bytes, kr.keys[0].len);
    free(js);
    wire_keyring_init(&kr);
    js = daemon_keyring_json(&kr);
    CHECK(js && strcmp(js, "[]") == 0);
    free(js);
}

static void test_file(void)
{
    char dir[] = "/tmp/moonlist-keyring-XXXXXX", path[128], err[512];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/keyring", dir);
    wire_keyring kr, back;
    /* missing: an error, as serf's os.Stat */
    CHECK(daemon_keyring_file_read(path, &kr, err, sizeof err) < 0 && strstr(err, path));
    REQUIRE(parse("[\"" K32 "\",\"" K16 "\"]", &kr, err, sizeof err) == 0);
    REQUIRE(daemon_keyring_file_write(path, &kr, err, sizeof err) == 0);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    REQUIRE(daemon_keyring_file_read(path, &back, err, sizeof err) == 0);
    CHECK_EQ_INT(back.n, 2);
    CHECK_EQ_INT(back.keys[0].len, 32);
    /* a rotation: the new primary first, written over the old file */
    REQUIRE(wire_keyring_use(&kr, kr.keys[1].bytes, kr.keys[1].len) == WIRE_OK);
    REQUIRE(daemon_keyring_file_write(path, &kr, err, sizeof err) == 0);
    REQUIRE(daemon_keyring_file_read(path, &back, err, sizeof err) == 0);
    CHECK_EQ_INT(back.keys[0].len, 16);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) < 0);
    /* an unwritable place: a message, nothing left behind */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/keyring", dir);
    CHECK(daemon_keyring_file_write(bad, &kr, err, sizeof err) < 0 && strstr(err, "Failed to write keyring file"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_parse();
    test_json();
    test_file();
    return check_done("daemon_keyring_file");
}
