/* daemon_rpc_serf: serf's event, query, respond and key commands over the
 * control protocol (serf's ipc.go handleEvent, handleQuery,
 * handleRespond, handle*Key), answered with the serf node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_internal.h"

/* serf's InternalQueryPrefix: the agent refuses queries under it */
#define SERF_INTERNAL_PREFIX "_serf_"

static void size_error(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s exceeds the configured size limit", what);
}

void daemon_rpc_event(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    char err[160];
    base_log(BASE_LOG_DEBUG, "rpc: user event '%.*s' (%zu bytes, coalesce %s)", (int)req->name.n,
             (const char *)req->name.p, req->payload.n, req->coalesce ? "true" : "false");
    int rc = serf_node_user_event(a->sn, net_core(a->net), net_now(a->net), req->name, req->payload, req->coalesce);
    if (rc == WIRE_ELIMIT)
        size_error(err, sizeof err, "user event");
    else if (rc != 0)
        snprintf(err, sizeof err, "user event not sent: %s", wire_strerror(rc));
    daemon_rpc_reply(c, rc ? err : NULL, NULL, 0);
}

/* A list of strings from a request as C strings (malloc'd, one block). */
static char **c_strings(daemon_rpc_list l, bool map, size_t *n)
{
    size_t bytes = 0, count = 0;
    daemon_rpc_list w = l;
    wire_bytes k, v;
    while (map ? daemon_rpc_map_next(&w, &k, &v) : daemon_rpc_list_next(&w, &k)) {
        bytes += k.n + 1 + (map ? v.n + 1 : 0);
        count += map ? 2 : 1;
    }
    char **out = malloc((count + 1) * sizeof *out + bytes);
    if (!out)
        return NULL;
    char *p = (char *)(out + count + 1);
    size_t i = 0;
    w = l;
    while (map ? daemon_rpc_map_next(&w, &k, &v) : daemon_rpc_list_next(&w, &k)) {
        wire_bytes parts[2] = { k, v };
        for (int j = 0; j < (map ? 2 : 1); j++) {
            /* a NUL inside cuts it there, as a C string must */
            memcpy(p, parts[j].p, parts[j].n);
            p[parts[j].n] = '\0';
            out[i++] = p;
            p += parts[j].n + 1;
        }
    }
    out[i] = NULL;
    *n = map ? count / 2 : count;
    return out;
}

void daemon_rpc_query(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    char err[200];
    static const char ping[] = SERF_INTERNAL_PREFIX "ping";
    /* serf's agent: no internal names, but "_serf_ping" without payload
     * (the codec gives nil and empty alike: both count as none) */
    if (req->name.n >= sizeof SERF_INTERNAL_PREFIX - 1 &&
        memcmp(req->name.p, SERF_INTERNAL_PREFIX, sizeof SERF_INTERNAL_PREFIX - 1) == 0 &&
        !(req->name.n == sizeof ping - 1 && memcmp(req->name.p, ping, req->name.n) == 0 && req->payload.n == 0)) {
        snprintf(err, sizeof err, "Queries cannot contain the '%s' prefix", SERF_INTERNAL_PREFIX);
        daemon_rpc_reply(c, err, NULL, 0);
        return;
    }
    size_t nnodes = 0, ntags = 0;
    char **nodes = c_strings(req->filter_nodes, false, &nnodes);
    char **tags = c_strings(req->filter_tags, true, &ntags);
    const char **keys = tags ? calloc(ntags + 1, sizeof *keys) : NULL;
    const char **exprs = tags ? calloc(ntags + 1, sizeof *exprs) : NULL;
    if (!nodes || !tags || !keys || !exprs) {
        daemon_rpc_reply(c, "out of memory", NULL, 0);
        goto out;
    }
    for (size_t i = 0; i < ntags; i++) {
        keys[i] = tags[2 * i];
        exprs[i] = tags[2 * i + 1];
    }
    /* serf's Timeout is a time.Duration (nanoseconds); 0 is its default */
    uint64_t timeout_ms = req->timeout > 0 ? ((uint64_t)req->timeout + 999999) / 1000000 : 0;
    serf_node_query_opts opts = {
        .nodes = (const char *const *)nodes,
        .nnodes = nnodes,
        .tag_keys = keys,
        .tag_exprs = exprs,
        .ntags = ntags,
        .request_ack = req->request_ack,
        .relay_factor = (uint8_t)(req->relay_factor > 255 ? 255 : req->relay_factor),
        .timeout_ms = timeout_ms,
    };
    uint64_t id;
    int rc = serf_node_query(a->sn, net_core(a->net), net_now(a->net), req->name, req->payload, &opts, &id);
    if (rc != 0) {
        if (rc == WIRE_ELIMIT)
            size_error(err, sizeof err, "query");
        else
            snprintf(err, sizeof err, "query not sent: %s", wire_strerror(rc));
        daemon_rpc_reply(c, err, NULL, 0);
        goto out;
    }
    base_log(BASE_LOG_DEBUG, "rpc: query '%.*s' (%zu bytes)", (int)req->name.n, (const char *)req->name.p,
             req->payload.n);
    /* its answers follow this reply under the request's Seq, from the loop */
    if (daemon_rpc_conn_watch_query(c, req->seq, id) < 0)
        daemon_rpc_reply(c, "too many queries running on this connection", NULL, 0);
    else
        daemon_rpc_reply(c, NULL, NULL, 0);
out:
    free(nodes);
    free(tags);
    free(keys);
    free(exprs);
}

void daemon_rpc_respond(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    char err[160];
    int rc = serf_node_respond(a->sn, net_core(a->net), net_now(a->net), req->id, req->payload);
    if (rc == WIRE_ELIMIT)
        size_error(err, sizeof err, "response");
    else if (rc != 0)
        snprintf(err, sizeof err, "%s", "No pending queries matching ID");   /* serf's invalidQueryID */
    daemon_rpc_reply(c, rc ? err : NULL, NULL, 0);
}

void daemon_rpc_keys(agent *a, daemon_rpc_conn *c, const daemon_rpc_request *req)
{
    daemon_serf_key_query(a, c, req->cmd, req->key);
}
