/* daemon_handlers: serf's event handler scripts, run one at a time as
 * libuv processes on the protocol loop (see daemon_handlers.h). */
#include "daemon/daemon_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_log.h"
#include "daemon/daemon_tags_file.h"
#include "net/net.h"
#include "serf/serf_tags.h"

extern char **environ;

/* A full queue is logged at most once per this long (with the count). */
#define DROP_LOG_MS 10000
/* After a script exited, its output pipes get this long to reach EOF (a
 * child it left running in the background may hold them open). */
#define OUTPUT_GRACE_MS 200

static const char *const event_names[DAEMON_EV_COUNT] = {
    [DAEMON_EV_MEMBER_JOIN] = "member-join",     [DAEMON_EV_MEMBER_LEAVE] = "member-leave",
    [DAEMON_EV_MEMBER_FAILED] = "member-failed", [DAEMON_EV_MEMBER_UPDATE] = "member-update",
    [DAEMON_EV_MEMBER_REAP] = "member-reap",     [DAEMON_EV_USER] = "user",
    [DAEMON_EV_QUERY] = "query",
};

const char *daemon_event_name(daemon_event_kind k)
{
    return k < DAEMON_EV_COUNT ? event_names[k] : "?";
}

/* ---- parsing (serf's ParseEventScript and ParseEventFilter) ---- */

void daemon_handler_free(daemon_handler *h)
{
    for (size_t i = 0; i < h->nfilters; i++)
        free(h->filters[i].name);
    free(h->filters);
    free(h->script);
    memset(h, 0, sizeof *h);
}

/* One filter of the comma-separated list: s[0..n). */
static int parse_filter(const char *s, size_t n, daemon_filter *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (n == 1 && s[0] == '*') {
        f->any = true;
        return 0;
    }
    static const struct { const char *prefix; daemon_event_kind k; } named[] = {
        { "user:", DAEMON_EV_USER }, { "query:", DAEMON_EV_QUERY } };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t pl = strlen(named[i].prefix);
        if (n >= pl && memcmp(s, named[i].prefix, pl) == 0) {
            f->kind = named[i].k;
            if (n > pl && !(f->name = strndup(s + pl, n - pl))) {
                snprintf(err, errlen, "event handlers: out of memory");
                return -1;
            }
            return 0;
        }
    }
    for (int k = 0; k < DAEMON_EV_COUNT; k++)
        if (strlen(event_names[k]) == n && memcmp(event_names[k], s, n) == 0) {
            f->kind = (daemon_event_kind)k;
            return 0;
        }
    snprintf(err, errlen,
             "unknown event '%.*s' (member-join, member-leave, member-failed, member-update, member-reap, "
             "user[:NAME], query[:NAME] or *)",
             (int)n, s);
    return -1;
}

int daemon_handler_parse(const char *spec, daemon_handler *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    const char *eq = strchr(spec, '=');
    const char *filter = eq ? spec : "*";
    size_t flen = eq ? (size_t)(eq - spec) : 1;
    const char *script = eq ? eq + 1 : spec;
    if (!*script) {
        snprintf(err, errlen, "'%s' has no script to run", spec);
        return -1;
    }
    if (flen == 0) {   /* "=script": no filter is every event, as serf takes it */
        filter = "*";
        flen = 1;
    }
    size_t cap = 1;
    for (size_t i = 0; i < flen; i++)
        cap += filter[i] == ',';
    h->filters = calloc(cap, sizeof *h->filters);
    h->script = strdup(script);
    if (!h->filters || !h->script) {
        snprintf(err, errlen, "event handlers: out of memory");
        daemon_handler_free(h);
        return -1;
    }
    for (const char *p = filter, *end = filter + flen; p <= end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (parse_filter(p, (size_t)(stop - p), &h->filters[h->nfilters], err, errlen) < 0) {
            daemon_handler_free(h);
            return -1;
        }
        h->nfilters++;
        p = stop + 1;
    }
    return 0;
}

bool daemon_handler_matches(const daemon_handler *h, daemon_event_kind k, const char *name)
{
    for (size_t i = 0; i < h->nfilters; i++) {
        const daemon_filter *f = &h->filters[i];
        if (f->any)
            return true;
        if (f->kind != k)
            continue;
        if (!f->name || (name && strcmp(f->name, name) == 0))
            return true;
    }
    return false;
}

