/* The control commands of serf's layer, with serf's flags and output
 * (cmd/serf/command/{event,query,keys,tags}.go): a user event, a query
 * whose acks and responses are printed as they come, key rotation over
 * the cluster, and our tags. Exit codes as the other commands: 0 ok, 1 the
 * agent reported an error or could not be reached, 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_cmd.h"
#include "cli/cli_json.h"
#include "net/net.h"

/* What the query waits past its own timeout for the agent's "done". */
#define CLI_QUERY_SLACK_MS 5000
/* serf's DefaultQueryTimeout at the lan profile's gossip interval (200 ms x
 * QueryTimeoutMult 16 x log(N+1), N small): what we wait when no -timeout
 * is given, the agent ending the query sooner. */
#define CLI_QUERY_DEFAULT_WAIT_MS 60000

/* A repeated flag's values as a msgpack array of strings (query's
 * FilterNodes, tags' DeleteTags). */
static void pack_str_list(wire_mp_writer *w, const base_flag_value *v)
{
    wire_mp_container list;
    wire_mp_array_begin(w, &list);
    for (size_t i = 0; i < v->n; i++)
        wire_mp_pack_cstr(w, v->list[i]);
    wire_mp_array_end(w, &list);
}

/* A repeated flag's "key=value" values as a msgpack map, split at the
 * first '=' as serf's CLI splits them (query's FilterTags, tags' Tags).
 * Returns NULL, or the first value without '=' (the map is then
 * unfinished: the caller drops the request with its own message). */
static const char *pack_kv_map(wire_mp_writer *w, const base_flag_value *v)
{
    wire_mp_container map;
    wire_mp_map_begin(w, &map);
    for (size_t i = 0; i < v->n; i++) {
        const char *eq = strchr(v->list[i], '=');
        if (!eq)
            return v->list[i];
        wire_mp_pack_raw(w, v->list[i], (size_t)(eq - v->list[i]));
        wire_mp_pack_cstr(w, eq + 1);
    }
    wire_mp_map_end(w, &map);
    return NULL;
}

int cli_event_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "coalesce", BASE_FLAG_BOOL, NULL, "whether the agents may coalesce this event with others of its name (default true)" },
        RPC_FLAGS,
    };
    static const command cmd = { "event", "NAME [PAYLOAD]", "Send a custom event through the cluster (serf's user event).",
                                 flags, NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos < 1)
        return cli_usage_error(&cmd, &a, "An event name must be specified.");
    if (a.npos > 2)
        return cli_usage_error(&cmd, &a, "Too many command line arguments. Only a name and payload must be specified.");
    bool coalesce = base_args_get(&a, "coalesce")->set ? base_args_bool(&a, "coalesce") : true;
    request q;
    cli_rpc rpc;
    wire_bytes body;
    cli_body_begin(&q);
    wire_mp_pack_cstr(&q.w, "Name");
    wire_mp_pack_cstr(&q.w, a.pos[0]);
    wire_mp_pack_cstr(&q.w, "Payload");
    if (a.npos == 2)
        wire_mp_pack_bin(&q.w, a.pos[1], strlen(a.pos[1]));
    else
        wire_mp_pack_nil(&q.w);
    wire_mp_pack_cstr(&q.w, "Coalesce");
    wire_mp_pack_bool(&q.w, coalesce);
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_EVENT, DAEMON_RPC_CMD_UNKNOWN, &q, &rpc, &body);
    if (code == 0)
        printf("Event '%s' dispatched! Coalescing enabled: %s\n", a.pos[0], coalesce ? "true" : "false");
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

/* One query record {Type, From, Payload}. */
typedef struct record {
    wire_bytes type, from, payload;
} record;

static int decode_record(wire_bytes body, record *rec)
{
    wire_mp_reader r;
    uint32_t nk;
    memset(rec, 0, sizeof *rec);
    wire_mp_reader_init(&r, body.p, body.n);
    if (wire_mp_read_map(&r, &nk))
        return -1;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        int rc;
        if (wire_mp_read_str(&r, &k))
            return -1;
        if (wire_mp_eq(k, "Type"))
            rc = wire_mp_read_str(&r, &rec->type);
        else if (wire_mp_eq(k, "From"))
            rc = wire_mp_read_str(&r, &rec->from);
        else if (wire_mp_eq(k, "Payload"))
            rc = wire_mp_read_raw(&r, &rec->payload);
        else
            rc = wire_mp_skip(&r);
        if (rc)
            return -1;
    }
    return rec->type.p ? 0 : -1;
}

