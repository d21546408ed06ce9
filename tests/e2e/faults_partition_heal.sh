# Six agents cut 3/3 by a full partition for about 20 s (as in
# tests/e2e/faults_partition.sh), then healed, and no operator action:
# every agent must see all six alive again within one reconnect interval
# (serf's ReconnectInterval, 30 s) plus 5 s for the gossip that follows.
# serf does it with its reconnect (a periodic join to a random failed
# member), and so does moonlist's serf node (serf_node_reconnect.c); a
# ping from a member held dead also starts a push/pull at once
# (docs/protocol.md §12.1).
#   bash tests/e2e/faults_partition_heal.sh /path/to/moonlist   (as root)
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_faults.sh"
faults_init "$@"

PROFILE=lan
read -r PI SMULT SMAX GI _ _ < <(profile_params $PROFILE)
N=6
HOLD=20
RECONNECT_INTERVAL=30 # serf's default
fault_start_halves

read -r _ SUS_MAX < <(suspicion_bounds $N "$SMULT" "$SMAX" "$PI")
BOUND=$(detect_bound $N "$PI" "$SUS_MAX" "$GI")
split_seen() { groups_see a b dead && groups_see b a dead; }

fault_partition a b
t_cut=$(now)
expect_within "$BOUND" "each half sees the other $(dead_word n1)" split_seen
while fle "$(elapsed "$t_cut")" "$HOLD"; do sleep 0.5; done
fault_heal
e2e_log "partition healed after $(elapsed "$t_cut") s; no join from here on"
expect_within $((RECONNECT_INTERVAL + 5)) "all $N see all $N alive after the heal, by themselves" \
    all_see_count $N alive "${names[@]}"
e2e_log "PASS"
