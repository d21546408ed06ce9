/* The control protocol's codec (daemon/daemon_rpc.h) against serf's bytes.
 *
 * The requests are what Debian's serf 0.9.4 CLI wrote on the wire (caught
 * between `serf <command>` and a serf agent), each checked against the Go
 * struct it encodes (client/const.go): go-msgpack writes a struct as a map
 * keyed by field name, strings as old-spec raw (a0-bf, d9), []byte as bin
 * (c4), nil maps and slices as c0, and the smallest integer form. The
 * member record and the response header must be byte for byte what the
 * serf agent answered. */
#include "check.h"
#include "daemon/daemon_rpc.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* hex text -> bytes (the captures are long); returns the length */
static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        REQUIRE(sscanf(h, "%2x", &v) == 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static bool is(wire_bytes v, const char *s)
{
    return v.p && wire_mp_eq(v, s);
}

/* Decode the one request that is all of hex. */
static daemon_rpc_request decode_all(const char *hex)
{
    static uint8_t buf[4096];
    size_t n = unhex(hex, buf, sizeof buf), used;
    daemon_rpc_request req;
    REQUIRE(daemon_rpc_decode_request(buf, n, &req, &used) == DAEMON_RPC_OK);
    CHECK_EQ_INT(used, n);
    return req;
}

/* The captured requests, one per command serf's CLI sends. */
#define REQ_HANDSHAKE "82a7436f6d6d616e64a968616e647368616b65a35365710181a756657273696f6e01"
/* {Command: "members-filtered", Seq: 2}{Name: "", Status: "", Tags: {}} */
#define REQ_MEMBERS_FILTERED "82a7436f6d6d616e64b06d656d626572732d66696c7465726564a35365710283a44e616d65a0a6537461747573a0a45461677380"

static void test_requests(void)
{
    /* handshake: requestHeader{Command, Seq} then handshakeRequest{Version int32} */
    daemon_rpc_request r = decode_all(REQ_HANDSHAKE);
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_HANDSHAKE);
    CHECK(is(r.command, "handshake"));
    CHECK_EQ_INT(r.seq, 1);
    CHECK_EQ_INT(r.version, 1);

    /* auth: authRequest{AuthKey string} */
    r = decode_all("82a7436f6d6d616e64a461757468a35365710281a7417574684b6579a3746f6b");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_AUTH);
    CHECK_EQ_INT(r.seq, 2);
    CHECK(is(r.auth_key, "tok"));

    /* `serf members`: membersFilteredRequest{Tags map, Status, Name}, all empty */
    r = decode_all(REQ_MEMBERS_FILTERED);
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_MEMBERS_FILTERED);
    CHECK(is(r.name, "") && is(r.status, ""));
    CHECK_EQ_INT(r.tags.n, 0);

    /* `serf members -status alive -name 'z.*' -tag role=web` */
    r = decode_all("82a7436f6d6d616e64b06d656d626572732d66696c7465726564a35365710383a44e616d65a37a2e2aa6537461747573"
                   "a5616c697665a45461677381a4726f6c65a3776562");
    CHECK(is(r.name, "z.*") && is(r.status, "alive"));
    wire_bytes k, v;
    REQUIRE(daemon_rpc_map_next(&r.tags, &k, &v));
    CHECK(is(k, "role") && is(v, "web"));
    CHECK(!daemon_rpc_map_next(&r.tags, &k, &v));

    /* join: joinRequest{Existing []string, Replay bool} */
    r = decode_all("82a7436f6d6d616e64a46a6f696ea35365710282a84578697374696e6791af3132372e302e302e313a3239313033a6"
                   "5265706c6179c2");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_JOIN);
    CHECK_EQ_INT(r.existing.n, 1);
    REQUIRE(daemon_rpc_list_next(&r.existing, &v));
    CHECK(is(v, "127.0.0.1:29103"));
    CHECK(!daemon_rpc_list_next(&r.existing, &v));
    CHECK(!r.replay);

    /* tags: tagsRequest{Tags map, DeleteTags []string}: -set a=b -delete role */
    r = decode_all("82a7436f6d6d616e64a474616773a35365710282aa44656c6574655461677391a4726f6c65a45461677381a161a162");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_TAGS);
    REQUIRE(daemon_rpc_list_next(&r.delete_tags, &v));
    CHECK(is(v, "role"));
    REQUIRE(daemon_rpc_map_next(&r.tags, &k, &v));
    CHECK(is(k, "a") && is(v, "b"));

    /* force-leave: forceLeaveRequest{Node, Prune} */
    r = decode_all("82a7436f6d6d616e64ab666f7263652d6c65617665a35365710282a44e6f6465a86e6f6e6578697374a55072756e65c2");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_FORCE_LEAVE);
    CHECK(is(r.node, "nonexist") && !r.prune);

    /* stats, leave, list-keys: no body */
    r = decode_all("82a7436f6d6d616e64a57374617473a353657102");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_STATS);
    r = decode_all("82a7436f6d6d616e64a56c65617665a353657103");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_LEAVE);
    r = decode_all("82a7436f6d6d616e64a96c6973742d6b657973a353657103");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_LIST_KEYS);

    /* `serf monitor`: stream{Type: "*"}, then monitor{LogLevel: "info"} */
    r = decode_all("82a7436f6d6d616e64a673747265616da35365710281a454797065a12a");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_STREAM);
    CHECK(is(r.type, "*"));
    r = decode_all("82a7436f6d6d616e64a76d6f6e69746f72a35365710381a84c6f674c6576656ca4696e666f");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_MONITOR);
    CHECK(is(r.log_level, "info"));

    /* get-coordinate: coordinateRequest{Node} */
    r = decode_all("82a7436f6d6d616e64ae6765742d636f6f7264696e617465a35365710381a44e6f6465a27331");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_GET_COORDINATE);
    CHECK(is(r.node, "s1"));

    /* event: eventRequest{Name, Payload []byte (bin), Coalesce} */
    r = decode_all("82a7436f6d6d616e64a56576656e74a35365710383a8436f616c65736365c2a44e616d65a66465706c6f79a7"
                   "5061796c6f6164c40476312e32");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_EVENT);
    CHECK(is(r.name, "deploy") && is(r.payload, "v1.2") && !r.coalesce);

    /* query: queryRequest{FilterNodes, FilterTags, RequestAck, RelayFactor
     * uint8, Timeout time.Duration (ns: 1 s is ce 3b9aca00), Name, Payload} */
    r = decode_all("82a7436f6d6d616e64a57175657279a35365710387ab46696c7465724e6f64657391a27a39aa46696c746572546167"
                   "7381a4726f6c65a178a44e616d65a470696e67a75061796c6f6164c40568656c6c6fab52656c6179466163746f7202"
                   "aa5265717565737441636bc3a754696d656f7574ce3b9aca00");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_QUERY);
    REQUIRE(daemon_rpc_list_next(&r.filter_nodes, &v));
    CHECK(is(v, "z9"));
    REQUIRE(daemon_rpc_map_next(&r.filter_tags, &k, &v));
    CHECK(is(k, "role") && is(v, "x"));
    CHECK(is(r.name, "ping") && is(r.payload, "hello"));
    CHECK(r.request_ack);
    CHECK_EQ_INT(r.relay_factor, 2);
    CHECK_EQ_INT(r.timeout, 1000000000);

    /* install-key / use-key / remove-key: keyRequest{Key} */
    r = decode_all("82a7436f6d6d616e64ab696e7374616c6c2d6b6579a35365710381a34b6579b841414543417751464267634943516f4c"
                   "4441304f44773d3d");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_INSTALL_KEY);
    CHECK(is(r.key, "AAECAwQFBgcICQoLDA0ODw=="));
    r = decode_all("82a7436f6d6d616e64a77573652d6b6579a35365710381a34b6579b841414543417751464267634943516f4c4441304f"
                   "44773d3d");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_USE_KEY);
    r = decode_all("82a7436f6d6d616e64aa72656d6f76652d6b6579a35365710381a34b6579b841414543417751464267634943516f4c44"
                   "41304f44773d3d");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_REMOVE_KEY);

    /* from the Go structs (no CLI command sends them): stop{Stop uint64},
     * respond{ID uint64, Payload []byte} */
    r = decode_all("82a7436f6d6d616e64a473746f70a35365710981a453746f7002");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_STOP);
    CHECK_EQ_INT(r.stop, 2);
    r = decode_all("82a7436f6d6d616e64a7726573706f6e64a3536571cd010082a24944cf0000000100000000a75061796c6f6164c0");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_RESPOND);
    CHECK_EQ_INT(r.seq, 256);
    CHECK_EQ_INT(r.id, 1ull << 32);
    CHECK(is(r.payload, ""));   /* nil []byte */

    /* other clients' forms: a signed Seq, str8 strings, nil maps and
     * slices, unknown keys skipped (go-msgpack ignores them too) */
    r = decode_all("83a7436f6d6d616e64d910" "6d656d626572732d66696c7465726564a3536571d00aa5457874726192c0c3"
                   "84a454616773c0a6537461747573c0a44e616d65a4622e2a2aa3466f6f81a178a179");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_MEMBERS_FILTERED);
    CHECK_EQ_INT(r.seq, 10);
    CHECK_EQ_INT(r.tags.n, 0);
    CHECK(is(r.status, "") && is(r.name, "b.**"));

    /* our own commands, body-less */
    r = decode_all("82a7436f6d6d616e64b06d6f6f6e6c6973742d6d656d62657273a353657104");
    CHECK_EQ_INT(r.cmd, DAEMON_RPC_CMD_MOONLIST_MEMBERS);
}

