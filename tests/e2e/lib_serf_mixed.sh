# The mixed moonlist/serf scenario, shared by serf_mixed.sh (plain) and
# serf_mixed_encrypted.sh. Sourced after lib.sh and e2e_init.
#
# mixed_scenario [--leave] [--no-kill] [agent flags for every agent...]
# Three serf agents (s1-s3) and three moonlist agents (m1-m3) join through
# each other (serf via moonlist and moonlist via serf); everyone sees
# everyone alive with the right tags; kill -9 of a serf agent is seen as
# dead by moonlist and failed by serf, and the other way round. With
# --leave, a moonlist agent's SIGINT must then be seen as left by serf
# and moonlist alike (--no-kill: leave right after convergence, with no dead
# members around to waste gossip on).
mixed_scenario() {
    local with_leave= no_kill=
    if [ "${1:-}" = --leave ]; then with_leave=1; shift; fi
    if [ "${1:-}" = --no-kill ]; then no_kill=1; shift; fi
    local common=("$@")
    local ml_dead=dead ml_leave=INT   # both leave on SIGINT (SIGTERM: stop)
    if [ "$E2E_IMPL" = serf ]; then ml_dead=failed; fi
    local all=(s1 m1 s2 m2 s3 m3) o

    start_converged serf s1 "${common[@]}" -tag kind=serf -tag idx=1
    start_converged ml m1 "${common[@]}" -tag kind=moonlist -tag idx=1 -join "$(agent_addr s1)"
    start_converged serf s2 "${common[@]}" -tag kind=serf -tag idx=2 -join "$(agent_addr m1)"
    start_converged ml m2 "${common[@]}" -tag kind=moonlist -tag idx=2 -join "$(agent_addr s2)"
    start_converged serf s3 "${common[@]}" -tag kind=serf -tag idx=3 -join "$(agent_addr s1)"
    start_converged ml m3 "${common[@]}" -tag kind=moonlist -tag idx=3 -join "$(agent_addr m2)"

    # Tags both ways: every agent reports every member's tags exactly.
    tags_ok() {
        local obs name want got js
        for obs in "${all[@]}"; do
            js=$(members_json "$obs") || return 1
            for name in "${all[@]}"; do
                case $name in s*) want="{\"idx\":\"${name#s}\",\"kind\":\"serf\"}" ;;
                               m*) want="{\"idx\":\"${name#m}\",\"kind\":\"moonlist\"}" ;; esac
                got=$(jq -cS --arg n "$name" '.members[] | select(.name == $n) | .tags' <<<"$js") || return 1
                if [ "$got" != "$want" ]; then
                    e2e_log "$obs reports tags of $name as $got, want $want"
                    return 1
                fi
            done
        done
    }
    tags_ok || { e2e_views >&2; fail "tags differ (see above)"; }
    e2e_log "ok: every agent reports every member's tags"

    # n = 6 members (dead ones count until reaped): §10.4 bound.
    local pi smult smax gi bound sus_min sus_max
    read -r pi smult smax gi _ _ < <(profile_params lan)
    read -r sus_min sus_max < <(suspicion_bounds 6 "$smult" "$smax" "$pi")
    bound=$(detect_bound 6 "$pi" "$sus_max" "$gi")
    e2e_log "dead bound for n=6 (lan): $bound s (suspicion min $sus_min, max $sus_max)"

    # seen_as TARGET: every remaining agent reports TARGET as failed/dead in
    # its own vocabulary (serf: failed, moonlist: dead).
    local gone=()
    seen_as_dead() {
        local target=$1 obs want x skip
        for obs in "${all[@]}"; do
            skip=
            for x in "${gone[@]}"; do [ "$obs" = "$x" ] && skip=1; done
            [ -z "$skip" ] || continue
            if [ "$(agent_kind "$obs")" = serf ]; then want=failed; else want=$ml_dead; fi
            is_status "$obs" "$target" "$want" || return 1
        done
    }

    if [ -z "$no_kill" ]; then
        agent_kill9 s3
        gone+=(s3)
        expect_within "$bound" "killed serf agent s3 seen as failed/dead by all" seen_as_dead s3

        agent_kill9 m3
        gone+=(m3)
        expect_within "$bound" "killed moonlist agent m3 seen as failed/dead by all" seen_as_dead m3
    fi

    [ -n "$with_leave" ] || return 0

    # A moonlist agent's graceful leave is "left" for serf too: it must send
    # serf's leave intent before the memberlist leave (§16).
    agent_signal m2 "$ml_leave"
    agent_wait_exit m2 15
    [ "$AGENT_RC" -eq 0 ] || fail "m2 exited with status $AGENT_RC after SIG$ml_leave (want 0)"
    gone+=(m2)
    local rest=(s1 s2 m1)
    [ -z "$no_kill" ] && rest=(s1 s2 m1) || rest=(s1 s2 s3 m1 m3)
    expect_within 10 "m2 seen as left by ${rest[*]}" all_see m2 left "${rest[@]}"
    for o in "${rest[@]}"; do
        all_see "$o" alive "${rest[@]}" || { e2e_views >&2; fail "$o not alive everywhere at the end"; }
    done
}
