/* swim_config: memberlist's configuration profiles (§13), and every rule a
 * config must keep, from the knob table (swim_knobs.h) and across fields. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "swim/swim_internal.h"

const char *swim_state_name(swim_state s)
{
    switch (s) {
    case SWIM_ALIVE: return "alive";
    case SWIM_SUSPECT: return "suspect";
    case SWIM_DEAD: return "dead";
    case SWIM_LEFT: return "left";
    }
    return "unknown";
}

/* The profiles are the table's columns (swim_knobs.h), in this order. */
static const char *const profiles[] = { "lan", "wan", "local" };

static uint32_t profile_value(const swim_knob *k, size_t p)
{
    return p == 0 ? k->lan : p == 1 ? k->wan : k->local;
}

int swim_config_profile(swim_config *c, const char *profile)
{
    size_t p = 0;
    while (p < sizeof profiles / sizeof profiles[0] && (!profile || strcmp(profile, profiles[p]) != 0))
        p++;
    if (p == sizeof profiles / sizeof profiles[0])
        return -1;
    for (size_t i = 0; i < SWIM_KNOB_N; i++)
        swim_knob_set(c, i, profile_value(swim_knob_at(i), p));
    c->packet_overhead = 0;
    /* Go memberlist's protocol range and serf's delegate triple (§9.1):
     * anything else is refused by serf's version check. */
    c->vsn[0] = WIRE_PROTOCOL_MIN;
    c->vsn[1] = WIRE_PROTOCOL_MAX;
    c->vsn[2] = WIRE_PROTOCOL_CUR;
    c->vsn[3] = WIRE_DELEGATE_MIN;
    c->vsn[4] = WIRE_DELEGATE_MAX;
    c->vsn[5] = WIRE_DELEGATE_CUR;
    return 0;
}

/* "probe_timeout", or "-probe-timeout" when knob i is in the set as_flag. */
static void spell(size_t i, uint64_t as_flag, char *buf, size_t len)
{
    const swim_knob *k = swim_knob_at(i);
    if (as_flag & SWIM_KNOB_BIT(i))
        snprintf(buf, len, "-%s", k->flag);
    else
        snprintf(buf, len, "%s", k->name);
}

/* "probe_timeout (900 ms)": a knob as spelled, with its value in c. */
static void spell_value(const swim_config *c, size_t i, uint64_t as_flag, char *buf, size_t len)
{
    char name[64], value[32];
    spell(i, as_flag, name, sizeof name);
    swim_knob_format(swim_knob_at(i), swim_knob_get(c, i), value, sizeof value);
    snprintf(buf, len, "%s (%s)", name, value);
}

#define STR2_(x) #x
#define STR_(x) STR2_(x)
#define UNIT_MS " ms"
#define UNIT_COUNT ""
#define UNIT_BOOL ""
/* "probe_interval must be in 1..86400000 ms", one per knob, for
 * swim_config_check's static answer. */
#define BOUNDS_(name, flag, kind, lan, wan, local, min, max, help) \
    #name " must be in " STR_(min) ".." STR_(max) UNIT_##kind,
static const char *const bounds_why[] = { SWIM_KNOBS(BOUNDS_) };
#undef BOUNDS_

/* A rule across two knobs: "a rel b tail" must hold. */
typedef struct knob_rule {
    swim_knob_id a, b;
    bool (*holds)(const swim_config *c);
    const char *rel, *tail;
    const char *why;            /* "a rel b tail", for swim_config_check */
} knob_rule;

#define RULE_(a, rel, b, tail, holds) \
    { SWIM_KNOB_ID(a), SWIM_KNOB_ID(b), holds, rel, tail, #a " " rel " " #b tail }

static bool ack_due_before_next_probe(const swim_config *c)
{
    return c->probe_timeout < c->probe_interval;
}

static bool scaled_probe_interval_fits(const swim_config *c)
{
    return (uint64_t)c->probe_interval * c->awareness_max_multiplier <= UINT32_MAX;
}

static const knob_rule rules[] = {
    /* memberlist needs the direct ack due before the next probe starts */
    RULE_(probe_timeout, "must be shorter than", probe_interval, "", ack_due_before_next_probe),
    /* under load the core stretches the probe interval by up to the
     * awareness multiplier, in 32-bit milliseconds (swim_scale) */
    RULE_(probe_interval, "times", awareness_max_multiplier, " must stay below 2^32 ms",
          scaled_probe_interval_fits),
};
#undef RULE_

const char *swim_config_check_knobs(const swim_config *c, uint64_t as_flag, char *buf, size_t len)
{
    char a[128], b[128];
    for (size_t i = 0; i < SWIM_KNOB_N; i++) {
        const swim_knob *k = swim_knob_at(i);
        if (swim_knob_accepts(k, swim_knob_get(c, i)))
            continue;
        if (buf) {
            spell_value(c, i, as_flag, a, sizeof a);
            snprintf(buf, len, "%s must be in %" PRIu32 "..%" PRIu32 "%s", a, k->min, k->max,
                     k->kind == SWIM_KNOB_KIND_MS ? " ms" : "");
        }
        return bounds_why[i];
    }
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const knob_rule *r = &rules[i];
        if (r->holds(c))
            continue;
        if (buf) {
            spell_value(c, r->a, as_flag, a, sizeof a);
            spell_value(c, r->b, as_flag, b, sizeof b);
            snprintf(buf, len, "%s %s %s%s", a, r->rel, b, r->tail);
        }
        return r->why;
    }
    return NULL;
}

/* Returns NULL when the config can run, else what is wrong with it. */
const char *swim_config_check(const swim_config *c)
{
    size_t nlen = strnlen(c->name, sizeof c->name);
    if (nlen == 0)
        return "name is empty";
    if (nlen == sizeof c->name)
        return "name is not NUL-terminated";
    if (c->advertise.ip_len != 4 && c->advertise.ip_len != 16)
        return "advertise address must be IPv4 or IPv6";
    if (c->meta_len > sizeof c->meta)
        return "meta over 512 bytes";
    if (c->nallow_cidrs > SWIM_MAX_CIDRS)
        return "more than 16 allowed networks (-allow-cidr)";
    if (c->vsn[0] == 0 || c->vsn[1] == 0 || c->vsn[0] > c->vsn[1] || c->vsn[2] < c->vsn[0] ||
        c->vsn[2] > c->vsn[1])
        return "vsn protocol triple is invalid";
    if (c->vsn[3] > c->vsn[4] || c->vsn[5] < c->vsn[3] || c->vsn[5] > c->vsn[4])
        return "vsn delegate triple is invalid";
    const char *why = swim_config_check_knobs(c, 0, NULL, 0);
    if (why)
        return why;
    /* A packet must hold at least a compound header and one small message. */
    if ((uint64_t)c->udp_buffer_size < (uint64_t)c->packet_overhead + 64)
        return "udp_buffer_size must leave 64 bytes beyond packet_overhead";
    return NULL;
}
