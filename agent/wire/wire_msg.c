/* Message bodies as tables of fields: one generic map decoder and one
 * generic map encoder, so the per-message code is only the table, and the
 * rules of §3 (sorted keys, omitempty, nil vs empty, integer ranges) live
 * in one place. */
#include "wire/wire_msg.h"

#include <stddef.h>
#include <string.h>

#include "wire/wire_mp.h"
#include "wire/wire_msg_fast.h"

typedef enum field_kind {
    F_BYTES,   /* Go []byte: nil view <-> c0 */
    F_STRING,  /* Go string: never nil, sent as raw even when empty */
    F_BOOL,
    F_U8,      /* stored in a uint32_t (compress.Algo, Go compressionType uint8) */
    F_U16,
    F_U32,
    F_INT,     /* Go int (64-bit): written per wire_int_style */
    F_VSN,
} field_kind;

/* Longest field name, plus room: names are held zero-padded to this, so
 * that a key is compared as two 8-byte words (key_is). */
#define NAME_PAD 16

typedef struct field {
    char name[NAME_PAD];   /* zero-padded; the longest is 12 bytes */
    uint8_t len;   /* strlen(name), so a key is matched without strlen */
    uint8_t kind;
    bool omitempty;
    size_t off;
} field;

#define FLD(T, name, kind, member) { name, sizeof(name) - 1, kind, false, offsetof(T, member) }
#define OMIT(T, name, kind, member) { name, sizeof(name) - 1, kind, true, offsetof(T, member) }
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Every table is in byte-wise ascending key order, the order go-msgpack
 * writes struct fields in (§3.1); tests check the order. */
static const field ping_fields[] = {
    FLD(wire_ping, "Node", F_STRING, node),
    FLD(wire_ping, "SeqNo", F_U32, seq_no),
    OMIT(wire_ping, "SourceAddr", F_BYTES, source_addr),
    OMIT(wire_ping, "SourceNode", F_STRING, source_node),
    OMIT(wire_ping, "SourcePort", F_U16, source_port),
};

static const field indirect_ping_fields[] = {
    FLD(wire_indirect_ping, "Nack", F_BOOL, nack),
    FLD(wire_indirect_ping, "Node", F_STRING, node),
    FLD(wire_indirect_ping, "Port", F_U16, port),
    FLD(wire_indirect_ping, "SeqNo", F_U32, seq_no),
    OMIT(wire_indirect_ping, "SourceAddr", F_BYTES, source_addr),
    OMIT(wire_indirect_ping, "SourceNode", F_STRING, source_node),
    OMIT(wire_indirect_ping, "SourcePort", F_U16, source_port),
    FLD(wire_indirect_ping, "Target", F_BYTES, target),
};

static const field ack_fields[] = {
    FLD(wire_ack, "Payload", F_BYTES, payload),
    FLD(wire_ack, "SeqNo", F_U32, seq_no),
};

static const field nack_fields[] = {
    FLD(wire_nack, "SeqNo", F_U32, seq_no),
};

static const field suspect_fields[] = {
    FLD(wire_suspect, "From", F_STRING, from),
    FLD(wire_suspect, "Incarnation", F_U32, incarnation),
    FLD(wire_suspect, "Node", F_STRING, node),
};

static const field alive_fields[] = {
    FLD(wire_alive, "Addr", F_BYTES, addr),
    FLD(wire_alive, "Incarnation", F_U32, incarnation),
    FLD(wire_alive, "Meta", F_BYTES, meta),
    FLD(wire_alive, "Node", F_STRING, node),
    FLD(wire_alive, "Port", F_U16, port),
    FLD(wire_alive, "Vsn", F_VSN, vsn),
};

static const field err_fields[] = {
    FLD(wire_errmsg, "Error", F_STRING, error),
};

static const field compress_fields[] = {
    FLD(wire_compress, "Algo", F_U8, algo),
    FLD(wire_compress, "Buf", F_BYTES, buf),
};

static const field push_pull_header_fields[] = {
    FLD(wire_push_pull_header, "Join", F_BOOL, join),
    FLD(wire_push_pull_header, "Nodes", F_INT, nodes),
    FLD(wire_push_pull_header, "UserStateLen", F_INT, user_state_len),
};

