/* swim_send: encoding the core's own messages, queueing them as
 * broadcasts, and putting packets together the way memberlist's sendMsg
 * does (§11): a message plus as many queued broadcasts as fit, as a
 * compound when there is more than one. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "swim/swim_internal.h"

#define COMPOUND_MAX_PARTS 255
#define COMPOUND_MAX_PART 65535

static wire_bytes str_bytes(const char *p, size_t n) { return wire_bytes_of(p, n); }

static wire_bytes ip_bytes(const swim_addr *a) { return wire_bytes_of(a->ip, a->ip_len); }

int swim_enc_alive_in(swim *s, const swim_alive_in *in)
{
    wire_alive a;
    memset(&a, 0, sizeof a);
    a.addr = ip_bytes(&in->addr);
    a.incarnation = in->incarnation;
    a.meta = in->meta_len ? wire_bytes_of(in->meta, in->meta_len) : wire_bytes_of(NULL, 0);
    a.node = str_bytes(in->node, in->nlen);
    a.port = in->addr.port;
    /* always 6 bytes, never padded: the caller says what they are */
    assert(in->vsn_len >= 6);
    memcpy(a.vsn.v, in->vsn, 6);
    a.vsn.len = 6;
    wire_buf_reset(&s->scratch);
    return wire_encode_alive(&s->scratch, &a) == WIRE_OK ? 0 : -1;
}

int swim_enc_alive_of(swim *s, const swim_node *n)
{
    const swim_alive_in in = { .node = n->name, .nlen = n->name_len, .addr = n->addr,
                               .incarnation = n->incarnation, .meta = swim_node_meta(n), .meta_len = n->meta_len,
                               .vsn = n->vsn, .vsn_len = 6 };
    return swim_enc_alive_in(s, &in);
}

int swim_enc_suspect(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen)
{
    wire_suspect m = { str_bytes(from, flen), inc, str_bytes(node, nlen) };
    wire_buf_reset(&s->scratch);
    return wire_encode_suspect(&s->scratch, &m) == WIRE_OK ? 0 : -1;
}

int swim_enc_dead(swim *s, const char *node, size_t nlen, uint32_t inc, const char *from, size_t flen)
{
    wire_dead m = { str_bytes(from, flen), inc, str_bytes(node, nlen) };
    wire_buf_reset(&s->scratch);
    return wire_encode_dead(&s->scratch, &m) == WIRE_OK ? 0 : -1;
}

int swim_enc_ping(swim *s, uint32_t seq, const char *node, size_t nlen)
{
    wire_ping p;
    memset(&p, 0, sizeof p);
    p.node = str_bytes(node, nlen);
    p.seq_no = seq;
    p.source_addr = ip_bytes(&s->cfg.advertise);
    p.source_node = str_bytes(s->self->name, s->self->name_len);
    p.source_port = s->cfg.advertise.port;
    wire_buf_reset(&s->scratch);
    return wire_encode_ping(&s->scratch, &p) == WIRE_OK ? 0 : -1;
}

int swim_enc_ack(swim *s, uint32_t seq, const uint8_t *payload, size_t len, bool nil_payload)
{
    wire_ack a;
    a.payload = nil_payload ? wire_bytes_of(NULL, 0) : wire_bytes_of(payload ? payload : (const uint8_t *)"", len);
    a.seq_no = seq;
    wire_buf_reset(&s->scratch);
    return wire_encode_ack(&s->scratch, &a) == WIRE_OK ? 0 : -1;
}

void swim_broadcast_scratch(swim *s, const swim_node *n, bool notify)
{
    /* the key is the name as a C string, whose hash is the node's: no
     * member's name holds a NUL (swim_alive_from_wire refuses one, ours
     * is a C string), and checked builds assert the hash in the queue */
    if (swim_queue_put_hashed(&s->bq, n->name, n->hash, s->scratch.data, s->scratch.len, notify) != 0)
        swim_logf(s, BASE_LOG_ERROR, "out of memory: broadcast about %s dropped", n->name);
}

void swim_count_sent(swim *s, const uint8_t *msg, size_t len)
{
    if (len == 0)
        return;
    if (msg[0] < 16)
        s->stats.sent[msg[0]]++;
    if (msg[0] < 16 && msg[0] != WIRE_COMPOUND)
        s->stats.bytes_sent[msg[0]] += len;
    if (msg[0] != WIRE_COMPOUND || len < 2)
        return;
    size_t n = msg[1], off = 2 + 2 * n;
    for (size_t i = 0; i < n && off <= len; i++) {
        size_t plen = ((size_t)msg[2 + 2 * i] << 8) | msg[3 + 2 * i];
        if (plen && off + plen <= len && msg[off] < 16) {
            s->stats.sent[msg[off]]++;
            s->stats.bytes_sent[msg[off]] += plen;
        }
        off += plen;
    }
}

