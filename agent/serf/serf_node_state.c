/* serf_node's push/pull state (serf's delegate.go LocalState and
 * MergeRemoteState), with the application's state riding inside it. */
#include <stdlib.h>
#include <string.h>

#include "serf/serf_msg_state.h"
#include "serf/serf_node_internal.h"

static void local_state(void *ud, bool is_join, const uint8_t **out, size_t *len)
{
    serf_node *sn = ud;
    *out = NULL;
    *len = 0;
    /* one slot more than needed: Go's make() gives an empty, non-nil map
     * and list (80, 90), which a NULL array would encode as nil (c0) */
    serf_ltime_pair *lt = realloc(sn->state_ltimes, (sn->nmembers + 1) * sizeof *lt);
    if (lt)
        sn->state_ltimes = lt;
    wire_bytes *left = realloc(sn->state_left, (sn->nmembers + 1) * sizeof *left);
    if (left)
        sn->state_left = left;
    if (!lt || !left) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "failed to encode local state: out of memory");
        return;
    }
    serf_msg_push_pull pp = { .ltime = serf_clock_time(&sn->clock), .status_ltimes = { lt, 0 },
                              .left_members = { left, 0 } };
    for (size_t k = 0; k < sn->nmembers; k++) {
        const serf_node_mstate *m = sn->members[k];
        lt[pp.status_ltimes.n++] = (serf_ltime_pair){ wire_bytes_of(m->name, strlen(m->name)), m->status_ltime };
        if (m->status == SERF_MEMBER_LEFT)
            left[pp.left_members.n++] = wire_bytes_of(m->name, strlen(m->name));
    }
    serf_nq_local_state(sn, &pp);
    if (sn->io.state.local_state) {
        const uint8_t *app = NULL;
        size_t n = 0;
        sn->io.state.local_state(sn->io.state.ud, is_join, &app, &n);
        if (app)
            pp.app_state = wire_bytes_of(app, n);
    }
    wire_buf_free(&sn->state_buf);
    wire_buf_init(&sn->state_buf, 0);
    if (serf_msg_push_pull_encode(&sn->state_buf, &pp) != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "failed to encode local state (%zu members)", sn->nmembers);
        return;
    }
    *out = sn->state_buf.data;
    *len = sn->state_buf.len;
}

/* pp.left_members' name as a C string, or false if it cannot be one */
static bool name_of(wire_bytes b, char *buf, size_t len)
{
    if (!b.p || b.n == 0 || b.n >= len || memchr(b.p, 0, b.n))
        return false;
    memcpy(buf, b.p, b.n);
    buf[b.n] = 0;
    return true;
}

static bool same(wire_bytes a, wire_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void merge_remote_state(void *ud, const uint8_t *state, size_t len, bool is_join)
{
    serf_node *sn = ud;
    if (len == 0) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "remote state is zero bytes");
        return;
    }
    if (state[0] != SERF_MSG_PUSH_PULL) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "remote state has bad type prefix: %u", state[0]);
        return;
    }
    serf_msg_push_pull pp;
    int rc = serf_msg_push_pull_decode(state, len, &pp);
    if (rc != WIRE_OK) {
        serf_logf(&sn->log, BASE_LOG_ERROR, "failed to decode remote state: %s", wire_strerror(rc));
        return;
    }
    /* minus one: no message with that time has been sent yet */
    if (pp.ltime > 0)
        serf_clock_witness(&sn->clock, pp.ltime - 1);
    /* the left members first, one past their status time: the leave was
     * accepted after it */
    char name[256];
    for (size_t i = 0; i < pp.left_members.n; i++) {
        if (!name_of(pp.left_members.v[i], name, sizeof name))
            continue;
        uint64_t t = 0;
        for (size_t j = 0; j < pp.status_ltimes.n; j++)   /* later wins, as Go's map */
            if (same(pp.status_ltimes.v[j].name, pp.left_members.v[i]))
                t = pp.status_ltimes.v[j].ltime;
        (void)serf_node_leave_intent_in(sn, t + 1, name, false);
    }
    for (size_t j = 0; j < pp.status_ltimes.n; j++) {
        bool left = false;
        for (size_t i = 0; i < pp.left_members.n && !left; i++)
            left = same(pp.status_ltimes.v[j].name, pp.left_members.v[i]);
        if (!left && name_of(pp.status_ltimes.v[j].name, name, sizeof name))
            (void)serf_node_join_intent(sn, pp.status_ltimes.v[j].ltime, name);
    }
    serf_nq_merge_state(sn, &pp, is_join, is_join && sn->join_ignore);
    if (pp.app_state.p && sn->io.state.merge_state)
        sn->io.state.merge_state(sn->io.state.ud, pp.app_state.p, pp.app_state.n, is_join);
    serf_msg_push_pull_free(&pp);
    serf_node_update_deadline(sn);
}

/* The application's delegates, behind our ud. */
static void app_ack_payload(void *ud, const uint8_t **out, size_t *len)
{
    serf_node *sn = ud;
    sn->app.ack_payload(sn->app.ud, out, len);
}

static bool app_allow_merge(void *ud, const swim_member *peers, size_t n, const char **reason)
{
    serf_node *sn = ud;
    return sn->app.allow_merge(sn->app.ud, peers, n, reason);
}

static bool app_allow_alive(void *ud, const swim_member *m)
{
    serf_node *sn = ud;
    return sn->app.allow_alive(sn->app.ud, m);
}

swim_delegate serf_node_swim_delegate(serf_node *sn, const swim_delegate *app)
{
    sn->app = app ? *app : (swim_delegate){ 0 };
    return (swim_delegate){
        .ud = sn,
        .local_state = local_state,
        .merge_remote_state = merge_remote_state,
        .ack_payload = sn->app.ack_payload ? app_ack_payload : NULL,
        .allow_merge = sn->app.allow_merge ? app_allow_merge : NULL,
        .allow_alive = sn->app.allow_alive ? app_allow_alive : NULL,
    };
}

void serf_node_state_free(serf_node *sn)
{
    wire_buf_free(&sn->state_buf);
    free(sn->state_ltimes);
    free(sn->state_left);
    sn->state_ltimes = NULL;
    sn->state_left = NULL;
}
