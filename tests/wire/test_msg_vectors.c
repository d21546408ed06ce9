/* wire_msg against real captures: every message body of the serf and
 * vectorgen vectors (tests/fixtures/messages/, made by
 * tools/gen_msg_fixtures.py) must
 *   - decode, with every field equal to what the capture recorded and
 *     every field the capture does not have at its zero value;
 *   - re-encode to exactly the captured bytes (go-msgpack 0.5 or v2 int
 *     style, as the source was written);
 *   - be rejected with WIRE_ETRUNC when cut at any byte, and survive
 *     random bit flips (decoded or refused, never a crash or an
 *     out-of-bounds read: each input is copied to an exact-size heap block
 *     so the sanitizer build sees any overrun). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "check.h"
#include "wire/wire_msg.h"

/* ---- a test-side description of each struct, independent of the codec's
 * own tables, to compare decoded values with the recorded ones ---------- */

enum { K_BYTES, K_BOOL, K_U16, K_U32, K_INT, K_VSN };
typedef struct tfield { const char *name; int kind; size_t off; } tfield;
#define TF(T, n, k, m) { n, k, offsetof(T, m) }

static const tfield t_ping[] = {
    TF(wire_ping, "Node", K_BYTES, node), TF(wire_ping, "SeqNo", K_U32, seq_no),
    TF(wire_ping, "SourceAddr", K_BYTES, source_addr), TF(wire_ping, "SourceNode", K_BYTES, source_node),
    TF(wire_ping, "SourcePort", K_U16, source_port), { NULL, 0, 0 } };
static const tfield t_iping[] = {
    TF(wire_indirect_ping, "Nack", K_BOOL, nack), TF(wire_indirect_ping, "Node", K_BYTES, node),
    TF(wire_indirect_ping, "Port", K_U16, port), TF(wire_indirect_ping, "SeqNo", K_U32, seq_no),
    TF(wire_indirect_ping, "SourceAddr", K_BYTES, source_addr),
    TF(wire_indirect_ping, "SourceNode", K_BYTES, source_node),
    TF(wire_indirect_ping, "SourcePort", K_U16, source_port),
    TF(wire_indirect_ping, "Target", K_BYTES, target), { NULL, 0, 0 } };
static const tfield t_ack[] = {
    TF(wire_ack, "Payload", K_BYTES, payload), TF(wire_ack, "SeqNo", K_U32, seq_no), { NULL, 0, 0 } };
static const tfield t_nack[] = { TF(wire_nack, "SeqNo", K_U32, seq_no), { NULL, 0, 0 } };
static const tfield t_suspect[] = {
    TF(wire_suspect, "From", K_BYTES, from), TF(wire_suspect, "Incarnation", K_U32, incarnation),
    TF(wire_suspect, "Node", K_BYTES, node), { NULL, 0, 0 } };
static const tfield t_alive[] = {
    TF(wire_alive, "Addr", K_BYTES, addr), TF(wire_alive, "Incarnation", K_U32, incarnation),
    TF(wire_alive, "Meta", K_BYTES, meta), TF(wire_alive, "Node", K_BYTES, node),
    TF(wire_alive, "Port", K_U16, port), TF(wire_alive, "Vsn", K_VSN, vsn), { NULL, 0, 0 } };
static const tfield t_err[] = { TF(wire_errmsg, "Error", K_BYTES, error), { NULL, 0, 0 } };
static const tfield t_compress[] = {
    TF(wire_compress, "Algo", K_U32, algo), TF(wire_compress, "Buf", K_BYTES, buf), { NULL, 0, 0 } };
static const tfield t_pph[] = {
    TF(wire_push_pull_header, "Join", K_BOOL, join), TF(wire_push_pull_header, "Nodes", K_INT, nodes),
    TF(wire_push_pull_header, "UserStateLen", K_INT, user_state_len), { NULL, 0, 0 } };
static const tfield t_pns[] = {
    TF(wire_push_node_state, "Addr", K_BYTES, addr), TF(wire_push_node_state, "Incarnation", K_U32, incarnation),
    TF(wire_push_node_state, "Meta", K_BYTES, meta), TF(wire_push_node_state, "Name", K_BYTES, name),
    TF(wire_push_node_state, "Port", K_U16, port), TF(wire_push_node_state, "State", K_INT, state),
    TF(wire_push_node_state, "Vsn", K_VSN, vsn), { NULL, 0, 0 } };