/* Many requests on one connection, arriving a byte at a time. */
static void test_stream(void)
{
    uint8_t buf[1024];
    size_t n = unhex(REQ_HANDSHAKE REQ_MEMBERS_FILTERED "82a7436f6d6d616e64a57374617473a353657103", buf, sizeof buf);
    static const daemon_rpc_cmd want[] = { DAEMON_RPC_CMD_HANDSHAKE, DAEMON_RPC_CMD_MEMBERS_FILTERED,
                                           DAEMON_RPC_CMD_STATS };
    size_t off = 0, got = 0;
    for (size_t have = 0; have <= n; have++) {
        daemon_rpc_request req;
        size_t used;
        for (;;) {
            daemon_rpc_parse pr = daemon_rpc_decode_request(buf + off, have - off, &req, &used);
            CHECKF(pr == DAEMON_RPC_OK || pr == DAEMON_RPC_PARTIAL, "prefix %zu: %d", have, pr);
            if (pr != DAEMON_RPC_OK)
                break;
            REQUIRE(got < 3);
            CHECK_EQ_INT(req.cmd, want[got]);
            CHECK_EQ_INT(req.seq, got + 1);
            got++;
            off += used;
        }
    }
    CHECK_EQ_INT(got, 3);
    CHECK_EQ_INT(off, n);
}

