/* daemon_keys: the tally of a key query's answers, as serf's KeyManager
 * (serf/keymanager.go streamKeyResp, handleKeyRequest) counts them for
 * `keys -install/-use/-remove/-list`: every response counts, one that is
 * not a key response or says Result false is an error with its message,
 * a warning (Result true with a message) is kept too, and the keys every
 * node lists are counted per key. Sans I/O: the agent feeds it the
 * SERF_EV_QUERY_RESPONSE payloads of its key query (serf_node.h) and asks
 * it when the tally is complete (every node answered) and what to reply. */
#ifndef MOONLIST_DAEMON_KEYS_H
#define MOONLIST_DAEMON_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct daemon_key_count {
    char *key;                 /* base64, as nodes list it */
    size_t count;
} daemon_key_count;

typedef struct daemon_key_message {
    char *node;
    char *message;
} daemon_key_message;

/* serf's KeyResponse. The arrays are owned by the tally. */
typedef struct daemon_key_tally {
    size_t num_nodes;          /* members the core knew when the query left */
    size_t num_resp, num_err;
    daemon_key_message *messages;   /* by node; a node's later message replaces its earlier */
    size_t nmessages;
    daemon_key_count *keys;    /* list-keys: how many nodes hold each key */
    size_t nkeys;
    daemon_key_count *primary; /* list-keys: how many nodes use each as primary */
    size_t nprimary;
    bool oom;                  /* a message or key was lost for memory */
} daemon_key_tally;

void daemon_key_tally_init(daemon_key_tally *t, size_t num_nodes);
void daemon_key_tally_free(daemon_key_tally *t);

/* One response from `from`: its payload from the type byte on (serf's
 * key response, type 8), untrusted and bounded. */
void daemon_key_tally_add(daemon_key_tally *t, const char *from, const uint8_t *payload, size_t len);

/* serf stops listening once every node answered (NumResp == NumNodes). */
bool daemon_key_tally_complete(const daemon_key_tally *t);

/* serf's verdict: 0, or -1 with its error ("2/3 nodes reported failure",
 * "2/3 nodes reported success") in err. */
int daemon_key_tally_verdict(const daemon_key_tally *t, char *err, size_t errlen);

#endif
