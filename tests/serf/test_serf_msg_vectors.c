/* serf's own messages against real bytes: every row of
 * tests/fixtures/serf/ (every .tsv) (tools/gen_serf_fixtures.py: the serf 0.9.4
 * captures' user message payloads and push/pull states, and messages of
 * every type made by serf 0.9.4's own encoders) must
 *   - decode, every field equal to what our Python reader found, in wire
 *     order (the rendering below is the fixture's, field by field, from a
 *     description of serf's structs kept here apart from the codec's
 *     tables);
 *   - re-encode to exactly the same bytes;
 *   - be refused with WIRE_ETRUNC when cut anywhere inside its map;
 *   - survive random bit flips: refused, or decoded to something that
 *     re-encodes and decodes again to the same fields (each input copied
 *     to an exact-size heap block, so the sanitizer build sees overruns). */
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "serf/serf_msg_any.h"

/* ---- serf's structs as this test sees them ---------------------------- */

/* K_RAW a Go []byte (NULL: nil), K_STR a Go string (NULL: "") */
enum { K_BOOL, K_U8, K_U16, K_U32, K_U64, K_I64, K_RAW, K_STR, K_RAWS, K_STRMAP, K_LTMAP, K_STRUCT, K_STRUCTS };
typedef struct tdesc tdesc;
typedef struct tf { const char *name; int kind; size_t off; const tdesc *sub; } tf;
struct tdesc { const tf *f; size_t n; size_t size; long present_off; };
#define F(T, n, k, m) { n, k, offsetof(T, m), NULL }
#define FS(T, n, k, m, s) { n, k, offsetof(T, m), s }
#define D(T, a, p) { a, sizeof a / sizeof a[0], sizeof(T), p }

static const tf f_join[] = { F(serf_msg_join, "LTime", K_U64, ltime), F(serf_msg_join, "Node", K_STR, node) };
static const tf f_leave[] = { F(serf_msg_leave, "LTime", K_U64, ltime), F(serf_msg_leave, "Node", K_STR, node),
                              F(serf_msg_leave, "Prune", K_BOOL, prune) };
static const tf f_ue[] = { F(serf_user_event, "Name", K_STR, name), F(serf_user_event, "Payload", K_RAW, payload) };
static const tdesc d_ue = D(serf_user_event, f_ue, -1);
static const tf f_ues[] = { FS(serf_user_events, "Events", K_STRUCTS, events, &d_ue),
                            F(serf_user_events, "LTime", K_U64, ltime) };
static const tdesc d_ues = D(serf_user_events, f_ues, (long)offsetof(serf_user_events, present));
static const tf f_pp[] = {
    F(serf_msg_push_pull, "EventLTime", K_U64, event_ltime),
    FS(serf_msg_push_pull, "Events", K_STRUCTS, events, &d_ues),
    F(serf_msg_push_pull, "LTime", K_U64, ltime), F(serf_msg_push_pull, "LeftMembers", K_RAWS, left_members),
    F(serf_msg_push_pull, "QueryLTime", K_U64, query_ltime),
    F(serf_msg_push_pull, "StatusLTimes", K_LTMAP, status_ltimes) };
static const tf f_event[] = {
    F(serf_msg_user_event, "CC", K_BOOL, cc), F(serf_msg_user_event, "LTime", K_U64, ltime),
    F(serf_msg_user_event, "Name", K_STR, name), F(serf_msg_user_event, "Payload", K_RAW, payload) };
static const tf f_query[] = {
    F(serf_msg_query, "Addr", K_RAW, addr), F(serf_msg_query, "Filters", K_RAWS, filters),
    F(serf_msg_query, "Flags", K_U32, flags), F(serf_msg_query, "ID", K_U32, id),
    F(serf_msg_query, "LTime", K_U64, ltime), F(serf_msg_query, "Name", K_STR, name),
    F(serf_msg_query, "Payload", K_RAW, payload), F(serf_msg_query, "Port", K_U16, port),
    F(serf_msg_query, "RelayFactor", K_U8, relay_factor), F(serf_msg_query, "SourceNode", K_STR, source_node),
    F(serf_msg_query, "Timeout", K_I64, timeout_ns) };
static const tf f_resp[] = {
    F(serf_msg_query_response, "Flags", K_U32, flags), F(serf_msg_query_response, "From", K_STR, from),
    F(serf_msg_query_response, "ID", K_U32, id), F(serf_msg_query_response, "LTime", K_U64, ltime),
    F(serf_msg_query_response, "Payload", K_RAW, payload) };
