/* serf_msg_event: serf's user event (type 3, §16.2), as serf 0.9.4 writes
 * it: 03 {CC, LTime, Name, Payload}. See serf_msg.h for the conventions
 * shared by every message. */
#ifndef MOONLIST_SERF_MSG_EVENT_H
#define MOONLIST_SERF_MSG_EVENT_H

#include "serf/serf_msg.h"

typedef struct serf_msg_user_event {
    bool cc;              /* "can coalesce": receivers may merge events of this name */
    uint64_t ltime;       /* the event clock's time when it was sent */
    wire_bytes name;      /* Go string */
    wire_bytes payload;   /* Go []byte: nil (c0) when there is none */
} serf_msg_user_event;

int serf_msg_user_event_encode(wire_buf *out, const serf_msg_user_event *m);
int serf_msg_user_event_decode(const uint8_t *p, size_t n, serf_msg_user_event *m);

#endif