static const tfield t_umh[] = { TF(wire_user_msg_header, "UserMsgLen", K_INT, user_msg_len), { NULL, 0, 0 } };

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* The fixture's canonical spelling of one decoded field. */
static void canon(const tfield *f, const void *obj, char *out)
{
    const char *at = (const char *)obj + f->off;
    switch (f->kind) {
    case K_BYTES: {
        const wire_bytes *b = (const wire_bytes *)(const void *)at;
        if (!b->p) {
            strcpy(out, "nil");
        } else {
            strcpy(out, "x:");
            hex_of(b->p, b->n, out + 2);
        }
        break;
    }
    case K_BOOL: strcpy(out, *(const bool *)(const void *)at ? "true" : "false"); break;
    case K_U16: sprintf(out, "%u", (unsigned)*(const uint16_t *)(const void *)at); break;
    case K_U32: sprintf(out, "%lu", (unsigned long)*(const uint32_t *)(const void *)at); break;
    case K_INT: sprintf(out, "%lld", (long long)*(const int64_t *)(const void *)at); break;
    case K_VSN: {
        const wire_vsn *v = (const wire_vsn *)(const void *)at;
        if (v->len == 0) {
            strcpy(out, "nil");
        } else {
            strcpy(out, "x:");
            hex_of(v->v, v->len < 6 ? v->len : 6, out + 2);
        }
        break;
    }
    }
}

static bool is_zero_canon(const char *s)
{
    return !strcmp(s, "nil") || !strcmp(s, "x:") || !strcmp(s, "0") || !strcmp(s, "false");
}

/* Tokens "prefixKey=value" of one fixture line. */
typedef struct tok { char *key; char *val; bool used; } tok;
typedef struct line {
    char *source, *style, *transport;
    int type;
    long count;
    uint8_t *msg;
    size_t n;
    tok toks[256];
    int ntok;
    int lineno;
    const char *file;
} line;

static const char *find_tok(line *l, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    for (int i = 0; i < l->ntok; i++) {
        if (!strncmp(l->toks[i].key, prefix, pl) && !strcmp(l->toks[i].key + pl, name)) {
            l->toks[i].used = true;
            return l->toks[i].val;
        }
    }
    return NULL;
}

/* Large enough for the biggest captured value in hex (a push/pull user
 * state of a few hundred bytes). */
static char got_buf[1 << 16];

static void check_struct(line *l, const tfield *fs, const void *obj, const char *prefix)
{
    for (const tfield *f = fs; f->name; f++) {
        const char *want = find_tok(l, prefix, f->name);
        canon(f, obj, got_buf);
        if (want)
            CHECKF(!strcmp(want, got_buf), "%s:%d %s%s: want %s got %s", l->file, l->lineno, prefix,
                   f->name, want, got_buf);
        else
            CHECKF(is_zero_canon(got_buf), "%s:%d %s%s missing in capture but decoded %s", l->file,
                   l->lineno, prefix, f->name, got_buf);
    }
}

static void check_trailer(line *l, const uint8_t *p, size_t n)
{
    const char *want = find_tok(l, "", "user");
    CHECKF(want != NULL, "%s:%d: no recorded user data", l->file, l->lineno);
    if (!want || n * 2 + 3 > sizeof got_buf)
        return;
    strcpy(got_buf, "x:");
    hex_of(p, n, got_buf + 2);
    CHECKF(!strcmp(want, got_buf), "%s:%d user data differs", l->file, l->lineno);
}

/* ---- whole-message decode and encode, as the stream/packet layers will
 * use the API ---------------------------------------------------------- */

#define MAX_NODES 64
typedef struct decoded {
    wire_msg m;                    /* every type but push/pull and tcp user */
    wire_push_pull_header pph;
    wire_push_node_state ns[MAX_NODES];
    wire_user_msg_header umh;
    const uint8_t *trailer;
    size_t trailer_n;
} decoded;

/* Returns WIRE_OK only when the message is complete and consumes exactly
 * its bytes (push/pull and tcp user: header, states, raw data). */
