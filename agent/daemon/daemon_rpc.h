/* daemon_rpc: the control protocol on the agent's -rpc-addr: serf's IPC
 * (serf's cmd/serf/command/agent/ipc.go and client/), so that Debian's
 * `serf` command and serf's client libraries control a moonlist agent as
 * they control a serf agent, and moonlist's own commands speak it too.
 * This file is the codec, sans I/O; daemon_rpc_server.h carries it over
 * TCP and daemon_rpc.c answers the commands.
 *
 * A connection is a msgpack stream both ways (go-msgpack: maps with the Go
 * field names as keys, old-spec raw strings; we read every string and
 * integer form). The client sends requests, each a header map
 *     {"Command": name, "Seq": n}
 * followed by a body map when the command takes one (the table below), and
 * the agent answers each with a header map
 *     {"Error": "" or a message, "Seq": n}
 * followed by a body when the command replies with one: then even an error
 * carries one (an empty map), because serf's client reads it regardless,
 * except "Authentication required", after which it reads none. Many
 * requests go over one connection; the first must be a handshake with
 * {"Version": 1}, anything else first is answered "Handshake required" and
 * the connection closed. With an auth key set (-rpc-auth), only handshake
 * and auth are served until an auth with {"AuthKey": key} succeeded.
 *
 * Streams: `stream` {"Type": filter} and `monitor` {"LogLevel": level}
 * answer once, then keep sending records under the request's Seq: member
 * events as {"Event": "member-join"|..., "Members": [member]}, user events
 * as {"Event": "user", "LTime", "Name", "Payload", "Coalesce"}, queries as
 * {"Event": "query", "ID", "LTime", "Name", "Payload"} (answered with
 * `respond` {"ID", "Payload"}), log lines as {"Log": line}, until `stop`
 * {"Stop": seq} or the connection ends. A `query` answers once, then sends
 * {"Type": "ack"|"response"|"done", "From", "Payload"} under its Seq as
 * the answers come, "done" last (serf's queryResponseStream).
 *
 * A member is serf's record: {"Addr" (the raw 4 or 16 bytes), "DelegateCur",
 * "DelegateMax", "DelegateMin", "Name", "Port", "ProtocolCur",
 * "ProtocolMax", "ProtocolMin", "Status", "Tags" (map)}, in the order serf
 * 0.9.4 writes them. Status is serf's word: a suspect member is "alive"
 * (serf shows it so), a dead one "failed", and we are "leaving" during our
 * own graceful leave.
 *
 * moonlist's own commands, in the same framing (serf answers them
 * "Unsupported command"):
 *   "moonlist-members"  -> {"Members": [member + "Incarnation", "State"
 *                          (alive|suspect|dead|left, swim's word)]}
 *   "moonlist-info"     -> {section: {key: string or unsigned}}, sections
 *                          and keys in display order (`moonlist info`) */
#ifndef MOONLIST_DAEMON_RPC_H
#define MOONLIST_DAEMON_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base_log.h"
#include "swim/swim.h"
#include "wire/wire_mp.h"

/* serf's default RPC address: loopback only, the control port is not
 * authenticated unless -rpc-auth is given */
#define DAEMON_RPC_DEFAULT_ADDR "127.0.0.1:7373"

/* The IPC version serf speaks (MinIPCVersion = MaxIPCVersion = 1). */
#define DAEMON_RPC_VERSION 1

/* Requests are small (a join list, a tag map of at most 512 bytes of
 * meta): a request that does not fit in 1 MiB is not one, and this bounds
 * what a client can make us buffer. */
#define DAEMON_RPC_MAX_REQUEST ((size_t)1 << 20)
/* A member list of thousands with full meta stays far below this; the
 * client refuses anything bigger. */
#define DAEMON_RPC_MAX_REPLY ((size_t)32 << 20)

/* serf's error strings (client/const.go): clients compare some of them. */
#define DAEMON_RPC_E_UNSUPPORTED "Unsupported command"
#define DAEMON_RPC_E_VERSION "Unsupported IPC version"
#define DAEMON_RPC_E_DUP_HANDSHAKE "Handshake already performed"
#define DAEMON_RPC_E_HANDSHAKE "Handshake required"
#define DAEMON_RPC_E_MONITOR_EXISTS "Monitor already exists"
#define DAEMON_RPC_E_FILTER "Invalid event filter"
#define DAEMON_RPC_E_STREAM_EXISTS "Stream with given sequence exists"
#define DAEMON_RPC_E_AUTH_REQUIRED "Authentication required"
#define DAEMON_RPC_E_AUTH_INVALID "Invalid authentication token"