/* A response's text as serf's Ui prints it (bytes as they are), one
 * stripped trailing newline. */
static void print_response(const record *rec)
{
    size_t n = rec->payload.n;
    if (n && rec->payload.p[n - 1] == '\n')
        n--;
    printf("Response from '%.*s': ", (int)rec->from.n, (const char *)rec->from.p);
    fwrite(rec->payload.p ? (const void *)rec->payload.p : "", 1, n, stdout);
    putchar('\n');
    fflush(stdout);
}

/* serf's jsonQueryRespFormat: {"Acks": [...] or null, "Responses": {...}}
 * as json.MarshalIndent(data, "", "  ") writes it. */
typedef struct json_out {
    wire_buf acks, resps;
    size_t nacks, nresps;
} json_out;

static void json_add(wire_buf *b, size_t *n, const char *indent, wire_bytes k, const wire_bytes *v)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, b);
    cli_json_raw(&w, *n ? ",\n" : "\n");
    cli_json_raw(&w, indent);
    cli_json_str(&w, (const char *)k.p, k.n);
    if (v) {
        cli_json_raw(&w, ": ");
        cli_json_str(&w, v->p ? (const char *)v->p : "", v->n);
    }
    (void)wire_mp_finish(&w);
    (*n)++;
}

static void json_print(json_out *j)
{
    printf("{\n  \"Acks\": ");
    if (j->nacks)
        printf("[%.*s\n  ]", (int)j->acks.len, (const char *)j->acks.data);
    else
        printf("null");
    printf(",\n  \"Responses\": {");
    if (j->nresps)
        printf("%.*s\n  }", (int)j->resps.len, (const char *)j->resps.data);
    else
        printf("}");
    printf("\n}\n");
}