static const field push_node_state_fields[] = {
    FLD(wire_push_node_state, "Addr", F_BYTES, addr),
    FLD(wire_push_node_state, "Incarnation", F_U32, incarnation),
    FLD(wire_push_node_state, "Meta", F_BYTES, meta),
    FLD(wire_push_node_state, "Name", F_STRING, name),
    FLD(wire_push_node_state, "Port", F_U16, port),
    FLD(wire_push_node_state, "State", F_INT, state),
    FLD(wire_push_node_state, "Vsn", F_VSN, vsn),
};

static const field user_msg_header_fields[] = {
    FLD(wire_user_msg_header, "UserMsgLen", F_INT, user_msg_len),
};

/* ---- decoding --------------------------------------------------------- */

/* Vsn is a Go []uint8: normally a raw string, but go-msgpack also fills it
 * from an array of small integers. Keep the first 6 and the length the
 * peer sent (capped at 255), so the caller can refuse a short one. */
static int decode_vsn(wire_mp_reader *r, wire_vsn *v)
{
    memset(v, 0, sizeof *v);
    if (wire_mp_read_nil(r))
        return WIRE_OK;
    uint8_t c;
    int rc = wire_mp_peek(r, &c);
    if (rc)
        return rc;
    if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd) {
        const uint8_t *save = r->p;
        uint32_t count;
        rc = wire_mp_read_array(r, &count);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < count; i++) {
            uint64_t x;
            rc = wire_mp_read_uint(r, UINT8_MAX, &x);
            if (rc) {
                r->p = save;
                memset(v, 0, sizeof *v);
                return rc;
            }
            if (i < sizeof v->v)
                v->v[i] = (uint8_t)x;
        }
        v->len = count > UINT8_MAX ? UINT8_MAX : (uint8_t)count;
        return WIRE_OK;
    }
    wire_bytes b;
    rc = wire_mp_read_raw(r, &b);
    if (rc)
        return rc;
    memcpy(v->v, b.p, b.n < sizeof v->v ? b.n : sizeof v->v);
    v->len = b.n > UINT8_MAX ? UINT8_MAX : (uint8_t)b.n;
    return WIRE_OK;
}

/* The forms peers write nearly always, read inline: a fix string, str8 or
 * bin8 (lengths up to 255); a positive fixint, uint8, uint16 or uint32.
 * Anything else, a value out of range or cut short included, goes to the
 * general reader, which gives the same result for these forms: this only
 * saves a call and its format switch per item. The map reader reads every
 * ping, ack, suspect and dead (millions in a large simulation); alives
 * and node states, a hundred times more, have wire_msg_fast.c's readers. */
static inline int read_raw(wire_mp_reader *r, wire_bytes *v)
{
    size_t left = (size_t)(r->end - r->p);
    if (left >= 1) {
        uint8_t c = r->p[0];
        if ((c & 0xe0) == 0xa0 && (size_t)(c & 0x1f) <= left - 1) {
            v->p = r->p + 1;
            v->n = c & 0x1f;
            r->p = v->p + v->n;
            return WIRE_OK;
        }
        if ((c == 0xd9 || c == 0xc4) && left >= 2 && (size_t)r->p[1] <= left - 2) {
            v->p = r->p + 2;
            v->n = r->p[1];
            r->p = v->p + v->n;
            return WIRE_OK;
        }
    }
    return wire_mp_read_raw(r, v);
}

static inline int read_uint(wire_mp_reader *r, uint64_t max, uint64_t *v)
{
    size_t left = (size_t)(r->end - r->p);
    if (left >= 1) {
        const uint8_t *q = r->p;
        uint64_t u;
        size_t len;
        if (q[0] <= 0x7f) {
            u = q[0];
            len = 1;
        } else if (q[0] == 0xcc && left >= 2) {
            u = q[1];
            len = 2;
        } else if (q[0] == 0xcd && left >= 3) {
            u = ((uint64_t)q[1] << 8) | q[2];
            len = 3;
        } else if (q[0] == 0xce && left >= 5) {
            u = ((uint64_t)q[1] << 24) | ((uint64_t)q[2] << 16) | ((uint64_t)q[3] << 8) | q[4];
            len = 5;
        } else {
            return wire_mp_read_uint(r, max, v);
        }
        if (u <= max) {
            r->p += len;
            *v = u;
            return WIRE_OK;
        }
    }
    return wire_mp_read_uint(r, max, v);
}

