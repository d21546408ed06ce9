# Helpers for the end-to-end tests: real agent processes on loopback.
# Sourced, never run (CMake skips tests/e2e/lib*.sh). A test does:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init "$@"                  # $1 = path to the moonlist binary
#   ml_start a; ml_start b -join "$(agent_addr a)"
#   expect_within 10 "b sees 2 alive" all_see_count 2 alive a b
#
# Every agent gets its own log in $E2E_DIR; on failure the tails of all logs
# are printed. The EXIT trap kills every process that was started, whatever
# happened. Timing assertions poll with a deadline (wait_until), never sleep.

set -euo pipefail
# Job control: every background agent gets its own process group, and bash
# does not start it with SIGINT ignored (a graceful-leave signal for serf).
set -m

E2E_NAME=$(basename "${0%.sh}")
E2E_DIR=
ML=
E2E_FAILED=0
declare -A AGENT_PID=() AGENT_PORT=() AGENT_RPC=() AGENT_KIND=()
declare -a AGENT_ORDER=()
declare -A PORT_TAKEN=()
declare -a E2E_EXTRA_PIDS=()
# E2E_AGENT_PREFIX: a command every agent is started under (for instance
# setpriv, to run it as another uid); empty: started as is. If a function
# e2e_launch_hook is defined, _agent_launch calls it with the agent's name
# after each launch. lib_faults.sh uses both for its groups.
declare -a E2E_AGENT_PREFIX=()

e2e_log() { printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%H:%M:%S.%3N)" "$*" >&2; }

# now: seconds since the epoch with microseconds, for durations.
now() { printf '%s\n' "$EPOCHREALTIME"; }
# elapsed START: seconds since START (from now), 2 decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }'; }
# fle A B: true if A <= B (floating point).
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

