# Five agents under 10 % UDP loss both ways (every UDP packet between any
# two agents) for 30 s, in a network namespace of the test's own:
# - no healthy agent is declared dead by anyone, not even briefly (each
#   agent's log is checked as well as polled views);
# - an agent killed with kill -9 while the loss lasts is seen dead by all
#   others within the analytic bound (probe slack + maximum suspicion
#   timeout + gossip slack), and not before the minimum suspicion timeout;
# - the loss achieved (nftables counters) is 10 % within 4 standard
#   deviations (binomial, over the packets seen).
#   bash tests/e2e/faults_loss.sh /path/to/moonlist     (as root)
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_faults.sh"
faults_init "$@"

PROFILE=lan
read -r PI SMULT SMAX GI _ _ < <(profile_params $PROFILE)
N=5
LOSS=10
WINDOW=30  # seconds of loss
KILL_AT=8  # seconds into the loss

names=()
for i in $(seq 1 $N); do names+=("n$i"); done
start_converged ml n1
for name in "${names[@]:1}"; do start_converged ml "$name" -join "$(agent_addr n1)"; done
DEAD=$(dead_word n1)
healthy=("${names[@]:0:$((N - 1))}")
victim=n$N

read -r SUS_MIN SUS_MAX < <(suspicion_bounds $N "$SMULT" "$SMAX" "$PI")
BOUND=$(detect_bound $N "$PI" "$SUS_MAX" "$GI")
e2e_log "n=$N ($PROFILE): suspicion min $SUS_MIN s, max $SUS_MAX s; detection bound $BOUND s"

# seen_dead_now: fail at once if an agent reports a healthy one dead.
check_healthy() {
    local o t
    for o in "${healthy[@]}"; do
        for t in "${healthy[@]}"; do
            [ "$o" != "$t" ] || continue
            if is_status "$o" "$t" "$DEAD"; then
                e2e_views >&2
                fail "$o reports healthy $t $DEAD under $LOSS % loss"
            fi
        done
    done
}

fault_loss $LOSS
t_loss=$(now)
while fle "$(elapsed "$t_loss")" "$KILL_AT"; do
    check_healthy
    sleep 0.5
done

agent_kill9 "$victim"
t_kill=$(now)
e2e_log "killed $victim at $(elapsed "$t_loss") s into the loss"
declare -A seen_at=()
first_dead=
victim_dead_everywhere() {
    local o t
    for o in "${healthy[@]}"; do
        [ -z "${seen_at[$o]:-}" ] || continue
        if is_status "$o" "$victim" "$DEAD"; then
            t=$(elapsed "$t_kill")
            seen_at[$o]=$t
            [ -n "$first_dead" ] || first_dead=$t
        fi
    done
    [ "${#seen_at[@]}" -eq "${#healthy[@]}" ]
}
watch_kill() {
    check_healthy
    victim_dead_everywhere
}
expect_within "$BOUND" "killed $victim seen $DEAD by all others under $LOSS % loss" watch_kill
for o in "${healthy[@]}"; do e2e_log "  $o saw $victim $DEAD after ${seen_at[$o]} s"; done
fle "$SUS_MIN" "$first_dead" ||
    fail "$victim declared $DEAD after $first_dead s, before the minimum suspicion timeout $SUS_MIN s"

# The rest of the window: still nobody healthy declared dead.
while fle "$(elapsed "$t_loss")" "$WINDOW"; do
    check_healthy
    sleep 0.5
done
read -r seen dropped < <(fault_loss_counts)
fault_loss_clear
rate=$(_fault_rate "$seen" "$dropped")
e2e_log "loss window $(elapsed "$t_loss") s: $dropped of $seen UDP packets dropped ($rate %)"
# 5 agents probe once a second each (ping + ack), gossip a little more:
# about 500 packets in 30 s.
[ "$seen" -gt 200 ] || fail "only $seen UDP packets seen in the loss window: the rules did not see the agents' traffic"
# Binomial: 4 standard deviations of the rate over $seen packets.
tol=$(awk -v p="$LOSS" -v n="$seen" 'BEGIN { q = p / 100; printf "%.2f", 400 * sqrt(q * (1 - q) / n) }')
awk -v r="$rate" -v p="$LOSS" -v t="$tol" 'BEGIN { exit !(r >= p - t && r <= p + t) }' ||
    fail "achieved loss $rate %, not within $tol points (4 sd) of $LOSS %"

# The logs see what polling could miss: a death refuted within a poll.
for o in "${healthy[@]}"; do
    for t in "${healthy[@]}"; do
        [ "$o" != "$t" ] || continue
        c=$(dead_events "$o" "$t")
        [ "$c" -eq 0 ] || fail "$o's log shows healthy $t declared $DEAD $c time(s) under $LOSS % loss"
    done
done
for o in "${healthy[@]}"; do
    all_see "$o" alive "${healthy[@]}" || { e2e_views >&2; fail "$o not alive everywhere at the end"; }
done
e2e_log "PASS"
