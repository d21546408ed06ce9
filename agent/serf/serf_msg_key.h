/* serf_msg_key: the payloads of serf's internal queries (§16.2). These
 * are never gossiped on their own: they travel as the Payload of a query
 * (named "_serf_<op>") or of its response, with their own type byte:
 *
 *   6 conflict response  a whole serf Member, or nil (c0) when the
 *                        answering node does not know the name:
 *                        {Addr, DelegateCur, DelegateMax, DelegateMin,
 *                         Name, Port, ProtocolCur, ProtocolMax,
 *                         ProtocolMin, Status, Tags}
 *                        (answer to "_serf_conflict", whose payload is the
 *                        disputed name as bare bytes)
 *   7 key request        {Key}  (payload of _serf_install-key, _serf_use-key,
 *                        _serf_remove-key; _serf_list-keys has none)
 *   8 key response       {Keys, Message, PrimaryKey, Result}
 *
 * See serf_msg.h for the conventions shared by every message. */
#ifndef MOONLIST_SERF_MSG_KEY_H
#define MOONLIST_SERF_MSG_KEY_H

#include "serf/serf_msg.h"

/* serf's MemberStatus values */
enum {
    SERF_STATUS_NONE = 0, SERF_STATUS_ALIVE = 1, SERF_STATUS_LEAVING = 2,
    SERF_STATUS_LEFT = 3, SERF_STATUS_FAILED = 4,
};

typedef struct serf_member {
    bool present;               /* false: the nil member (c0), other fields unused */
    wire_bytes addr;            /* net.IP ([]byte) */
    uint8_t delegate_cur, delegate_max, delegate_min;
    wire_bytes name;            /* string */
    uint16_t port;
    uint8_t protocol_cur, protocol_max, protocol_min;
    int64_t status;             /* MemberStatus (a Go int): SERF_STATUS_* */
    serf_str_map tags;          /* map[string]string */
} serf_member;

typedef struct serf_msg_key_request {
    wire_bytes key;             /* []byte: the raw key (16, 24 or 32 bytes) */
} serf_msg_key_request;

typedef struct serf_msg_key_response {
    serf_raw_list keys;         /* []string: base64 keys (list-keys), else nil */
    wire_bytes message;         /* string: an error or a warning */
    wire_bytes primary_key;     /* string: base64 (list-keys) */
    bool result;                /* the operation succeeded */
} serf_msg_key_response;

int serf_msg_conflict_response_encode(wire_buf *out, const serf_member *m);
/* Allocates tags: release with serf_member_free(). */
int serf_msg_conflict_response_decode(const uint8_t *p, size_t n, serf_member *m);
void serf_member_free(serf_member *m);

int serf_msg_key_request_encode(wire_buf *out, const serf_msg_key_request *m);
int serf_msg_key_request_decode(const uint8_t *p, size_t n, serf_msg_key_request *m);

int serf_msg_key_response_encode(wire_buf *out, const serf_msg_key_response *m);
/* Allocates keys: release with serf_msg_key_response_free(). */
int serf_msg_key_response_decode(const uint8_t *p, size_t n, serf_msg_key_response *m);
void serf_msg_key_response_free(serf_msg_key_response *m);

#endif
