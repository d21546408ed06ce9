/* daemon_keys: serf's KeyManager tally (see daemon_keys.h). */
#include "daemon/daemon_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_key.h"

void daemon_key_tally_init(daemon_key_tally *t, size_t num_nodes)
{
    memset(t, 0, sizeof *t);
    t->num_nodes = num_nodes;
}

static void counts_free(daemon_key_count *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].key);
    free(v);
}

void daemon_key_tally_free(daemon_key_tally *t)
{
    for (size_t i = 0; i < t->nmessages; i++) {
        free(t->messages[i].node);
        free(t->messages[i].message);
    }
    free(t->messages);
    counts_free(t->keys, t->nkeys);
    counts_free(t->primary, t->nprimary);
    memset(t, 0, sizeof *t);
}

/* resp.Messages[from] = text */
static void set_message(daemon_key_tally *t, const char *from, const char *text, size_t len)
{
    char *m = strndup(text, len);
    if (!m) {
        t->oom = true;
        return;
    }
    for (size_t i = 0; i < t->nmessages; i++) {
        if (strcmp(t->messages[i].node, from) == 0) {
            free(t->messages[i].message);
            t->messages[i].message = m;
            return;
        }
    }
    daemon_key_message *nv = realloc(t->messages, (t->nmessages + 1) * sizeof *nv);
    char *node = strdup(from);
    if (!nv || !node) {
        if (nv)
            t->messages = nv;
        free(node);
        free(m);
        t->oom = true;
        return;
    }
    t->messages = nv;
    t->messages[t->nmessages++] = (daemon_key_message){ node, m };
}

/* counts[key]++ */
static void count(daemon_key_tally *t, daemon_key_count **v, size_t *n, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < *n; i++) {
        if (strlen((*v)[i].key) == len && memcmp((*v)[i].key, key, len) == 0) {
            (*v)[i].count++;
            return;
        }
    }
    daemon_key_count *nv = realloc(*v, (*n + 1) * sizeof *nv);
    char *k = strndup((const char *)key, len);
    if (!nv || !k) {
        if (nv)
            *v = nv;
        free(k);
        t->oom = true;
        return;
    }
    *v = nv;
    (*v)[(*n)++] = (daemon_key_count){ k, 1 };
}

void daemon_key_tally_add(daemon_key_tally *t, const char *from, const uint8_t *payload, size_t len)
{
    char text[200];
    serf_msg_key_response r;
    t->num_resp++;
    if (len < 1 || payload[0] != SERF_MSG_KEY_RESPONSE) {
        /* serf prints the payload as a Go byte slice: its length will do */
        int n = snprintf(text, sizeof text, "Invalid key query response type: %zu bytes", len);
        set_message(t, from, text, (size_t)n);
        t->num_err++;
        return;
    }
    if (serf_msg_key_response_decode(payload, len, &r) != WIRE_OK) {
        int n = snprintf(text, sizeof text, "Failed to decode key query response: %zu bytes", len);
        set_message(t, from, text, (size_t)n);
        t->num_err++;
        return;
    }
    if (!r.result) {
        set_message(t, from, (const char *)r.message.p, r.message.n);
        t->num_err++;
    } else if (r.message.n > 0) {
        set_message(t, from, (const char *)r.message.p, r.message.n);
    }
    for (size_t i = 0; i < r.keys.n; i++)
        count(t, &t->keys, &t->nkeys, r.keys.v[i].p, r.keys.v[i].n);
    count(t, &t->primary, &t->nprimary, r.primary_key.p ? r.primary_key.p : (const uint8_t *)"", r.primary_key.n);
    serf_msg_key_response_free(&r);
}

bool daemon_key_tally_complete(const daemon_key_tally *t)
{
    return t->num_resp >= t->num_nodes;
}

int daemon_key_tally_verdict(const daemon_key_tally *t, char *err, size_t errlen)
{
    if (t->num_err != 0) {
        snprintf(err, errlen, "%zu/%zu nodes reported failure", t->num_err, t->num_nodes);
        return -1;
    }
    if (t->num_resp != t->num_nodes) {
        snprintf(err, errlen, "%zu/%zu nodes reported success", t->num_resp, t->num_nodes);
        return -1;
    }
    return 0;
}