/* wire_mp_read_nil inline: asked before nearly every value */
static inline bool read_nil(wire_mp_reader *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return true;
    }
    return false;
}

/* The Vsn as everyone writes it (a fix raw of 6 bytes) read inline; any
 * other form through decode_vsn, which gives the same for this one. */
static inline int read_vsn(wire_mp_reader *r, wire_vsn *v)
{
    if (r->end - r->p >= 7 && r->p[0] == 0xa6) {
        memcpy(v->v, r->p + 1, 6);
        v->len = 6;
        r->p += 7;
        return WIRE_OK;
    }
    return decode_vsn(r, v);
}

/* nil decodes as the zero value for every kind, as in go-msgpack. */
static inline __attribute__((always_inline)) int decode_field(wire_mp_reader *r, const field *f, void *obj)
{
    char *at = (char *)obj + f->off;
    uint64_t u = 0;
    int64_t s = 0;
    bool b = false;
    int rc = WIRE_OK;

    switch ((field_kind)f->kind) {
    case F_BYTES:
    case F_STRING:
        return read_raw(r, (wire_bytes *)(void *)at);
    case F_VSN:
        return read_vsn(r, (wire_vsn *)(void *)at);
    case F_BOOL:
        if (!read_nil(r))
            rc = wire_mp_read_bool(r, &b);
        if (!rc)
            *(bool *)(void *)at = b;
        return rc;
    case F_U8:
    case F_U16:
    case F_U32: {
        uint64_t max = f->kind == F_U8 ? UINT8_MAX : f->kind == F_U16 ? UINT16_MAX : UINT32_MAX;
        if (!read_nil(r))
            rc = read_uint(r, max, &u);
        if (rc)
            return rc;
        if (f->kind == F_U16)
            *(uint16_t *)(void *)at = (uint16_t)u;
        else
            *(uint32_t *)(void *)at = (uint32_t)u;
        return WIRE_OK;
    }
    case F_INT:
        if (r->p < r->end && r->p[0] <= 0x7f) /* a positive fixint, the usual State, read inline */
            s = *r->p++;
        else if (!read_nil(r))
            rc = wire_mp_read_int(r, INT64_MIN, INT64_MAX, &s);
        if (!rc)
            *(int64_t *)(void *)at = s;
        return rc;
    }
    return WIRE_EFORMAT;
}

/* Peers write the fields in table order (§3.1), so the search starts at
 * the field after the last one matched (*hint) and is one compare for a
 * well-ordered message; any order still finds the field, as names in a
 * table are distinct. */
/* Field names are a few bytes: a loop inline beats a call to memcmp, and
 * where 16 bytes can be read from the key on (the message goes on after
 * it: nearly always) two masked 8-byte compares beat the loop, whose exit
 * at a different length for each key mispredicted. */
static inline __attribute__((always_inline)) bool key_is(const uint8_t *p, const uint8_t *end, const field *f)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (end - p >= NAME_PAD) {
        uint64_t k0, k1, n0, n1;
        memcpy(&k0, p, 8);
        memcpy(&k1, p + 8, 8);
        memcpy(&n0, f->name, 8);
        memcpy(&n1, f->name + 8, 8);
        size_t len = f->len;
        uint64_t m0 = len >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * len)) - 1;
        uint64_t m1 = len <= 8 ? 0 : ((uint64_t)1 << (8 * (len - 8))) - 1;
        return ((k0 ^ n0) & m0) == 0 && ((k1 ^ n1) & m1) == 0;
    }
#endif
    (void)end;
    for (size_t i = 0; i < f->len; i++)
        if (p[i] != (uint8_t)f->name[i])
            return false;
    return true;
}

static const field *find_field(const field *fs, size_t nf, wire_bytes key, const uint8_t *end, size_t *hint)
{
    size_t i = *hint < nf ? *hint : 0;
    for (size_t k = 0; k < nf; k++) {
        const field *f = &fs[i];
        /* Exact, case-sensitive, as go-msgpack matches struct keys. */
        if (key.n == f->len && key_is(key.p, end, f)) {
            *hint = i + 1;
            return f;
        }
        if (++i == nf)
            i = 0;
    }
    return NULL;
}

