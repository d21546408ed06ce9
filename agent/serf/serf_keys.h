/* serf_keys: the asking side's tally of a key query (serf's KeyManager,
 * keymanager.go streamKeyResp and handleKeyRequest), pure data.
 *
 * serf_node_key_query sends the query; the answers come back as
 * SERF_EV_QUERY_RESPONSE payloads (key responses, type 8), and the
 * caller feeds each to serf_keys_add, then asks serf_keys_outcome once
 * the query is DONE (or serf_keys_add said every node answered). What is
 * counted is serf's KeyResponse, which its RPC hands to `serf keys`:
 *   num_nodes   the members known when the query was sent (NumNodes);
 *   num_resp    answers taken (NumResp);
 *   num_err     answers that failed or did not decode (NumErr);
 *   messages    per node, its error, or its warning on success;
 *   keys        per base64 key, how many nodes hold it;
 *   primary     per base64 key, how many nodes have it as primary (a
 *               node that gave none counts under ""). */
#ifndef MOONLIST_SERF_KEYS_H
#define MOONLIST_SERF_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "wire/wire.h"

typedef struct serf_keys_count {
    char *name;                       /* owned: a node, or a base64 key */
    char *text;                       /* owned: messages only */
    size_t count;                     /* keys and primary only */
} serf_keys_count;

typedef struct serf_keys_list {
    serf_keys_count *v;
    size_t n, cap;
} serf_keys_list;

typedef struct serf_keys_tally {
    size_t num_nodes, num_resp, num_err;
    serf_keys_list messages, keys, primary;
    bool nomem;                       /* something could not be recorded */
} serf_keys_tally;

/* Start a tally for a query sent to num_nodes members. Release with
 * serf_keys_free(). */
void serf_keys_init(serf_keys_tally *t, size_t num_nodes);
void serf_keys_free(serf_keys_tally *t);

/* One answer (from: the answering node, payload: its response). Returns
 * true once num_resp reached num_nodes: serf stops reading there, and
 * later answers are not counted. */
bool serf_keys_add(serf_keys_tally *t, const char *from, wire_bytes payload);

/* serf's verdict: 0 if every node answered and none failed; else -1 with
 * serf's error in err ("2/5 nodes reported failure", or "3/5 nodes
 * reported success" when some did not answer). */
int serf_keys_outcome(const serf_keys_tally *t, char *err, size_t errlen);

#endif
