/* serf_msg_state: serf's push/pull state (type 2, §16.2), the user state
 * serf hands memberlist for every push/pull:
 *
 *   02 {EventLTime, Events, LTime, LeftMembers, QueryLTime, StatusLTimes}
 *
 * Events is serf's whole recent-events buffer, one slot per entry of its
 * EventBuffer (512 by default, so `dc 02 00` and 512 items), a slot being
 * nil (c0) or {Events: [{Name, Payload}...], LTime}. See serf_msg.h for
 * the conventions shared by every message. */
#ifndef MOONLIST_SERF_MSG_STATE_H
#define MOONLIST_SERF_MSG_STATE_H

#include "serf/serf_msg.h"

/* serf's userEvent: one event remembered in a slot */
typedef struct serf_user_event {
    wire_bytes name;      /* Go string */
    wire_bytes payload;   /* Go []byte */
} serf_user_event;

/* serf's *userEvents: the events seen at one LTime. present == false is a
 * nil slot (c0), and then the other fields are unused. */
typedef struct serf_user_events {
    bool present;
    struct {
        serf_user_event *v;
        size_t n;
    } events;             /* Go []userEvent */
    uint64_t ltime;
} serf_user_events;

/* The extra key (serf_node.h's SERF_NODE_STATE_KEY), sorted between
 * LeftMembers and QueryLTime as go-msgpack would place it. */
#define SERF_MSG_STATE_APP_KEY "MoonlistState"

typedef struct serf_msg_push_pull {
    uint64_t event_ltime;                 /* the sender's event clock */
    struct {
        serf_user_events *v;
        size_t n;
    } events;                             /* Go []*userEvents: its event buffer */
    uint64_t ltime;                       /* the sender's member (intent) clock */
    serf_raw_list left_members;           /* Go []string: names of left members */
    uint64_t query_ltime;                 /* the sender's query clock */
    serf_ltime_map status_ltimes;         /* member name -> LTime of its last intent */
    /* Not serf's: the application's own state that moonlist carries under
     * the key SERF_MSG_STATE_APP_KEY (serf skips keys it does not know).
     * A NULL view: the key is left out, and the message is serf's, byte
     * for byte. */
    wire_bytes app_state;
} serf_msg_push_pull;

int serf_msg_push_pull_encode(wire_buf *out, const serf_msg_push_pull *m);
/* Allocates the lists: release with serf_msg_push_pull_free(). */
int serf_msg_push_pull_decode(const uint8_t *p, size_t n, serf_msg_push_pull *m);
void serf_msg_push_pull_free(serf_msg_push_pull *m);

#endif
