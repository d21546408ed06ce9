# serf user events in a mixed cluster (3 serf + 3 moonlist agents):
#   - `serf event` at a serf agent reaches every serf agent's user handler
#     and every moonlist script's event hook exactly once, with one Lamport
#     time everywhere;
#   - `moonlist event` at a moonlist agent reaches every serf handler (and
#     every script) exactly once, and so do three uncoalesced events of one
#     name (-coalesce=false);
#   - m2 and m3 run serf_mixed_chatty.lua (agent.state and a broadcast every
#     0.3 s): the broadcasts still reach the other chatty agent, and no serf
#     agent logs an [ERR] or [WARN] about anything it was sent (unknown
#     message type, bad state prefix, undecodable message...);
#   - m3's script sends its own agent.event (every agent records it once)
#     and agent.query (acked and answered by all six, serf's handlers too).
#   bash tests/e2e/serf_mixed_events.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_hooks_init
MIXED_USER_EVENTS=(deploy restart burst lua-ev) # serf agents run user:NAME handlers
MIXED_QUERIES=(lua-q)                             # and query:NAME
MIXED_LUA[m2]=$MIXED_LUA_DIR/serf_mixed_chatty.lua
MIXED_LUA[m3]=$MIXED_LUA_DIR/serf_mixed_chatty.lua
mixed_start_six --hooks
all=("${MIXED_ALL[@]}")

# A serf agent's event. Agents of both kinds coalesce user events sent with
# coalesce (serf's agent: delivered after 1 s without events, 3 s at most,
# the latest of each name); each agent records it once.
out=$(mixed_cli s1 event deploy v1 2>&1) || fail "serf event at s1 failed: $out"
mixed_expect_once events 'deploy v1 [0-9]+' "s1's event 'deploy v1' reached all six" "${all[@]}"
lt=$(cat "$MIXED_OUT"/*.events | awk '$1 == "deploy" { print $3 }' | sort -u)
[ "$(wc -l <<<"$lt")" = 1 ] || { mixed_dump events "${all[@]}"; fail "'deploy v1' has several Lamport times: $lt"; }

# A moonlist agent's event.
out=$(mixed_cli m1 event restart v2 2>&1) || fail "event at m1 failed: $out"
mixed_expect_once events 'restart v2 [0-9]+' "m1's event 'restart v2' reached all six" "${all[@]}"
lt2=$(cat "$MIXED_OUT"/*.events | awk '$1 == "restart" { print $3 }' | sort -u)
[ "$(wc -l <<<"$lt2")" = 1 ] || { mixed_dump events "${all[@]}"; fail "'restart v2' has several Lamport times: $lt2"; }
[ "$lt2" -gt "$lt" ] || fail "m1's event has Lamport time $lt2, not after s1's ($lt)"

# Three events of one name, not coalesced: serf agents run their handler for
# each (coalesced, they would get the last only).
for p in b1 b2 b3; do
    out=$(mixed_cli m2 event -coalesce=false burst "$p" 2>&1) || fail "event -coalesce=false at m2 failed: $out"
done
mixed_expect_n events 'burst b[123] [0-9]+' 3 "m2's three uncoalesced 'burst' events reached all six" "${all[@]}"
for n in "${all[@]}"; do
    for p in b1 b2 b3; do
        [ "$(mixed_count "$n" events "burst $p [0-9]+")" = 1 ] || { mixed_dump events "$n"; fail "$n did not get 'burst $p' once"; }
    done
done

# The chatty scripts' broadcasts and states flowed meanwhile, and serf found
# nothing to complain about in anything it was sent.
if moonlist_only "the chatty scripts' broadcasts and push/pull states"; then
    expect_within 5 "m2 and m3 got each other's broadcasts" \
        eval '[ "$(mixed_count m2 messages "chatty m3 [0-9]+")" -gt 0 ] && [ "$(mixed_count m3 messages "chatty m2 [0-9]+")" -gt 0 ]'
    # m3 joined through m2: their join push/pull carried the states
    expect_within 5 "m2 or m3 merged the other's state" \
        eval '[ "$(mixed_count m2 states "chatty-state m3")" -gt 0 ] || [ "$(mixed_count m3 states "chatty-state m2")" -gt 0 ]'
fi
# A script's own event and query (agent.event, agent.query), sent by m3 when
# a "kick" event tells it to: the event reaches every agent once, serf's
# handlers answer the query. A query short of a node is asked again, as
# mixed_ask does (a node of six now and then gets no copy).
if moonlist_only "a script's agent.event and agent.query"; then
    answers() { # TRY: "acks|responses" of m3's query TRY, sorted names
        local f=$MIXED_OUT/m3.answers
        printf '%s|%s\n' "$(awk -v t="$1" '$1 == "ack" && $3 == t { print $2 }' "$f" | sort | tr '\n' ' ')" \
            "$(awk -v t="$1" '$1 == "response" && $4 == t && $3 == "answer-from-" $2 { print $2 }' "$f" | sort | tr '\n' ' ')"
    }
    want="m1 m2 m3 s1 s2 s3 |m1 m2 m3 s1 s2 s3 "
    for try in try1 try2 try3; do
        out=$(mixed_cli s1 event -coalesce=false kick "m3:$try" 2>&1) || fail "serf event kick at s1 failed: $out"
        expect_within 15 "m3's query $try done" grep -qx "done $try" "$MIXED_OUT/m3.answers"
        got=$(answers "$try")
        [ "$got" = "$want" ] && break
        e2e_log "m3's agent.query $try: acks|responses '$got', want '$want': again"
        [ "$try" != try3 ] || { mixed_dump answers m3; fail "m3's agent.query short of answers three times"; }
    done
    e2e_log "ok: m3's agent.query got acks and responses from all six (the serf agents' handlers too)"
    mixed_expect_once events "lua-ev m3-try1 [0-9]+" "m3's agent.event reached all six" "${all[@]}"
fi

bad=$(mixed_serf_complaints s1 s2 s3)
[ -z "$bad" ] || fail "serf agents logged errors or warnings:"$'\n'"$bad"
e2e_log "ok: no serf agent logged an error or warning"
e2e_log "PASS"