static const tf f_member[] = {
    F(serf_member, "Addr", K_RAW, addr), F(serf_member, "DelegateCur", K_U8, delegate_cur),
    F(serf_member, "DelegateMax", K_U8, delegate_max), F(serf_member, "DelegateMin", K_U8, delegate_min),
    F(serf_member, "Name", K_STR, name), F(serf_member, "Port", K_U16, port),
    F(serf_member, "ProtocolCur", K_U8, protocol_cur), F(serf_member, "ProtocolMax", K_U8, protocol_max),
    F(serf_member, "ProtocolMin", K_U8, protocol_min), F(serf_member, "Status", K_I64, status),
    F(serf_member, "Tags", K_STRMAP, tags) };
static const tf f_keyreq[] = { F(serf_msg_key_request, "Key", K_RAW, key) };
static const tf f_keyresp[] = {
    F(serf_msg_key_response, "Keys", K_RAWS, keys), F(serf_msg_key_response, "Message", K_STR, message),
    F(serf_msg_key_response, "PrimaryKey", K_STR, primary_key), F(serf_msg_key_response, "Result", K_BOOL, result) };
static const tf f_udp[] = { F(serf_udp_addr, "IP", K_RAW, ip), F(serf_udp_addr, "Port", K_I64, port),
                            F(serf_udp_addr, "Zone", K_STR, zone) };
static const tdesc d_udp = D(serf_udp_addr, f_udp, -1);
static const tf f_relay[] = { FS(serf_msg_relay, "DestAddr", K_STRUCT, dest_addr, &d_udp),
                              F(serf_msg_relay, "DestName", K_STR, dest_name) };
static const tf f_ftag[] = { F(serf_filter, "Expr", K_STR, expr), F(serf_filter, "Tag", K_STR, tag) };

/* ---- the fixture's rendering ------------------------------------------ */

static void put(wire_buf *s, const char *t) { REQUIRE(wire_buf_append(s, t, strlen(t)) == 0); }

static void put_raw(wire_buf *s, wire_bytes b)
{
    static const char d[] = "0123456789abcdef";
    if (!b.p) {
        put(s, "nil");
        return;
    }
    put(s, "x:");
    for (size_t i = 0; i < b.n; i++) {
        char h[3] = { d[b.p[i] >> 4], d[b.p[i] & 15], 0 };
        put(s, h);
    }
}

static void put_key(wire_buf *s, wire_bytes k)
{
    bool plain = k.p && k.n;
    for (size_t i = 0; plain && i < k.n; i++) {
        uint8_t c = k.p[i];
        plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                c == '.' || c == '-';
    }
    if (plain)
        REQUIRE(wire_buf_append(s, k.p, k.n) == 0);
    else
        put_raw(s, k);
}

static void put_u(wire_buf *s, unsigned long long v)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", v);
    put(s, t);
}

static void render_struct(wire_buf *s, const tdesc *d, const void *obj, bool top);

typedef struct list { const void *v; size_t n; } list;

static list list_at(const void *at)
{
    list l;
    memcpy(&l, at, sizeof l);
    return l;
}

static void render_item(wire_buf *s, const tf *f, const void *e)
{
    switch (f->kind) {
    case K_RAWS: put_raw(s, *(const wire_bytes *)e); return;
    case K_STRMAP: {
        const serf_str_pair *kv = e;
        put_key(s, kv->key);
        put(s, "=");
        put_raw(s, kv->value);
        return;
    }
    case K_LTMAP: {
        const serf_ltime_pair *kv = e;
        put_key(s, kv->name);
        put(s, "=");
        put_u(s, kv->ltime);
        return;
    }
    default:
        if (f->sub->present_off >= 0 && !*(const bool *)(const void *)((const char *)e + f->sub->present_off))
            put(s, "nil");
        else
            render_struct(s, f->sub, e, false);
    }
}

static size_t item_size(const tf *f)
{
    return f->kind == K_RAWS ? sizeof(wire_bytes) : f->kind == K_STRMAP ? sizeof(serf_str_pair)
         : f->kind == K_LTMAP ? sizeof(serf_ltime_pair) : f->sub->size;
}

