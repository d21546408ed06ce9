/* wire_stream: TCP stream framing, one direction of a connection (§6).
 *
 *   initiator -> responder:  [f4 L label] body
 *   responder -> initiator:               body
 *   body = 0a len:u32be envelope | 09 {Algo, Buf} | message
 *
 * A message is complete by itself: 06 push/pull (header, Nodes node
 * states, UserStateLen raw bytes), 08 user (header, UserMsgLen bytes),
 * 00 ping, 02 ack, 0d err. One message per direction, nothing after it.
 *
 * The label in the AAD of both directions is the configured label: the
 * responder only accepts an initiator whose label equals it (§6.1). */
#ifndef MOONLIST_WIRE_STREAM_H
#define MOONLIST_WIRE_STREAM_H

#include "wire/wire.h"
#include "wire/wire_buf.h"
#include "wire/wire_crypt.h"
#include "wire/wire_frame.h"

/* Frame one complete message (type byte + body; for push/pull including the
 * node states and user state) for sending, appended to out: label header
 * if initiator and a label is configured, then compress if cfg->compress
 * (always, even if larger, as Go does on streams), then encrypt with the
 * primary key if wire_frame_encrypts(cfg) as 0a + len + envelope with AAD
 * = those 5 bytes + label (nonce: 12 fresh random bytes, required then,
 * else may be NULL). WIRE_ELIMIT if the envelope would pass 20 MiB. */
int wire_stream_frame(wire_buf *out, const wire_frame_config *cfg, bool initiator, const uint8_t *msg, size_t n,
                      const uint8_t *nonce);

/* Return values of wire_stream_reader_feed besides errors (< 0). */
enum { WIRE_STREAM_MORE = 1, WIRE_STREAM_DONE = 2 };

/* How far a reader got, in memberlist's terms: a responder acts on it
 * before the message is complete (handleConn counts a push/pull once its
 * type is read) and after a failure (it answers an error of readStream,
 * the framing, with an err message, and nothing else). */
typedef enum wire_stream_stage {
    WIRE_STREAM_AT_START = 0,    /* the label (if any), no body byte yet */
    WIRE_STREAM_AT_FRAMING,      /* the body's first byte read: the envelope or
                                    the compress wrapper, before the message */
    WIRE_STREAM_AT_MESSAGE,      /* the message itself: msg_type is its type */
} wire_stream_stage;

/* Incremental reader of one direction. Fed the bytes as they arrive, it
 * accumulates them (never more than the limits in the config allow) and
 * re-parses, resuming where the last complete item ended, until the
 * message is complete. */
typedef struct wire_stream_reader {
    const wire_frame_config *cfg;  /* referenced: must outlive the reader */
    bool from_initiator;           /* we are the responder: a label header may come */

    wire_buf in;                   /* raw bytes received */
    wire_buf plain;                /* decrypted body */
    wire_buf inflated;             /* decompressed message */

    int state;                     /* internal */
    int err;                       /* the error once failed */
    int msg_stage;                 /* 0: at the type byte, 1: node states and raw tail */
    size_t body_off;               /* where the body starts in `in` (after the label) */
    size_t parse_off;              /* resume point of the message parser */
    int64_t nodes_left;            /* push/pull node states not yet parsed */
    int64_t tail_len;              /* raw bytes (user state / user msg) after the maps */

    wire_stream_stage stage;       /* how far it got; kept when it fails */
    int msg_type;                  /* the message's type byte from AT_MESSAGE on, else -1 */

    /* Results, valid once feed returned WIRE_STREAM_DONE and until free. */
    bool labeled;                  /* a label header was read */
    bool encrypted;
    bool compressed;
    wire_bytes msg;                /* the message: type byte + body, complete */
} wire_stream_reader;

/* from_initiator: true on the responder side (reads a request, which may
 * carry a label header), false on the initiator side (reads the reply,
 * which never does). */
void wire_stream_reader_init(wire_stream_reader *r, const wire_frame_config *cfg, bool from_initiator);
void wire_stream_reader_free(wire_stream_reader *r);

/* Feed the next bytes. WIRE_STREAM_MORE: need more; WIRE_STREAM_DONE: r->msg
 * holds the message; < 0: a wire_err, the stream is bad and the reader
 * stays failed (feeding again returns the same error). Bytes after the
 * message, in the same feed or a later one, are WIRE_EFORMAT (one message
 * per direction; a later feed leaves the done message intact). Errors of note: WIRE_ELABEL, WIRE_ECRYPT (bad envelope, or
 * plaintext while encryption is required, or an envelope while encryption
 * is off), WIRE_ELIMIT (a length over a limit), WIRE_ETYPE (not one of
 * 00 02 06 08 0d). */
int wire_stream_reader_feed(wire_stream_reader *r, const uint8_t *p, size_t n);

/* When the peer closed the connection: WIRE_STREAM_DONE if a message was
 * complete, else WIRE_ETRUNC (or the earlier error). */
int wire_stream_reader_eof(wire_stream_reader *r);

#endif
