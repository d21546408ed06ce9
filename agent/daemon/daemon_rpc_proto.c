/* daemon_rpc_proto: the control protocol's codec (daemon_rpc.h), sans I/O:
 * requests and response headers from untrusted bytes, with the bounded
 * reader (wire_mp.h); headers, members and filters written and parsed. */
#include "daemon/daemon_rpc.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "serf/serf_tags.h"

static const struct {
    const char *name;
    bool req_body, resp_body;
} commands[DAEMON_RPC_NCMDS] = {
    [DAEMON_RPC_CMD_UNKNOWN] = { "?", false, false },
#define DAEMON_RPC_CMD_ROW_(id, name, req_body, resp_body) [DAEMON_RPC_CMD_##id] = { name, req_body, resp_body },
    DAEMON_RPC_COMMANDS(DAEMON_RPC_CMD_ROW_)
#undef DAEMON_RPC_CMD_ROW_
};

const char *daemon_rpc_cmd_name(daemon_rpc_cmd c)
{
    return (unsigned)c < DAEMON_RPC_NCMDS ? commands[c].name : "?";
}

bool daemon_rpc_cmd_has_body(daemon_rpc_cmd c)
{
    return (unsigned)c < DAEMON_RPC_NCMDS && commands[c].req_body;
}

bool daemon_rpc_cmd_replies_body(daemon_rpc_cmd c)
{
    return (unsigned)c < DAEMON_RPC_NCMDS && commands[c].resp_body;
}

static daemon_rpc_cmd cmd_lookup(wire_bytes name)
{
    for (int c = 1; c < DAEMON_RPC_NCMDS; c++)
        if (wire_mp_eq(name, commands[c].name))
            return (daemon_rpc_cmd)c;
    return DAEMON_RPC_CMD_UNKNOWN;
}

static const uint8_t empty[1];

/* A string or []byte field: nil (and absent) is "". */
static int read_text(wire_mp_reader *r, wire_bytes *v)
{
    int rc = wire_mp_read_raw(r, v);
    if (rc == WIRE_OK && !v->p)
        v->p = empty;
    return rc;
}

bool daemon_rpc_list_next(daemon_rpc_list *l, wire_bytes *s)
{
    if (l->n == 0)
        return false;
    l->n--;
    return read_text(&l->r, s) == WIRE_OK;   /* checked by the decoder */
}

bool daemon_rpc_map_next(daemon_rpc_list *l, wire_bytes *key, wire_bytes *value)
{
    if (l->n == 0)
        return false;
    l->n--;
    return read_text(&l->r, key) == WIRE_OK && read_text(&l->r, value) == WIRE_OK;
}

int daemon_rpc_read_list(wire_mp_reader *r, daemon_rpc_list *l, bool map)
{
    uint32_t n;
    if (wire_mp_read_nil(r)) {
        l->r = *r;
        l->n = 0;
        return WIRE_OK;
    }
    wire_bytes s;
    int rc = map ? wire_mp_read_map(r, &n) : wire_mp_read_array(r, &n);
    if (rc)
        return rc;
    l->r = *r;
    l->n = n;
    for (uint64_t i = 0; i < (uint64_t)n * (map ? 2 : 1); i++)
        if ((rc = read_text(r, &s)) != WIRE_OK)
            return rc;
    return WIRE_OK;
}

/* A Go struct as go-msgpack writes it: a map keyed by field name. A field
 * is read into its place in a C struct; keys not in the table are skipped,
 * as go-msgpack skips them. */
typedef enum field_kind { F_TEXT, F_BOOL, F_UINT, F_INT, F_LIST, F_MAP } field_kind;
typedef struct field {
    const char *key;
    field_kind kind;
    size_t off;
    int64_t min;
    uint64_t max;
} field;
#define FIELD(type, key, kind, member, min, max) { key, kind, offsetof(type, member), min, max }

/* requestHeader{Command, Seq} */
static const field request_header[] = {
    FIELD(daemon_rpc_request, "Command", F_TEXT, command, 0, 0),
    FIELD(daemon_rpc_request, "Seq", F_UINT, seq, 0, UINT64_MAX),
};

/* The body fields of every request struct in client/const.go, by Go name.
 * A name means one type in every struct that has it, so one table serves
 * every command. */
