# Five moonlist agents on loopback: join convergence, a paused node refutes,
# a killed node is declared dead within the Lifeguard bound, a node sent
# SIGINT leaves cleanly.
#   bash tests/e2e/cluster.sh /path/to/moonlist
# (E2E_IMPL=serf runs the same scenario with serf agents, to check the
# harness and the bounds against the reference implementation.)
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
e2e_init "$@"

PROFILE=lan
read -r PI SMULT SMAX GI _ _ < <(profile_params $PROFILE)
N=5
# serf's agent and moonlist leave on SIGINT; on SIGTERM they just stop
LEAVE_SIGNAL=INT
if [ "$E2E_IMPL" = serf ]; then
    DEAD=failed
else
    DEAD=dead
fi

names=()
for i in $(seq 1 $N); do names+=("n$i"); done
start_converged ml n1 -tag role=seed
for name in "${names[@]:1}"; do
    start_converged ml "$name" -join "$(agent_addr n1)" -tag role=member
done

others() { # others NAME...: the names not given
    local n x skip
    for n in "${names[@]}"; do
        skip=
        for x in "$@"; do [ "$n" = "$x" ] && skip=1; done
        [ -n "$skip" ] || printf '%s\n' "$n"
    done
}

# --- 1. SIGSTOP for 3 s: the node is suspected at most, then refutes -------
# A 3 s pause is shorter than the shortest suspicion timeout (min = 4 s
# for n=5, §10.4), so nobody may declare it dead.
mapfile -t obs < <(others n3)
inc_before=
[ "$E2E_IMPL" = serf ] || inc_before=$(field_of n1 n3 .incarnation)
suspected=
seen_dead=
note_states() {
    local o s
    for o in "${obs[@]}"; do
        s=$(status_of "$o" n3) || continue
        case "$s" in
            suspect) suspected="$suspected $o" ;;
            "$DEAD") seen_dead="$seen_dead $o" ;;
        esac
    done
}
agent_signal n3 STOP
t_stop=$(now)
# The pause itself is the stimulus, not an assertion: look at the others
# while it lasts.
while fle "$(elapsed "$t_stop")" 3; do
    note_states
    sleep 0.2
done
agent_signal n3 CONT
e2e_log "n3 resumed after $(elapsed "$t_stop") s; suspected by:${suspected:- nobody}"
refuted() {
    note_states
    all_see n3 alive "${obs[@]}"
}
expect_within 10 "n3 alive again at all others after SIGCONT" refuted
[ -z "$seen_dead" ] || fail "n3 was declared $DEAD after a 3 s pause (by:$seen_dead), shorter than the minimum suspicion timeout"
if [ -n "$suspected" ] && [ -n "$inc_before" ]; then
    inc_raised() {
        local o inc
        for o in "${obs[@]}"; do
            inc=$(field_of "$o" n3 .incarnation) || return 1
            [ "$inc" -gt "$inc_before" ] || return 1
        done
    }
    expect_within 5 "n3's incarnation went up from $inc_before at all others (it refuted)" inc_raised
fi
expect_within 5 "n3 sees all $N alive" all_see_count $N alive n3

# --- 2. kill -9: dead everywhere within the suspicion bound ----------------
read -r SUS_MIN SUS_MAX < <(suspicion_bounds $N "$SMULT" "$SMAX" "$PI")
PROBE_SLACK=$(probe_slack_s $N "$PI")
# Gossip slack: the dead message reaches everyone within a few gossip
# rounds; 10 rounds is generous on loopback.
GOSSIP_SLACK=$(awk -v g="$GI" 'BEGIN { print 10 * g }')
BOUND=$(awk -v a="$PROBE_SLACK" -v b="$SUS_MAX" -v c="$GOSSIP_SLACK" 'BEGIN { print a + b + c }')
e2e_log "suspicion timeout for n=$N ($PROFILE): min $SUS_MIN s, max $SUS_MAX s; probe slack $PROBE_SLACK s, gossip slack $GOSSIP_SLACK s: bound $BOUND s"

mapfile -t obs < <(others n5)
agent_kill9 n5
t_kill=$(now)
declare -A seen_at=()
first_dead=
dead_everywhere() {
    local o t
    for o in "${obs[@]}"; do
        [ -z "${seen_at[$o]:-}" ] || continue
        if is_status "$o" n5 "$DEAD"; then
            t=$(elapsed "$t_kill")
            seen_at[$o]=$t
            [ -n "$first_dead" ] || first_dead=$t
        fi
    done
    [ "${#seen_at[@]}" -eq "${#obs[@]}" ]
}
expect_within "$BOUND" "killed n5 seen as $DEAD by all others" dead_everywhere
for o in "${obs[@]}"; do e2e_log "  $o saw n5 $DEAD after ${seen_at[$o]} s"; done
# Nobody may skip the suspicion: dead no earlier than its minimum timeout.
fle "$SUS_MIN" "$first_dead" ||
    fail "n5 declared $DEAD after $first_dead s, before the minimum suspicion timeout $SUS_MIN s"

# --- 3. graceful leave on a signal: left everywhere, exit 0 -----------------
mapfile -t obs < <(others n4 n5)
agent_signal n4 "$LEAVE_SIGNAL"
agent_wait_exit n4 15
[ "$AGENT_RC" -eq 0 ] || fail "n4 exited with status $AGENT_RC after SIG$LEAVE_SIGNAL (want 0)"
expect_within 10 "n4 seen as left by all others" all_see n4 left "${obs[@]}"
# The killed node stays dead, not left, and the rest stay alive.
all_see n5 "$DEAD" "${obs[@]}" || { e2e_views >&2; fail "n5 not $DEAD everywhere after n4 left"; }
for o in "${obs[@]}"; do
    all_see "$o" alive "${obs[@]}" || { e2e_views >&2; fail "$o not alive everywhere at the end"; }
done
e2e_log "PASS"