/* One struct as a map: any key order, unknown keys skipped, missing keys
 * zero, a repeated key overwrites (last wins, as in Go). On error *obj is
 * zeroed so a caller can never act on half a message. */
static int decode_map(const uint8_t *p, size_t n, const field *fs, size_t nf,
                      void *obj, size_t size, size_t *used)
{
    wire_mp_reader r;
    uint32_t count;
    int rc;

    /* obj was zeroed by the caller (DECODE), at its constant size */
    if (!p && n)
        return WIRE_EFORMAT;
    wire_mp_reader_init(&r, p, n);
    rc = wire_mp_read_map(&r, &count);
    size_t hint = 0;
    for (uint32_t i = 0; !rc && i < count; i++) {
        wire_bytes key;
        /* Keys are strings; a nil key is go-msgpack's "" (unknown). */
        rc = read_raw(&r, &key);
        if (rc)
            break;
        const field *f = key.p && key.n ? find_field(fs, nf, key, r.end, &hint) : NULL;
        rc = f ? decode_field(&r, f, obj) : wire_mp_skip(&r);
    }
    if (rc) {
        memset(obj, 0, size);
        return rc;
    }
    if (used)
        *used = wire_mp_consumed(&r);
    return WIRE_OK;
}

/* The object zeroed at its constant size (a few stores) before decode_map
 * fills it: a memset of a size passed in was a rep stos that cost more
 * than the rest of a short message's decoding. */
#define DECODE(p, n, fields, obj, used) \
    (memset((obj), 0, sizeof *(obj)), decode_map((p), (n), (fields), NFIELDS(fields), (obj), sizeof *(obj), (used)))

int wire_decode_ping(const uint8_t *p, size_t n, wire_ping *m, size_t *used)
{
    return DECODE(p, n, ping_fields, m, used);
}

int wire_decode_indirect_ping(const uint8_t *p, size_t n, wire_indirect_ping *m, size_t *used)
{
    return DECODE(p, n, indirect_ping_fields, m, used);
}

int wire_decode_ack(const uint8_t *p, size_t n, wire_ack *m, size_t *used)
{
    return DECODE(p, n, ack_fields, m, used);
}

int wire_decode_nack(const uint8_t *p, size_t n, wire_nack *m, size_t *used)
{
    return DECODE(p, n, nack_fields, m, used);
}

int wire_decode_suspect(const uint8_t *p, size_t n, wire_suspect *m, size_t *used)
{
    return DECODE(p, n, suspect_fields, m, used);
}

int wire_decode_alive(const uint8_t *p, size_t n, wire_alive *m, size_t *used)
{
    /* the layout every peer writes, read directly; anything else here */
    if (wire_fast_read_alive(p, n, m, used))
        return WIRE_OK;
    return DECODE(p, n, alive_fields, m, used);
}

int wire_decode_alive_map(const uint8_t *p, size_t n, wire_alive *m, size_t *used)
{
    return DECODE(p, n, alive_fields, m, used);
}

int wire_decode_dead(const uint8_t *p, size_t n, wire_dead *m, size_t *used)
{
    return DECODE(p, n, suspect_fields, m, used);
}

int wire_decode_err(const uint8_t *p, size_t n, wire_errmsg *m, size_t *used)
{
    return DECODE(p, n, err_fields, m, used);
}

int wire_decode_compress(const uint8_t *p, size_t n, wire_compress *m, size_t *used)
{
    return DECODE(p, n, compress_fields, m, used);
}

int wire_decode_push_pull_header(const uint8_t *p, size_t n, wire_push_pull_header *h, size_t *used)
{
    return DECODE(p, n, push_pull_header_fields, h, used);
}

int wire_decode_push_node_state(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used)
{
    if (wire_fast_read_push_node_state(p, n, s, used))
        return WIRE_OK;
    return DECODE(p, n, push_node_state_fields, s, used);
}

int wire_decode_push_node_state_map(const uint8_t *p, size_t n, wire_push_node_state *s, size_t *used)
{
    return DECODE(p, n, push_node_state_fields, s, used);
}

int wire_decode_user_msg_header(const uint8_t *p, size_t n, wire_user_msg_header *h, size_t *used)
{
    return DECODE(p, n, user_msg_header_fields, h, used);
}