static int decode_all(const uint8_t *p, size_t n, bool tcp, decoded *d)
{
    size_t used = 0, off = 1;
    int rc;
    if (n < 1)
        return WIRE_ETRUNC;
    if (p[0] == WIRE_PUSH_PULL) {
        rc = wire_decode_push_pull_header(p + off, n - off, &d->pph, &used);
        if (rc)
            return rc;
        off += used;
        if (d->pph.nodes < 0 || d->pph.nodes > MAX_NODES || d->pph.user_state_len < 0)
            return WIRE_ERANGE;
        for (int64_t i = 0; i < d->pph.nodes; i++) {
            rc = wire_decode_push_node_state(p + off, n - off, &d->ns[i], &used);
            if (rc)
                return rc;
            off += used;
        }
        if ((uint64_t)d->pph.user_state_len > n - off)
            return WIRE_ETRUNC;
        d->trailer = p + off;
        d->trailer_n = (size_t)d->pph.user_state_len;
        return off + d->trailer_n == n ? WIRE_OK : WIRE_EFORMAT;
    }
    if (p[0] == WIRE_USER && tcp) {
        rc = wire_decode_user_msg_header(p + off, n - off, &d->umh, &used);
        if (rc)
            return rc;
        off += used;
        if (d->umh.user_msg_len < 0)
            return WIRE_ERANGE;
        if ((uint64_t)d->umh.user_msg_len > n - off)
            return WIRE_ETRUNC;
        d->trailer = p + off;
        d->trailer_n = (size_t)d->umh.user_msg_len;
        return off + d->trailer_n == n ? WIRE_OK : WIRE_EFORMAT;
    }
    rc = wire_decode_msg(p, n, &d->m);
    if (rc)
        return rc;
    /* wire_decode_msg ignores trailing bytes like Go; the typed decoders'
     * `used` tells whether the body is exactly the map. */
    used = n - 1;
    switch (p[0]) {
    case WIRE_PING: rc = wire_decode_ping(p + 1, n - 1, &d->m.u.ping, &used); break;
    case WIRE_INDIRECT_PING: rc = wire_decode_indirect_ping(p + 1, n - 1, &d->m.u.indirect_ping, &used); break;
    case WIRE_ACK: rc = wire_decode_ack(p + 1, n - 1, &d->m.u.ack, &used); break;
    case WIRE_NACK: rc = wire_decode_nack(p + 1, n - 1, &d->m.u.nack, &used); break;
    case WIRE_SUSPECT: rc = wire_decode_suspect(p + 1, n - 1, &d->m.u.suspect, &used); break;
    case WIRE_ALIVE: rc = wire_decode_alive(p + 1, n - 1, &d->m.u.alive, &used); break;
    case WIRE_DEAD: rc = wire_decode_dead(p + 1, n - 1, &d->m.u.dead, &used); break;
    case WIRE_ERR: rc = wire_decode_err(p + 1, n - 1, &d->m.u.err, &used); break;
    case WIRE_COMPRESS: rc = wire_decode_compress(p + 1, n - 1, &d->m.u.compress, &used); break;
    default: break;
    }
    if (rc)
        return rc;
    return used == n - 1 ? WIRE_OK : WIRE_EFORMAT;
}

static int encode_all(wire_buf *b, const decoded *d, int type, bool tcp, wire_int_style style)
{
    int rc;
    switch (type) {
    case WIRE_PUSH_PULL:
        rc = wire_encode_push_pull_header(b, &d->pph, style);
        for (int64_t i = 0; !rc && i < d->pph.nodes; i++)
            rc = wire_encode_push_node_state(b, &d->ns[i], style);
        if (!rc)
            rc = wire_buf_append(b, d->trailer, d->trailer_n);
        return rc;
    case WIRE_USER:
        return tcp ? wire_encode_user_tcp(b, d->trailer, d->trailer_n, style)
                   : wire_encode_user_udp(b, d->m.u.user.p, d->m.u.user.n);
    case WIRE_PING: return wire_encode_ping(b, &d->m.u.ping);
    case WIRE_INDIRECT_PING: return wire_encode_indirect_ping(b, &d->m.u.indirect_ping);
    case WIRE_ACK: return wire_encode_ack(b, &d->m.u.ack);
    case WIRE_NACK: return wire_encode_nack(b, &d->m.u.nack);
    case WIRE_SUSPECT: return wire_encode_suspect(b, &d->m.u.suspect);
    case WIRE_ALIVE: return wire_encode_alive(b, &d->m.u.alive);
    case WIRE_DEAD: return wire_encode_dead(b, &d->m.u.dead);
    case WIRE_ERR: return wire_encode_err(b, &d->m.u.err);
    case WIRE_COMPRESS: return wire_encode_compress(b, &d->m.u.compress);
    }
    return WIRE_ETYPE;
}

