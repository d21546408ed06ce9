/* serf_keys: serf's KeyManager tally (keymanager.go). */
#include "serf/serf_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_key.h"

void serf_keys_init(serf_keys_tally *t, size_t num_nodes)
{
    memset(t, 0, sizeof *t);
    t->num_nodes = num_nodes;
}

static void list_free(serf_keys_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].text);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

void serf_keys_free(serf_keys_tally *t)
{
    list_free(&t->messages);
    list_free(&t->keys);
    list_free(&t->primary);
}

static char *dup_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    if (n)
        memcpy(c, p, n);
    c[n] = 0;
    return c;
}

/* the entry for name (as a Go map), made when absent; NULL out of memory */
static serf_keys_count *entry(serf_keys_tally *t, serf_keys_list *l, const void *name, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i].name) == n && memcmp(l->v[i].name, name, n) == 0)
            return &l->v[i];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        serf_keys_count *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            goto nomem;
        l->v = v;
        l->cap = cap;
    }
    char *c = dup_bytes(name, n);
    if (!c)
        goto nomem;
    l->v[l->n] = (serf_keys_count){ .name = c };
    return &l->v[l->n++];
nomem:
    t->nomem = true;
    return NULL;
}

static void set_message(serf_keys_tally *t, const char *from, const char *text, size_t n)
{
    serf_keys_count *e = entry(t, &t->messages, from, strlen(from));
    if (!e)
        return;
    char *c = dup_bytes(text, n);
    if (!c) {
        t->nomem = true;
        return;
    }
    free(e->text);
    e->text = c;
}

/* Go's %v of a []byte: "[8 132 164]" (cut short past 64 bytes: the
 * message is for a person) */
static void set_bytes_message(serf_keys_tally *t, const char *from, const char *prefix, wire_bytes p)
{
    char buf[512];
    size_t o = (size_t)snprintf(buf, sizeof buf, "%s[", prefix);
    for (size_t i = 0; i < p.n && i < 64 && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%u", i ? " " : "", p.p[i]);
    if (o < sizeof buf)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s]", p.n > 64 ? " ..." : "");
    if (o >= sizeof buf)
        o = sizeof buf - 1;
    set_message(t, from, buf, o);
}

bool serf_keys_add(serf_keys_tally *t, const char *from, wire_bytes payload)
{
    if (t->num_resp >= t->num_nodes && t->num_nodes > 0)
        return true;
    t->num_resp++;
    serf_msg_key_response r;
    if (payload.n < 1 || payload.p[0] != SERF_MSG_KEY_RESPONSE) {
        set_bytes_message(t, from, "Invalid key query response type: ", payload);
        t->num_err++;
    } else if (serf_msg_key_response_decode(payload.p, payload.n, &r) != WIRE_OK) {
        set_bytes_message(t, from, "Failed to decode key query response: ", payload);
        t->num_err++;
    } else {
        if (!r.result) {
            set_message(t, from, (const char *)r.message.p, r.message.n);
            t->num_err++;
        } else if (r.message.n > 0) {
            set_message(t, from, (const char *)r.message.p, r.message.n);
        }
        for (size_t i = 0; r.keys.v && i < r.keys.n; i++) {
            serf_keys_count *e = entry(t, &t->keys, r.keys.v[i].p, r.keys.v[i].n);
            if (e)
                e->count++;
        }
        serf_keys_count *e = entry(t, &t->primary, r.primary_key.p ? (const void *)r.primary_key.p : "",
                                   r.primary_key.n);
        if (e)
            e->count++;
        serf_msg_key_response_free(&r);
    }
    return t->num_resp == t->num_nodes;
}

int serf_keys_outcome(const serf_keys_tally *t, char *err, size_t errlen)
{
    if (t->num_err != 0) {
        if (errlen)
            snprintf(err, errlen, "%zu/%zu nodes reported failure", t->num_err, t->num_nodes);
        return -1;
    }
    if (t->num_resp != t->num_nodes) {
        if (errlen)
            snprintf(err, errlen, "%zu/%zu nodes reported success", t->num_resp, t->num_nodes);
        return -1;
    }
    return 0;
}