int wire_decode_msg(const uint8_t *msg, size_t n, wire_msg *out)
{
    /* not zeroed first: each decoder below sets every field of its member
     * (a failed one zeroes it, as does a failure here), and a packet's
     * dozens of parts each paid for zeroing the largest member */
    if (!msg || n < 1) {
        memset(out, 0, sizeof *out);
        return WIRE_ETRUNC;
    }
    const uint8_t *b = msg + 1;
    size_t bn = n - 1;
    int rc;
    out->type = msg[0];
    /* Trailing bytes after the map are not an error: Go decodes one object
     * from the part and ignores the rest. */
    switch (msg[0]) {
    case WIRE_PING: rc = wire_decode_ping(b, bn, &out->u.ping, NULL); break;
    case WIRE_INDIRECT_PING: rc = wire_decode_indirect_ping(b, bn, &out->u.indirect_ping, NULL); break;
    case WIRE_ACK: rc = wire_decode_ack(b, bn, &out->u.ack, NULL); break;
    case WIRE_NACK: rc = wire_decode_nack(b, bn, &out->u.nack, NULL); break;
    case WIRE_SUSPECT: rc = wire_decode_suspect(b, bn, &out->u.suspect, NULL); break;
    case WIRE_ALIVE: rc = wire_decode_alive(b, bn, &out->u.alive, NULL); break;
    case WIRE_DEAD: rc = wire_decode_dead(b, bn, &out->u.dead, NULL); break;
    case WIRE_ERR: rc = wire_decode_err(b, bn, &out->u.err, NULL); break;
    case WIRE_COMPRESS: rc = wire_decode_compress(b, bn, &out->u.compress, NULL); break;
    case WIRE_USER:
        out->u.user = wire_bytes_of(b, bn);
        rc = WIRE_OK;
        break;
    default:
        rc = WIRE_ETYPE;
        break;
    }
    if (rc)
        memset(&out->u, 0, sizeof out->u);
    return rc;
}

/* ---- encoding --------------------------------------------------------- */

static bool field_empty(const field *f, const void *obj)
{
    const char *at = (const char *)obj + f->off;
    switch ((field_kind)f->kind) {
    case F_BYTES:
    case F_STRING: return ((const wire_bytes *)(const void *)at)->n == 0;
    case F_BOOL: return !*(const bool *)(const void *)at;
    case F_U8:
    case F_U32: return *(const uint32_t *)(const void *)at == 0;
    case F_U16: return *(const uint16_t *)(const void *)at == 0;
    case F_INT: return *(const int64_t *)(const void *)at == 0;
    case F_VSN: return false;
    }
    return false;
}

static void encode_field(wire_mp_writer *w, const field *f, const void *obj, wire_int_style style)
{
    const char *at = (const char *)obj + f->off;
    switch ((field_kind)f->kind) {
    case F_BYTES: wire_mp_pack_bytes(w, *(const wire_bytes *)(const void *)at); return;
    case F_STRING: wire_mp_pack_string(w, *(const wire_bytes *)(const void *)at); return;
    case F_BOOL: wire_mp_pack_bool(w, *(const bool *)(const void *)at); return;
    case F_U8:
    case F_U32: wire_mp_pack_uint(w, *(const uint32_t *)(const void *)at); return;
    case F_U16: wire_mp_pack_uint(w, *(const uint16_t *)(const void *)at); return;
    case F_INT: wire_mp_pack_int(w, *(const int64_t *)(const void *)at, style); return;
    case F_VSN: {
        /* Always 6 bytes: 0.2.2 panics on a shorter non-empty Vsn (§9.1). */
        const wire_vsn *v = (const wire_vsn *)(const void *)at;
        wire_mp_pack_raw(w, v->v, sizeof v->v);
        return;
    }
    }
    wire_mp_fail(w, WIRE_EFORMAT);
}

/* A Go uint8 held in a uint32_t: refuse to send what Go cannot decode. */
static bool u8_out_of_range(const field *fs, size_t nf, const void *obj)
{
    for (size_t i = 0; i < nf; i++)
        if (fs[i].kind == F_U8 && *(const uint32_t *)(const void *)((const char *)obj + fs[i].off) > UINT8_MAX)
            return true;
    return false;
}