static void check_fields(line *l, decoded *d, bool tcp)
{
    switch (l->type) {
    case WIRE_PUSH_PULL:
        check_struct(l, t_pph, &d->pph, "");
        for (int64_t i = 0; i < d->pph.nodes; i++) {
            char prefix[16];
            snprintf(prefix, sizeof prefix, "ns%d.", (int)i);
            check_struct(l, t_pns, &d->ns[i], prefix);
        }
        check_trailer(l, d->trailer, d->trailer_n);
        break;
    case WIRE_USER:
        if (tcp) {
            check_struct(l, t_umh, &d->umh, "");
            check_trailer(l, d->trailer, d->trailer_n);
        } else {
            check_trailer(l, d->m.u.user.p, d->m.u.user.n);
        }
        break;
    case WIRE_PING: check_struct(l, t_ping, &d->m.u.ping, ""); break;
    case WIRE_INDIRECT_PING: check_struct(l, t_iping, &d->m.u.indirect_ping, ""); break;
    case WIRE_ACK: check_struct(l, t_ack, &d->m.u.ack, ""); break;
    case WIRE_NACK: check_struct(l, t_nack, &d->m.u.nack, ""); break;
    case WIRE_SUSPECT: check_struct(l, t_suspect, &d->m.u.suspect, ""); break;
    case WIRE_DEAD: check_struct(l, t_suspect, &d->m.u.dead, ""); break;
    case WIRE_ALIVE: check_struct(l, t_alive, &d->m.u.alive, ""); break;
    case WIRE_ERR: check_struct(l, t_err, &d->m.u.err, ""); break;
    case WIRE_COMPRESS: check_struct(l, t_compress, &d->m.u.compress, ""); break;
    default: CHECKF(0, "%s:%d unexpected type %d", l->file, l->lineno, l->type);
    }
    for (int i = 0; i < l->ntok; i++)
        CHECKF(l->toks[i].used, "%s:%d recorded field %s not checked", l->file, l->lineno, l->toks[i].key);
}

/* ---- robustness -------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Flips per message: a few hundred as asked, bounded so the whole suite
 * stays within seconds under the sanitizers. */
#define FLIPS_PER_MSG 300

static long n_trunc, n_flip, n_flip_ok;

static void robustness(line *l, bool tcp)
{
    decoded d;
    /* Every strict prefix is incomplete. A UDP user message has no length,
     * so any prefix of one is itself a valid message. */
    for (size_t k = 0; k < l->n; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        REQUIRE(cut);
        memcpy(cut, l->msg, k);
        int rc = decode_all(cut, k, tcp, &d);
        if (l->type == WIRE_USER && !tcp && k >= 1)
            CHECK_EQ_INT(rc, WIRE_OK);
        else
            CHECKF(rc == WIRE_ETRUNC, "%s:%d cut at %zu: rc %d", l->file, l->lineno, k, rc);
        free(cut);
        n_trunc++;
    }
    wire_buf b;
    wire_buf_init(&b, 0);
    for (int i = 0; i < FLIPS_PER_MSG; i++) {
        uint8_t *m = malloc(l->n);
        REQUIRE(m);
        memcpy(m, l->msg, l->n);
        int flips = 1 + (int)(rng() % 3);
        for (int j = 0; j < flips; j++) {
            size_t at = (size_t)(rng() % l->n);
            if (rng() % 4 == 0)
                m[at] = (uint8_t)rng();           /* a whole new byte */
            else
                m[at] ^= (uint8_t)(1u << (rng() % 8));
        }
        int rc = decode_all(m, l->n, tcp, &d);
        CHECK(rc <= 0 && rc >= WIRE_ELIMIT);
        if (rc == WIRE_OK) {
            /* Whatever decodes must encode again without trouble. */
            wire_buf_reset(&b);
            int erc = encode_all(&b, &d, m[0], tcp, WIRE_INT_GO_MSGPACK_V0);
            CHECK(erc == WIRE_OK || erc == WIRE_ERANGE || erc == WIRE_ETYPE);
            n_flip_ok++;
        }
        free(m);
        n_flip++;
    }
    wire_buf_free(&b);
}