#define BODY(key, kind, member, min, max) FIELD(daemon_rpc_request, key, kind, member, min, max)
static const field request_body[] = {
    BODY("Version", F_INT, version, INT32_MIN, INT32_MAX),
    BODY("AuthKey", F_TEXT, auth_key, 0, 0),
    BODY("Node", F_TEXT, node, 0, 0),
    BODY("Prune", F_BOOL, prune, 0, 0),
    BODY("Existing", F_LIST, existing, 0, 0),
    BODY("Replay", F_BOOL, replay, 0, 0),
    BODY("Tags", F_MAP, tags, 0, 0),
    BODY("Status", F_TEXT, status, 0, 0),
    BODY("Name", F_TEXT, name, 0, 0),
    BODY("DeleteTags", F_LIST, delete_tags, 0, 0),
    BODY("Type", F_TEXT, type, 0, 0),
    BODY("Stop", F_UINT, stop, 0, UINT64_MAX),
    BODY("LogLevel", F_TEXT, log_level, 0, 0),
    BODY("Payload", F_TEXT, payload, 0, 0),
    BODY("Coalesce", F_BOOL, coalesce, 0, 0),
    BODY("Key", F_TEXT, key, 0, 0),
    BODY("ID", F_UINT, id, 0, UINT64_MAX),
    BODY("FilterNodes", F_LIST, filter_nodes, 0, 0),
    BODY("FilterTags", F_MAP, filter_tags, 0, 0),
    BODY("RequestAck", F_BOOL, request_ack, 0, 0),
    BODY("RelayFactor", F_UINT, relay_factor, 0, UINT8_MAX),
    BODY("Timeout", F_INT, timeout, INT64_MIN, INT64_MAX),
};
#undef BODY

/* responseHeader{Seq, Error} */
typedef struct response_header {
    wire_bytes error;
    uint64_t seq;
} response_header;
static const field response_fields[] = {
    FIELD(response_header, "Error", F_TEXT, error, 0, 0),
    FIELD(response_header, "Seq", F_UINT, seq, 0, UINT64_MAX),
};
#undef FIELD
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Every text field "" (a Go string is never nil). */
static void fields_init(const field *t, size_t n, void *out)
{
    for (size_t f = 0; f < n; f++)
        if (t[f].kind == F_TEXT)
            *(wire_bytes *)((char *)out + t[f].off) = (wire_bytes){ empty, 0 };
}

static int read_field(wire_mp_reader *r, const field *f, void *out)
{
    void *at = (char *)out + f->off;
    if (wire_mp_read_nil(r))   /* a nil pointer, slice or map: Go's zero */
        return WIRE_OK;
    switch (f->kind) {
    case F_TEXT:
        return read_text(r, at);
    case F_BOOL:
        return wire_mp_read_bool(r, at);
    case F_UINT:
        return wire_mp_read_uint(r, f->max, at);
    case F_INT:
        return wire_mp_read_int(r, f->min, (int64_t)f->max, at);
    case F_LIST:
        return daemon_rpc_read_list(r, at, false);
    case F_MAP:
        return daemon_rpc_read_list(r, at, true);
    }
    return WIRE_EFORMAT;
}

/* One struct (nil: all zero) into out, by table t. */
static int read_fields(wire_mp_reader *r, const field *t, size_t n, void *out)
{
    uint32_t nk;
    if (wire_mp_read_nil(r))
        return WIRE_OK;
    int rc = wire_mp_read_map(r, &nk);
    for (uint32_t i = 0; rc == WIRE_OK && i < nk; i++) {
        wire_bytes k;
        if ((rc = wire_mp_read_str(r, &k)) != WIRE_OK)
            break;
        size_t f = 0;
        while (f < n && !wire_mp_eq(k, t[f].key))
            f++;
        rc = f < n ? read_field(r, &t[f], out) : wire_mp_skip(r);
    }
    return rc;
}

static daemon_rpc_parse parse_result(int rc)
{
    return rc == WIRE_OK ? DAEMON_RPC_OK : rc == WIRE_ETRUNC ? DAEMON_RPC_PARTIAL : DAEMON_RPC_BAD;
}