/* type < 0: no type byte (push/pull node states follow their header). */
static void encode_map(wire_mp_writer *w, int type, const field *fs, size_t nf, const void *obj,
                       wire_int_style style)
{
    if (u8_out_of_range(fs, nf, obj))
        wire_mp_fail(w, WIRE_ERANGE);
    if (type >= 0)
        wire_mp_put_byte(w, (uint8_t)type);
    wire_mp_container m;
    wire_mp_map_begin(w, &m);
    for (size_t i = 0; i < nf; i++) {
        if (fs[i].omitempty && field_empty(&fs[i], obj))
            continue;
        wire_mp_pack_raw(w, fs[i].name, fs[i].len);   /* the name's length is in the table */
        encode_field(w, &fs[i], obj, style);
    }
    wire_mp_map_end(w, &m);
}

/* One message as one pass: on error the buffer is as it was. */
static int encode(wire_buf *b, int type, const field *fs, size_t nf, const void *obj, wire_int_style style)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, b);
    encode_map(&w, type, fs, nf, obj, style);
    return wire_mp_finish(&w);
}

int wire_encode_ping(wire_buf *out, const wire_ping *m)
{
    return encode(out, WIRE_PING, ping_fields, NFIELDS(ping_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_indirect_ping(wire_buf *out, const wire_indirect_ping *m)
{
    return encode(out, WIRE_INDIRECT_PING, indirect_ping_fields, NFIELDS(indirect_ping_fields), m,
                      WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_ack(wire_buf *out, const wire_ack *m)
{
    return encode(out, WIRE_ACK, ack_fields, NFIELDS(ack_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_nack(wire_buf *out, const wire_nack *m)
{
    return encode(out, WIRE_NACK, nack_fields, NFIELDS(nack_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_suspect(wire_buf *out, const wire_suspect *m)
{
    return encode(out, WIRE_SUSPECT, suspect_fields, NFIELDS(suspect_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_alive(wire_buf *out, const wire_alive *m)
{
    int rc;
    if (wire_fast_alive(out, m, &rc))
        return rc;
    return wire_encode_alive_table(out, m);
}

int wire_encode_alive_table(wire_buf *out, const wire_alive *m)
{
    return encode(out, WIRE_ALIVE, alive_fields, NFIELDS(alive_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_dead(wire_buf *out, const wire_dead *m)
{
    return encode(out, WIRE_DEAD, suspect_fields, NFIELDS(suspect_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_err(wire_buf *out, const wire_errmsg *m)
{
    return encode(out, WIRE_ERR, err_fields, NFIELDS(err_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_compress(wire_buf *out, const wire_compress *m)
{
    return encode(out, WIRE_COMPRESS, compress_fields, NFIELDS(compress_fields), m, WIRE_INT_GO_MSGPACK_V0);
}

int wire_encode_user_udp(wire_buf *out, const uint8_t *payload, size_t len)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, WIRE_USER);
    wire_mp_put(&w, payload, len);
    return wire_mp_finish(&w);
}

int wire_encode_user_tcp(wire_buf *out, const uint8_t *payload, size_t len, wire_int_style style)
{
    if (len > (uint64_t)INT64_MAX)
        return WIRE_ERANGE;
    wire_user_msg_header h = { (int64_t)len };
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    encode_map(&w, WIRE_USER, user_msg_header_fields, NFIELDS(user_msg_header_fields), &h, style);
    wire_mp_put(&w, payload, len);
    return wire_mp_finish(&w);
}

int wire_encode_push_pull_header(wire_buf *out, const wire_push_pull_header *h, wire_int_style style)
{
    return encode(out, WIRE_PUSH_PULL, push_pull_header_fields, NFIELDS(push_pull_header_fields), h, style);
}

int wire_encode_push_node_state(wire_buf *out, const wire_push_node_state *s, wire_int_style style)
{
    int rc;
    if (wire_fast_push_node_state(out, s, style, &rc))
        return rc;
    return wire_encode_push_node_state_table(out, s, style);
}

int wire_encode_push_node_state_table(wire_buf *out, const wire_push_node_state *s, wire_int_style style)
{
    return encode(out, -1, push_node_state_fields, NFIELDS(push_node_state_fields), s, style);
}