/* ---- fixture reading --------------------------------------------------- */

static int unhex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static bool parse_line(char *s, line *l)
{
    char *col[7];
    for (int i = 0; i < 7; i++) {
        col[i] = s;
        char *tab = strchr(s, i < 6 ? '\t' : '\n');
        if (!tab && i < 6)
            return false;
        if (tab) {
            *tab = 0;
            s = tab + 1;
        }
    }
    l->source = col[0];
    l->style = col[1];
    l->transport = col[2];
    l->type = atoi(col[3]);
    l->count = atol(col[4]);
    size_t hl = strlen(col[5]);
    if (hl % 2)
        return false;
    l->n = hl / 2;
    l->msg = malloc(l->n ? l->n : 1);
    REQUIRE(l->msg);
    for (size_t i = 0; i < l->n; i++) {
        int hi = unhex_nibble(col[5][2 * i]), lo = unhex_nibble(col[5][2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        l->msg[i] = (uint8_t)(hi << 4 | lo);
    }
    l->ntok = 0;
    for (char *t = strtok(col[6], " "); t; t = strtok(NULL, " ")) {
        char *eq = strchr(t, '=');
        if (!eq || l->ntok == (int)(sizeof l->toks / sizeof l->toks[0]))
            return false;
        *eq = 0;
        l->toks[l->ntok].key = t;
        l->toks[l->ntok].val = eq + 1;
        l->toks[l->ntok].used = false;
        l->ntok++;
    }
    return true;
}

static long n_lines, n_messages, n_reencoded, per_type[256];

static void run_file(const char *path)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    static char text[1 << 17];
    int lineno = 0;
    wire_buf b;
    wire_buf_init(&b, 0);
    while (fgets(text, sizeof text, f)) {
        lineno++;
        REQUIRE(strchr(text, '\n'));   /* line fits */
        line *l = calloc(1, sizeof *l);
        REQUIRE(l);
        l->lineno = lineno;
        l->file = path;
        REQUIRE(parse_line(text, l));
        bool tcp = !strcmp(l->transport, "tcp");
        wire_int_style style = !strcmp(l->style, "v2") ? WIRE_INT_GO_MSGPACK_V2 : WIRE_INT_GO_MSGPACK_V0;
        decoded *d = calloc(1, sizeof *d);
        REQUIRE(d);
        int rc = decode_all(l->msg, l->n, tcp, d);
        CHECKF(rc == WIRE_OK, "%s:%d decode: %s", path, lineno, wire_strerror(rc));
        if (rc == WIRE_OK) {
            check_fields(l, d, tcp);
            wire_buf_reset(&b);
            rc = encode_all(&b, d, l->type, tcp, style);
            CHECKF(rc == WIRE_OK, "%s:%d encode: %s", path, lineno, wire_strerror(rc));
            CHECKF(b.len == l->n && memcmp(b.data, l->msg, l->n) == 0,
                   "%s:%d re-encoding differs from the capture", path, lineno);
            if (b.len == l->n && memcmp(b.data, l->msg, l->n) == 0)
                n_reencoded += l->count;
        }
        robustness(l, tcp);
        n_lines++;
        n_messages += l->count;
        per_type[l->type] += l->count;
        free(d);
        free(l->msg);
        free(l);
    }
    fclose(f);
    wire_buf_free(&b);
}

int main(void)
{
    FILE *idx = fopen("messages/index.txt", "r");
    REQUIRE(idx);
    char name[256];
    int files = 0;
    while (fgets(name, sizeof name, idx)) {
        name[strcspn(name, "\n")] = 0;
        if (!name[0])
            continue;
        char path[300];
        snprintf(path, sizeof path, "messages/%s", name);
        run_file(path);
        files++;
    }
    fclose(idx);
    CHECK(files >= 6);
    CHECK(n_lines > 800);
    fprintf(stderr, "test_msg_vectors: %d files, %ld distinct bodies (%ld captured messages), "
            "%ld re-encoded byte-exact; %ld truncations, %ld bit-flip runs (%ld decoded)\n",
            files, n_lines, n_messages, n_reencoded, n_trunc, n_flip, n_flip_ok);
    for (int t = 0; t < 256; t++)
        if (per_type[t])
            fprintf(stderr, "  %-12s %ld\n", wire_type_name(t), per_type[t]);
    return check_done("test_msg_vectors");
}