static void test_errors(void)
{
    daemon_rpc_request req;
    size_t used;
    /* not a map, c1, a map with a non-string key: nothing can be framed */
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0x01), &req, &used), DAEMON_RPC_BAD);
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0xc1), &req, &used), DAEMON_RPC_BAD);
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0x81, 0x01, 0x02), &req, &used), DAEMON_RPC_BAD);
    /* Seq a string */
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0x81, 0xa3, 'S', 'e', 'q', 0xa1, 'x'), &req, &used),
                 DAEMON_RPC_BAD);
    /* a huge declared map is partial (it cannot be there yet), never a
     * reason to allocate */
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0xdf, 0xff, 0xff, 0xff, 0xff), &req, &used), DAEMON_RPC_PARTIAL);
    CHECK_EQ_INT(daemon_rpc_decode_request(NULL, 0, &req, &used), DAEMON_RPC_PARTIAL);

    uint8_t buf[256];
    /* join with Existing = 5: the header is fine, the body is not */
    size_t n = unhex("82a7436f6d6d616e64a46a6f696ea35365710781a84578697374696e6705", buf, sizeof buf);
    CHECK_EQ_INT(daemon_rpc_decode_request(buf, n, &req, &used), DAEMON_RPC_BAD_BODY);
    CHECK_EQ_INT(req.cmd, DAEMON_RPC_CMD_JOIN);
    CHECK_EQ_INT(req.seq, 7);
    /* a tag value that is not a string */
    n = unhex("82a7436f6d6d616e64a474616773a35365710881a45461677381a16101", buf, sizeof buf);
    CHECK_EQ_INT(daemon_rpc_decode_request(buf, n, &req, &used), DAEMON_RPC_BAD_BODY);
    /* a handshake's Version over int32 */
    n = unhex("82a7436f6d6d616e64a968616e647368616b65a35365710181a756657273696f6ecf0000000100000000", buf, sizeof buf);
    CHECK_EQ_INT(daemon_rpc_decode_request(buf, n, &req, &used), DAEMON_RPC_BAD_BODY);
    /* truncated body: partial */
    n = unhex(REQ_MEMBERS_FILTERED, buf, sizeof buf);
    CHECK_EQ_INT(daemon_rpc_decode_request(buf, n - 1, &req, &used), DAEMON_RPC_PARTIAL);

    /* an unknown command: its header alone, a body or not */
    n = unhex("82a7436f6d6d616e64a3666f6fa35365710581a161a162", buf, sizeof buf);
    CHECK_EQ_INT(daemon_rpc_decode_request(buf, n, &req, &used), DAEMON_RPC_OK);
    CHECK_EQ_INT(req.cmd, DAEMON_RPC_CMD_UNKNOWN);
    CHECK(is(req.command, "foo"));
    CHECK_EQ_INT(req.seq, 5);
    CHECK_EQ_INT(used, n - 5);
    /* no Command at all */
    CHECK_EQ_INT(daemon_rpc_decode_request(BYTES(0x81, 0xa3, 'S', 'e', 'q', 0x01), &req, &used), DAEMON_RPC_OK);
    CHECK_EQ_INT(req.cmd, DAEMON_RPC_CMD_UNKNOWN);
}

