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

ask() { mixed_ask "$@"; }
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
    local q=$1 n c want p=${MIXED_ASK_PAYLOAD[$1]}
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
        [ "$(mixed_count "$n" queries "ask1 ${MIXED_ASK_PAYLOAD[ask1]} s1")" = 1 ] &&
            [ "$(mixed_count "$n" queries "ask2 ${MIXED_ASK_PAYLOAD[ask2]} m1")" = 1 ] ||
            { mixed_dump queries "$n"; fail "$n's query hook did not see s1 and m1 as the askers"; }
    done
fi
e2e_log "ok: every hook and handler ran once for each query that selected it"
bad=$(mixed_serf_complaints s1 s2 s3)
[ -z "$bad" ] || fail "serf agents logged errors or warnings:"$'\n'"$bad"
e2e_log "PASS"
