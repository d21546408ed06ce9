/* net: joining. Seeds are resolved (uv_getaddrinfo for names), handed to
 * swim_join, and the caller hears back when the core reports
 * SWIM_EV_JOIN_DONE with that join's id. Joins finish in any order (a
 * dead seed takes a TCPTimeout, a live one a round trip), so each waiting
 * caller is found by the id swim_join gave it. A failed stream to a seed
 * of a waiting join (net_stream.c) leaves its reason with that seed, so
 * that the error names each seed and why it failed ("127.0.0.1:7999:
 * connection refused"), as memberlist's does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

/* memberlist joins every address a name resolves to; a name resolving to
 * more than this is a misconfiguration, not a cluster. */
#define NET_JOIN_MAX_SEEDS 64

typedef struct net_resolve {
    uv_getaddrinfo_t req;
    net_join_job *job;
    uint16_t port;
    char host[256];
} net_resolve;

typedef struct net_seed {
    swim_addr addr;
    char name[256];            /* the name it was resolved from, "" for an IP */
    char why[80];              /* why its stream failed, "" if none did */
} net_seed;

struct net_join_job {
    net *n;
    net_join_job *next;
    uint64_t join_id;          /* the core's, once swim_join returned */
    bool reported;             /* finished inside swim_join */
    net_join_cb done;
    void *ud;
    int pending;               /* resolutions in flight */
    net_seed seeds[NET_JOIN_MAX_SEEDS];
    size_t nseeds;
    char err[1024];            /* what failed before the join: names, bad addresses */
};

static void add_err(net_join_job *j, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(j->err);
    if (used + 2 >= sizeof j->err)
        return;
    snprintf(j->err + used, sizeof j->err - used, "%s", used ? "; " : "");
    used = strlen(j->err);
    snprintf(j->err + used, sizeof j->err - used, fmt, a, b);
}

static void add_seed(net_join_job *j, const swim_addr *a, const char *name)
{
    for (size_t i = 0; i < j->nseeds; i++)
        if (memcmp(&j->seeds[i].addr, a, sizeof *a) == 0)
            return;
    if (j->nseeds == NET_JOIN_MAX_SEEDS)
        return;
    net_seed *s = &j->seeds[j->nseeds++];
    s->addr = *a;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
}

static void job_start(net_join_job *j)
{
    net *n = j->n;
    if (j->nseeds == 0 || n->closing) {
        j->done(j->ud, 0, j->err[0] ? j->err : "no address to join");
        free(j);
        return;
    }
    swim_addr seeds[NET_JOIN_MAX_SEEDS];
    for (size_t i = 0; i < j->nseeds; i++)
        seeds[i] = j->seeds[i].addr;
    /* the core may finish the join inside the call, before its id is
     * known here (swim_join): net_join_done takes an unknown id during the
     * call for this job */
    n->join_starting = j;
    uint64_t id = swim_join(n->core, net_now(n), seeds, j->nseeds);
    n->join_starting = NULL;
    if (j->reported) {
        free(j);
        return;
    }
    j->join_id = id;
    j->next = n->joins;
    n->joins = j;
}

void net_join_stream_failed(net *n, const swim_addr *to, const char *why)
{
    for (net_join_job *j = n->joins; j; j = j->next)
        for (size_t i = 0; i < j->nseeds; i++)
            if (!j->seeds[i].why[0] && memcmp(&j->seeds[i].addr, to, sizeof *to) == 0)
                snprintf(j->seeds[i].why, sizeof j->seeds[i].why, "%s", why);
}

/* The seeds that failed after the errors found before: all of them when
 * none answered (those without a stream failure sent no usable reply),
 * else those whose stream failed. */
static void seed_errors(net_join_job *j, int count)
{
    for (size_t i = 0; i < j->nseeds; i++) {
        const net_seed *s = &j->seeds[i];
        if (count > 0 && !s->why[0])
            continue;
        char a[80];
        net_addr_text(&s->addr, a, sizeof a);
        char what[400];
        snprintf(what, sizeof what, "%s%s%s%s: %s", s->name, s->name[0] ? " (" : "", a, s->name[0] ? ")" : "",
                 s->why[0] ? s->why : "no reply");
        add_err(j, "%s%s", what, "");
    }
}

void net_join_done(net *n, uint64_t join_id, int count)
{
    net_join_job *j = NULL;
    for (net_join_job **pp = &n->joins; *pp; pp = &(*pp)->next) {
        if ((*pp)->join_id == join_id) {
            j = *pp;
            *pp = j->next;
            break;
        }
    }
    if (!j && n->join_starting && !n->join_starting->reported) {
        n->join_starting->reported = true;
        j = n->join_starting;
        seed_errors(j, count);
        j->done(j->ud, count, j->err[0] ? j->err : NULL);
        return; /* freed by job_start */
    }
    if (!j)
        return;   /* a join started by someone else (e.g. a Lua script) */
    seed_errors(j, count);
    j->done(j->ud, count, j->err[0] ? j->err : NULL);
    free(j);
}

/* Shutting down: every waiting caller hears that its join failed. */
void net_joins_free(net *n)
{
    while (n->joins) {
        net_join_job *j = n->joins;
        n->joins = j->next;
        j->done(j->ud, 0, "the agent is shutting down");
        free(j);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    net_resolve *r = req->data;
    net_join_job *j = r->job;
    net *n = j->n;
    if (status < 0) {
        add_err(j, "%s: cannot resolve it: %s", r->host, uv_strerror(status));
    } else {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            swim_addr a;
            if (net_swim_from_sockaddr(ai->ai_addr, &a) == 0) {
                a.port = r->port;
                add_seed(j, &a, r->host);
            }
        }
    }
    uv_freeaddrinfo(res);
    free(r);
    if (--j->pending == 0)
        job_start(j);
    net_handle_close(n);       /* the request kept net alive */
}

int net_join(net *n, const char *const *addrs, size_t naddrs, net_join_cb done, void *ud)
{
    net_join_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->n = n;
    j->done = done;
    j->ud = ud;
    j->pending = 1;            /* held until every request is started */
    for (size_t i = 0; i < naddrs; i++) {
        char host[256];
        uint16_t port;
        swim_addr a;
        if (strchr(addrs[i], '/')) {
            add_err(j, "%s: the name/address join form is not supported%s", addrs[i], "");
            continue;
        }
        if (net_split_host_port(addrs[i], host, sizeof host, &port, NET_DEFAULT_PORT) < 0) {
            add_err(j, "%s: not host[:port]%s", addrs[i], "");
            continue;
        }
        if (net_parse_ip(host, port, &a) == 0) {
            add_seed(j, &a, NULL);
            continue;
        }
        net_resolve *r = calloc(1, sizeof *r);
        if (!r) {
            add_err(j, "%s: out of memory resolving it%s", host, "");
            continue;
        }
        r->job = j;
        r->port = port;
        snprintf(r->host, sizeof r->host, "%s", host);
        r->req.data = r;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        j->pending++;
        n->handles_open++;
        int rc = uv_getaddrinfo(n->loop, &r->req, on_resolved, r->host, NULL, &hints);
        if (rc < 0) {
            j->pending--;
            n->handles_open--;
            add_err(j, "%s: cannot resolve it: %s", host, uv_strerror(rc));
            free(r);
        }
    }
    if (--j->pending == 0)
        job_start(j);
    return 0;
}
