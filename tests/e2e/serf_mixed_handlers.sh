# moonlist's serf-compatible event handlers in a mixed cluster (3 serf + 3
# moonlist agents), every agent running the same two scripts as serf runs
# them: -event-handler user:deploy=... (serf's environment, the payload on
# stdin) and -event-handler query:ask=... (its standard output is the
# response):
#   - `serf event` at a serf agent and `moonlist event` at a moonlist agent
#     run every agent's user:deploy handler exactly once, with one Lamport
#     time for each event everywhere; an event of another name runs none;
#   - `serf query ask` and `moonlist query ask` get the acks of all six and
#     the response of every handler.
#   bash tests/e2e/serf_mixed_handlers.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_hooks_init
MIXED_USER_EVENTS=(deploy)
MIXED_QUERIES=(ask)
MIXED_ML_HANDLERS=1
mixed_start_six --hooks
all=("${MIXED_ALL[@]}")

out=$(mixed_cli s1 event deploy v1 2>&1) || fail "serf event at s1 failed: $out"
out=$(mixed_cli m1 event other x 2>&1) || fail "event at m1 failed: $out"
mixed_expect_once events 'deploy v1 [0-9]+' "s1's event 'deploy v1' ran every user:deploy handler" "${all[@]}"
out=$(mixed_cli m1 event deploy v2 2>&1) || fail "event at m1 failed: $out"
mixed_expect_once events 'deploy v2 [0-9]+' "m1's event 'deploy v2' ran every user:deploy handler" "${all[@]}"
for p in v1 v2; do
    lt=$(cat "$MIXED_OUT"/*.events | awk -v p="$p" '$2 == p { print $3 }' | sort -u)
    [ "$(wc -l <<<"$lt")" = 1 ] || { mixed_dump events "${all[@]}"; fail "'deploy $p' has several Lamport times: $lt"; }
done
! grep -q '^other ' "$MIXED_OUT"/*.events || { mixed_dump events "${all[@]}"; fail "an event 'other' ran a user:deploy handler"; }
e2e_log "ok: one Lamport time per event everywhere; 'other' ran no handler"

every="m1 m2 m3 s1 s2 s3"
mixed_ask s2 "$every" "$every" ask
mixed_ask m2 "$every" "$every" ask
e2e_log "PASS"