/* Whether to CRC-wrap (§5.4): the destination must speak protocol 5.
 * memberlist knows the node when it gossips, probes a suspect or sends a
 * best-effort user message (SendBestEffort passes the Node to
 * rawSendMsgPacket): `dst`. For everything sent through sendMsg (pings,
 * acks, nacks, indirect pings) it looks the node up by the bare IP string
 * as a node name, which only finds nodes named by their IP: so those
 * packets normally go without CRC, as captures show (§4.1). */
static bool dst_crc(swim *s, const char *dst, const swim_addr *to)
{
    char ip[INET6_ADDRSTRLEN];
    if (!dst || !*dst) {
        if (!inet_ntop(to->ip_len == 4 ? AF_INET : AF_INET6, to->ip, ip, sizeof ip))
            return false;
        dst = ip;
    }
    swim_node *n = swim_members_find(&s->members, dst, strlen(dst));
    return n && n->vsn[1] >= 5;
}

void swim_send_raw(swim *s, const swim_addr *to, const char *dst, const uint8_t *msg, size_t len)
{
    swim_count_sent(s, msg, len);
    if (s->io.send_packet)
        s->io.send_packet(s->io.ud, to, msg, len, dst_crc(s, dst, to));
}

static void take_part(void *ud, const uint8_t *msg, size_t len)
{
    swim *s = ud;
    if (s->nparts == s->capparts) {
        size_t cap = s->capparts ? s->capparts * 2 : 64;
        wire_bytes *v = realloc(s->partv, cap * sizeof *v);
        if (!v)
            return;
        s->partv = v;
        s->capparts = cap;
    }
    size_t off = s->parts.len;
    if (wire_buf_append(&s->parts, msg, len) != WIRE_OK)
        return;
    /* an offset for now: parts may move while it grows */
    s->partv[s->nparts].p = NULL;
    s->partv[s->nparts].n = len;
    (void)off;
    s->nparts++;
}

/* memberlist getBroadcasts: membership messages first, then application
 * broadcasts (as user messages) in what is left. Fills s->partv. */
void swim_collect(swim *s, size_t overhead, size_t limit)
{
    s->nparts = 0;
    wire_buf_reset(&s->parts);
    uint32_t tl = swim_retransmit_limit(s->cfg.retransmit_mult, s->members.n);
    size_t used = swim_queue_take(&s->bq, overhead, limit, tl, take_part, s);
    if (limit > used && limit - used > overhead + 1)
        swim_queue_take(&s->uq, overhead, limit - used, tl, take_part, s);
    size_t off = 0;
    for (size_t i = 0; i < s->nparts; i++) {
        s->partv[i].p = s->parts.data + off;
        off += s->partv[i].n;
    }
}

void swim_send_compound(swim *s, const swim_addr *to, const char *dst, const wire_bytes *parts, size_t n)
{
    for (size_t start = 0; start < n; start += COMPOUND_MAX_PARTS) {
        size_t cnt = n - start < COMPOUND_MAX_PARTS ? n - start : COMPOUND_MAX_PARTS;
        wire_buf_reset(&s->pkt);
        int rc = wire_buf_append_byte(&s->pkt, WIRE_COMPOUND);
        rc |= wire_buf_append_byte(&s->pkt, (uint8_t)cnt);
        for (size_t i = 0; i < cnt; i++) {
            uint8_t l[2] = { (uint8_t)(parts[start + i].n >> 8), (uint8_t)parts[start + i].n };
            rc |= wire_buf_append(&s->pkt, l, 2);
        }
        for (size_t i = 0; i < cnt; i++)
            rc |= wire_buf_append(&s->pkt, parts[start + i].p, parts[start + i].n);
        if (rc != WIRE_OK) {
            swim_logf(s, BASE_LOG_ERROR, "cannot build compound message");
            return;
        }
        swim_send_raw(s, to, dst, s->pkt.data, s->pkt.len);
    }
}

size_t swim_budget(const swim *s, size_t used)
{
    size_t over = used + SWIM_COMPOUND_HEADER_OVERHEAD + s->cfg.packet_overhead;
    return s->cfg.udp_buffer_size > over ? s->cfg.udp_buffer_size - over : 0;
}

void swim_send_msg(swim *s, const swim_addr *to, const uint8_t *msg, size_t len)
{
    const char *dst = NULL; /* see dst_crc */
    size_t limit = len <= COMPOUND_MAX_PART ? swim_budget(s, len) : 0;
    if (limit == 0) {
        swim_send_raw(s, to, dst, msg, len);
        return;
    }
    swim_collect(s, SWIM_COMPOUND_PART_OVERHEAD, limit);
    if (s->nparts == 0) {
        swim_send_raw(s, to, dst, msg, len);
        return;
    }
    wire_bytes *all = malloc((s->nparts + 1) * sizeof *all);
    if (!all) {
        swim_send_raw(s, to, dst, msg, len);
        return;
    }
    all[0] = wire_bytes_of(msg, len);
    memcpy(all + 1, s->partv, s->nparts * sizeof *all);
    swim_send_compound(s, to, dst, all, s->nparts + 1);
    free(all);
}
