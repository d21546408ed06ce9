# serf's -snapshot and -rejoin (issue 9): an agent restarted after a stop
# without a leave rejoins the members its snapshot knew, with no -join;
# after a graceful leave it stays alone, unless -rejoin. Its peers are serf
# agents, and serf reads the same file (E2E_IMPL=serf passes).
#   bash tests/e2e/snapshot.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"

SNAP=$E2E_DIR/t.snap
sees_both() { is_status t s1 alive && is_status t s2 alive; }
# stays_alone SECONDS: t lists only itself all that time (polled)
stays_alone() {
    local deadline
    deadline=$(awk -v t="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%.3f", t + s }')
    while ! fle "$deadline" "$EPOCHREALTIME"; do
        all_see_count 1 alive t || return 1
        sleep 0.2
    done
}

serf_start s1
serf_start s2 -join "$(agent_addr s1)"
free_port; t_port=$REPLY
ml_start_at t "$t_port" -snapshot "$SNAP" -join "$(agent_addr s1)"
expect_within 10 "t sees s1 and s2 alive" sees_both

# stopped without leaving (SIGTERM), started without -join: it rejoins
agent_signal t TERM
agent_wait_exit t 10
# (serf's lines may sit in its buffer until it stops: checked after)
grep -qx "alive: s1 $(agent_addr s1)" "$SNAP" && grep -qx "alive: s2 $(agent_addr s2)" "$SNAP" ||
    fail "the snapshot does not list s1 and s2 as serf writes them: $(tr '\n' '|' <"$SNAP")"
ml_start_at t "$t_port" -snapshot "$SNAP"
expect_within 10 "restarted without -join, t rejoined from its snapshot" sees_both
expect_within 10 "s1 sees t alive again" is_status s1 t alive
moonlist_only "the re-join log line" && { log_has t "re-joined to previously known node" || fail "t did not log its re-join"; }

# a graceful leave (SIGINT) is recorded; started again, t stays alone
agent_signal t INT
agent_wait_exit t 15
grep -qx leave "$SNAP" || fail "no leave record in the snapshot after a graceful leave"
expect_within 10 "s1 sees t left" is_status s1 t left
ml_start_at t "$t_port" -snapshot "$SNAP"
stays_alone 3 || fail "t rejoined after a graceful leave (without -rejoin)"
e2e_log "ok: after a graceful leave, t stays alone"

# -rejoin: the leave is ignored
agent_signal t TERM
agent_wait_exit t 10
ml_start_at t "$t_port" -snapshot "$SNAP" -rejoin
expect_within 10 "with -rejoin, t rejoined despite its leave" sees_both
e2e_log "snapshot: $(wc -l <"$SNAP") lines, $(wc -c <"$SNAP") bytes"
e2e_log "PASS"