/* ---- running ---- */

typedef struct hevent {
    struct hevent *next;
    daemon_event_kind kind;
    uint64_t ltime;          /* user, query */
    uint64_t query_id;       /* query: serf_node's handle, for the response */
    size_t name_len;         /* user, query: the name, at data[0..name_len) */
    size_t len;              /* the input: one member line ('\n'-terminated),
                                or the payload, at data[name_len..) */
    char data[];
} hevent;

typedef struct job job;

struct daemon_handlers {
    uv_loop_t *loop;
    daemon_handler *v;
    size_t n;
    unsigned kinds;          /* bit per kind some handler takes */
    daemon_handlers_self_fn self;
    void *ud;
    daemon_handlers_respond_fn respond;
    void *respond_ud;
    char **env;              /* the agent's environment, copied at start */
    size_t nenv;
    hevent *head, *tail;
    size_t queued;
    uint64_t dropped, dropped_logged;
    uint64_t drop_logged_at;
    bool drop_logged_once;
    uv_timer_t kick;         /* starts the next run from the loop */
    job *job;                /* the script running now, or NULL */
    bool closing;
    int open;                /* our own handles and the job's, not yet closed */
};

/* One script running for one batch of events. */
struct job {
    daemon_handlers *hs;
    daemon_event_kind kind;
    size_t handler;          /* index into hs->v */
    char *name;              /* user, query: the event's name (owned), else NULL */
    uint64_t ltime, query_id;
    size_t nmembers;
    char *input;             /* the member lines */
    size_t input_len;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_write_t write;
    uv_timer_t timer;        /* slow warning, then the output grace */
    int open;                /* handles not yet closed */
    int out_open;            /* output pipes not yet at EOF */
    bool exited, finished, spawned, proc_init;
    int64_t status;
    int term_signal;
    uint64_t started;
    char output[DAEMON_HANDLERS_OUTPUT_MAX];
    size_t output_len;
    uint64_t output_total;
};

static void next_run(daemon_handlers *hs);
static void job_start(job *j);

static void on_kick(uv_timer_t *t)
{
    next_run(t->data);
}

static void hs_free_if_done(daemon_handlers *hs)
{
    if (!hs->closing || hs->open > 0)
        return;
    for (size_t i = 0; i < hs->n; i++)
        daemon_handler_free(&hs->v[i]);
    free(hs->v);
    for (size_t i = 0; i < hs->nenv; i++)
        free(hs->env[i]);
    free(hs->env);
    free(hs);
}

static void on_hs_close(uv_handle_t *h)
{
    daemon_handlers *hs = h->data;
    hs->open--;
    hs_free_if_done(hs);
}

static void on_job_close(uv_handle_t *h)
{
    job *j = h->data;
    if (--j->open > 0)
        return;
    daemon_handlers *hs = j->hs;
    free(j->input);
    free(j->name);
    free(j);
    hs->open--;
    hs_free_if_done(hs);
}

static void job_close_handles(job *j)
{
    uv_handle_t *hv[] = { (uv_handle_t *)&j->in, (uv_handle_t *)&j->out, (uv_handle_t *)&j->err,
                          (uv_handle_t *)&j->timer, j->proc_init ? (uv_handle_t *)&j->proc : NULL };
    for (size_t i = 0; i < sizeof hv / sizeof hv[0]; i++)
        if (hv[i] && !uv_is_closing(hv[i]))
            uv_close(hv[i], on_job_close);
}

static const char *script_of(const job *j)
{
    return j->hs->v[j->handler].script;
}

/* The output kept for the log: its last DAEMON_HANDLERS_OUTPUT_MAX bytes,
 * one debug line per line. */
static void log_output(job *j)
{
    if (j->output_total > j->output_len)
        base_log(BASE_LOG_WARN, "event handler '%s' wrote %llu bytes of output, kept the last %zu", script_of(j),
                 (unsigned long long)j->output_total, j->output_len);
    if (base_log_get_level() > BASE_LOG_DEBUG)
        return;
    const char *p = j->output, *end = j->output + j->output_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        base_log(BASE_LOG_DEBUG, "event handler '%s' (%s) output: %.*s", script_of(j), daemon_event_name(j->kind),
                 (int)(stop - p), p);
        p = stop + 1;
    }
}