int cli_query_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "node", BASE_FLAG_LIST, "NAME", "only this node answers (repeat for more)" },
        { "tag", BASE_FLAG_LIST, "K=REGEXP", "only nodes whose tag K matches answer (repeat for more)" },
        { "timeout", BASE_FLAG_STRING, "DUR", "how long the query collects answers (default: serf's, from the cluster size)" },
        { "no-ack", BASE_FLAG_BOOL, NULL, "do not ask the nodes to acknowledge the query" },
        { "relay-factor", BASE_FLAG_STRING, "N", "each answer is also relayed through N other nodes (0..255, default 0)" },
        { "format", BASE_FLAG_STRING, "FMT", "output format: text or json (default text)" },
        RPC_FLAGS,
    };
    static const command cmd = { "query", "NAME [PAYLOAD]",
                                 "Send a query to the cluster and print the acknowledgements and responses.", flags,
                                 NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos < 1)
        return cli_usage_error(&cmd, &a, "A query name must be specified.");
    if (a.npos > 2)
        return cli_usage_error(&cmd, &a, "Too many command line arguments. Only a name and payload must be specified.");
    const char *format = base_args_str(&a, "format", "text");
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(&cmd, &a, "Invalid format: %s", format);
    unsigned long relay = 0;
    const char *rf = base_args_str(&a, "relay-factor", NULL);
    if (rf && base_parse_uint(rf, 0, 255, &relay) < 0)
        return cli_usage_error(&cmd, &a, "Relay factor must be between 0 and 255");
    unsigned timeout_ms = 0;
    const char *to = base_args_str(&a, "timeout", NULL);
    if (to && base_parse_duration_ms(to, &timeout_ms) < 0)
        return cli_usage_error(&cmd, &a, "-timeout: '%s' is not a duration (e.g. 5s, 500ms)", to);
    bool no_ack = base_args_bool(&a, "no-ack");
    const base_flag_value *nodes = base_args_get(&a, "node"), *tags = base_args_get(&a, "tag");
    request q;
    cli_body_begin(&q);
    wire_mp_pack_cstr(&q.w, "FilterNodes");
    pack_str_list(&q.w, nodes);
    wire_mp_pack_cstr(&q.w, "FilterTags");
    const char *bad = pack_kv_map(&q.w, tags);
    if (bad) {
        wire_buf_free(&q.b);
        return cli_usage_error(&cmd, &a, "Error: invalid tag '%s', expected key=regexp", bad);
    }
    wire_mp_pack_cstr(&q.w, "RequestAck");
    wire_mp_pack_bool(&q.w, !no_ack);
    wire_mp_pack_cstr(&q.w, "RelayFactor");
    wire_mp_pack_uint(&q.w, relay);
    wire_mp_pack_cstr(&q.w, "Timeout");   /* a Go time.Duration: nanoseconds */
    wire_mp_pack_uint(&q.w, (uint64_t)timeout_ms * 1000000u);
    wire_mp_pack_cstr(&q.w, "Name");
    wire_mp_pack_cstr(&q.w, a.pos[0]);
    wire_mp_pack_cstr(&q.w, "Payload");
    if (a.npos == 2)
        wire_mp_pack_bin(&q.w, a.pos[1], strlen(a.pos[1]));
    else
        wire_mp_pack_nil(&q.w);
    cli_rpc rpc;
    wire_bytes body;
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_QUERY, DAEMON_RPC_CMD_UNKNOWN, &q, &rpc, &body);
    if (code != 0) {
        cli_rpc_close(&rpc);
        base_args_free(&a);
        return code;
    }
    bool text = strcmp(format, "text") == 0;
    if (text) {
        printf("Query '%s' dispatched\n", a.pos[0]);
        fflush(stdout);
    }
    /* the records come under the query's Seq until "done" */
    uint64_t seq = rpc.seq;
    cli_rpc_set_timeout(&rpc, (timeout_ms ? (int)timeout_ms : CLI_QUERY_DEFAULT_WAIT_MS) + CLI_QUERY_SLACK_MS);
    json_out j = { 0 };
    wire_buf_init(&j.acks, 0);
    wire_buf_init(&j.resps, 0);
    size_t nacks = 0, nresps = 0;
    char err[600];
    for (;;) {
        wire_bytes recb;
        record rec;
        int rc = cli_rpc_record(&rpc, seq, &recb, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "moonlist query: %s\n", err);
            code = 1;
            break;
        }
        if (decode_record(recb, &rec) < 0) {
            fprintf(stderr, "moonlist query: malformed record from the agent\n");
            code = 1;
            break;
        }
        /* serf's query command also ends at an answer from nobody: a serf
         * agent's stream sends empty acks once the query's channels close
         * before its "done" */
        if (wire_mp_eq(rec.type, "done") || rec.from.n == 0)
            break;
        if (wire_mp_eq(rec.type, "ack")) {
            nacks++;
            if (text) {
                printf("Ack from '%.*s'\n", (int)rec.from.n, (const char *)rec.from.p);
                fflush(stdout);
            } else {
                json_add(&j.acks, &j.nacks, "    ", rec.from, NULL);
            }
        } else if (wire_mp_eq(rec.type, "response")) {
            nresps++;
            if (text)
                print_response(&rec);
            else
                json_add(&j.resps, &j.nresps, "    ", rec.from, &rec.payload);
        }
    }
    if (code == 0 && text) {
        if (!no_ack)
            printf("Total Acks: %zu\n", nacks);
        printf("Total Responses: %zu\n", nresps);
    } else if (code == 0) {
        json_print(&j);
    }
    wire_buf_free(&j.acks);
    wire_buf_free(&j.resps);
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

/* serf's keyResponse: the failures (node -> message), and for list-keys
 * the keys with how many nodes hold each, out of NumNodes. */
