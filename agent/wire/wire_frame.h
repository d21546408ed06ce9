/* wire_frame: the settings that shape everything around message bodies,
 * shared by the UDP packet layer (wire_packet.h) and the TCP stream layer
 * (wire_stream.h).
 *
 * A plain value: initialise with wire_frame_config_init() (Go memberlist's
 * defaults), then set what differs. The keyring is referenced, not copied:
 * it must outlive every call that gets the config (a key rotation replaces
 * its contents between calls, never during one). */
#ifndef MOONLIST_WIRE_FRAME_H
#define MOONLIST_WIRE_FRAME_H

#include "wire/wire.h"
#include "wire/wire_keyring.h"

#define WIRE_LABEL_MAX 255
/* f4 + length byte */
#define WIRE_LABEL_HEADER 2

/* Protocol maxima (§6.1, §14). Configured limits are clamped to these. */
#define WIRE_MAX_NODES ((int64_t)1 << 20)
#define WIRE_MAX_USER_STATE ((int64_t)20 << 20)
#define WIRE_MAX_USER_MSG ((int64_t)20 << 20)
#define WIRE_MAX_INFLATE ((size_t)40 << 20)

/* A UDP datagram's inflated contents: the sender only compresses what it
 * would otherwise send in one datagram (at most 64 KiB), so 1 MiB in total
 * per datagram is generous while bounding the work a hostile datagram can
 * cause (LZW can expand ~1000x). */
#define WIRE_UDP_MAX_INFLATE_DEFAULT ((size_t)1 << 20)
/* Nesting of compound/compress containers in one datagram: Go produces at
 * most compress > compound (2); a few more levels cost nothing and a cap
 * stops recursion bombs. */
#define WIRE_PACKET_MAX_DEPTH 4

typedef struct wire_frame_config {
    const wire_keyring *keyring;  /* NULL or empty: no encryption */
    bool encrypt_outgoing;        /* GossipVerifyOutgoing: encrypt what we send (default true) */
    bool verify_incoming;         /* GossipVerifyIncoming: refuse plaintext (default true) */
    bool compress;                /* EnableCompression (default true) */
    bool skip_inbound_label_check;/* no label header expected; label still used as AAD */
    uint8_t label_len;            /* 0: no label */
    uint8_t label[WIRE_LABEL_MAX];

    /* Limits, set to the protocol maxima by init; lower them to be
     * stricter, higher values are clamped. */
    int64_t max_nodes;            /* push/pull Nodes */
    int64_t max_user_state;       /* push/pull UserStateLen */
    int64_t max_user_msg;         /* stream UserMsgLen */
    size_t max_encrypted;         /* stream envelope length */
    size_t max_stream_inflate;    /* one stream message, decompressed */
    size_t max_stream_plain;      /* one unencrypted, uncompressed stream message */
    size_t max_udp_inflate;       /* all compress containers of one datagram, in total */
} wire_frame_config;

void wire_frame_config_init(wire_frame_config *cfg);

/* Set the cluster label (len 0 clears it). WIRE_ELABEL if longer than 255. */
int wire_frame_config_set_label(wire_frame_config *cfg, const void *label, size_t len);

/* Is encryption on for receiving / for sending? */
bool wire_frame_decrypts(const wire_frame_config *cfg);
bool wire_frame_encrypts(const wire_frame_config *cfg);

/* Append f4 len label to out when a label is configured (nothing if not). */
struct wire_buf;
int wire_label_write(struct wire_buf *out, const wire_frame_config *cfg);

/* Read a label header at the start of p: on WIRE_OK *label views the label
 * (p == NULL when there is no header) and *used is the header size (0 when
 * none). WIRE_ETRUNC if p ends inside it, WIRE_ELABEL for length 0. */
int wire_label_read(const uint8_t *p, size_t n, wire_bytes *label, size_t *used);

/* Apply the inbound label rules (§5.2, §5.6): with skip_inbound_label_check
 * a header is an error (Go only logs "unexpected double label header" for
 * packets; we refuse, as nothing legitimate sends one then); otherwise the
 * label read (empty if none) must equal ours. WIRE_ELABEL on violation. */
int wire_label_accept(const wire_frame_config *cfg, wire_bytes seen);

#endif