/* The script is done (exited, output read or its grace over): log, close,
 * and go on with the next script for this batch, or the next batch. */
static void job_finish(job *j)
{
    if (j->finished)
        return;
    j->finished = true;
    daemon_handlers *hs = j->hs;
    if (j->spawned) {
        log_output(j);
        if (j->term_signal)
            base_log(BASE_LOG_ERROR, "event handler '%s' (%s) killed by signal %d", script_of(j),
                     daemon_event_name(j->kind), j->term_signal);
        else if (j->status != 0)
            base_log(BASE_LOG_ERROR, "event handler '%s' (%s) exit status %lld", script_of(j),
                     daemon_event_name(j->kind), (long long)j->status);
        /* serf's invoke.go: a query handler that exits 0 having written
         * something answers with its output (stdout and stderr, the last
         * DAEMON_HANDLERS_OUTPUT_MAX bytes); a later handler's answer is
         * refused by the node, as serf refuses a second Respond */
        else if (j->kind == DAEMON_EV_QUERY && j->output_total > 0 && hs->respond)
            hs->respond(hs->respond_ud, j->query_id, (const uint8_t *)j->output, j->output_len);
    }
    /* the batch moves on to a fresh job with its input; this one closes */
    job *next = NULL;
    size_t i = j->handler + 1;
    while (i < hs->n && !daemon_handler_matches(&hs->v[i], j->kind, j->name))
        i++;
    if (!hs->closing && i < hs->n && (next = calloc(1, sizeof *next))) {
        next->hs = hs;
        next->kind = j->kind;
        next->handler = i;
        next->name = j->name;
        next->ltime = j->ltime;
        next->query_id = j->query_id;
        j->name = NULL;
        next->nmembers = j->nmembers;
        next->input = j->input;
        next->input_len = j->input_len;
        j->input = NULL;
    }
    hs->job = NULL;
    job_close_handles(j);
    if (next)
        job_start(next);
    else if (!hs->closing)
        uv_timer_start(&hs->kick, on_kick, 0, 0);
}

static void on_grace(uv_timer_t *t)
{
    job_finish(t->data);
}

static void on_slow(uv_timer_t *t)
{
    job *j = t->data;
    base_log(BASE_LOG_WARN, "event handler '%s' (%s) slow: running for more than %d ms", script_of(j),
             daemon_event_name(j->kind), DAEMON_HANDLERS_SLOW_MS);
}

static void maybe_done(job *j)
{
    if (!j->exited)
        return;
    if (j->out_open == 0)
        job_finish(j);
    else
        uv_timer_start(&j->timer, on_grace, OUTPUT_GRACE_MS, 0);
}

