/* swim_repair: three places where moonlist mends a member's stale view at
 * once instead of leaving it to the next push/pull, as memberlist does
 * (docs/protocol.md §12.1). They send only what memberlist peers already
 * accept: an alive message, a push/pull.
 *
 * - A stale accusation (suspect or dead about us, at an incarnation below
 *   ours) means its accuser missed every gossiped copy of our refutation;
 *   memberlist ignores it, and the accuser keeps the suspicion, then the
 *   death, for up to a push/pull interval. We send our alive straight to
 *   the accuser, and to the member that gossiped the accusation to us
 *   (it too missed the refutation, or it would not be passing it on).
 * - A ping from a node we do not know means it learned of us and we
 *   missed every gossiped copy of its alive (a burst of joins through one
 *   seed does this); we push/pull with it.
 * - A ping from a node we hold dead means one of us missed the other's
 *   news (after a partition heals, the refutation of a member that the
 *   other side declared dead); the same push/pull settles it. */
#include <string.h>

#include "swim/swim_internal.h"

/* Whether `key` (an accuser's name hash, or a sender's address hash) may
 * be answered now: once per probe interval, as its pings and the copies
 * gossiped on can bring the same stale accusation many times. */
static bool may_answer(swim *s, uint32_t key)
{
    size_t slot = SWIM_STALE_SLOTS, oldest = 0;
    for (size_t i = 0; i < SWIM_STALE_SLOTS; i++) {
        if (s->stale_answered[i].until != 0 && s->stale_answered[i].hash == key) {
            slot = i;
            break;
        }
        if (s->stale_answered[i].until < s->stale_answered[oldest].until)
            oldest = i;
    }
    if (slot < SWIM_STALE_SLOTS && s->now < s->stale_answered[slot].until)
        return false;
    if (slot == SWIM_STALE_SLOTS)
        slot = oldest;
    s->stale_answered[slot].hash = key;
    s->stale_answered[slot].until = s->now + s->cfg.probe_interval;
    return true;
}

static uint32_t addr_key(const swim_addr *a)
{
    /* FNV-1a over the address and port; the top bit set keeps it apart
     * from a name's hash in practice (a clash costs one answer, no more) */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < a->ip_len; i++)
        h = (h ^ a->ip[i]) * 16777619u;
    h = (h ^ (uint32_t)(a->port & 0xff)) * 16777619u;
    h = (h ^ (uint32_t)(a->port >> 8)) * 16777619u;
    return h | 0x80000000u;
}

static void answer(swim *s, const swim_addr *to, const char *who)
{
    if (swim_enc_alive_of(s, s->self) != 0)
        return;
    s->stats.stale_answers++;
    swim_logf(s, BASE_LOG_DEBUG, "answering a stale accusation %s with incarnation %u", who, s->self->incarnation);
    swim_send_msg(s, to, s->scratch.data, s->scratch.len);
}

void swim_answer_stale(swim *s, const char *from, size_t flen)
{
    if (s->leaving)
        return;
    /* the accuser missed our refutation; so did the member that gossiped
     * the accusation on to us (it would have dropped it from its queue for
     * our newer alive), which under loss is the one that goes on to
     * declare us dead */
    const swim_node *acc = NULL;
    if (!(flen == s->self->name_len && memcmp(from, s->self->name, flen) == 0)) {
        acc = swim_members_find(&s->members, from, flen);
        if (acc && (acc->state == SWIM_DEAD || acc->state == SWIM_LEFT))
            acc = NULL;
    }
    if (acc && may_answer(s, acc->hash)) {
        /* its address too: the accuser is often the one passing it on */
        (void)may_answer(s, addr_key(&acc->addr));
        answer(s, &acc->addr, "to its accuser");
    }
    const swim_addr *via = s->rx_from;
    if (via && !(acc && swim_addr_eq(via, &acc->addr)) && may_answer(s, addr_key(via)))
        answer(s, via, "to the member that passed it on");
}

void swim_repair_unknown_pinger(swim *s, const wire_ping *p, const swim_addr *to)
{
    if (s->leaving || p->source_node.n == 0)
        return;
    /* a member we hold dead that pings us is alive and has not heard of
     * its death (or we missed its refutation): the exchange tells both */
    const swim_node *known = swim_members_find(&s->members, (const char *)p->source_node.p, p->source_node.n);
    if (known && known->state != SWIM_DEAD)
        return;
    /* at most one per probe interval, scaled as memberlist scales its
     * periodic push/pull (every interval up to 32 members, one more
     * interval per doubling past that): each costs a TCP exchange of the
     * whole member list, and a burst of joiners pings from many names */
    if (s->now < s->repair_pp_next)
        return;
    if (!swim_cidr_allows(s->cfg.allow_cidrs, s->cfg.nallow_cidrs, to))
        return;
    s->repair_pp_next = s->now + swim_push_pull_scale(s->cfg.probe_interval, s->members.n);
    s->stats.repair_push_pulls++;
    swim_logf(s, BASE_LOG_DEBUG, "ping from %.*s, %s: push/pull with it", (int)p->source_node.n,
              (const char *)p->source_node.p, known ? "a member we hold dead" : "not a member we know");
    swim_push_pull_open(s, to, false, 0, false);
}
