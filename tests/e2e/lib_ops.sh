# Helpers for the tests of serf's agent operations (retry_join.sh,
# signals.sh, event_handler.sh, tags_file.sh). Sourced after lib.sh (CMake
# skips tests/e2e/lib*.sh).

ML_RESTARTS=0

# ml_start_at NAME PORT [flags...]: an agent gossiping on PORT (its RPC on
# a fresh port), waiting until it runs: a seed started where another agent
# already looks for it, or an agent restarted as itself (same name and
# address; its earlier log is kept as NAME.log.restartN). With
# E2E_IMPL=serf a serf agent stands in, as for ml_start.
ml_start_at() {
    local name=$1 port=$2 rpc kind=moonlist cmd=("$ML" agent)
    shift 2
    if [ -n "${AGENT_PID[$name]:-}" ]; then
        agent_running "$name" && fail "ml_start_at: agent $name is still running"
        ML_RESTARTS=$((ML_RESTARTS + 1))
        _agent_forget "$name" "restart$ML_RESTARTS"
    fi
    [ "$E2E_IMPL" = serf ] && { kind=serf; cmd=(serf agent); }
    free_port; rpc=$REPLY
    AGENT_PORT[$name]=$port
    AGENT_RPC[$name]=$rpc
    _agent_launch "$kind" "$name" "${cmd[@]}" -node "$name" -bind "127.0.0.1:$port" -advertise "127.0.0.1:$port" \
        -rpc-addr "127.0.0.1:$rpc" -profile lan -log-level debug "$@"
    agent_wait_ready "$name"
}

# log_has NAME TEXT: the agent's log holds TEXT (plain).
log_has() { grep -qF -- "$2" "$(agent_log "$1")"; }

# moonlist_only WHAT: true for moonlist; with E2E_IMPL=serf, say that WHAT
# is not checked (serf logs other words) and return false.
moonlist_only() {
    [ "$E2E_IMPL" = moonlist ] && return 0
    e2e_log "serf stands in: not checked: $1"
    return 1
}