static void test_responses(void)
{
    wire_buf b;
    wire_mp_writer w;
    uint8_t want[256];
    wire_buf_init(&b, 0);

    /* the serf agent's answer to a handshake: responseHeader{Seq, Error} */
    wire_mp_writer_init(&w, &b);
    daemon_rpc_put_response_header(&w, 1, NULL);
    REQUIRE(wire_mp_finish(&w) == 0);
    size_t n = unhex("82a54572726f72a0a353657101", want, sizeof want);
    CHECK_MEM(b.data, b.len, want, n);

    uint64_t seq;
    wire_bytes err;
    size_t used;
    n = unhex("82a54572726f72b741757468656e7469636174696f6e207265717569726564a353657102", want, sizeof want);
    CHECK_EQ_INT(daemon_rpc_decode_response_header(want, n, &seq, &err, &used), DAEMON_RPC_OK);
    CHECK_EQ_INT(seq, 2);
    CHECK(is(err, DAEMON_RPC_E_AUTH_REQUIRED));
    CHECK_EQ_INT(used, n);
    CHECK_EQ_INT(daemon_rpc_decode_response_header(want, n - 1, &seq, &err, &used), DAEMON_RPC_PARTIAL);

    /* our request header is what serf's client writes */
    wire_buf_reset(&b);
    wire_mp_writer_init(&w, &b);
    daemon_rpc_put_request_header(&w, "handshake", 1);
    REQUIRE(wire_mp_finish(&w) == 0);
    n = unhex(REQ_HANDSHAKE, want, sizeof want);
    CHECK_MEM(b.data, b.len, want, n - 10);   /* less the body {Version: 1} */

    /* a body's length, for a client reading a stream */
    n = unhex("81a34e756d01" "82", want, sizeof want);
    CHECK_EQ_INT(daemon_rpc_value_len(want, n, &used), DAEMON_RPC_OK);
    CHECK_EQ_INT(used, 6);
    CHECK_EQ_INT(daemon_rpc_value_len(want, 5, &used), DAEMON_RPC_PARTIAL);
    CHECK_EQ_INT(daemon_rpc_value_len(BYTES(0xc1), &used), DAEMON_RPC_BAD);

    /* the member record serf answered for its node s1 (role=web) */
    static const uint8_t meta[] = { 0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b' };
    swim_member m = { .name = "s1", .addr = { .ip = { 127, 0, 0, 1 }, .ip_len = 4, .port = 29101 },
                      .state = SWIM_SUSPECT, .incarnation = 4, .meta = meta, .meta_len = sizeof meta,
                      .vsn = { 1, 5, 2, 2, 5, 5 } };
    wire_buf_reset(&b);
    wire_mp_writer_init(&w, &b);
    daemon_rpc_put_member(&w, &m, daemon_rpc_serf_status(m.state, false), false);
    REQUIRE(wire_mp_finish(&w) == 0);
    n = unhex("8ba441646472c4047f000001ab44656c656761746543757205ab44656c65676174654d617805ab44656c65676174654d69"
              "6e02a44e616d65a27331a4506f7274cd71adab50726f746f636f6c43757202ab50726f746f636f6c4d617805ab50726f74"
              "6f636f6c4d696e01a6537461747573a5616c697665a45461677381a4726f6c65a3776562", want, sizeof want);
    CHECK_MEM(b.data, b.len, want, n);

    /* moonlist-members adds Incarnation and State; an IPv6 Addr is 16 bytes */
    m.addr = (swim_addr){ .ip = { [15] = 1 }, .ip_len = 16, .port = 7946 };
    wire_buf_reset(&b);
    wire_mp_writer_init(&w, &b);
    daemon_rpc_put_member(&w, &m, "alive", true);
    REQUIRE(wire_mp_finish(&w) == 0);
    CHECK_EQ_INT(b.data[0], 0x8d);
    CHECK(b.len > 20 && memcmp(b.data + 1, "\xa4" "Addr\xc4\x10", 7) == 0);
    CHECK(memcmp(b.data + b.len - 27, "\xab" "Incarnation\x04\xa5State\xa7suspect", 27) == 0);
    wire_buf_free(&b);

    CHECK(strcmp(daemon_rpc_serf_status(SWIM_ALIVE, false), "alive") == 0);
    CHECK(strcmp(daemon_rpc_serf_status(SWIM_SUSPECT, false), "alive") == 0);
    CHECK(strcmp(daemon_rpc_serf_status(SWIM_ALIVE, true), "leaving") == 0);
    CHECK(strcmp(daemon_rpc_serf_status(SWIM_DEAD, false), "failed") == 0);
    CHECK(strcmp(daemon_rpc_serf_status(SWIM_LEFT, true), "left") == 0);
}

static int filter(const char *s, unsigned *mask)
{
    return daemon_rpc_parse_filter((wire_bytes){ (const uint8_t *)s, strlen(s) }, mask);
}

static void test_filters(void)
{
    unsigned m;
    CHECK(filter("*", &m) == 0 && m == DAEMON_RPC_EV_ALL);
    CHECK(filter("", &m) == 0 && m == DAEMON_RPC_EV_ALL);
    CHECK(filter("member-join,member-failed", &m) == 0 &&
          m == (DAEMON_RPC_EV_MEMBER_JOIN | DAEMON_RPC_EV_MEMBER_FAILED));
    CHECK(filter("member-leave,member-update,member-reap", &m) == 0 &&
          m == (DAEMON_RPC_EV_MEMBER_LEAVE | DAEMON_RPC_EV_MEMBER_UPDATE | DAEMON_RPC_EV_MEMBER_REAP));
    CHECK(filter("user:deploy,query", &m) == 0 && m == (DAEMON_RPC_EV_USER | DAEMON_RPC_EV_QUERY));
    CHECK(filter("user,query:ping", &m) == 0 && m == (DAEMON_RPC_EV_USER | DAEMON_RPC_EV_QUERY));
    CHECK(filter("member-join,", &m) == -1);
    CHECK(filter("member-joins", &m) == -1);
    CHECK(filter("Member-join", &m) == -1);
    CHECK(strcmp(daemon_rpc_event_name(DAEMON_RPC_EV_MEMBER_FAILED), "member-failed") == 0);
    /* which events a stream takes, by name for user events and queries */
#define TAKES(type, bit, name) daemon_rpc_filter_takes((wire_bytes){ (const uint8_t *)(type), strlen(type) }, (bit), \
                                                       (wire_bytes){ (const uint8_t *)(name), strlen(name) })
    CHECK(TAKES("", DAEMON_RPC_EV_USER, "x") && TAKES("*", DAEMON_RPC_EV_QUERY, "x"));
    CHECK(TAKES("user:deploy,query", DAEMON_RPC_EV_USER, "deploy"));
    CHECK(!TAKES("user:deploy,query", DAEMON_RPC_EV_USER, "deployed"));
    CHECK(!TAKES("user:deploy,query", DAEMON_RPC_EV_USER, "dep"));
    CHECK(TAKES("user:deploy,query", DAEMON_RPC_EV_QUERY, "anything"));
    CHECK(TAKES("user,query:ping", DAEMON_RPC_EV_USER, "anything"));
    CHECK(TAKES("user,query:ping", DAEMON_RPC_EV_QUERY, "ping") && !TAKES("user,query:ping", DAEMON_RPC_EV_QUERY, "pong"));
    CHECK(!TAKES("user:deploy", DAEMON_RPC_EV_QUERY, "deploy"));
    CHECK(TAKES("member-join,member-reap", DAEMON_RPC_EV_MEMBER_REAP, ""));
    CHECK(!TAKES("member-join", DAEMON_RPC_EV_MEMBER_LEAVE, ""));
#undef TAKES

    base_log_level lv;
    char err[80];
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"info", 4 }, &lv, err, sizeof err) == 0 &&
          lv == BASE_LOG_INFO);
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"ERR", 3 }, &lv, err, sizeof err) == 0 &&
          lv == BASE_LOG_ERROR);
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"TRACE", 5 }, &lv, err, sizeof err) == 0 &&
          lv == BASE_LOG_DEBUG);
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"loud", 4 }, &lv, err, sizeof err) == -1);
    CHECK(strcmp(err, "Unknown log level: LOUD") == 0);
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"", 0 }, &lv, err, sizeof err) == -1);
    CHECK(daemon_rpc_parse_log_level((wire_bytes){ (const uint8_t *)"in\0fo", 5 }, &lv, err, sizeof err) == -1);
}