daemon_rpc_parse daemon_rpc_decode_request(const uint8_t *p, size_t n, daemon_rpc_request *req, size_t *used)
{
    wire_mp_reader r;
    memset(req, 0, sizeof *req);
    fields_init(request_header, NFIELDS(request_header), req);
    fields_init(request_body, NFIELDS(request_body), req);
    *used = 0;
    wire_mp_reader_init(&r, p, n);
    int rc = read_fields(&r, request_header, NFIELDS(request_header), req);
    if (rc != WIRE_OK)
        return parse_result(rc);
    req->cmd = cmd_lookup(req->command);
    if (daemon_rpc_cmd_has_body(req->cmd) &&
        (rc = read_fields(&r, request_body, NFIELDS(request_body), req)) != WIRE_OK)
        return rc == WIRE_ETRUNC ? DAEMON_RPC_PARTIAL : DAEMON_RPC_BAD_BODY;
    *used = wire_mp_consumed(&r);
    return DAEMON_RPC_OK;
}

daemon_rpc_parse daemon_rpc_decode_response_header(const uint8_t *p, size_t n, uint64_t *seq, wire_bytes *error,
                                                   size_t *used)
{
    wire_mp_reader r;
    response_header h = { .seq = 0 };
    fields_init(response_fields, NFIELDS(response_fields), &h);
    wire_mp_reader_init(&r, p, n);
    int rc = read_fields(&r, response_fields, NFIELDS(response_fields), &h);
    *used = rc == WIRE_OK ? wire_mp_consumed(&r) : 0;
    *seq = h.seq;
    *error = h.error;
    return parse_result(rc);
}

daemon_rpc_parse daemon_rpc_value_len(const uint8_t *p, size_t n, size_t *used)
{
    wire_mp_reader r;
    wire_mp_reader_init(&r, p, n);
    int rc = wire_mp_skip(&r);
    *used = rc == WIRE_OK ? wire_mp_consumed(&r) : 0;
    return parse_result(rc);
}

void daemon_rpc_put_request_header(wire_mp_writer *w, const char *command, uint64_t seq)
{
    wire_mp_container m;
    wire_mp_map_begin(w, &m);
    wire_mp_pack_cstr(w, "Command");
    wire_mp_pack_cstr(w, command);
    wire_mp_pack_cstr(w, "Seq");
    wire_mp_pack_uint(w, seq);
    wire_mp_map_end(w, &m);
}

void daemon_rpc_put_response_header(wire_mp_writer *w, uint64_t seq, const char *error)
{
    wire_mp_container m;
    wire_mp_map_begin(w, &m);
    wire_mp_pack_cstr(w, "Error");
    wire_mp_pack_cstr(w, error ? error : "");
    wire_mp_pack_cstr(w, "Seq");
    wire_mp_pack_uint(w, seq);
    wire_mp_map_end(w, &m);
}

const char *daemon_rpc_serf_status(swim_state state, bool leaving)
{
    switch (state) {
    case SWIM_ALIVE:
    case SWIM_SUSPECT:
        return leaving ? "leaving" : "alive";
    case SWIM_DEAD:
        return "failed";
    case SWIM_LEFT:
        return "left";
    }
    return "none";
}

static void kv_uint(wire_mp_writer *w, const char *k, uint64_t v)
{
    wire_mp_pack_cstr(w, k);
    wire_mp_pack_uint(w, v);
}

