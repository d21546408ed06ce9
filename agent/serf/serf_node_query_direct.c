/* serf_node_query_direct: the asker's own copy of its query, sent straight
 * to each member the query selects (docs/protocol.md §16.6).
 *
 * serf only gossips a query, and gossip hands each queued message to
 * RetransmitMult x ceil(log10(n + 1)) targets per holder, a fresh batch per
 * target. With few members that is fewer than a holder's peers: at the local
 * profile (RetransmitMult 2) and 4 nodes each holder reaches 2 of its 3, and
 * 4.3 % of queries naming one node never reached it (tests/serf/
 * test_serf_query_reach.c, before this file). Queries carry no push/pull
 * backup, unlike user events, so such a node simply never answers. A direct
 * copy is an ordinary serf query message: serf peers take it as gossip and
 * drop the gossiped duplicate by its (LTime, ID). */
#include <string.h>

#include "serf/serf_node_internal.h"
#include "serf/serf_tags.h"

/* The copies are extra packets from the asker alone, at once: a query that
 * selects more members than this is left to gossip, which is then the
 * better spreader (at 60 lan members it missed 8 of 17,700 pairs), so the
 * burst stays under what a 32-member cluster's gossip sends for the query
 * anyway (each holder sends it 4 x 2 = 8 times). */
#define SERF_QUERY_DIRECT_MAX 32

typedef struct direct_pick {
    const serf_node *sn;
    const serf_raw_list *filters;
    bool tag_filter;                  /* tags need decoding to be judged */
    swim_addr to[SERF_QUERY_DIRECT_MAX];
    size_t n;
    bool over;                        /* more than SERF_QUERY_DIRECT_MAX selected */
} direct_pick;

static bool selected(const direct_pick *p, const serf_node_member *m)
{
    wire_bytes name = wire_bytes_of(m->name, strlen(m->name));
    if (!p->tag_filter)
        return serf_query_filters_pass(p->filters, name, NULL);
    serf_tags t;
    memset(&t, 0, sizeof t);
    bool pass = serf_tags_decode(&t, m->meta, m->meta_len) == 0 && serf_query_filters_pass(p->filters, name, &t);
    serf_tags_free(&t);
    return pass;
}

static bool pick(void *ud, const serf_node_member *m)
{
    direct_pick *p = ud;
    if (!serf_nq_member_live(m) || strcmp(m->name, p->sn->name) == 0 || !selected(p, m))
        return true;
    if (p->n == SERF_QUERY_DIRECT_MAX) {
        p->over = true;
        return false;
    }
    p->to[p->n++] = m->addr;
    return true;
}

size_t serf_nq_send_direct(serf_node *sn, const serf_raw_list *filters, const uint8_t *msg, size_t len)
{
    direct_pick p;
    memset(&p, 0, sizeof p);
    p.sn = sn;
    p.filters = filters;
    for (size_t i = 0; i < filters->n; i++)
        p.tag_filter |= filters->v[i].n > 0 && filters->v[i].p[0] == SERF_FILTER_TAG;
    serf_node_members_each(sn, pick, &p);
    if (p.over)
        return 0;
    size_t sent = 0;
    for (size_t i = 0; i < p.n; i++)
        sent += serf_node_out_send_addr(sn, &p.to[i], msg, len) == 0;
    return sent;
}
