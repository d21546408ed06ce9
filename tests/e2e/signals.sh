# Signals as serf's agent: SIGINT leaves gracefully unless
# -skip-leave-on-interrupt; SIGTERM leaves only with -leave-on-terminate,
# otherwise the agent just stops and the others see it fail (not leave); a
# second signal exits at once; a lone agent leaves at once.
#   bash tests/e2e/signals.sh /path/to/moonlist
# Failures are detected in two-node clusters (no one left to confirm a
# suspicion: the shortest timeout), one per case, all at once.
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"

if [ "$E2E_IMPL" = serf ]; then DEAD=failed; else DEAD=dead; fi

# switch_on KEY: the flags that turn KEY on (serf takes it in its config
# file only), in the array SWITCH
switch_on() {
    if [ "$E2E_IMPL" = serf ]; then
        printf '{"%s": true}\n' "$1" >"$E2E_DIR/$1.json"
        SWITCH=(-config-file "$E2E_DIR/$1.json")
    else
        SWITCH=("-${1//_/-}")
    fi
}

# --- the lone agent: SIGINT, gone within 1 s, having left ----------------
ml_start lone
t0=$(now)
agent_signal lone INT
agent_wait_exit lone 5
took=$(elapsed "$t0")
e2e_log "lone agent exited $AGENT_RC $took s after SIGINT"
[ "$AGENT_RC" -eq 0 ] || fail "the lone agent exited $AGENT_RC after SIGINT (want 0: it left)"
# serf sleeps its LeavePropagateDelay (1 s) even alone
if [ "$E2E_IMPL" = serf ]; then lone_bound=1.5; else lone_bound=1.0; fi
fle "$took" "$lone_bound" || fail "the lone agent took $took s to leave (want at most $lone_bound s: nobody to tell)"
if moonlist_only "the lone agent's leave lines"; then
    log_has lone "left the cluster; shutting down" || fail "the lone agent did not log its leave"
    ! log_has lone "not fully sent" || fail "the lone agent waited for its leave intent"
fi

# --- the clusters ---------------------------------------------------------
ml_start obs_term
ml_start term -join "$(agent_addr obs_term)"
ml_start obs_skip
switch_on skip_leave_on_interrupt
ml_start skip -join "$(agent_addr obs_skip)" "${SWITCH[@]}"
ml_start obs_leave
switch_on leave_on_terminate
ml_start term_leave -join "$(agent_addr obs_leave)" "${SWITCH[@]}"
ml_start int -join "$(agent_addr obs_leave)"
ml_start twice -join "$(agent_addr obs_leave)"
expect_within 10 "the clusters formed" all_see_count 4 alive obs_leave term_leave int twice
expect_within 10 "the pairs formed" eval 'all_see_count 2 alive obs_term term && all_see_count 2 alive obs_skip skip'

agent_signal term TERM                 # stops: failed
agent_signal skip INT                  # stops: failed
agent_signal term_leave TERM           # leaves
agent_signal int INT                   # leaves
agent_signal twice INT                 # leaving...
sleep 0.05
agent_signal twice INT                 # ...and out at once

# seen as failed or left, whichever comes first: it must be the right one
settled() { is_status "$1" "$2" "$DEAD" left; }
expect_within 20 "obs_term sees term gone" settled obs_term term
expect_within 20 "obs_skip sees skip gone" settled obs_skip skip
expect_within 10 "obs_leave sees term_leave and int gone" eval 'settled obs_leave term_leave && settled obs_leave int'
for pair in "obs_term term $DEAD" "obs_skip skip $DEAD" "obs_leave term_leave left" "obs_leave int left"; do
    read -r o t want <<<"$pair"
    got=$(status_of "$o" "$t")
    [ "$got" = "$want" ] || fail "$o sees $t $got after its signal, want $want"
    e2e_log "ok: $o sees $t $want"
done

# exit codes: a leave is 0; a stop without one dies of the signal (serf
# exits 1); a second signal exits 1 at once
for case in "term_leave 0" "int 0" "twice 1"; do
    read -r t want <<<"$case"
    agent_wait_exit "$t" 10
    [ "$AGENT_RC" -eq "$want" ] || fail "$t exited $AGENT_RC, want $want"
done
agent_wait_exit term 10
term_rc=$AGENT_RC
agent_wait_exit skip 10
skip_rc=$AGENT_RC
if moonlist_only "the exit status of a stop without a leave"; then
    [ "$term_rc" -eq 143 ] || fail "term exited $term_rc after SIGTERM, want 143 (killed by SIGTERM)"
    [ "$skip_rc" -eq 130 ] || fail "skip exited $skip_rc after SIGINT, want 130 (killed by SIGINT)"
    log_has twice "second signal (Interrupt): exiting now" || fail "twice did not log its second signal"
    for o in obs_term obs_skip; do
        ! grep -q 'member leave (left)' "$(agent_log "$o")" || fail "$o logged a leave"
    done
else
    [ "$term_rc" -ne 0 ] && [ "$skip_rc" -ne 0 ] || fail "serf exited 0 without leaving ($term_rc, $skip_rc)"
fi
e2e_log "PASS"