/* arrays with runs of equal items as item*k, as the fixture writes them */
static void render_list(wire_buf *s, const tf *f, const void *at)
{
    list l = list_at(at);
    if (!l.v) {
        put(s, "nil");
        return;
    }
    bool map = f->kind == K_STRMAP || f->kind == K_LTMAP;
    put(s, map ? "{" : "[");
    wire_buf prev, cur;
    wire_buf_init(&prev, 0);
    wire_buf_init(&cur, 0);
    size_t run = 0;
    for (size_t i = 0; i <= l.n; i++) {
        wire_buf_reset(&cur);
        if (i < l.n)
            render_item(&cur, f, (const char *)l.v + i * item_size(f));
        bool same = i < l.n && run && !map && cur.len == prev.len && memcmp(cur.data, prev.data, cur.len) == 0;
        if (same) {
            run++;
            continue;
        }
        if (run) {
            if (s->data[s->len - 1] != '[' && s->data[s->len - 1] != '{')
                put(s, ",");
            REQUIRE(wire_buf_append(s, prev.data, prev.len) == 0);
            if (run > 1) {
                put(s, "*");
                put_u(s, run);
            }
        }
        wire_buf_reset(&prev);
        REQUIRE(cur.len == 0 || wire_buf_append(&prev, cur.data, cur.len) == 0);
        run = i < l.n;
    }
    wire_buf_free(&prev);
    wire_buf_free(&cur);
    put(s, map ? "}" : "]");
}

static void render_field(wire_buf *s, const tf *f, const void *obj)
{
    const char *at = (const char *)obj + f->off;
    switch (f->kind) {
    case K_BOOL: put(s, *(const bool *)(const void *)at ? "true" : "false"); return;
    case K_U8: put_u(s, *(const uint8_t *)(const void *)at); return;
    case K_U16: put_u(s, *(const uint16_t *)(const void *)at); return;
    case K_U32: put_u(s, *(const uint32_t *)(const void *)at); return;
    case K_U64: put_u(s, *(const uint64_t *)(const void *)at); return;
    case K_I64: {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)*(const int64_t *)(const void *)at);
        put(s, t);
        return;
    }
    case K_RAW: put_raw(s, *(const wire_bytes *)(const void *)at); return;
    case K_STR: {
        wire_bytes b = *(const wire_bytes *)(const void *)at;
        put_raw(s, b.p ? b : wire_bytes_of("", 0));
        return;
    }
    case K_STRUCT: render_struct(s, f->sub, at, false); return;
    default: render_list(s, f, at); return;
    }
}

static void render_struct(wire_buf *s, const tdesc *d, const void *obj, bool top)
{
    if (!top)
        put(s, "{");
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            put(s, top ? " " : ",");
        put(s, d->f[i].name);
        put(s, "=");
        render_field(s, &d->f[i], obj);
    }
    if (!top)
        put(s, "}");
}

/* ---- one codec per row ------------------------------------------------- */


static void render(int kind, wire_buf *s, const serf_msg_any *m)
{
#define TOP(a, obj) do { tdesc d_ = D(char, a, -1); render_struct(s, &d_, obj, true); } while (0)
    switch (kind) {
    case SERF_MSG_LEAVE: TOP(f_leave, &m->leave); break;
    case SERF_MSG_JOIN: TOP(f_join, &m->join); break;
    case SERF_MSG_PUSH_PULL: TOP(f_pp, &m->push_pull); break;
    case SERF_MSG_USER_EVENT: TOP(f_event, &m->user_event); break;
    case SERF_MSG_QUERY: TOP(f_query, &m->query); break;
    case SERF_MSG_QUERY_RESPONSE: TOP(f_resp, &m->query_response); break;
    case SERF_MSG_CONFLICT_RESPONSE:
        if (m->conflict_response.present)
            TOP(f_member, &m->conflict_response);
        else
            put(s, "nil");
        break;
    case SERF_MSG_KEY_REQUEST: TOP(f_keyreq, &m->key_request); break;
    case SERF_MSG_KEY_RESPONSE: TOP(f_keyresp, &m->key_response); break;
    case SERF_MSG_RELAY:
        TOP(f_relay, &m->relay);
        put(s, " inner=");
        put_raw(s, m->relay.inner);
        break;
    default:
        if (m->filter.type == SERF_FILTER_TAG) {
            TOP(f_ftag, &m->filter);
        } else {
            tf f = F(serf_filter, "", K_RAWS, nodes);
            render_field(s, &f, &m->filter);
        }
        break;
    }
#undef TOP
}

/* ---- the checks --------------------------------------------------------- */