static void test_table(void)
{
    /* serf's names (client/const.go), and which bodies go each way */
    static const char *const serf[] = { "handshake", "event", "force-leave", "join", "members",
                                        "members-filtered", "stream", "stop", "monitor", "leave",
                                        "install-key", "use-key", "remove-key", "list-keys", "tags",
                                        "query", "respond", "auth", "stats", "get-coordinate" };
    for (size_t i = 0; i < sizeof serf / sizeof serf[0]; i++)
        CHECKF(strcmp(daemon_rpc_cmd_name((daemon_rpc_cmd)(i + 1)), serf[i]) == 0, "%s", serf[i]);
    CHECK(!daemon_rpc_cmd_has_body(DAEMON_RPC_CMD_MEMBERS) && daemon_rpc_cmd_replies_body(DAEMON_RPC_CMD_MEMBERS));
    CHECK(daemon_rpc_cmd_has_body(DAEMON_RPC_CMD_JOIN) && daemon_rpc_cmd_replies_body(DAEMON_RPC_CMD_JOIN));
    CHECK(daemon_rpc_cmd_has_body(DAEMON_RPC_CMD_STREAM) && !daemon_rpc_cmd_replies_body(DAEMON_RPC_CMD_STREAM));
    CHECK(!daemon_rpc_cmd_has_body(DAEMON_RPC_CMD_LIST_KEYS) &&
          daemon_rpc_cmd_replies_body(DAEMON_RPC_CMD_LIST_KEYS));
    CHECK(!daemon_rpc_cmd_has_body(DAEMON_RPC_CMD_UNKNOWN) && strcmp(daemon_rpc_cmd_name(DAEMON_RPC_NCMDS), "?") == 0);
}

int main(void)
{
    test_requests();
    test_stream();
    test_errors();
    test_responses();
    test_filters();
    test_table();
    return check_done("test_rpc_codec");
}