static void on_proc_exit(uv_process_t *p, int64_t status, int term_signal)
{
    job *j = p->data;
    j->exited = true;
    j->status = status;
    j->term_signal = term_signal;
    uv_timer_stop(&j->timer);
    maybe_done(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char scratch[4096];   /* the loop's thread only; copied out at once */
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    job *j = s->data;
    if (nread < 0) {
        uv_read_stop(s);
        j->out_open--;
        if (!j->finished)
            maybe_done(j);
        return;
    }
    size_t n = (size_t)nread;
    j->output_total += n;
    if (n >= sizeof j->output) {
        memcpy(j->output, buf->base + n - sizeof j->output, sizeof j->output);
        j->output_len = sizeof j->output;
        return;
    }
    if (j->output_len + n > sizeof j->output) {
        size_t drop = j->output_len + n - sizeof j->output;
        memmove(j->output, j->output + drop, j->output_len - drop);
        j->output_len -= drop;
    }
    memcpy(j->output + j->output_len, buf->base, n);
    j->output_len += n;
}

static void on_written(uv_write_t *w, int status)
{
    job *j = w->data;
    (void)status;   /* a script that does not read its input is fine */
    if (!uv_is_closing((uv_handle_t *)&j->in))
        uv_close((uv_handle_t *)&j->in, on_job_close);
}

/* serf's SERF_TAG_ name: upper case, every other character (a UTF-8
 * sequence counts as one) an underscore. */
static void tag_env_name(char *out, size_t cap, const char *key, size_t klen)
{
    size_t o = (size_t)snprintf(out, cap, "SERF_TAG_");
    for (size_t i = 0; i < klen && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            c = '_';
            if ((unsigned char)key[i] >= 0xc0)   /* a lead byte: skip its continuation bytes */
                while (i + 1 < klen && ((unsigned char)key[i + 1] & 0xc0) == 0x80)
                    i++;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

static int env_push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (!s)
        return -1;
    if (*n + 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
    return 0;
}

static char *env_kv(const char *k, const char *v, size_t vlen)
{
    size_t kl = strlen(k);
    char *s = malloc(kl + vlen + 2);
    if (s) {
        memcpy(s, k, kl);
        s[kl] = '=';
        memcpy(s + kl + 1, v, vlen);
        s[kl + 1 + vlen] = '\0';
    }
    return s;
}

/* serf's variables first, then the agent's environment without the
 * names serf's set (Go keeps the last of duplicates: the same outcome). */
static char **build_env(daemon_handlers *hs, const job *j)
{
    daemon_event_kind kind = j->kind;
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *name = "";
    const uint8_t *meta = NULL;
    size_t meta_len = 0;
    hs->self(hs->ud, &name, &meta, &meta_len);
    serf_tags tags = { 0 };
    (void)serf_tags_decode(&tags, meta, meta_len);   /* what decodes is used */
    const char *role = "";
    size_t role_len = 0;
    for (size_t i = 0; i < tags.n; i++)
        if (tags.v[i].klen == 4 && memcmp(tags.v[i].key, "role", 4) == 0) {
            role = tags.v[i].value;
            role_len = tags.v[i].vlen;
        }
    const char *ev = daemon_event_name(kind);
    bool ok = env_push(&v, &n, &cap, env_kv("SERF_EVENT", ev, strlen(ev))) == 0 &&
              env_push(&v, &n, &cap, env_kv("SERF_SELF_NAME", name, strlen(name))) == 0 &&
              env_push(&v, &n, &cap, env_kv("SERF_SELF_ROLE", role, role_len)) == 0;
    /* serf's SERF_USER_EVENT and SERF_USER_LTIME, SERF_QUERY_NAME and
     * SERF_QUERY_LTIME */
    if (ok && (kind == DAEMON_EV_USER || kind == DAEMON_EV_QUERY)) {
        char lt[24];
        int ln = snprintf(lt, sizeof lt, "%llu", (unsigned long long)j->ltime);
        const char *nm = j->name ? j->name : "";
        ok = env_push(&v, &n, &cap, env_kv(kind == DAEMON_EV_USER ? "SERF_USER_EVENT" : "SERF_QUERY_NAME", nm,
                                           strlen(nm))) == 0 &&
             env_push(&v, &n, &cap, env_kv(kind == DAEMON_EV_USER ? "SERF_USER_LTIME" : "SERF_QUERY_LTIME", lt,
                                           (size_t)ln)) == 0;
    }
    for (size_t i = 0; ok && i < tags.n; i++) {
        char k[300];
        tag_env_name(k, sizeof k, tags.v[i].key, tags.v[i].klen);
        ok = env_push(&v, &n, &cap, env_kv(k, tags.v[i].value, tags.v[i].vlen)) == 0;
    }
    serf_tags_free(&tags);
    size_t ours = n;
    for (size_t i = 0; ok && i < hs->nenv; i++) {
        const char *e = hs->env[i];
        size_t kl = strcspn(e, "=");
        bool shadowed = false;
        for (size_t k = 0; k < ours && !shadowed; k++)
            shadowed = strncmp(v[k], e, kl + 1) == 0;
        if (!shadowed)
            ok = env_push(&v, &n, &cap, strdup(e)) == 0;
    }
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

static void free_env(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void job_start(job *j)
{
    daemon_handlers *hs = j->hs;
    hs->job = j;
    hs->open++;
    char **env = build_env(hs, j);
    j->proc_init = env != NULL;   /* uv_spawn initializes the handle, even when it fails */
    j->open = j->proc_init ? 5 : 4;
    j->out_open = 2;
    uv_pipe_init(hs->loop, &j->in, 0);
    uv_pipe_init(hs->loop, &j->out, 0);
    uv_pipe_init(hs->loop, &j->err, 0);
    uv_timer_init(hs->loop, &j->timer);
    j->proc.data = j->in.data = j->out.data = j->err.data = j->timer.data = j->write.data = j;
    const char *script = script_of(j);
    char *args[] = { "/bin/sh", "-c", (char *)script, NULL };
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&j->in },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->out },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->err },
    };
    uv_process_options_t po = { .exit_cb = on_proc_exit, .file = "/bin/sh", .args = args, .env = env,
                                .stdio_count = 3, .stdio = stdio };
    int rc = env ? uv_spawn(hs->loop, &j->proc, &po) : UV_ENOMEM;
    free_env(env);
    if (rc < 0) {
        base_log(BASE_LOG_ERROR, "event handler '%s' (%s): cannot run it: %s", script, daemon_event_name(j->kind),
                 uv_strerror(rc));
        job_finish(j);
        return;
    }
    j->spawned = true;
    j->started = uv_now(hs->loop);
    if (j->name)
        base_log(BASE_LOG_DEBUG, "event handler '%s' (%s '%s'): started, pid %d", script, daemon_event_name(j->kind),
                 j->name, j->proc.pid);
    else
        base_log(BASE_LOG_DEBUG, "event handler '%s' (%s, %zu member%s): started, pid %d", script,
                 daemon_event_name(j->kind), j->nmembers, j->nmembers == 1 ? "" : "s", j->proc.pid);
    uv_timer_start(&j->timer, on_slow, DAEMON_HANDLERS_SLOW_MS, 0);
    uv_read_start((uv_stream_t *)&j->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&j->err, on_alloc, on_read);
    uv_buf_t b = uv_buf_init(j->input, (unsigned)j->input_len);
    if (j->input_len == 0 || uv_write(&j->write, (uv_stream_t *)&j->in, &b, 1, on_written) < 0)
        uv_close((uv_handle_t *)&j->in, on_job_close);
}

/* The next batch: the events at the head of the queue of one kind, at
 * most DAEMON_HANDLERS_BATCH_MAX, their lines joined as one input. */
static void next_run(daemon_handlers *hs)
{
    while (!hs->job && !hs->closing && hs->head) {
        daemon_event_kind kind = hs->head->kind;
        /* a user event or a query runs alone (its payload is the input);
         * member events of one kind go together, as serf coalesces them */
        bool alone = kind == DAEMON_EV_USER || kind == DAEMON_EV_QUERY;
        size_t len = 0, count = 0;
        for (hevent *e = hs->head; e && e->kind == kind && count < (alone ? 1 : DAEMON_HANDLERS_BATCH_MAX);
             e = e->next) {
            len += e->len;
            count++;
        }
        job *j = calloc(1, sizeof *j);
        char *input = malloc(len + 1);
        char *name = alone ? strndup(hs->head->data, hs->head->name_len) : NULL;
        if (!j || !input || (alone && !name)) {
            free(j);
            free(input);
            free(name);
            base_log(BASE_LOG_ERROR, "event handlers: out of memory; will try again at the next event");
            return;
        }
        uint64_t ltime = hs->head->ltime, query_id = hs->head->query_id;
        size_t off = 0;
        for (size_t i = 0; i < count; i++) {
            hevent *e = hs->head;
            memcpy(input + off, e->data + e->name_len, e->len);
            off += e->len;
            hs->head = e->next;
            hs->queued--;
            free(e);
        }
        if (!hs->head)
            hs->tail = NULL;
        size_t first = 0;
        while (first < hs->n && !daemon_handler_matches(&hs->v[first], kind, name))
            first++;
        if (first == hs->n) {   /* no handler takes this one */
            free(input);
            free(name);
            free(j);
            continue;
        }
        *j = (job){ .hs = hs, .kind = kind, .handler = first, .name = name, .ltime = ltime, .query_id = query_id,
                    .nmembers = alone ? 0 : count, .input = input, .input_len = len };
        job_start(j);
    }
}

daemon_handlers *daemon_handlers_start(uv_loop_t *loop, const char *const *specs, size_t n,
                                       daemon_handlers_self_fn self, void *ud, char *err, size_t errlen)
{
    err[0] = '\0';
    if (n == 0)
        return NULL;
    daemon_handlers *hs = calloc(1, sizeof *hs);
    if (!hs || !(hs->v = calloc(n, sizeof *hs->v))) {
        free(hs);
        snprintf(err, errlen, "event handlers: out of memory");
        return NULL;
    }
    hs->loop = loop;
    hs->self = self;
    hs->ud = ud;
    for (; hs->n < n; hs->n++) {
        char why[256];
        if (daemon_handler_parse(specs[hs->n], &hs->v[hs->n], why, sizeof why) < 0) {
            snprintf(err, errlen, "-event-handler '%s': %s", specs[hs->n], why);
            goto fail;
        }
        for (size_t f = 0; f < hs->v[hs->n].nfilters; f++) {
            const daemon_filter *fl = &hs->v[hs->n].filters[f];
            hs->kinds |= fl->any ? (1u << DAEMON_EV_COUNT) - 1 : 1u << fl->kind;
        }
    }
    size_t ne = 0;
    while (environ && environ[ne])
        ne++;
    hs->env = calloc(ne ? ne : 1, sizeof *hs->env);
    if (!hs->env) {
        snprintf(err, errlen, "event handlers: out of memory");
        goto fail;
    }
    for (; hs->nenv < ne; hs->nenv++)
        if (!(hs->env[hs->nenv] = strdup(environ[hs->nenv]))) {
            snprintf(err, errlen, "event handlers: out of memory");
            goto fail;
        }
    uv_timer_init(loop, &hs->kick);
    hs->kick.data = hs;
    hs->open = 1;
    return hs;
fail:
    hs->closing = true;
    hs_free_if_done(hs);
    return NULL;
}

/* eventClean: a tab or a newline inside a field would break the line. */
static size_t put_clean(char *out, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\t' || s[i] == '\n') {
            if (out) {
                out[o] = '\\';
                out[o + 1] = s[i] == '\t' ? 't' : 'n';
            }
            o += 2;
        } else {
            if (out)
                out[o] = s[i];
            o++;
        }
    }
    return o;
}