static uint8_t *unhex(const char *h, size_t *n)
{
    *n = strlen(h) / 2;
    uint8_t *b = malloc(*n ? *n : 1);
    REQUIRE(b);
    for (size_t i = 0; i < *n; i++) {
        unsigned x;
        REQUIRE(sscanf(h + 2 * i, "%2x", &x) == 1);
        b[i] = (uint8_t)x;
    }
    return b;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* decoded, or refused; if decoded, a round trip keeps the fields */
static void check_survives(int kind, const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    REQUIRE(copy);
    memcpy(copy, p, n);
    serf_msg_any m, m2;
    if (serf_msg_any_decode(kind, copy, n, &m) == WIRE_OK) {
        wire_buf s1, s2, out;
        wire_buf_init(&s1, 0);
        wire_buf_init(&s2, 0);
        wire_buf_init(&out, 0);
        render(kind, &s1, &m);
        int rc = serf_msg_any_encode(kind, &out, &m);
        /* what cannot be sent: a filter whose type we do not know */
        if (rc == WIRE_OK) {
            CHECK(serf_msg_any_decode(kind, out.data, out.len, &m2) == WIRE_OK);
            render(kind, &s2, &m2);
            CHECKF(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0, "%.*s VS %.*s", (int)s1.len, (char *)s1.data, (int)s2.len, (char *)s2.data);
            serf_msg_any_free(kind, &m2);
        }
        serf_msg_any_free(kind, &m);
        wire_buf_free(&s1);
        wire_buf_free(&s2);
        wire_buf_free(&out);
    }
    free(copy);
}

static int rows;

static void check_row(const char *where, int type, const char *hex, const char *fields)
{
    int kind = strncmp(where, "filter", 6) == 0 ? SERF_ANY_FILTER : type;
    size_t n;
    uint8_t *msg = unhex(hex, &n);
    serf_msg_any m;
    int rc = serf_msg_any_decode(kind, msg, n, &m);
    CHECKF(rc == WIRE_OK, "%s: %s", where, wire_strerror(rc));
    if (rc) {
        free(msg);
        return;
    }
    wire_buf s, out;
    wire_buf_init(&s, 0);
    wire_buf_init(&out, 0);
    render(kind, &s, &m);
    REQUIRE(wire_buf_append_byte(&s, 0) == 0);
    CHECKF(strcmp((char *)s.data, fields) == 0, "%s type %d:\n  got  %s\n  want %s", where, type, s.data, fields);
    CHECK(serf_msg_any_encode(kind, &out, &m) == WIRE_OK);
    CHECKF(out.len == n && memcmp(out.data, msg, n) == 0, "%s type %d: re-encoded bytes differ", where, type);
    serf_msg_any_free(kind, &m);

    /* cut inside the map: truncated (a relay's inner message is not the
     * map: cut there, it is a shorter inner message) */
    size_t map_end = kind == SERF_MSG_RELAY ? n - m.relay.inner.n : n;
    for (size_t cut = 0; cut < map_end; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        REQUIRE(c);
        memcpy(c, msg, cut);
        serf_msg_any t;
        rc = serf_msg_any_decode(kind, cut ? c : NULL, cut, &t);
        CHECKF(rc == WIRE_ETRUNC, "%s type %d cut at %zu: %s", where, type, cut, wire_strerror(rc));
        if (rc == WIRE_OK)
            serf_msg_any_free(kind, &t);
        free(c);
    }
    /* bit flips */
    for (int i = 0; i < 200; i++) {
        uint8_t *c = malloc(n);
        REQUIRE(c);
        memcpy(c, msg, n);
        for (int k = 1 + (int)(next() % 3); k > 0; k--)
            c[next() % n] ^= (uint8_t)(1u << (next() % 8));
        check_survives(kind, c, n);
        free(c);
    }
    rows++;
    wire_buf_free(&s);
    wire_buf_free(&out);
    free(msg);
}

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    static char line[1 << 16];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *col[6];
        char *save = NULL;
        int k = 0;
        for (char *t = strtok_r(line, "\t", &save); t && k < 6; t = strtok_r(NULL, "\t", &save))
            col[k++] = t;
        REQUIRE(k == 6);
        check_row(col[1], atoi(col[2]), col[4], col[5]);
        count++;
    }
    fclose(f);
    return count;
}

int main(void)
{
    DIR *d = opendir("serf");
    REQUIRE(d);
    int files = 0, types_seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".tsv"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "serf/%s", e->d_name);
        int c = load(path);
        fprintf(stderr, "%s: %d rows\n", path, c);
        CHECK(c > 0);
        files++;
    }
    closedir(d);
    CHECK(files >= 3);
    (void)types_seen;
    fprintf(stderr, "%d serf messages checked byte for byte\n", rows);
    return check_done("test_serf_msg_vectors");
}
