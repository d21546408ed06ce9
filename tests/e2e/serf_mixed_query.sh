# serf queries in a mixed cluster (3 serf + 3 moonlist agents). Every agent
# answers every query: serf agents with a query handler script (its stdout
# is the response), moonlist agents with a script's query hook returning a
# string (tests/e2e/serf_mixed_hooks.lua); both answer "answer-from-NAME".
#   - `serf query` at a serf agent gets an ack and the response of all six,
#     as serf prints them (-format json); and -no-ack gets responses only;
#   - `moonlist query` at a moonlist agent the same, answered by the serf
#     agents' handlers too;
#   - node filters (-node, repeated) and tag filters (-tag k=regexp) from
#     both kinds select exactly the nodes they name;
#   - every agent's hook or handler ran once per query it was selected for.
#   bash tests/e2e/serf_mixed_query.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_hooks_init
MIXED_QUERIES=(ask1 ask2 ask3 ask4 ask5 ask6 ask7 ask8 ask9 ask10 ask11) # query:NAME handlers
mixed_start_six --hooks
all=("${MIXED_ALL[@]}")

# ask ASKER WANT_ACKS WANT_RESPONDERS [query flags...] NAME: run query NAME
# at ASKER (its own CLI, -format json) and compare who acked and who
# answered (sorted names, space-separated; "" for none) and that every
# response is "answer-from-" its sender. The default timeout of a query
# (gossip interval x 16 x ceil(log10(n + 1)) = 3.2 s here) bounds it.
# A query is gossiped only RetransmitMult x ceil(log10(n + 1)) = 4 times by
# each node that has it, so in six nodes one node now and then gets no copy
# at all: serf among serf agents misses one in about 2 % of queries here
# (3 of 8 runs of this script with E2E_IMPL=serf, 11 queries each, missed
# one node once). So a query whose answers are a strict subset of the
# wanted ones is asked again (payload try1, try2, try3) up to three times;
# anything else (an extra node, a wrong response, three misses) fails.
# ASK_PAYLOAD[NAME] keeps the payload that got the full answer.
declare -A ASK_PAYLOAD=()
ask() {
    local asker=$1 want_acks=$2 want_resp=$3 out acks resp bad try
    shift 3
    local name=${*: -1}
    for try in 1 2 3; do
        out=$(mixed_cli "$asker" query -format json "$@" "try$try" 2>&1) || fail "query $* try$try at $asker failed: $out"
        acks=$(jq -r '[(.Acks // [])[]] | sort | join(" ")' <<<"$out") || fail "query $* at $asker: not json: $out"
        resp=$(jq -r '.Responses // {} | keys | sort | join(" ")' <<<"$out")
        bad=$(jq -r '.Responses // {} | to_entries[] | select(.value != "answer-from-" + .key) | "\(.key): \(.value)"' <<<"$out")
        [ -z "$bad" ] || fail "query $* at $asker: wrong responses: $bad"
        if [ "$acks" = "$want_acks" ] && [ "$resp" = "$want_resp" ]; then
            ASK_PAYLOAD[$name]=try$try
            e2e_log "ok: query $* at $asker: acks and responses from ${want_resp:-nobody} (try $try)"
            return 0
        fi
        subset "$acks" "$want_acks" && subset "$resp" "$want_resp" ||
            fail "query $* at $asker: acks from '$acks', responses from '$resp'; want '$want_acks' and '$want_resp' (output: $out)"
        e2e_log "query $* at $asker: acks from '$acks', responses from '$resp' (a node missed it): again"
    done
    fail "query $* at $asker: three times short of acks '$want_acks' and responses '$want_resp'"
}
# subset "A B" "A B C": every word of the first is in the second
subset() {
    local w
    for w in $1; do case " $2 " in *" $w "*) ;; *) return 1 ;; esac; done
}
every="m1 m2 m3 s1 s2 s3"

ask s1 "$every" "$every" ask1
ask m1 "$every" "$every" ask2
ask s2 "" "$every" -no-ack ask3
ask m2 "" "$every" -no-ack ask4

# node filters
ask s3 "m3 s2" "m3 s2" -node s2 -node m3 ask5
ask m3 "m1 s3" "m1 s3" -node m1 -node s3 ask6
ask m1 "m2" "m2" -node m2 ask7
# tag filters (regular expressions, unanchored as serf matches them: "list"
# selects kind=moonlist), and both filters at once
ask s1 "m1 m2 m3" "m1 m2 m3" -tag kind=moonlist ask8
ask m2 "m1 m2 s1 s2" "m1 m2 s1 s2" -tag 'idx=[12]' ask9
ask m3 "s3" "s3" -tag kind=serf -tag idx=3 ask10
ask s2 "m2" "m2" -node m2 -node s2 -tag kind=list ask11

# What the hooks saw: each query once on each node it selected, never on
# the others; a moonlist script sees who asked.
want_on() { # QUERY NODES...: the nodes the query selected
    local q=$1 n c want p=${ASK_PAYLOAD[$1]}
    shift
    for n in "${all[@]}"; do
        want=0
        case " $* " in *" $n "*) want=1 ;; esac
        c=$(mixed_count "$n" queries "$q $p [^ ]+")
        [ "$c" = "$want" ] || { mixed_dump queries "${all[@]}"; fail "$n's hook ran $c times for $q $p, want $want"; }
        # a query asked again: no node ran its hook twice for one try
        ! grep -Eq "^$q try[0-9]+ " <(sort "$MIXED_OUT/$n.queries" 2>/dev/null | uniq -d) ||
            { mixed_dump queries "$n"; fail "$n's hook ran twice for one try of $q"; }
    done
}
for q in ask1 ask2 ask3 ask4; do want_on $q "${all[@]}"; done
want_on ask5 s2 m3; want_on ask6 m1 s3; want_on ask7 m2
want_on ask8 m1 m2 m3; want_on ask9 s1 m1 s2 m2; want_on ask10 s3; want_on ask11 m2
if moonlist_only "the asker's name in the moonlist scripts' queries"; then
    for n in m1 m2 m3; do
        [ "$(mixed_count "$n" queries "ask1 ${ASK_PAYLOAD[ask1]} s1")" = 1 ] &&
            [ "$(mixed_count "$n" queries "ask2 ${ASK_PAYLOAD[ask2]} m1")" = 1 ] ||
            { mixed_dump queries "$n"; fail "$n's query hook did not see s1 and m1 as the askers"; }
    done
fi
e2e_log "ok: every hook and handler ran once for each query that selected it"
bad=$(mixed_serf_complaints s1 s2 s3)
[ -z "$bad" ] || fail "serf agents logged errors or warnings:"$'\n'"$bad"
e2e_log "PASS"