/* "name\taddr\trole\tk=v,k=v\n", tags sorted by key (serf: Go map order) */
static size_t member_line(char *out, const swim_member *m, const serf_tags *t, const char *ip)
{
    size_t o = 0;
    o += put_clean(out ? out + o : NULL, m->name, strlen(m->name));
    if (out)
        out[o] = '\t';
    o++;
    size_t il = strlen(ip);
    if (out)
        memcpy(out + o, ip, il);
    o += il;
    if (out)
        out[o] = '\t';
    o++;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].klen == 4 && memcmp(t->v[i].key, "role", 4) == 0)
            o += put_clean(out ? out + o : NULL, t->v[i].value, t->v[i].vlen);
    if (out)
        out[o] = '\t';
    o++;
    for (size_t i = 0; i < t->n; i++) {
        if (i) {
            if (out)
                out[o] = ',';
            o++;
        }
        o += put_clean(out ? out + o : NULL, t->v[i].key, t->v[i].klen);
        if (out)
            out[o] = '=';
        o++;
        o += put_clean(out ? out + o : NULL, t->v[i].value, t->v[i].vlen);
    }
    if (out)
        out[o] = '\n';
    return o + 1;
}

static void drop(daemon_handlers *hs, daemon_event_kind kind, const char *name)
{
    hs->dropped++;
    uint64_t now = uv_now(hs->loop);
    if (hs->drop_logged_once && now - hs->drop_logged_at < DROP_LOG_MS)
        return;
    base_log(BASE_LOG_WARN,
             "event handlers: %d events waiting (a slow handler?): dropped %s of %s; %llu dropped in all (%llu since the last line)",
             DAEMON_HANDLERS_QUEUE_MAX, daemon_event_name(kind), name, (unsigned long long)hs->dropped,
             (unsigned long long)(hs->dropped - hs->dropped_logged));
    hs->dropped_logged = hs->dropped;
    hs->drop_logged_at = now;
    hs->drop_logged_once = true;
}

