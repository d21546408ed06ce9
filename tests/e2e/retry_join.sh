# Joins that survive the real world, as serf's agent: -retry-join retries
# every -retry-interval until a join succeeds (then stops), logging each
# failure with the seed and the reason; with -retry-max it gives up and
# exits 1; a start-up -join that fails exits 1, naming the seed and why.
#   bash tests/e2e/retry_join.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"

attempts() { grep -c 'retry-join: joining through' "$(agent_log "$1")" || true; }

# --- 1. the seed is not there yet: r retries every second, then joins -----
free_port; seed_port=$REPLY
ml_start r -retry-join "127.0.0.1:$seed_port" -retry-interval 1s
if moonlist_only "the failure lines"; then
    expect_within 5 "r logs two failed attempts, naming the seed and the reason" \
        log_has r "retry-join: join failed (attempt 2): 127.0.0.1:$seed_port: connection refused; retrying in 1s"
else
    sleep 2
fi
agent_running r || fail "r stopped while its seed was not there"
ml_start_at seed "$seed_port"
expect_within 5 "r joined the seed once it came up" all_see_count 2 alive r seed
if moonlist_only "the success line and the attempt count"; then
    log_has r "retry-join: joined through 1 seed" || fail "r did not log its join"
    n=$(attempts r)
    sleep 2.5
    [ "$(attempts r)" = "$n" ] || fail "r kept retrying after a join succeeded ($n, then $(attempts r) attempts)"
fi

# --- 2. -retry-max 2 and no seed: the first attempt and two retries, exit 1
free_port; dead_port=$REPLY
t0=$(now)
ml_launch gives_up -retry-join "127.0.0.1:$dead_port" -retry-interval 1s -retry-max 2
agent_wait_exit gives_up 15
e2e_log "gives_up exited with status $AGENT_RC after $(elapsed "$t0") s"
[ "$AGENT_RC" -ne 0 ] || fail "gives_up exited 0 after its retries failed (want non-zero, as serf)"
if moonlist_only "the give-up line"; then
    [ "$AGENT_RC" -eq 1 ] || fail "gives_up exited $AGENT_RC, want 1"
    log_has gives_up "retry-join: giving up after 3 attempts: 127.0.0.1:$dead_port: connection refused" ||
        fail "gives_up's log does not name the seed and the reason"
    [ "$(attempts gives_up)" = 3 ] || fail "gives_up made $(attempts gives_up) attempts, want 3"
fi

# --- 3. a start-up -join to a dead port: exit 1 with the reason ----------
ml_launch no_seed -join "127.0.0.1:$dead_port"
agent_wait_exit no_seed 10
[ "$AGENT_RC" -ne 0 ] || fail "no_seed exited 0 though its -join failed"
if moonlist_only "the join failure line"; then
    [ "$AGENT_RC" -eq 1 ] || fail "no_seed exited $AGENT_RC, want 1"
    log_has no_seed "join failed: 127.0.0.1:$dead_port: connection refused" ||
        fail "no_seed's log does not name the seed and the reason"
fi
# the cluster that worked is untouched
all_see_count 2 alive r seed || fail "r and seed no longer see each other alive"
e2e_log "PASS"
