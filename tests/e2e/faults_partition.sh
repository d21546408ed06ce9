# Six agents cut 3/3 by a full partition (UDP and TCP, both ways) for
# about 20 s, in a network namespace of the test's own; each half runs under
# its own uid (the partition's rules tell TCP senders apart by socket owner):
# - each half sees every agent of the other half dead (serf: failed) within
#   the analytic bound, and its own half alive all along;
# - after the heal, one `join` from an agent of one half to an agent of the
#   other brings everyone to see everyone alive within 15 s.
# The heal without an operator's join (serf's reconnect: "every partition
# healed within one reconnect interval") is faults_partition_heal.sh.
#   bash tests/e2e/faults_partition.sh /path/to/moonlist     (as root)
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_faults.sh"
faults_init "$@"

PROFILE=lan
read -r PI SMULT SMAX GI _ _ < <(profile_params $PROFILE)
N=6
HOLD=20 # seconds the partition lasts at least
fault_start_halves

read -r SUS_MIN SUS_MAX < <(suspicion_bounds $N "$SMULT" "$SMAX" "$PI")
BOUND=$(detect_bound $N "$PI" "$SUS_MAX" "$GI")
e2e_log "n=$N ($PROFILE): suspicion min $SUS_MIN s, max $SUS_MAX s; split detection bound $BOUND s"

halves_intact() {
    groups_see a a alive && groups_see b b alive
}
split_seen() {
    halves_intact || fail "an agent lost sight of its own half during the partition"
    groups_see a b dead && groups_see b a dead
}

fault_partition a b
t_cut=$(now)
expect_within "$BOUND" "each half sees the other $(dead_word n1)" split_seen
while fle "$(elapsed "$t_cut")" "$HOLD"; do
    halves_intact || { e2e_views >&2; fail "an agent lost sight of its own half during the partition"; }
    groups_see a b dead && groups_see b a dead || { e2e_views >&2; fail "the split came undone during the partition"; }
    sleep 0.5
done
fault_heal
e2e_log "partition healed after $(elapsed "$t_cut") s"

agent_join n1 "$(agent_addr n4)" >&2 || fail "n1 could not join n4 after the heal"
expect_within 15 "all $N see all $N alive after n1 joined n4" all_see_count $N alive "${names[@]}"
e2e_log "PASS"