static void enqueue(daemon_handlers *hs, hevent *e)
{
    e->next = NULL;
    if (hs->tail)
        hs->tail->next = e;
    else
        hs->head = e;
    hs->tail = e;
    hs->queued++;
    if (!hs->job)
        uv_timer_start(&hs->kick, on_kick, 0, 0);
}

void daemon_handlers_member(daemon_handlers *hs, daemon_event_kind kind, const swim_member *m)
{
    if (!hs || hs->closing || !(hs->kinds & (1u << kind)))
        return;
    if (hs->queued >= DAEMON_HANDLERS_QUEUE_MAX) {
        drop(hs, kind, m->name);
        return;
    }
    serf_tags t = { 0 };
    (void)serf_tags_decode(&t, m->meta, m->meta_len);
    daemon_tags_sort(&t);
    char ip[64];
    snprintf(ip, sizeof ip, "?");
    swim_addr a = m->addr;
    if (a.ip_len == 4 || a.ip_len == 16)
        net_addr_ip_text(&a, ip, sizeof ip);
    size_t len = member_line(NULL, m, &t, ip);
    hevent *e = calloc(1, sizeof *e + len);
    if (!e) {
        serf_tags_free(&t);
        drop(hs, kind, m->name);
        return;
    }
    e->kind = kind;
    e->len = member_line(e->data, m, &t, ip);
    serf_tags_free(&t);
    enqueue(hs, e);
}

