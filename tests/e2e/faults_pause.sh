# Paused and starved agents (SIGSTOP/SIGCONT), five agents, in a network
# namespace of the test's own:
# 1. n3 stopped for 2.5 s, shorter than the minimum suspicion timeout
#    (4 s for n=5): nobody declares it dead, not even briefly (logs), and
#    it is alive everywhere again soon after SIGCONT;
# 2. n4 stopped until every other agent sees it dead (within the analytic
#    bound): after SIGCONT it refutes (incarnation up) and is alive
#    everywhere again, and sees everyone alive;
# 3. n2 starved, stopped 300 ms of every 500 ms for 10 s: nobody declares
#    it dead; then it runs freely again.
# Healthy agents (all but n4) are never declared dead in any agent's log.
#   bash tests/e2e/faults_pause.sh /path/to/moonlist     (as root)
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_faults.sh"
faults_init "$@"

PROFILE=lan
read -r PI SMULT SMAX GI _ _ < <(profile_params $PROFILE)
N=5
names=()
for i in $(seq 1 $N); do names+=("n$i"); done
start_converged ml n1
for name in "${names[@]:1}"; do start_converged ml "$name" -join "$(agent_addr n1)"; done
DEAD=$(dead_word n1)
read -r SUS_MIN SUS_MAX < <(suspicion_bounds $N "$SMULT" "$SMAX" "$PI")
BOUND=$(detect_bound $N "$PI" "$SUS_MAX" "$GI")
e2e_log "n=$N ($PROFILE): suspicion min $SUS_MIN s, max $SUS_MAX s; detection bound $BOUND s"

others() { # others NAME: every agent but NAME
    local n
    for n in "${names[@]}"; do [ "$n" = "$1" ] || echo "$n"; done
}
# never_dead TARGET OBSERVER...: fail at once if one reports TARGET dead.
never_dead() {
    local t=$1 o
    shift
    for o in "$@"; do
        if is_status "$o" "$t" "$DEAD"; then
            e2e_views >&2
            fail "$o reports $t $DEAD"
        fi
    done
}

# --- 1. a pause shorter than the suspicion timeout ---------------------------
PAUSE=2.5
fle "$PAUSE" "$SUS_MIN" || fail "test bug: pause $PAUSE s not below the minimum suspicion timeout $SUS_MIN s"
mapfile -t obs < <(others n3)
fault_stop n3
t0=$(now)
while fle "$(elapsed "$t0")" "$PAUSE"; do
    never_dead n3 "${obs[@]}"
    sleep 0.2
done
fault_cont n3
n3_back() {
    never_dead n3 "${obs[@]}"
    all_see n3 alive "${obs[@]}"
}
expect_within 10 "n3 alive at all others after a $PAUSE s pause" n3_back
expect_within 5 "n3 sees all $N alive" all_see_count $N alive n3

# --- 2. a pause until declared dead ----------------------------------------
mapfile -t obs < <(others n4)
inc_before=
[ "$E2E_IMPL" = serf ] || inc_before=$(field_of n1 n4 .incarnation)
fault_stop n4
t0=$(now)
expect_within "$BOUND" "stopped n4 seen $DEAD by all others" all_see n4 "$DEAD" "${obs[@]}"
stopped_for=$(elapsed "$t0")
fault_cont n4
t1=$(now)
# It finds out from the suspect and dead messages waiting in its socket
# buffer, or at its next push/pull (one interval, converge_bound_s).
expect_within "$(converge_bound_s $PROFILE)" "n4 alive again at all others after SIGCONT (stopped $stopped_for s)" \
    all_see n4 alive "${obs[@]}"
e2e_log "n4 back $(elapsed "$t1") s after SIGCONT"
expect_within 10 "n4 sees all $N alive" all_see_count $N alive n4
if [ -n "$inc_before" ]; then
    inc_raised() {
        local o inc
        for o in "${obs[@]}"; do
            inc=$(field_of "$o" n4 .incarnation) || return 1
            [ "$inc" -gt "$inc_before" ] || return 1
        done
    }
    expect_within 5 "n4's incarnation went up from $inc_before at all others (it refuted)" inc_raised
fi

# --- 3. a starved agent -----------------------------------------------------
STARVE=10
mapfile -t obs < <(others n2)
fault_starve n2 300 500
t0=$(now)
saw_stopped=
while fle "$(elapsed "$t0")" "$STARVE"; do
    never_dead n2 "${obs[@]}"
    [ "$(awk '{ print $3 }' "/proc/$(agent_pid n2)/stat")" != T ] || saw_stopped=1
    sleep 0.2
done
fault_unstarve n2
[ -n "$saw_stopped" ] || fail "n2 was never seen stopped while starved: the duty cycle did not run"
expect_within 10 "n2 alive at all others after being starved ${STARVE} s" all_see n2 alive "${obs[@]}"
expect_within 10 "everyone sees all $N alive at the end" all_see_count $N alive "${names[@]}"

# --- the logs: only n4 was ever declared dead ---------------------------------
for t in n1 n2 n3 n5; do
    for o in $(others "$t"); do
        c=$(dead_events "$o" "$t")
        [ "$c" -eq 0 ] || fail "$o's log shows $t declared $DEAD $c time(s), though it was never stopped long"
    done
done
c=$(dead_events n1 n4)
[ "$c" -ge 1 ] || fail "n1's log does not show n4 declared $DEAD (the log check is broken)"
e2e_log "PASS"
