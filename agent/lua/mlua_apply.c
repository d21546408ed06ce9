/* mlua_apply: a command from the script, run against a node on the
 * protocol thread (the agent's sink, the simulator, tests): the serf
 * layer's commands in mlua_serf.c, the rest here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/mlua_internal.h"

static int grow(mlua_members_reply *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 16;
    mlua_mcopy *v = realloc(r->v, cap * sizeof *v);
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

/* Called on the protocol thread while the Lua thread may be waiting: the
 * reply's members are only touched here until done is set under mu. */
void mlua_members_add(mlua *h, mlua_members_reply *r, const swim_member *m)
{
    if (grow(r) < 0 || mlua_mcopy_from(&r->v[r->n], m) < 0) {
        mlua_logf(h, BASE_LOG_ERROR, "out of memory: member %s left out of agent.members()", m->name);
        return;
    }
    r->n++;
}

void mlua_members_done(mlua *h, mlua_members_reply *r, const char *self_name)
{
    uv_mutex_lock(&h->mu);
    snprintf(r->self, sizeof r->self, "%s", self_name ? self_name : "");
    r->done = true;
    uv_cond_broadcast(&h->cond);
    uv_mutex_unlock(&h->mu);
}

typedef struct each_ctx {
    mlua *h;
    mlua_members_reply *r;
} each_ctx;

static bool add_one(void *ud, const swim_member *m)
{
    each_ctx *c = ud;
    mlua_members_add(c->h, c->r, m);
    return true;
}

/* A bare core (no serf layer): a script's broadcast and send are
 * memberlist user messages, as before moonlist was a serf peer. */
static int apply_bare(mlua *h, const mlua_cmd *cmd, swim *core, swim_time now)
{
    switch (cmd->type) {
    case MLUA_CMD_BROADCAST:
        if (swim_broadcast(core, cmd->payload, cmd->len, cmd->key[0] ? cmd->key : NULL) < 0) {
            mlua_logf(h, BASE_LOG_ERROR, "agent.broadcast: a payload of %zu bytes does not fit in one gossip packet", cmd->len);
            return -1;
        }
        return 0;
    case MLUA_CMD_SEND:
        if (swim_send_user(core, now, cmd->name, cmd->payload, cmd->len, cmd->reliable) < 0) {
            mlua_logf(h, BASE_LOG_WARN, "agent.send: no member named '%s'", cmd->name);
            return -1;
        }
        return 0;
    case MLUA_CMD_QUERY:
        mlua_logf(h, BASE_LOG_ERROR, "agent.query: this node has no serf layer");
        mlua_post_answer(h, cmd->token, SERF_EV_QUERY_DONE, NULL, wire_bytes_of(NULL, 0),
                         "agent.query: this node has no serf layer");
        return -1;
    default:
        mlua_logf(h, BASE_LOG_ERROR, "%s: this node has no serf layer",
                  cmd->type == MLUA_CMD_EVENT ? "agent.event" : "query hook");
        return -1;
    }
}

int mlua_cmd_apply(mlua *h, const mlua_cmd *cmd, serf_node *sn, swim *core, swim_time now)
{
    switch (cmd->type) {
    case MLUA_CMD_BROADCAST:
    case MLUA_CMD_SEND:
    case MLUA_CMD_EVENT:
    case MLUA_CMD_QUERY:
    case MLUA_CMD_RESPOND:
        return sn ? mlua_serf_apply(h, cmd, sn, core, now) : apply_bare(h, cmd, core, now);
    case MLUA_CMD_SET_META: {
        const swim_config *cfg = swim_get_config(core);
        wire_buf meta;
        wire_buf_init(&meta, 0);
        char err[160];
        int rc = mlua_tags_merge(cfg->meta, cfg->meta_len, cmd->payload, cmd->len, &meta, err, sizeof err);
        if (rc == 0 && (sn ? serf_node_set_meta(sn, core, now, meta.data, meta.len)
                           : swim_set_meta(core, now, meta.data, meta.len)) < 0) {
            snprintf(err, sizeof err, "meta of %zu bytes is over 512", meta.len);
            rc = -1;
        }
        wire_buf_free(&meta);
        if (rc < 0)
            mlua_logf(h, BASE_LOG_ERROR, "agent.set_tags: %s: tags unchanged", err);
        return rc;
    }
    case MLUA_CMD_MEMBERS: {
        each_ctx c = { h, cmd->reply };
        swim_members_each(core, add_one, &c);
        mlua_members_done(h, cmd->reply, swim_get_config(core)->name);
        return 0;
    }
    case MLUA_CMD_LEAVE:
        return 1;
    }
    return -1;
}