void daemon_handlers_event(daemon_handlers *hs, const swim_event *ev)
{
    if (!hs || hs->closing)
        return;
    switch (ev->type) {
    case SWIM_EV_JOIN:
        daemon_handlers_member(hs, DAEMON_EV_MEMBER_JOIN, &ev->member);
        break;
    case SWIM_EV_UPDATE:
        daemon_handlers_member(hs, DAEMON_EV_MEMBER_UPDATE, &ev->member);
        break;
    case SWIM_EV_LEAVE:
        daemon_handlers_member(hs, ev->member.state == SWIM_LEFT ? DAEMON_EV_MEMBER_LEAVE : DAEMON_EV_MEMBER_FAILED,
                               &ev->member);
        break;
    default:
        break;
    }
}

/* A user event or a query: name and payload copied, the payload with a
 * newline added when it lacks one (serf's streamPayload: "most shells
 * read implementations need a newline"). */
static void named_event(daemon_handlers *hs, daemon_event_kind kind, wire_bytes name, wire_bytes payload,
                        uint64_t ltime, uint64_t query_id)
{
    if (!hs || hs->closing || !(hs->kinds & (1u << kind)))
        return;
    char shown[80];
    snprintf(shown, sizeof shown, "%.*s", (int)(name.n < 64 ? name.n : 64), name.n ? (const char *)name.p : "");
    if (hs->queued >= DAEMON_HANDLERS_QUEUE_MAX) {
        drop(hs, kind, shown);
        return;
    }
    /* a name with a NUL byte cannot be a filter's nor an environment
     * value: cut there, as the environment would */
    const uint8_t *nul = name.n ? memchr(name.p, 0, name.n) : NULL;
    size_t nlen = nul ? (size_t)(nul - name.p) : name.n;
    bool nl = payload.n > 0 && payload.p[payload.n - 1] != '\n';
    hevent *e = calloc(1, sizeof *e + nlen + payload.n + 1);
    if (!e) {
        drop(hs, kind, shown);
        return;
    }
    e->kind = kind;
    e->ltime = ltime;
    e->query_id = query_id;
    e->name_len = nlen;
    if (nlen)
        memcpy(e->data, name.p, nlen);
    if (payload.n)
        memcpy(e->data + nlen, payload.p, payload.n);
    if (nl)
        e->data[nlen + payload.n] = '\n';
    e->len = payload.n + nl;
    enqueue(hs, e);
}

void daemon_handlers_user(daemon_handlers *hs, wire_bytes name, wire_bytes payload, uint64_t ltime)
{
    named_event(hs, DAEMON_EV_USER, name, payload, ltime, 0);
}

void daemon_handlers_query(daemon_handlers *hs, uint64_t query_id, wire_bytes name, wire_bytes payload,
                           uint64_t ltime)
{
    named_event(hs, DAEMON_EV_QUERY, name, payload, ltime, query_id);
}

void daemon_handlers_set_respond(daemon_handlers *hs, daemon_handlers_respond_fn fn, void *ud)
{
    if (!hs)
        return;
    hs->respond = fn;
    hs->respond_ud = ud;
}

void daemon_handlers_close(daemon_handlers *hs)
{
    if (!hs || hs->closing)
        return;
    hs->closing = true;
    while (hs->head) {
        hevent *e = hs->head;
        hs->head = e->next;
        free(e);
    }
    hs->tail = NULL;
    hs->queued = 0;
    if (hs->job) {
        job *j = hs->job;
        j->finished = true;   /* left running; nothing more is logged */
        hs->job = NULL;
        job_close_handles(j);
    }
    uv_close((uv_handle_t *)&hs->kick, on_hs_close);
}