void daemon_rpc_put_member(wire_mp_writer *w, const swim_member *m, const char *status, bool moonlist)
{
    serf_tags tags = { 0 };
    /* malformed meta: the tags decoded before the error, as cli shows them */
    (void)serf_tags_decode(&tags, m->meta, m->meta_len);
    wire_mp_container row, tm;
    wire_mp_map_begin(w, &row);
    wire_mp_pack_cstr(w, "Addr");
    /* serf writes a net.IP as bin (its handle has WriteExt): a client
     * decoding into an interface{} (serf monitor's member events) expects
     * []byte, which old-spec raw would turn into a string */
    wire_mp_pack_bin(w, m->addr.ip, m->addr.ip_len);
    kv_uint(w, "DelegateCur", m->vsn[5]);
    kv_uint(w, "DelegateMax", m->vsn[4]);
    kv_uint(w, "DelegateMin", m->vsn[3]);
    wire_mp_pack_cstr(w, "Name");
    wire_mp_pack_cstr(w, m->name);
    kv_uint(w, "Port", m->addr.port);
    kv_uint(w, "ProtocolCur", m->vsn[2]);
    kv_uint(w, "ProtocolMax", m->vsn[1]);
    kv_uint(w, "ProtocolMin", m->vsn[0]);
    wire_mp_pack_cstr(w, "Status");
    wire_mp_pack_cstr(w, status);
    wire_mp_pack_cstr(w, "Tags");
    wire_mp_map_begin(w, &tm);
    for (size_t i = 0; i < tags.n; i++) {
        wire_mp_pack_raw(w, tags.v[i].key, tags.v[i].klen);
        wire_mp_pack_raw(w, tags.v[i].value, tags.v[i].vlen);
    }
    wire_mp_map_end(w, &tm);
    if (moonlist) {
        kv_uint(w, "Incarnation", m->incarnation);
        wire_mp_pack_cstr(w, "State");
        wire_mp_pack_cstr(w, swim_state_name(m->state));
    }
    wire_mp_map_end(w, &row);
    serf_tags_free(&tags);
}

static const char *const event_names[] = {
    "member-join", "member-leave", "member-failed", "member-update", "member-reap", "user", "query",
};

const char *daemon_rpc_event_name(unsigned bit)
{
    for (unsigned i = 0; i < sizeof event_names / sizeof event_names[0]; i++)
        if (bit == 1u << i)
            return event_names[i];
    return "?";
}

static bool has_prefix(const uint8_t *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

int daemon_rpc_parse_filter(wire_bytes type, unsigned *mask)
{
    *mask = 0;
    if (type.n == 0) {
        *mask = DAEMON_RPC_EV_ALL;
        return 0;
    }
    const uint8_t *p = type.p, *end = type.p + type.n;
    for (;;) {
        const uint8_t *comma = memchr(p, ',', (size_t)(end - p));
        wire_bytes part = { p, (size_t)((comma ? comma : end) - p) };
        unsigned bit = 0;
        if (wire_mp_eq(part, "*"))
            bit = DAEMON_RPC_EV_ALL;
        else if (has_prefix(part.p, part.n, "user:"))
            bit = DAEMON_RPC_EV_USER;
        else if (has_prefix(part.p, part.n, "query:"))
            bit = DAEMON_RPC_EV_QUERY;
        for (unsigned i = 0; !bit && i < sizeof event_names / sizeof event_names[0]; i++)
            if (wire_mp_eq(part, event_names[i]))
                bit = 1u << i;
        if (!bit)
            return -1;
        *mask |= bit;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

bool daemon_rpc_filter_takes(wire_bytes type, unsigned bit, wire_bytes name)
{
    if (type.n == 0)
        return true;
    const uint8_t *p = type.p, *end = type.p + type.n;
    for (;;) {
        const uint8_t *comma = memchr(p, ',', (size_t)(end - p));
        wire_bytes part = { p, (size_t)((comma ? comma : end) - p) };
        const char *prefix = bit == DAEMON_RPC_EV_USER ? "user:" : bit == DAEMON_RPC_EV_QUERY ? "query:" : NULL;
        if (wire_mp_eq(part, "*") || wire_mp_eq(part, daemon_rpc_event_name(bit)))
            return true;
        if (prefix && has_prefix(part.p, part.n, prefix)) {
            size_t k = strlen(prefix);
            /* serf's EventFilter: "user:" alone has no name, so takes all */
            if (part.n == k || (part.n - k == name.n && memcmp(part.p + k, name.p, name.n) == 0))
                return true;
        }
        if (!comma)
            return false;
        p = comma + 1;
    }
}

int daemon_rpc_parse_log_level(wire_bytes level, base_log_level *out, char *err, size_t errlen)
{
    char name[16];
    size_t n = level.n < sizeof name - 1 ? level.n : sizeof name - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = level.p[i] && isprint(level.p[i]) ? (char)toupper(level.p[i]) : '?';
    name[n] = '\0';
    if (level.n < sizeof name && !memchr(level.p, 0, level.n) && base_log_level_parse(name, out) == 0)
        return 0;
    snprintf(err, errlen, "Unknown log level: %s%s", name, level.n > n ? "..." : "");
    return -1;
}