e2e_dump_logs() {
    local f
    [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ] || return 0
    for f in "$E2E_DIR"/*.log; do
        [ -e "$f" ] || continue
        printf '\n----- %s (last 80 lines) -----\n' "$(basename "$f")" >&2
        # serf logs every RPC connection: noise here
        grep -v 'agent.ipc: Accepted client' "$f" | tail -n 80 >&2
    done
    printf '\n(logs kept in %s)\n' "$E2E_DIR" >&2
}

# fail MESSAGE: stop the test with a clear message and the agents' logs.
fail() {
    E2E_FAILED=1
    printf '\nFAIL %s: %s\n' "$E2E_NAME" "$*" >&2
    e2e_dump_logs
    exit 1
}

e2e_cleanup() {
    local rc=$?
    local name pid
    set +e
    for name in "${AGENT_ORDER[@]}"; do
        pid=${AGENT_PID[$name]}
        # SIGCONT first: a stopped process would not die of SIGTERM.
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${E2E_EXTRA_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    for name in "${AGENT_ORDER[@]}"; do
        wait "${AGENT_PID[$name]}" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ "$E2E_FAILED" -eq 0 ]; then
        printf '\nFAIL %s: exited with status %d (unexpected error)\n' "$E2E_NAME" "$rc" >&2
        e2e_dump_logs
    elif [ "$rc" -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then
        rm -rf "$E2E_DIR"
    fi
    exit "$rc"
}

# e2e_init MOONLIST_BINARY: check the tools, make the log dir, set traps.
# E2E_IMPL=serf runs the moonlist role with serf agents instead (to
# validate the harness and the timing bounds against the reference).
e2e_init() {
    local t
    for t in jq serf ss awk; do
        command -v "$t" >/dev/null 2>&1 ||
            { echo "FAIL $E2E_NAME: '$t' is not installed (./setup installs it)" >&2; exit 1; }
    done
    ML=${1:-}
    E2E_IMPL=${E2E_IMPL:-moonlist}
    if [ "$E2E_IMPL" = moonlist ]; then
        [ -n "$ML" ] || { echo "FAIL $E2E_NAME: usage: bash $0 /path/to/moonlist" >&2; exit 2; }
        [ -x "$ML" ] || { echo "FAIL $E2E_NAME: '$ML' is not an executable" >&2; exit 1; }
        ML=$(cd "$(dirname "$ML")" && pwd)/$(basename "$ML")
    fi
    E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/moonlist-e2e-$E2E_NAME.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'fail "interrupted"' INT TERM
    # If this shell is killed outright (SIGKILL, e.g. a test runner's
    # timeout), the EXIT trap never runs: a watchdog then kills the agents
    # listed in $E2E_DIR/pids. Agents live in their own process groups, so
    # nothing else would reach them.
    : >"$E2E_DIR/pids"
    local parent=$$
    (
        trap '' INT TERM HUP
        while kill -0 "$parent" 2>/dev/null; do sleep 1; done
        xargs -r kill -KILL <"$E2E_DIR/pids" 2>/dev/null
    ) >/dev/null 2>&1 </dev/null &
    E2E_EXTRA_PIDS+=("$!")
    disown "$!" # no "Killed" job notice when cleanup ends it
    e2e_log "logs in $E2E_DIR (impl: $E2E_IMPL)"
}

# free_port: set REPLY to a loopback port that no socket (TCP or UDP, any
# state) uses now and that this test has not handed out. Below the
# ephemeral range so that outgoing connections do not take it meanwhile.
# (Not run in $(...): it must remember what it handed out.)
free_port() {
    local used p tries=0
    used=$(ss -Htuan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        tries=$((tries + 1))
        [ "$tries" -lt 1000 ] || fail "no free loopback port found"
        [ -z "${PORT_TAKEN[$p]:-}" ] || continue
        grep -qx "$p" <<<"$used" && continue
        PORT_TAKEN[$p]=1
        REPLY=$p
        return 0
    done
}

agent_pid() { echo "${AGENT_PID[$1]}"; }
agent_port() { echo "${AGENT_PORT[$1]}"; }
agent_rpc() { echo "127.0.0.1:${AGENT_RPC[$1]}"; }
agent_addr() { echo "127.0.0.1:${AGENT_PORT[$1]}"; }
agent_kind() { echo "${AGENT_KIND[$1]}"; }
agent_log() { echo "$E2E_DIR/$1.log"; }
agent_running() { kill -0 "${AGENT_PID[$1]}" 2>/dev/null; }

# _agent_launch KIND NAME CMD...: start CMD in the background, logged.
_agent_launch() {
    local kind=$1 name=$2
    shift 2
    [ -z "${AGENT_PID[$name]:-}" ] || fail "agent $name started twice"
    local cmd=("${E2E_AGENT_PREFIX[@]}" "$@")
    printf '# %s\n' "${cmd[*]}" >"$E2E_DIR/$name.log"
    "${cmd[@]}" >>"$E2E_DIR/$name.log" 2>&1 </dev/null &
    AGENT_PID[$name]=$!
    echo "$!" >>"$E2E_DIR/pids"
    AGENT_KIND[$name]=$kind
    AGENT_ORDER+=("$name")
    if declare -F e2e_launch_hook >/dev/null; then e2e_launch_hook "$name"; fi
}

# ml_start NAME [extra agent flags...]: start a moonlist agent on fresh ports
# (profile lan unless the flags say otherwise) and wait for its RPC.
# With E2E_IMPL=serf, a serf agent stands in for it.
ml_start() { _start_retrying ml_launch "$@"; }

# serf_start NAME [extra serf agent flags...]: same for a serf agent.
serf_start() { _start_retrying serf_launch "$@"; }

# free_port's ports are free when picked, not reserved: any process on the
# machine (another test, another agent) may bind one before the agent does.
# The agent then exits at start-up saying so, and is started again on fresh
# ports: this is the one place that handles it, for every test.
E2E_START_TRIES=5

# _start_retrying LAUNCHER NAME [flags...]: LAUNCHER NAME flags, then wait
# until it is ready; on a port taken meanwhile, again with fresh ports.
_start_retrying() {
    local launcher=$1 name=$2 try
    shift
    for ((try = 1; try <= E2E_START_TRIES; try++)); do
        "$launcher" "$@"
        _agent_wait_ready_or_port_taken "$name" && return 0
        e2e_log "agent $name: a port was taken by another process before it could bind it (try $try): $(grep -i -m 1 'address already in use' "$(agent_log "$name")")"
        _agent_forget "$name" "$try"
    done
    fail "agent $name: a port was taken every time in $E2E_START_TRIES tries (see $name.log.try*)"
}

# _agent_forget NAME TRY: an agent that exited at start-up is forgotten
# (its log kept as NAME.log.tryTRY), so that NAME can be started again.
_agent_forget() {
    local name=$1 pid=${AGENT_PID[$1]} n order=()
    mv "$(agent_log "$name")" "$(agent_log "$name").try$2"
    sed -i "/^${pid}\$/d" "$E2E_DIR/pids"
    for n in "${AGENT_ORDER[@]}"; do [ "$n" = "$name" ] || order+=("$n"); done
    AGENT_ORDER=("${order[@]}")
    unset "AGENT_PID[$name]" "AGENT_PORT[$name]" "AGENT_RPC[$name]" "AGENT_KIND[$name]"
}

# ml_launch / serf_launch NAME [flags...]: start without waiting for the RPC.
ml_launch() {
    local name=$1
    shift
    if [ "$E2E_IMPL" = serf ]; then
        serf_launch "$name" "$@"
        return
    fi
    local port rpc
    free_port; port=$REPLY
    free_port; rpc=$REPLY
    AGENT_PORT[$name]=$port
    AGENT_RPC[$name]=$rpc
    local profile=(-profile lan)
    case " $* " in *" -profile "*) profile=() ;; esac
    _agent_launch moonlist "$name" "$ML" agent -node "$name" \
        -bind "127.0.0.1:$port" -advertise "127.0.0.1:$port" \
        -rpc-addr "127.0.0.1:$rpc" "${profile[@]}" -log-level "${E2E_LOG_LEVEL:-debug}" "$@"
}

serf_launch() {
    local name=$1
    shift
    local port rpc
    free_port; port=$REPLY
    free_port; rpc=$REPLY
    AGENT_PORT[$name]=$port
    AGENT_RPC[$name]=$rpc
    local profile=(-profile lan)
    case " $* " in *" -profile "*) profile=() ;; esac
    _agent_launch serf "$name" serf agent -node "$name" \
        -bind "127.0.0.1:$port" -advertise "127.0.0.1:$port" \
        -rpc-addr "127.0.0.1:$rpc" "${profile[@]}" -log-level "${E2E_SERF_LOG_LEVEL:-debug}" "$@"
}

# e2e_kill_all: SIGKILL every agent started so far and forget them (for
# scripts that run several clusters one after another).
e2e_kill_all() {
    local name
    for name in "${AGENT_ORDER[@]}"; do
        kill -CONT "${AGENT_PID[$name]}" 2>/dev/null || true
        kill -KILL "${AGENT_PID[$name]}" 2>/dev/null || true
    done
    for name in "${AGENT_ORDER[@]}"; do
        wait "${AGENT_PID[$name]}" 2>/dev/null || true
    done
    AGENT_PID=() AGENT_PORT=() AGENT_RPC=() AGENT_KIND=() AGENT_ORDER=()
}

# agent_wait_ready NAME: its RPC answers `members` and lists itself alive
# on its own gossip port (so that another agent of the same name that got
# hold of this RPC port is not taken for it).
agent_wait_ready() {
    _agent_wait_ready_or_port_taken "$1" ||
        fail "agent $1 exited during start-up: a port was taken (see $1.log)"
}

# _agent_wait_ready_or_port_taken NAME: 0 once ready, 1 if it exited at
# start-up because a port was taken (reaped); fails the test otherwise.
_agent_wait_ready_or_port_taken() {
    local name=$1 deadline rc
    deadline=$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t + 15 }')
    while :; do
        if ! agent_running "$name"; then
            rc=0
            wait "${AGENT_PID[$name]}" || rc=$?
            # both moonlist and serf exit 1 and log the bind error
            [ "$rc" -eq 1 ] && grep -qi 'address already in use' "$(agent_log "$name")" && return 1
            fail "agent $name exited during start-up with status $rc (see $name.log)"
        fi
        _lists_itself_alive "$name" && return 0
        fle "$deadline" "$EPOCHREALTIME" && fail "agent $name: RPC not answering with itself alive after 15 s"
        sleep 0.1
    done
}
_lists_itself_alive() {
    local js
    js=$(members_json "$1" 2>/dev/null) || return 1
    # moonlist reports addr and port apart, serf as "addr:port"
    jq -e --arg n "$1" --arg p "${AGENT_PORT[$1]}" \
        'any(.members[]; .name == $n and .status == "alive" and
             ((.port | tostring) == $p or ((.addr | tostring) | endswith(":" + $p))))' <<<"$js" >/dev/null
}

# members_json NAME: `members -format json` from that agent's RPC.
members_json() {
    local name=$1
    if [ "${AGENT_KIND[$name]}" = serf ]; then
        timeout 5 serf members -format json -rpc-addr "$(agent_rpc "$name")"
    else
        timeout 5 "$ML" members -format json -rpc-addr "$(agent_rpc "$name")"
    fi
}

# status_of OBSERVER TARGET: TARGET's status as OBSERVER reports it, or
# "absent". Non-zero exit if the RPC query itself failed.
status_of() {
    local js
    js=$(members_json "$1") || return 1
    jq -er --arg n "$2" '[.members[] | select(.name == $n) | .status] | if length == 0 then "absent" else .[0] end' <<<"$js"
}

# field_of OBSERVER TARGET JQ_PATH: e.g. field_of a b .incarnation
field_of() {
    local js
    js=$(members_json "$1") || return 1
    jq -cr --arg n "$2" ".members[] | select(.name == \$n) | $3" <<<"$js"
}

# view_of NAME: "name status" lines, sorted: the member view to compare.
view_of() {
    local js
    js=$(members_json "$1") || return 1
    jq -r '.members[] | "\(.name) \(.status)"' <<<"$js" | sort
}

# is_status OBSERVER TARGET STATUS...: TARGET's status is one of STATUS.
is_status() {
    local obs=$1 target=$2 s got
    shift 2
    got=$(status_of "$obs" "$target") || return 1
    for s in "$@"; do [ "$got" = "$s" ] && return 0; done
    return 1
}

# all_see TARGET "STATUS..." OBSERVER...: every observer reports TARGET with
# one of the statuses (space-separated list in one word).
all_see() {
    local target=$1 statuses=$2 obs
    shift 2
    for obs in "$@"; do
        # shellcheck disable=SC2086
        is_status "$obs" "$target" $statuses || return 1
    done
}

# all_see_count N STATUS OBSERVER...: every observer lists exactly N members
# and all N have STATUS.
all_see_count() {
    local n=$1 status=$2 obs js
    shift 2
    for obs in "$@"; do
        js=$(members_json "$obs") || return 1
        jq -e --argjson n "$n" --arg s "$status" \
            '(.members | length) == $n and all(.members[]; .status == $s)' <<<"$js" >/dev/null || return 1
    done
}

# wait_until SECONDS CMD...: run CMD every 0.2 s until it succeeds (0) or
# SECONDS have passed (1). CMD's output is discarded.
wait_until() {
    local secs=$1 deadline
    shift
    deadline=$(awk -v t="$EPOCHREALTIME" -v s="$secs" 'BEGIN { printf "%.3f", t + s }')
    while :; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        fle "$deadline" "$EPOCHREALTIME" && return 1
        sleep 0.2
    done
}

# expect_within SECONDS DESCRIPTION CMD...: wait_until or fail, printing what
# every agent reports at that point.
expect_within() {
    local secs=$1 what=$2
    shift 2
    local t0
    t0=$(now)
    if wait_until "$secs" "$@"; then
        e2e_log "ok: $what ($(elapsed "$t0") s)"
        return 0
    fi
    e2e_views >&2
    fail "not within ${secs} s: $what"
}

# keys_retry N WHAT CMD...: a key operation (CMD; its output, stderr too,
# in $out) on a cluster of N. A key operation is a query, and gossip now
# and then gives a node no copy of one: the asker then fails with "k/N
# nodes reported success" (k < N). The operations are idempotent
# (installing a key held, using the primary, removing a key not held,
# listing), so that failure alone is run again, three tries in all, as an
# operator would; any other failure, or three short answers, fails.
keys_retry() {
    local n=$1 what=$2 try k
    shift 2
    for try in 1 2 3; do
        out=$("$@" 2>&1) && return 0
        k=$(grep -Eo "[0-9]+/$n nodes reported success" <<<"$out" | head -1 | cut -d/ -f1)
        [ -n "$k" ] && [ "$k" -lt "$n" ] || fail "$what failed: $out"
        e2e_log "$what try $try: $k of $n nodes answered ($(tr '\n' ' ' <<<"$out")): again"
    done
    fail "$what: short of answers three times: $out"
}

# e2e_views: every running agent's member view, for failure reports.
e2e_views() {
    local name
    for name in "${AGENT_ORDER[@]}"; do
        agent_running "$name" || continue
        printf -- '--- view of %s (%s):\n' "$name" "${AGENT_KIND[$name]}"
        members_json "$name" 2>&1 | jq -c '.members[] | {name, status, incarnation, tags}' 2>&1 | sed 's/^/    /'
        # a moonlist agent's counters tell a message never received from
        # one received and dropped
        if [ "${AGENT_KIND[$name]}" != serf ]; then
            printf -- '--- counters of %s:\n' "$name"
            timeout 5 "$ML" info -rpc-addr "$(agent_rpc "$name")" 2>&1 | awk '
                /^[a-z]/ { sec = $0 }
                /^\t/ && sec ~ /^(protocol|messages received|messages dropped|network)/ && $3 != "0" {
                    sub(/^\t/, ""); row[sec] = row[sec] "  " $0 }
                END { for (k in row) print "    " k row[k] }'
        fi
    done
}

# agent_signal NAME SIGNAL
agent_signal() { kill -s "$2" "${AGENT_PID[$1]}" || fail "cannot send $2 to $1"; }

# agent_wait_exit NAME SECONDS: wait for the process to end and set
# AGENT_RC to its exit status. Fails the test if it is still running after
# SECONDS. (Not run in $(...): only this shell can reap its children.)
agent_wait_exit() {
    local name=$1 pid=${AGENT_PID[$1]}
    wait_until "$2" _not_running "$pid" || fail "agent $name still running ${2} s after being told to stop"
    AGENT_RC=0
    wait "$pid" || AGENT_RC=$?
}
_not_running() {
    # a zombie still answers kill -0; look at the state instead.
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$st" = Z ] || [ "$st" = X ]
}

# agent_kill9 NAME: SIGKILL and reap.
agent_kill9() {
    kill -KILL "${AGENT_PID[$1]}" 2>/dev/null || true
    wait "${AGENT_PID[$1]}" 2>/dev/null || true
}

# rss_kib PID: VmRSS in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# cpu_ticks PID: utime + stime in clock ticks.
cpu_ticks() {
    # fields after the ")" of comm: state is $1, utime $12, stime $13
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# probe_slack_s: worst-case time from a failure until some node has
# finished a failed probe of it, ProbeInterval PI, N members (§10.1): the
# probe list is round-robin over the N-1 others and reshuffled when it
# wraps, so a given observer reaches any node within 2(N-1) ticks, and
# the failed probe itself lasts one interval.
probe_slack_s() { awk -v n="$1" -v pi="$2" 'BEGIN { print (2 * (n - 1) + 1) * pi }'; }
# detect_bound N PI SUS_MAX GI: seconds within which every other agent sees
# a failed one dead: a probe round's slack, the longest suspicion, and ten
# gossip rounds for the dead message to reach everyone.
detect_bound() {
    awk -v a="$(probe_slack_s "$1" "$2")" -v b="$3" -v g="$4" 'BEGIN { print a + b + 10 * g }'
}

# suspicion_bounds N SUSPICION_MULT MAX_MULT PROBE_INTERVAL: "min max" of the
# suspicion timeout in seconds (§10.4).
suspicion_bounds() {
    awk -v n="$1" -v mult="$2" -v maxm="$3" -v pi="$4" 'BEGIN {
        nn = (n < 1) ? 1 : n
        l = log(nn) / log(10); if (l < 1) l = 1
        min = mult * l * pi
        k = mult - 2; if (n - 2 < k) k = 0
        max = (k < 1) ? min : maxm * min
        printf "%.3f %.3f\n", min, max
    }'
}

# profile_params PROFILE: "ProbeInterval SuspicionMult SuspicionMaxTimeoutMult
# GossipInterval TCPTimeout PushPullInterval" (§13).
profile_params() {
    case "$1" in
        lan) echo "1 4 6 0.2 10 30" ;;
        wan) echo "5 6 6 0.5 30 60" ;;
        local) echo "1 3 6 0.1 1 15" ;;
        *) fail "unknown profile $1" ;;
    esac
}

# converge_bound_s PROFILE: how long a join may take to reach everyone.
# Gossip usually spreads a new member's alive in well under a second, but
# two joins at once through different seeds can miss each other; then the
# periodic push/pull (§12: every PushPullInterval, random first stagger)
# is what repairs it. So the guaranteed bound is one push/pull interval,
# plus 5 s of slack.
converge_bound_s() {
    local pp
    read -r _ _ _ _ _ pp < <(profile_params "$1")
    echo $((pp + 5))
}

# start_converged KIND NAME [flags...]: start a moonlist (KIND ml) or serf
# agent, then wait until every agent started so far lists all of them alive.
start_converged() {
    local kind=$1 name=$2
    shift 2
    case $kind in
        ml) ml_start "$name" "$@" ;;
        serf) serf_start "$name" "$@" ;;
        *) fail "start_converged: unknown kind $kind" ;;
    esac
    local running=() n
    for n in "${AGENT_ORDER[@]}"; do agent_running "$n" && running+=("$n"); done
    expect_within "$(converge_bound_s lan)" "${#running[@]} agents see ${#running[@]} alive after $name joined" \
        all_see_count "${#running[@]}" alive "${running[@]}"
}
