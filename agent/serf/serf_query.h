/* serf_query: serf's query bookkeeping as pure functions (§16.4), sans
 * I/O, as serf 0.9.4 does it (serf.go handleQuery, query.go):
 *
 * serf_queries, the recent-queries buffer: the query clock, the minimum
 * query time and QueryBuffer slots; a query at LTime t lives in slot
 * t % size with the IDs seen at that LTime. The rules are the user
 * events' (serf_events.h) with (LTime, ID) as the identity: witness the
 * LTime; before min_time, or older than the buffer reaches, ignored; an ID
 * already in its slot, a duplicate; else recorded, new.
 *
 * A new query is gossiped on unless it has SERF_QUERY_FLAG_NO_BROADCAST,
 * whether or not its filters select this node; it is answered (ack and
 * event) only if they do.
 *
 * The default timeout: GossipInterval x QueryTimeoutMult x
 * ceil(log10(N + 1)), N the members known (ourselves included).
 *
 * Filters (serf's shouldProcessQuery): every filter must pass. A node
 * filter passes when our name is in its list; a tag filter when its
 * regular expression matches the value of our tag (the empty string when
 * we do not have the tag). A filter that does not decode, an unknown
 * filter type, or a regular expression that does not compile fails.
 *
 * Regular expressions: serf uses Go's regexp (RE2 syntax, unanchored
 * search, UTF-8). We use POSIX extended expressions (regcomp with
 * REG_EXTENDED | REG_NOSUB, regexec with REG_STARTEND so that a value may
 * hold NUL bytes), which agree with Go on the common subset: literals, .,
 * [] classes (with [:alpha:] and the like), ^ $, | ( ), * + ? {n,m}. A
 * few RE2 forms are translated first: \d \D \s \S \w \W outside brackets
 * (as [0-9], [^0-9], [[:space:]], [^[:space:]], [[:alnum:]_],
 * [^[:alnum:]_]), \t \n \r \f \v \a, (?: as (, a leading (?i) as
 * REG_ICASE, and the lazy x*? x+? x?? x{n,m}? as their greedy forms (a
 * yes/no match does not tell them apart). Where the two still differ:
 *   - refused here, accepted by Go: other (?flags) and named groups,
 *     \pL \PL \Q..\E \A \z \b \B \x and any other escaped letter, any
 *     backslash inside brackets ([\]] or [\d]), NUL in the expression,
 *     groups nested more than 32 deep, and expressions that glibc would
 *     blow up: it copies x for x+ and m times for x{n,m}, so ((a+)+)+ and
 *     (a{100}){100} grow geometrically; we estimate that size and refuse
 *     past 4000 nodes (Go compiles to a linear program and has no such
 *     cost);
 *   - refused by both: unbalanced ( ) [ ], a trailing backslash, a repeat
 *     with nothing before it (*a, a|*b), a repeat of a repeat (a**, a++,
 *     a{2}{3}), counts over 1000, back-references (\1);
 *   - matching is bytewise (as in the C locale), where Go matches UTF-8
 *     runes: "." matches one byte of a multi-byte character, not all.
 * A refused expression fails the filter, as a Go compile error does. */
#ifndef MOONLIST_SERF_QUERY_H
#define MOONLIST_SERF_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serf/serf_clock.h"
#include "serf/serf_msg.h"
#include "serf/serf_tags.h"

/* serf's QueryBuffer default (config.go DefaultConfig) */
#define SERF_QUERY_BUFFER 512
/* serf's QueryTimeoutMult default */
#define SERF_QUERY_TIMEOUT_MULT 16

typedef enum serf_query_verdict {
    SERF_QUERY_NEW = 0,        /* recorded: gossip on (unless NO_BROADCAST), answer if the filters pass */
    SERF_QUERY_SEEN,           /* a duplicate */
    SERF_QUERY_TOO_OLD,        /* older than the buffer reaches */
    SERF_QUERY_BEFORE_MIN,     /* before min_time */
    SERF_QUERY_NOMEM,          /* could not be recorded (and is dropped) */
} serf_query_verdict;

typedef struct serf_query_slot {
    uint64_t ltime;
    uint32_t *ids;             /* owned */
    size_t n, cap;
} serf_query_slot;

typedef struct serf_queries {
    serf_clock clock;          /* serf's queryClock */
    uint64_t min_time;         /* serf's queryMinTime */
    size_t size;
    serf_query_slot *slots;    /* owned */
} serf_queries;

/* size >= 1 slots (SERF_QUERY_BUFFER as serf). 0, or -1 out of memory.
 * Release with serf_queries_free(). */
int serf_queries_init(serf_queries *q, size_t size);
void serf_queries_free(serf_queries *q);
serf_query_verdict serf_queries_receive(serf_queries *q, uint64_t ltime, uint32_t id);

/* GossipInterval x mult x ceil(log10(n + 1)), in gossip_interval's unit;
 * 0 for n == 0, saturating at UINT64_MAX. The integer ceil(log10(n + 1))
 * (the digits of n) is what Go's float Log10 gives for every n below 2e6
 * (checked against a port of Go's amd64 Log10). */
uint64_t serf_query_timeout(uint64_t n, uint64_t gossip_interval, uint64_t mult);

/* serf's shouldProcessQuery for a node called `self` with `tags` (may be
 * NULL: no tags): true if every filter passes. An empty filter fails here
 * (serf 0.9.4 would index it and panic). */
bool serf_query_filters_pass(const serf_raw_list *filters, wire_bytes self, const serf_tags *tags);

/* Whether the regular expression expr matches somewhere in value, as
 * Go's regexp.MatchString for the subset above: 1 match, 0 no match, -1
 * expr refused (an error in Go, or outside what we translate). */
int serf_query_regex_match(wire_bytes expr, wire_bytes value);

#endif