static void print_key_failures(wire_bytes body, bool list_keys, const char *ok_title)
{
    wire_mp_reader r;
    uint32_t nk;
    uint64_t num_nodes = 0;
    daemon_rpc_list messages = { 0 }, keys = { 0 };
    bool have_msgs = false, have_keys = false;
    wire_mp_reader_init(&r, body.p, body.n);
    if (wire_mp_read_map(&r, &nk))
        nk = 0;
    for (uint32_t i = 0; i < nk; i++) {
        wire_bytes k;
        int rc;
        if (wire_mp_read_str(&r, &k))
            break;
        if (wire_mp_eq(k, "Messages")) {
            rc = daemon_rpc_read_list(&r, &messages, true);
            have_msgs = rc == 0;
        } else if (wire_mp_eq(k, "Keys") && wire_mp_peek_kind(&r) == WIRE_MP_MAP) {
            /* map[string]int: walked by hand below */
            keys.r = r;
            rc = wire_mp_read_map(&r, &keys.n);
            if (rc == 0) {
                keys.r = r;
                for (uint32_t j = 0; rc == 0 && j < keys.n; j++)
                    rc = wire_mp_skip(&r) || wire_mp_skip(&r);
                have_keys = rc == 0;
            }
        } else if (wire_mp_eq(k, "NumNodes")) {
            rc = wire_mp_read_uint(&r, UINT32_MAX, &num_nodes);
        } else {
            rc = wire_mp_skip(&r);
        }
        if (rc)
            break;
    }
    /* serf columnizes its lines: each column padded to its widest, two
     * spaces between */
    if (!ok_title) {   /* the failures: "failed: | node | message" */
        wire_bytes node, msg;
        size_t wide = 0;
        daemon_rpc_list walk = messages;
        while (have_msgs && daemon_rpc_map_next(&walk, &node, &msg))
            wide = node.n > wide ? node.n : wide;
        while (have_msgs && daemon_rpc_map_next(&messages, &node, &msg))
            fprintf(stderr, "failed:  %-*.*s  %.*s\n", (int)wide, (int)node.n, (const char *)node.p, (int)msg.n,
                    (const char *)msg.p);
        return;
    }
    if (!list_keys)
        return;
    printf("%s\n\n", ok_title);
    size_t wide = 0;
    wire_mp_reader kr = keys.r;
    for (uint32_t j = 0; have_keys && j < keys.n; j++) {
        wire_bytes key;
        if (wire_mp_read_str(&kr, &key) || wire_mp_skip(&kr))
            break;
        wide = key.n > wide ? key.n : wide;
    }
    kr = keys.r;
    for (uint32_t j = 0; have_keys && j < keys.n; j++) {
        wire_bytes key;
        uint64_t count;
        if (wire_mp_read_str(&kr, &key) || wire_mp_read_uint(&kr, UINT32_MAX, &count))
            break;
        printf("%-*.*s  [%llu/%llu]\n", (int)wide, (int)key.n, (const char *)key.p, (unsigned long long)count,
               (unsigned long long)num_nodes);
    }
}