/* The commands: id, name, whether the request has a body, whether the
 * response has one. serf's, in client/const.go's order, then ours. */
#define DAEMON_RPC_COMMANDS(X)                          \
    X(HANDSHAKE, "handshake", 1, 0)                     \
    X(EVENT, "event", 1, 0)                             \
    X(FORCE_LEAVE, "force-leave", 1, 0)                 \
    X(JOIN, "join", 1, 1)                               \
    X(MEMBERS, "members", 0, 1)                         \
    X(MEMBERS_FILTERED, "members-filtered", 1, 1)       \
    X(STREAM, "stream", 1, 0)                           \
    X(STOP, "stop", 1, 0)                               \
    X(MONITOR, "monitor", 1, 0)                         \
    X(LEAVE, "leave", 0, 0)                             \
    X(INSTALL_KEY, "install-key", 1, 1)                 \
    X(USE_KEY, "use-key", 1, 1)                         \
    X(REMOVE_KEY, "remove-key", 1, 1)                   \
    X(LIST_KEYS, "list-keys", 0, 1)                     \
    X(TAGS, "tags", 1, 0)                               \
    X(QUERY, "query", 1, 0)                             \
    X(RESPOND, "respond", 1, 0)                         \
    X(AUTH, "auth", 1, 0)                               \
    X(STATS, "stats", 0, 1)                             \
    X(GET_COORDINATE, "get-coordinate", 1, 1)           \
    X(MOONLIST_MEMBERS, "moonlist-members", 0, 1)       \
    X(MOONLIST_INFO, "moonlist-info", 0, 1)

typedef enum daemon_rpc_cmd {
    DAEMON_RPC_CMD_UNKNOWN = 0,
#define DAEMON_RPC_CMD_ENUM_(id, name, req_body, resp_body) DAEMON_RPC_CMD_##id,
    DAEMON_RPC_COMMANDS(DAEMON_RPC_CMD_ENUM_)
#undef DAEMON_RPC_CMD_ENUM_
    DAEMON_RPC_NCMDS
} daemon_rpc_cmd;

/* The name ("?" for UNKNOWN), and the two columns of the table. */
const char *daemon_rpc_cmd_name(daemon_rpc_cmd c);
bool daemon_rpc_cmd_has_body(daemon_rpc_cmd c);
bool daemon_rpc_cmd_replies_body(daemon_rpc_cmd c);

/* A []string or map[string]string inside a request, checked whole while
 * decoding (every element a string; nil is empty), so that walking it
 * cannot fail: the views point into the request's bytes. */
typedef struct daemon_rpc_list {
    wire_mp_reader r;   /* at the first element */
    uint32_t n;         /* elements, or map entries */
} daemon_rpc_list;

/* Read a []string (map false) or map[string]string (map true) at r into
 * l, checking every element (nil is empty): WIRE_OK, or the reader's
 * error. For the client's records as for requests. */
int daemon_rpc_read_list(wire_mp_reader *r, daemon_rpc_list *l, bool map);
/* The next element / map entry: false at the end. */
bool daemon_rpc_list_next(daemon_rpc_list *l, wire_bytes *s);
bool daemon_rpc_map_next(daemon_rpc_list *l, wire_bytes *key, wire_bytes *value);

/* One decoded request: the header, and the body's fields by their Go
 * names (client/const.go's request structs). A field the body lacks is
 * zero; keys we do not know are skipped, as go-msgpack does. A string is
 * a view into the input (never NULL: "" when absent or nil). */
typedef struct daemon_rpc_request {
    daemon_rpc_cmd cmd;
    wire_bytes command;           /* the name as sent */
    uint64_t seq;
    int64_t version;              /* handshake: Version */
    wire_bytes auth_key;          /* auth: AuthKey */
    wire_bytes node;              /* force-leave, get-coordinate: Node */
    bool prune;                   /* force-leave: Prune */
    daemon_rpc_list existing;     /* join: Existing []string */
    bool replay;                  /* join: Replay */
    daemon_rpc_list tags;         /* members-filtered (regexps), tags: Tags */
    wire_bytes status;            /* members-filtered: Status (regexp) */
    wire_bytes name;              /* members-filtered (regexp), event, query: Name */
    daemon_rpc_list delete_tags;  /* tags: DeleteTags []string */
    wire_bytes type;              /* stream: Type (an event filter) */
    uint64_t stop;                /* stop: Stop (the stream's Seq) */
    wire_bytes log_level;         /* monitor: LogLevel */
    wire_bytes payload;           /* event, respond, query: Payload */
    bool coalesce;                /* event: Coalesce */
    wire_bytes key;               /* install-key, use-key, remove-key: Key */
    uint64_t id;                  /* respond: ID */
    daemon_rpc_list filter_nodes; /* query: FilterNodes []string */
    daemon_rpc_list filter_tags;  /* query: FilterTags map */
    bool request_ack;             /* query: RequestAck */
    uint64_t relay_factor;        /* query: RelayFactor (uint8) */
    int64_t timeout;              /* query: Timeout (nanoseconds) */
} daemon_rpc_request;

