/* wire: memberlist protocol version 5, byte for byte.
 *
 * Pure functions over buffers: no sockets, no clocks, no globals. Decoders
 * take untrusted bytes, never read past their input, never abort, and
 * return a wire_err. Decoded strings and byte slices are views (wire_bytes)
 * into the caller's buffer: nothing is allocated on the receive path, and a
 * decoded message is valid only as long as the buffer it came from.
 *
 * Reference: docs/protocol.md (sections cited as §N).
 */
#ifndef MOONLIST_WIRE_H
#define MOONLIST_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The memberlist protocol range we understand and the version we speak, as
 * Go memberlist advertises them (§9.1): serf's cluster expects exactly this. */
#define WIRE_PROTOCOL_MIN 1
#define WIRE_PROTOCOL_MAX 5
#define WIRE_PROTOCOL_CUR 2
/* Delegate (serf) protocol triple: serf 0.9 refuses a join unless ours is
 * compatible with its [2,5,5] (§9.2, §16). */
#define WIRE_DELEGATE_MIN 2
#define WIRE_DELEGATE_MAX 5
#define WIRE_DELEGATE_CUR 5

/* Message type bytes (§2). The numbering is frozen upstream. */
typedef enum wire_type {
    WIRE_PING = 0,
    WIRE_INDIRECT_PING = 1,
    WIRE_ACK = 2,
    WIRE_SUSPECT = 3,
    WIRE_ALIVE = 4,
    WIRE_DEAD = 5,
    WIRE_PUSH_PULL = 6,
    WIRE_COMPOUND = 7,
    WIRE_USER = 8,
    WIRE_COMPRESS = 9,
    WIRE_ENCRYPT = 10,
    WIRE_NACK = 11,
    WIRE_HAS_CRC = 12,
    WIRE_ERR = 13,
    WIRE_HAS_LABEL = 244,
} wire_type;

/* Error codes: every decoder returns WIRE_OK or one of these, never aborts. */
typedef enum wire_err {
    WIRE_OK = 0,
    WIRE_ETRUNC = -1,    /* input ended inside an item */
    WIRE_EFORMAT = -2,   /* a msgpack item of the wrong kind for its field */
    WIRE_ERANGE = -3,    /* an integer does not fit its field, or a length over a limit */
    WIRE_ETYPE = -4,     /* unknown or misplaced message type */
    WIRE_ECRC = -5,      /* CRC mismatch */
    WIRE_ECRYPT = -6,    /* no key decrypts it, or bad envelope */
    WIRE_ELZW = -7,      /* invalid LZW stream */
    WIRE_ELABEL = -8,    /* label missing, malformed or not ours */
    WIRE_ENOMEM = -9,    /* output buffer could not grow */
    WIRE_EDEPTH = -10,   /* nesting deeper than we accept */
    WIRE_ELIMIT = -11,   /* a configured limit (size, count) was exceeded */
} wire_err;

const char *wire_strerror(int err);
const char *wire_type_name(int type);

/* A view of bytes inside some buffer. p == NULL means msgpack nil (Go's nil
 * slice, encoded c0); p != NULL with n == 0 is an empty raw (a0). */
typedef struct wire_bytes {
    const uint8_t *p;
    size_t n;
} wire_bytes;

static inline wire_bytes wire_bytes_of(const void *p, size_t n)
{
    wire_bytes b = { (const uint8_t *)p, n };
    return b;
}

/* Message bodies (§4). Field names follow the Go struct fields. Integer
 * fields are range-checked to their Go type on decode. */
typedef struct wire_ping {
    wire_bytes node;         /* name of the pinged node; empty: anyone */
    uint32_t seq_no;
    wire_bytes source_addr;  /* omitempty */
    wire_bytes source_node;  /* omitempty */
    uint16_t source_port;    /* omitempty */
} wire_ping;

typedef struct wire_indirect_ping {
    bool nack;
    wire_bytes node;
    uint16_t port;
    uint32_t seq_no;
    wire_bytes source_addr;  /* omitempty */
    wire_bytes source_node;  /* omitempty */
    uint16_t source_port;    /* omitempty */
    wire_bytes target;
} wire_indirect_ping;

typedef struct wire_ack {
    wire_bytes payload;      /* nil when there is no ping delegate payload */
    uint32_t seq_no;
} wire_ack;

typedef struct wire_nack {
    uint32_t seq_no;
} wire_nack;

/* suspect and dead share their keys (§4.5, §4.7). */
typedef struct wire_suspect {
    wire_bytes from;
    uint32_t incarnation;
    wire_bytes node;
} wire_suspect;
typedef wire_suspect wire_dead;

/* Vsn: [PMin, PMax, PCur, DMin, DMax, DCur] (§9.1). len is what the peer
 * sent (0 when missing or nil); we always send 6. */
typedef struct wire_vsn {
    uint8_t v[6];
    uint8_t len;
} wire_vsn;

typedef struct wire_alive {
    wire_bytes addr;
    uint32_t incarnation;
    wire_bytes meta;
    wire_bytes node;
    uint16_t port;
    wire_vsn vsn;
} wire_alive;

typedef struct wire_push_pull_header {
    bool join;
    int64_t nodes;
    int64_t user_state_len;
} wire_push_pull_header;

/* push/pull node State values (§4.10). */
enum { WIRE_STATE_ALIVE = 0, WIRE_STATE_SUSPECT = 1, WIRE_STATE_DEAD = 2, WIRE_STATE_LEFT = 3 };

typedef struct wire_push_node_state {
    wire_bytes addr;
    uint32_t incarnation;
    wire_bytes meta;
    wire_bytes name;
    uint16_t port;
    int64_t state;
    wire_vsn vsn;
} wire_push_node_state;

typedef struct wire_user_msg_header {
    int64_t user_msg_len;
} wire_user_msg_header;

typedef struct wire_errmsg {
    wire_bytes error;
} wire_errmsg;

typedef struct wire_compress {
    uint32_t algo;           /* 0 = LZW, the only one */
    wire_bytes buf;
} wire_compress;

#endif