int cli_keys_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "install", BASE_FLAG_STRING, "KEY", "install a new key (base64) on every member" },
        { "use", BASE_FLAG_STRING, "KEY", "make an installed key the primary on every member" },
        { "remove", BASE_FLAG_STRING, "KEY", "remove a key (not the primary) from every member" },
        { "list", BASE_FLAG_BOOL, NULL, "list the keys installed in the cluster, with how many members hold each" },
        RPC_FLAGS,
    };
    static const command cmd = { "keys", NULL, "Manipulate the cluster's gossip encryption keyring.", flags,
                                 NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    if (a.npos)
        return cli_usage_error(&cmd, &a, "unexpected argument '%s'", a.pos[0]);
    const char *install = base_args_str(&a, "install", NULL), *use = base_args_str(&a, "use", NULL),
               *remove = base_args_str(&a, "remove", NULL);
    bool list = base_args_bool(&a, "list");
    int given = !!install + !!use + !!remove + list;
    if (given != 1)
        return cli_usage_error(&cmd, &a, given ? "Only one of -install, -use, -remove, or -list allowed"
                                               : "one of -install, -use, -remove or -list is required");
    /* serf's words, per operation: the banner, the error's prefix, the success */
    const char *banner, *failed, *done;
    daemon_rpc_cmd which;
    const char *key = install ? install : use ? use : remove;
    if (install) {
        which = DAEMON_RPC_CMD_INSTALL_KEY;
        banner = "Installing key on all members...";
        failed = "Error installing key";
        done = "Successfully installed key!";
    } else if (use) {
        which = DAEMON_RPC_CMD_USE_KEY;
        banner = "Changing primary key on all members...";
        failed = "Error changing primary key";
        done = "Successfully changed primary key!";
    } else if (remove) {
        which = DAEMON_RPC_CMD_REMOVE_KEY;
        banner = "Removing key on all members...";
        failed = "Error removing key";
        done = "Successfully removed key!";
    } else {
        which = DAEMON_RPC_CMD_LIST_KEYS;
        banner = "Asking all members for installed keys...";
        failed = "Failed to gather member keys";
        done = NULL;
    }
    request q, *qp = NULL;
    if (key) {
        cli_body_begin(&q);
        wire_mp_pack_cstr(&q.w, "Key");
        wire_mp_pack_cstr(&q.w, key);
        qp = &q;
    }
    printf("%s\n", banner);
    fflush(stdout);
    /* the agent's error is printed by the call; the per-node failures
     * come in the body that still follows: the call hands it over as an
     * error with no body, so ask it over a session of our own */
    cli_rpc rpc;
    wire_bytes body;
    char host[256], err[600];
    uint16_t port;
    int code = 0;
    memset(&rpc, 0, sizeof rpc);
    rpc.fd = -1;
    if (qp) {
        wire_mp_map_end(&q.w, &q.map);
        if (wire_mp_finish(&q.w) != WIRE_OK) {
            fprintf(stderr, "moonlist keys: cannot build the request\n");
            code = 1;
        }
    }
    const char *addr = base_args_str(&a, "rpc-addr", DAEMON_RPC_DEFAULT_ADDR);
    if (code == 0 && net_split_host_port(addr, host, sizeof host, &port, 7373) < 0) {
        fprintf(stderr, "moonlist keys: -rpc-addr: '%s' is not host:port\n", addr);
        code = 2;
    }
    if (code == 0 && cli_rpc_open(&rpc, host, port, base_args_str(&a, "rpc-auth", NULL), CLI_RPC_CLIENT_TIMEOUT_MS, err,
                                  sizeof err) < 0) {
        fprintf(stderr, "Error connecting to the agent: %s\n", err);
        code = 1;
    }
    int rc = code ? 0 : cli_rpc_call(&rpc, which, qp ? q.b.data : NULL, qp ? q.b.len : 0, &body, err, sizeof err);
    if (code == 0 && rc != 0) {
        if (rc == 1)
            print_key_failures(body, false, NULL);
        fprintf(stderr, "\n%s: %s\n", failed, err);
        code = 1;
    } else if (code == 0) {
        if (list)
            print_key_failures(body, true, "Keys gathered, listing cluster keys...");
        else
            printf("%s\n", done);
    }
    if (qp)
        wire_buf_free(&q.b);
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}

int cli_tags_main(int argc, char **argv)
{
    static const base_flag_spec flags[] = {
        { "set", BASE_FLAG_LIST, "K=V", "set a tag (repeat for more)" },
        { "delete", BASE_FLAG_LIST, "K", "remove a tag, if present (repeat for more)" },
        RPC_FLAGS,
    };
    static const command cmd = { "tags", NULL, "Modify the tags of a running agent.", flags, NFLAGS(flags) };
    base_args a;
    int prc = cli_parse(&cmd, &a, argc, argv);
    if (prc)
        return PARSE_EXIT(prc);
    const base_flag_value *set = base_args_get(&a, "set"), *del = base_args_get(&a, "delete");
    if (a.npos)
        return cli_usage_error(&cmd, &a, "unexpected argument '%s'", a.pos[0]);
    if (set->n == 0 && del->n == 0)
        return cli_usage_error(&cmd, &a, "at least one -set or -delete is required");
    request q;
    cli_body_begin(&q);
    wire_mp_pack_cstr(&q.w, "Tags");
    const char *bad = pack_kv_map(&q.w, set);
    if (bad) {
        wire_buf_free(&q.b);
        return cli_usage_error(&cmd, &a, "Error: invalid tag: '%s'", bad);
    }
    wire_mp_pack_cstr(&q.w, "DeleteTags");
    pack_str_list(&q.w, del);
    cli_rpc rpc;
    wire_bytes body;
    int code = cli_call(&cmd, &a, DAEMON_RPC_CMD_TAGS, DAEMON_RPC_CMD_UNKNOWN, &q, &rpc, &body);
    if (code == 0)
        printf("Successfully updated agent tags\n");
    cli_rpc_close(&rpc);
    base_args_free(&a);
    return code;
}
