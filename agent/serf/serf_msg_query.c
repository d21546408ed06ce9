/* serf's query, query response and relay messages, and query filters. */
#include "serf/serf_msg_query.h"

#include <string.h>

#include "serf/serf_msg_fields.h"

static const serf_field query_fields[] = {
    SERF_FIELD(serf_msg_query, "Addr", SF_BYTES, addr),
    SERF_FIELD(serf_msg_query, "Filters", SF_RAW_LIST, filters),
    SERF_FIELD(serf_msg_query, "Flags", SF_U32, flags),
    SERF_FIELD(serf_msg_query, "ID", SF_U32, id),
    SERF_FIELD(serf_msg_query, "LTime", SF_U64, ltime),
    SERF_FIELD(serf_msg_query, "Name", SF_STRING, name),
    SERF_FIELD(serf_msg_query, "Payload", SF_BYTES, payload),
    SERF_FIELD(serf_msg_query, "Port", SF_U16, port),
    SERF_FIELD(serf_msg_query, "RelayFactor", SF_U8, relay_factor),
    SERF_FIELD(serf_msg_query, "SourceNode", SF_STRING, source_node),
    SERF_FIELD(serf_msg_query, "Timeout", SF_INT, timeout_ns),
};
static const serf_table query_table = SERF_TABLE(serf_msg_query, query_fields);

static const serf_field response_fields[] = {
    SERF_FIELD(serf_msg_query_response, "Flags", SF_U32, flags),
    SERF_FIELD(serf_msg_query_response, "From", SF_STRING, from),
    SERF_FIELD(serf_msg_query_response, "ID", SF_U32, id),
    SERF_FIELD(serf_msg_query_response, "LTime", SF_U64, ltime),
    SERF_FIELD(serf_msg_query_response, "Payload", SF_BYTES, payload),
};
static const serf_table response_table = SERF_TABLE(serf_msg_query_response, response_fields);

static const serf_field udp_addr_fields[] = {
    SERF_FIELD(serf_udp_addr, "IP", SF_BYTES, ip),
    SERF_FIELD(serf_udp_addr, "Port", SF_INT, port),
    SERF_FIELD(serf_udp_addr, "Zone", SF_STRING, zone),
};
static const serf_table udp_addr_table = SERF_TABLE(serf_udp_addr, udp_addr_fields);

/* the header only: inner is not a key */
static const serf_field relay_fields[] = {
    SERF_NESTED(serf_msg_relay, "DestAddr", SF_STRUCT, dest_addr, &udp_addr_table),
    SERF_FIELD(serf_msg_relay, "DestName", SF_STRING, dest_name),
};
static const serf_table relay_table = SERF_TABLE(serf_msg_relay, relay_fields);

static const serf_field filter_tag_fields[] = {
    SERF_FIELD(serf_filter, "Expr", SF_STRING, expr),
    SERF_FIELD(serf_filter, "Tag", SF_STRING, tag),
};
static const serf_table filter_tag_table = SERF_TABLE(serf_filter, filter_tag_fields);

/* a node filter's body is a bare []string */
static const serf_field filter_nodes_field = SERF_FIELD(serf_filter, NULL, SF_RAW_LIST, nodes);

int serf_msg_query_encode(wire_buf *out, const serf_msg_query *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_QUERY, &query_table, m);
}

int serf_msg_query_decode(const uint8_t *p, size_t n, serf_msg_query *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_QUERY, &query_table, m, NULL);
}

void serf_msg_query_free(serf_msg_query *m)
{
    serf_fields_free(&query_table, m);
}

int serf_msg_query_response_encode(wire_buf *out, const serf_msg_query_response *m)
{
    return serf_fields_encode_msg(out, SERF_MSG_QUERY_RESPONSE, &response_table, m);
}

int serf_msg_query_response_decode(const uint8_t *p, size_t n, serf_msg_query_response *m)
{
    return serf_fields_decode_msg(p, n, SERF_MSG_QUERY_RESPONSE, &response_table, m, NULL);
}

int serf_msg_relay_encode(wire_buf *out, const serf_msg_relay *m)
{
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, SERF_MSG_RELAY);
    serf_fields_encode(&w, &relay_table, m);
    if (m->inner.n)
        wire_mp_put(&w, m->inner.p, m->inner.n);
    return wire_mp_finish(&w);
}

int serf_msg_relay_decode(const uint8_t *p, size_t n, serf_msg_relay *m)
{
    size_t used = 0;
    int rc = serf_fields_decode_msg(p, n, SERF_MSG_RELAY, &relay_table, m, &used);
    if (!rc)
        m->inner = wire_bytes_of(p + used, n - used);
    return rc;
}

int serf_filter_nodes_encode(wire_buf *out, const serf_raw_list *nodes)
{
    serf_filter f = { .type = SERF_FILTER_NODE, .nodes = *nodes };
    wire_mp_writer w;
    wire_mp_writer_init(&w, out);
    wire_mp_put_byte(&w, SERF_FILTER_NODE);
    serf_field_encode(&w, &filter_nodes_field, &f);
    return wire_mp_finish(&w);
}

int serf_filter_tag_encode(wire_buf *out, wire_bytes tag, wire_bytes expr)
{
    serf_filter f = { .type = SERF_FILTER_TAG, .tag = tag, .expr = expr };
    return serf_fields_encode_msg(out, SERF_FILTER_TAG, &filter_tag_table, &f);
}

int serf_filter_decode(const uint8_t *p, size_t n, serf_filter *f)
{
    memset(f, 0, sizeof *f);
    if (!p || n < 1)
        return WIRE_ETRUNC;
    if (p[0] == SERF_FILTER_TAG) {
        int rc = serf_fields_decode_msg(p, n, SERF_FILTER_TAG, &filter_tag_table, f, NULL);
        if (!rc)
            f->type = SERF_FILTER_TAG;
        return rc;
    }
    if (p[0] != SERF_FILTER_NODE)
        return WIRE_ETYPE;
    wire_mp_reader r;
    wire_mp_reader_init(&r, p + 1, n - 1);
    int rc = serf_field_decode(&r, &filter_nodes_field, f);
    if (rc)
        serf_filter_free(f);
    return rc;
}

void serf_filter_free(serf_filter *f)
{
    serf_field_free(&filter_nodes_field, f);
    memset(f, 0, sizeof *f);
}