typedef enum daemon_rpc_parse {
    DAEMON_RPC_OK,        /* one item decoded, *used bytes long */
    DAEMON_RPC_PARTIAL,   /* the input ends inside it: read more */
    DAEMON_RPC_BAD,       /* not a header: nothing more can be framed, drop the connection */
    DAEMON_RPC_BAD_BODY,  /* the header is fine (cmd, seq set) but not its body: answer, then drop */
} daemon_rpc_parse;

/* Decode the request at the start of p[0..n): its header and, if the
 * command takes one, its body. An unknown command is DAEMON_RPC_OK with
 * cmd UNKNOWN and *used the header alone: whether a body follows is
 * unknowable, so the caller answers "Unsupported command" and closes, as
 * serf does. Bounded: never reads past p + n, allocates nothing. */
daemon_rpc_parse daemon_rpc_decode_request(const uint8_t *p, size_t n, daemon_rpc_request *req, size_t *used);

/* A response header at p: *seq and *error (a view, "" for none). */
daemon_rpc_parse daemon_rpc_decode_response_header(const uint8_t *p, size_t n, uint64_t *seq, wire_bytes *error,
                                                   size_t *used);
/* The length of the one msgpack value at p (a body): OK, PARTIAL or BAD. */
daemon_rpc_parse daemon_rpc_value_len(const uint8_t *p, size_t n, size_t *used);

/* Headers, into the caller's pass. */
void daemon_rpc_put_request_header(wire_mp_writer *w, const char *command, uint64_t seq);
void daemon_rpc_put_response_header(wire_mp_writer *w, uint64_t seq, const char *error);

/* serf's status for a member: alive and suspect "alive", dead "failed",
 * left "left"; "leaving" when `leaving` (ourselves, during our leave) and
 * not yet left. */
const char *daemon_rpc_serf_status(swim_state state, bool leaving);

/* One member as serf writes it, with `status`; `moonlist` adds
 * "Incarnation" and "State" (moonlist-members). Tags come from the node
 * meta as serf decodes it (serf_tags_decode). */
void daemon_rpc_put_member(wire_mp_writer *w, const swim_member *m, const char *status, bool moonlist);

/* serf's event filter (a stream's Type): comma-separated member-join,
 * member-leave, member-failed, member-update, member-reap, user[:name],
 * query[:name] or *; empty is *. */
enum {
    DAEMON_RPC_EV_MEMBER_JOIN = 1 << 0,
    DAEMON_RPC_EV_MEMBER_LEAVE = 1 << 1,
    DAEMON_RPC_EV_MEMBER_FAILED = 1 << 2,
    DAEMON_RPC_EV_MEMBER_UPDATE = 1 << 3,
    DAEMON_RPC_EV_MEMBER_REAP = 1 << 4,
    DAEMON_RPC_EV_USER = 1 << 5,
    DAEMON_RPC_EV_QUERY = 1 << 6,
    DAEMON_RPC_EV_ALL = (1 << 7) - 1,
};
/* The filter as a mask of DAEMON_RPC_EV_*: 0, or -1 if any part is not
 * one of serf's (DAEMON_RPC_E_FILTER). */
int daemon_rpc_parse_filter(wire_bytes type, unsigned *mask);
/* "member-join" ... for one DAEMON_RPC_EV_* bit. */
const char *daemon_rpc_event_name(unsigned bit);
/* Whether a valid filter takes an event of one DAEMON_RPC_EV_* bit; a user
 * event or query also by its name ("user:deploy" takes only "deploy"). */
bool daemon_rpc_filter_takes(wire_bytes type, unsigned bit, wire_bytes name);

/* A monitor's LogLevel as serf takes it (TRACE, DEBUG, INFO, WARN, ERR,
 * any case; TRACE is our debug), or as -log-level does. 0, or -1: then err
 * holds serf's "Unknown log level: X". */
int daemon_rpc_parse_log_level(wire_bytes level, base_log_level *out, char *err, size_t errlen);

#endif
