# Name conflicts in a mixed cluster (3 serf + 3 moonlist agents). A second
# agent started under a member's name and joined ends as serf ends it
# (serf.go, handleNodeConflict and resolveNodeConflict): it sees its own
# name claimed at another address, asks everyone with the internal query
# _serf_conflict, every other member answers with the address it knows
# (the first one: memberlist keeps an alive member's address), the
# newcomer is in the minority and shuts down; serf's agent then exits 0.
#   A. a moonlist newcomer named s2 (a serf member), joined through s1;
#   B. a serf newcomer named m2 (a moonlist member), joined through m1: it
#      must count the answers of the moonlist members too (serf logs
#      "minority in name conflict resolution, quitting [0 / 5]": five
#      answers, the other two moonlist agents' among them; four will do).
# In both, the first agent of that name stays, on its own address, and the
# six stay alive everywhere.
# The exit status: serf's agent returns 0 when serf shut itself down
# (cmd/serf/command/agent/command.go, handleSignals: "case
# <-agent.ShutdownCh(): // Agent is already shutdown! return 0"), and a
# supervisor restarting on failure must not bring a loser back to lose
# again. moonlist's daemon (daemon_serf.c, SERF_EV_SHUTDOWN, as of the
# daemon branch 2026-12-02) exits 1 there, which fails case A.
#   bash tests/e2e/serf_mixed_conflict.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_start_six
all=("${MIXED_ALL[@]}")

# The vote is one query: its timeout (gossip interval 0.2 s x 16 x
# ceil(log10(n + 1)) = 3.2 s) after the join, plus the shutdown; 20 s is
# plenty.
VOTE_S=20

# original_stays NODE: NODE still runs, every agent lists it alive on its
# own port, and all six are alive everywhere.
original_stays() {
    local node=$1 o p
    agent_running "$node" || fail "$node (the first of its name) exited"
    for o in "${all[@]}"; do
        p=$(mixed_port_of "$o" "$node") || fail "$o's RPC did not answer"
        [ "$p" = "$(agent_port "$node")" ] || { e2e_views >&2; fail "$o lists $node on port $p, not its own $(agent_port "$node")"; }
    done
    all_see_count 6 alive "${all[@]}" || { e2e_views >&2; fail "not all six alive everywhere after the conflict over $node"; }
    e2e_log "ok: $node stays on its own address, all six alive everywhere"
}

# conflict KIND NODE SEED: a KIND agent named NODE joins through SEED; it
# must lose the vote and exit 0.
conflict() {
    local kind=$1 node=$2 seed=$3 h=dup_$2 out
    mixed_start_as "$kind" "$h" "$node"
    out=$(mixed_cli "$h" join "$(agent_addr "$seed")" 2>&1) || e2e_log "(join of $h through $seed said: $out)"
    expect_within "$VOTE_S" "the second $node ($(agent_kind "$h")) shut down" _not_running "$(agent_pid "$h")"
    agent_wait_exit "$h" 1
    [ "$AGENT_RC" -eq 0 ] || fail "the second $node exited with status $AGENT_RC (serf's agent: 0)"
    original_stays "$node"
}

conflict ml s2 s1
conflict serf m2 m1
line=$(grep -o 'minority in name conflict resolution.*' "$(agent_log dup_m2)") ||
    fail "the serf newcomer did not log its lost vote"
# Five answer (s1 s2 s3 m1 m3); a query can miss a node of six now and then
# (see serf_mixed_query.sh), so four will do: more than the three serf
# agents, so a moonlist agent answered.
[[ "$line" =~ \[0\ /\ [45]\]$ ]] || fail "the serf newcomer did not count 4 or 5 answers, all for the first m2: $line"
e2e_log "ok: the serf newcomer lost by $line"
e2e_log "PASS"
