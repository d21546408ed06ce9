#!/usr/bin/env bash
# Cluster benchmark on loopback: moonlist against serf, same machine, same
# run. Prints a table and writes a CSV and a plot. Not a test (ctest does not
# run it).
#
#   bash bench/cluster.sh build/moonlist
#
# For each profile, each N and each implementation: start a seed, then N-1
# agents that join it all at once, and measure
#   converge_s   from the launch of the N-1 joiners until every agent lists
#                N members alive (polled); launch_s is how long launching
#                them took (the shell's fork and exec of N-1 processes)
#   rss_kib      VmRSS per agent, averaged, after convergence
#   pss_kib      Pss per agent (smaps_rollup), same moment: shared pages
#                divided among the processes mapping them (this cluster's
#                agents, and whatever else on the machine maps the same
#                libraries)
#   uss_kib      Private_Clean + Private_Dirty per agent (smaps_rollup):
#                what stopping one agent would free
#   rss_idle_kib, pss_idle_kib, uss_idle_kib
#                the same at the end of the idle window below: an idle
#                agent's memory, with its start behind it (a moonlist
#                agent hands back the code pages it ran once it has been
#                quiet for 5 s: docs/footprint.md)
#   cpu_s_min    CPU seconds (utime+stime) per agent per minute, over an
#                idle window, scaled to one minute; the window starts once
#                the join's own traffic is over (settle_s after the
#                memory is read: settle_auto below)
#   bytes_s      bytes per second per agent on the wire over the same idle
#                window: every UDP datagram and TCP segment to or from a
#                gossip port, IP headers included (nftables counters; RPC
#                is not counted), and its UDP and TCP parts (bytes_udp,
#                bytes_tcp). Each slice of the settle and the window is
#                logged, with the TCP connections opened (push/pulls).
#                Needs root: the whole run then happens in a network
#                namespace of its own (unshare -n), whose loopback carries
#                nothing but this cluster. "-" without.
#   detect_s     from kill -9 of an agent until every other agent lists it
#                dead (moonlist) / failed (serf); BENCH_KILLS agents, one
#                after another, mean and worst
#   model_s      the analytic expectation of detect_s (detect_model below),
#                and the ratio detect_s / model_s
#   leave_s      from SIGINT (graceful leave) to an agent until every other
#                agent lists it left (or failed: leave_seen_failed counts
#                the agents that show a leaver failed, serf's outcome when
#                memberlist's leave overtakes serf's intent); BENCH_LEAVES
#                agents, mean and worst
#
# Environment:
#   BENCH_SIZES="5 20 50"      cluster sizes (up to 100: "5 20 50 100")
#   BENCH_PROFILES="lan"       protocol profiles (lan, wan, local)
#   BENCH_IMPLS="serf moonlist"
#   BENCH_IDLE_SECONDS=60      length of the idle window
#   BENCH_SETTLE_SECONDS=auto  wait before it: auto (settle_auto, at most
#                              BENCH_SETTLE_MAX_SECONDS=120), or seconds
#   BENCH_SLICE_SECONDS=5      the slices the settle and window are counted in
#   BENCH_KILLS=3 BENCH_LEAVES=3
#   BENCH_CSV=cluster-bench.csv
#   BENCH_PNG=cluster-bench.png  RSS, PSS and USS per agent against N, both
#                              implementations (gnuplot; skipped, with a
#                              note, if gnuplot is not installed)
#
# Times are found by polling every agent that has not yet seen the change,
# BENCH_POLL_PARALLEL (8) at a time, with moonlist's CLI for both
# implementations (it speaks serf's RPC): a time's resolution is one polling
# round, printed as poll_s (the mean round). moonlist agents also log every
# member change with a millisecond timestamp, so for them the log gives the
# exact time as well: the *_log_s columns.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# Own network namespace (root only), for the byte counters: the script runs
# again under `unshare -n`; everything it starts dies with it.
if [ -z "${BENCH_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null 2>&1 &&
    command -v unshare >/dev/null 2>&1 && unshare -n -- true 2>/dev/null; then
    export BENCH_NETNS=1
    exec unshare -n -- bash "$0" "$@"
fi

E2E_NAME=bench-cluster
. "$here/../tests/e2e/lib.sh"
E2E_NAME=bench-cluster

SIZES=${BENCH_SIZES:-5 20 50}
PROFILES=${BENCH_PROFILES:-lan}
IMPLS=${BENCH_IMPLS:-serf moonlist}
IDLE=${BENCH_IDLE_SECONDS:-60}
SETTLE=${BENCH_SETTLE_SECONDS:-auto}
SETTLE_MAX=${BENCH_SETTLE_MAX_SECONDS:-120}
SLICE=${BENCH_SLICE_SECONDS:-5}
KILLS=${BENCH_KILLS:-3}
LEAVES=${BENCH_LEAVES:-3}
PAR=${BENCH_POLL_PARALLEL:-8}
CSV=${BENCH_CSV:-cluster-bench.csv}
PNG=${BENCH_PNG:-cluster-bench.png}
E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-info}
E2E_SERF_LOG_LEVEL=${E2E_SERF_LOG_LEVEL:-info}
case " $IMPLS " in
    *" moonlist "*) E2E_IMPL=moonlist e2e_init "$@" ;;
    *) E2E_IMPL=serf e2e_init "$@" ;;
esac
E2E_KEEP=${E2E_KEEP:-}
CLK_TCK=$(getconf CLK_TCK)
[ -n "$ML" ] || fail "the moonlist binary is needed even for serf alone: its CLI polls both"

COUNTING=
if [ -n "${BENCH_NETNS:-}" ]; then
    # The namespace's ports are all ours: hand them out in order, without
    # lib.sh's look at every socket (ss), which took most of the time to
    # launch 100 agents.
    NEXT_PORT=20000
    free_port() { NEXT_PORT=$((NEXT_PORT + 1)); REPLY=$NEXT_PORT; }
    ip link set lo up || fail "cannot bring up lo in the namespace"
    nft -f - <<'EOF' || fail "cannot create the nftables counters"
table inet bench {
    set gossip { type inet_service; }
    counter wire_udp { }
    counter wire_tcp { }
    counter wire_conns { }
    chain out {
        type filter hook output priority 0; policy accept;
        udp sport @gossip counter name wire_udp
        tcp sport @gossip counter name wire_tcp
        tcp dport @gossip counter name wire_tcp
        tcp dport @gossip tcp flags & (syn | ack) == syn counter name wire_conns
    }
}
EOF
    COUNTING=1
fi
# wire_bytes: "UDP TCP CONNS", the bytes counted so far (gossip ports
# only) and the TCP connections opened to a gossip port (push/pulls, and
# TCP pings if any).
wire_bytes() {
    nft -j list counters table inet bench | jq -r '[.nftables[] | select(.counter) | .counter | {(.name): .bytes, (.name + "_p"): .packets}] | add | "\(.wire_udp) \(.wire_tcp) \(.wire_conns_p)"'
}

declare -A R=() # R[profile,impl,n,metric]
# rollup_kib PID: "PSS USS" in KiB, from /proc/PID/smaps_rollup.
rollup_kib() {
    awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { print p, u }' "/proc/$1/smaps_rollup"
}

# not_yet CHECK ARG NAME...: the NAMEs for which `CHECK RPC ARG` fails,
# asked PAR at a time; one polling round.
not_yet() {
    local check=$1 arg=$2 t0
    shift 2
    t0=$(now)
    local name
    for name in "$@"; do printf '%s %s\n' "$name" "$(agent_rpc "$name")"; done |
        ML=$ML xargs -r -P "$PAR" -n 2 bash -c "$(declare -f "$check"); $check \"\$2\" '$arg' || echo \"\$1\"" _
    elapsed "$t0" >>"$E2E_DIR/poll_rounds" # run in subshells: counted in a file
}
# The checks, run in xargs' shells (self-contained: only $ML is passed).
# sees_all RPC N: the agent lists N members, all alive.
sees_all() {
    local out
    out=$(timeout 5 "$ML" members -rpc-addr "$1") || return 1
    awk -v n="$2" 'NF { all++; if ($3 == "alive") up++ } END { exit !(all == n && up == n) }' <<<"$out"
}
# sees_gone RPC "NAME STATUS|STATUS": NAME is listed with one of the STATUSes.
sees_gone() {
    local out
    out=$(timeout 5 "$ML" members -rpc-addr "$1") || return 1
    set -- $2
    awk -v t="$1" -v s="^($2)\$" '$1 == t && $3 ~ s { f = 1 } END { exit !f }' <<<"$out"
}

# wait_all CHECK ARG DEADLINE T0 NAME...: poll until CHECK holds for every
# NAME; echo the elapsed time since T0 at which the last one was seen.
wait_all() {
    local check=$1 arg=$2 deadline=$3 t0=$4 left last
    shift 4
    left=("$@")
    while :; do
        mapfile -t left < <(not_yet "$check" "$arg" "${left[@]}")
        last=$(elapsed "$t0")
        [ ${#left[@]} -gt 0 ] || break
        fle "$deadline" "$last" && return 1
        sleep 0.05
    done
    echo "$last"
}

# SOD: an awk function, sod(ISO): seconds since midnight UTC of a log line's
# timestamp (2026-12-02T21:00:00.123Z); mawk has no mktime.
SOD='function sod(s,  f) { split(substr(s, 12, 12), f, ":"); return f[1] * 3600 + f[2] * 60 + f[3] }'

# log_last NAMES PATTERN T0: seconds from T0 (epoch) to the latest of the
# first lines matching PATTERN in each NAME's log after T0 (moonlist's
# ISO timestamps with milliseconds); "-" if one has none.
log_last() {
    local pattern=$2 t0=$3 name worst=0 t
    for name in $1; do
        t=$(awk -v p="$pattern" -v t0="$t0" "$SOD"'
            index($0, p) {
                d = sod($1) - t0 % 86400; if (d < -43200) d += 86400
                if (d >= 0) { print d; exit }
            }' "$(agent_log "$name")")
        [ -n "$t" ] || { echo -; return; }
        worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
    done
    printf '%.2f\n' "$worst"
}

# detect_model PROFILE N LIVE: the expected time from a kill until every
# other member has it dead, N members known (the dead ones count, as in
# memberlist's estNumNodes), LIVE of them alive with the victim, from the
# protocol's parameters (docs/cluster-bench.md):
#   the first probe of the victim: each of the LIVE-1 others probes it once
#     per round of N-1 probe intervals T (round robin), so the first of
#     them comes after (N-1)/LIVE T on average;
#   that probe fails after one interval T (direct, indirect and TCP);
#   the suspicion then lasts Lifeguard's timeout for the confirmations it
#     can get: K = SuspicionMult - 2 are wanted (none when N - 2 < K), and
#     only LIVE - 2 members can send one; with C of them, max - (max - min)
#     log(C + 1) / log(K + 1), and no less than the time the C-th takes,
#     C (N-1)/LIVE T;
#   the dead message then reaches everyone in ceil(log_{1+f} LIVE) gossip
#     intervals G with fanout f.
# The simulator's mean over 40 seeds (one kill in N, lan) is 4 to 6 % below
# it at N = 5, 20 and 100.
detect_model() {
    local pi mult maxm gi
    read -r pi mult maxm gi _ < <(profile_params "$1")
    local f=3
    [ "$1" = wan ] && f=4
    local min max
    read -r min max < <(suspicion_bounds "$2" "$mult" "$maxm" "$pi")
    awk -v n="$2" -v live="$3" -v t="$pi" -v min="$min" -v max="$max" -v mult="$mult" -v g="$gi" -v f="$f" 'BEGIN {
        first = (n - 1) / live * t
        k = mult - 2; if (n - 2 < k) k = 0
        c = live - 2; if (c > k) c = k
        sus = (k < 1) ? min : max - (max - min) * log(c + 1) / log(k + 1)
        if (sus < min) sus = min
        conf = c * (n - 1) / live * t
        if (conf > sus) sus = conf
        r = log(live) / log(1 + f); hops = (r == int(r)) ? r : int(r) + 1
        printf "%.2f\n", first + t + sus + hops * g
    }'
}

# slices SECONDS LABEL N: sleep SECONDS, in slices of SLICE seconds when
# counting, logging each slice's bytes per agent per second, UDP and TCP.
slices() {
    local left=$1 label=$2 n=$3 b0 b1 t0 d
    if [ -z "$COUNTING" ]; then
        sleep "$left"
        return
    fi
    b0=$(wire_bytes)
    t0=$(now)
    while fle 0.001 "$left"; do
        d=$SLICE
        fle "$d" "$left" || d=$left
        sleep "$d"
        left=$(awk -v a="$left" -v b="$d" 'BEGIN { print a - b }')
        b1=$(wire_bytes)
        e2e_log "$label: $(awk -v b0="$b0" -v b1="$b1" -v n="$n" -v w="$(elapsed "$t0")" 'BEGIN {
            split(b0, a); split(b1, b)
            printf "%.0f B/s udp, %.0f tcp per agent, %d connections", (b[1] - a[1]) / n / w, (b[2] - a[2]) / n / w, b[3] - a[3] }')"
        b0=$b1
        t0=$(now)
    done
}

# settle_auto LABEL N: wait until the join's traffic is over. The gossip
# of a burst join (N alive messages and N serf join intents, each sent its
# retransmit count by every member) is UDP and falls off as the queues
# drain; what remains is the probes' ping and ack, a steady rate. So:
# slices of SLICE seconds, until one slice's UDP bytes are within 10 % of
# the slice before's; at most SETTLE_MAX seconds. Without counters, 30 s.
# (The first periodic push/pull, TCP, comes later: a random stagger of up
# to one PushPullInterval, then the scaled interval, in memberlist 0.2.2 as
# in moonlist; it is steady-state traffic, not the join's.)
settle_auto() {
    local label=$1 n=$2 b0 b1 t0 t_all u prev=
    if [ -z "$COUNTING" ]; then
        sleep 30
        return
    fi
    t_all=$(now)
    b0=$(wire_bytes)
    t0=$(now)
    while :; do
        sleep "$SLICE"
        b1=$(wire_bytes)
        u=$(awk -v b0="$b0" -v b1="$b1" -v n="$n" -v w="$(elapsed "$t0")" 'BEGIN {
            split(b0, a); split(b1, b); printf "%.1f %.0f %d", (b[1] - a[1]) / n / w, (b[2] - a[2]) / n / w, b[3] - a[3] }')
        e2e_log "$label: ${u%% *} B/s udp per agent, then $(cut -d' ' -f2 <<<"$u") tcp, $(cut -d' ' -f3 <<<"$u") connections"
        u=${u%% *}
        b0=$b1
        t0=$(now)
        if [ -n "$prev" ] && awk -v a="$prev" -v b="$u" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 * a) }'; then
            break
        fi
        fle "$SETTLE_MAX" "$(elapsed "$t_all")" && break
        prev=$u
    done
}

mean_max() { printf '%s\n' "$@" | awk 'NF && $1 != "-" { s += $1; k++; if ($1 > m) m = $1 } END { if (k) printf "%.2f %.2f\n", s / k, m; else print "- -" }'; }

# memory KEY SUFFIX NAME...: the agents' mean RSS, PSS and USS into
# R[KEY,rss SUFFIX] and so on
memory() {
    local key=$1 sfx=$2 rss_sum=0 pss_sum=0 uss_sum=0 pid pss uss name
    shift 2
    for name in "$@"; do
        pid=$(agent_pid "$name")
        rss_sum=$((rss_sum + $(rss_kib "$pid")))
        read -r pss uss < <(rollup_kib "$pid")
        pss_sum=$((pss_sum + pss))
        uss_sum=$((uss_sum + uss))
    done
    R[$key,rss$sfx]=$(($rss_sum / $#))
    R[$key,pss$sfx]=$(($pss_sum / $#))
    R[$key,uss$sfx]=$(($uss_sum / $#))
}

run_one() { # run_one PROFILE IMPL N
    local profile=$1 impl=$2 n=$3 i names=() t0 name key="$1,$2,$3"
    E2E_IMPL=$impl
    e2e_log "== $profile, $impl, N=$n"
    : >"$E2E_DIR/poll_rounds"
    ml_start a1 -profile "$profile"
    names=(a1)
    for i in $(seq 2 "$n"); do names+=("a$i"); done
    local seed
    seed=$(agent_addr a1)
    local tj=$EPOCHREALTIME
    t0=$(now)
    for name in "${names[@]:1}"; do ml_launch "$name" -profile "$profile" -join "$seed"; done
    R[$key,launch]=$(elapsed "$t0")
    R[$key,converge]=$(wait_all sees_all "$n" $((n * 2 + 90)) "$t0" "${names[@]}") ||
        fail "$impl N=$n ($profile): not converged after $((n * 2 + 90)) s"
    R[$key,converge_log]=-
    if [ "$impl" = moonlist ]; then
        # every agent's last "member join" line: when it listed the last one
        local worst=0 t
        for name in "${names[@]}"; do
            t=$(awk -v t0="$tj" "$SOD"'/member join: / { s = $1 } END { d = sod(s) - t0 % 86400; if (d < -43200) d += 86400; print d }' "$(agent_log "$name")")
            worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
        done
        R[$key,converge_log]=$(printf '%.2f' "$worst")
    fi
    for name in "${names[@]}"; do agent_running "$name" || fail "$impl agent $name died (see $name.log)"; done

    # Memory, now and again after the idle window.
    memory "$key" "" "${names[@]}"

    # Idle CPU and bytes: the gossip ports are counted from here on.
    if [ -n "$COUNTING" ]; then
        local ports=() IFS_save=$IFS
        for name in "${names[@]}"; do ports+=("$(agent_port "$name")"); done
        IFS=,
        nft add element inet bench gossip "{ ${ports[*]} }" || fail "cannot fill the port set"
        IFS=$IFS_save
    fi
    # The settle: the join's own traffic first runs out (settle_auto).
    local s0
    s0=$(now)
    if [ "$SETTLE" = auto ]; then
        settle_auto "$key settle" "$n"
    else
        slices "$SETTLE" "$key settle" "$n"
    fi
    R[$key,settle]=$(elapsed "$s0")
    local -A c0=()
    for name in "${names[@]}"; do c0[$name]=$(cpu_ticks "$(agent_pid "$name")"); done
    local w0 b0="0 0"
    w0=$(now)
    [ -z "$COUNTING" ] || b0=$(wire_bytes)
    slices "$IDLE" "$key idle" "$n" # the measured idle window
    local win ticks=0 b1="0 0"
    win=$(elapsed "$w0")
    [ -z "$COUNTING" ] || b1=$(wire_bytes)
    for name in "${names[@]}"; do
        ticks=$((ticks + $(cpu_ticks "$(agent_pid "$name")") - ${c0[$name]}))
    done
    memory "$key" _idle "${names[@]}"
    R[$key,cpu]=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$n" -v w="$win" \
        'BEGIN { printf "%.3f", t / hz / n / w * 60 }')
    R[$key,bytes]=- R[$key,bytes_udp]=- R[$key,bytes_tcp]=-
    if [ -n "$COUNTING" ]; then
        read -r R[$key,bytes] R[$key,bytes_udp] R[$key,bytes_tcp] < <(awk -v b0="$b0" -v b1="$b1" -v n="$n" -v w="$win" 'BEGIN {
            split(b0, a); split(b1, b); u = (b[1] - a[1]) / n / w; t = (b[2] - a[2]) / n / w
            printf "%.0f %.0f %.0f\n", u + t, u, t }')
    fi

    # Failure detection: kill -9 the last agents, one after another.
    local dead=dead live=("${names[@]}") victim d dl
    [ "$impl" = serf ] && dead=failed
    local detects=() detects_log=() models=() k
    # at small N, leave room for the leaves: at least two agents stay
    # alive after the kills and the leaves each
    local nkills=$KILLS nleaves=$LEAVES
    while [ $((nkills + nleaves)) -gt $((n - 2)) ] && [ "$nkills" -gt 1 ]; do nkills=$((nkills - 1)); done
    while [ $((nkills + nleaves)) -gt $((n - 2)) ] && [ "$nleaves" -gt 1 ]; do nleaves=$((nleaves - 1)); done
    for ((k = 0; k < nkills && ${#live[@]} > 2; k++)); do
        victim=${live[$((${#live[@]} - 1))]}
        models+=("$(detect_model "$profile" "$n" "${#live[@]}")")
        unset "live[$((${#live[@]} - 1))]"
        local tk=$EPOCHREALTIME
        agent_kill9 "$victim"
        t0=$(now)
        d=$(wait_all sees_gone "$victim $dead" $((120 + n)) "$t0" "${live[@]}") ||
            fail "$impl N=$n ($profile): not everyone sees $victim $dead after $((120 + n)) s"
        detects+=("$d")
        dl=-
        [ "$impl" != moonlist ] || dl=$(log_last "${live[*]}" "member leave (dead): $victim" "$tk")
        detects_log+=("$dl")
    done
    read -r R[$key,detect] R[$key,detect_max] < <(mean_max "${detects[@]}")
    read -r R[$key,detect_log] _ < <(mean_max "${detects_log[@]}")
    read -r R[$key,model] _ < <(mean_max "${models[@]}")

    # Graceful leave: SIGINT, one after another.
    local leaves=() leaves_log=() gone wrong=0
    for ((k = 0; k < nleaves && ${#live[@]} > 2; k++)); do
        gone=${live[$((${#live[@]} - 1))]}
        unset "live[$((${#live[@]} - 1))]"
        local tl=$EPOCHREALTIME
        agent_signal "$gone" INT
        t0=$(now)
        # left, or failed: a serf agent that gets memberlist's leave before
        # serf's intent shows the node failed for good (serf's
        # handleNodeLeave); counted, not waited for
        d=$(wait_all sees_gone "$gone left|failed" 60 "$t0" "${live[@]}") ||
            fail "$impl N=$n ($profile): not everyone sees $gone left (or failed) after 60 s"
        wrong=$((wrong + $(not_yet sees_gone "$gone left" "${live[@]}" | wc -l)))
        leaves+=("$d")
        dl=-
        [ "$impl" != moonlist ] || dl=$(log_last "${live[*]}" "member leave (left): $gone" "$tl")
        leaves_log+=("$dl")
    done
    read -r R[$key,leave] R[$key,leave_max] < <(mean_max "${leaves[@]}")
    read -r R[$key,leave_log] _ < <(mean_max "${leaves_log[@]}")
    R[$key,leave_failed]=$wrong
    R[$key,poll]=$(awk '{ t += $1; r++ } END { if (r) printf "%.2f", t / r; else print "-" }' "$E2E_DIR/poll_rounds")
    e2e_log "$profile $impl N=$n: launch ${R[$key,launch]} s, converge ${R[$key,converge]} s (log ${R[$key,converge_log]}), rss ${R[$key,rss]} KiB, pss ${R[$key,pss]}, uss ${R[$key,uss]} (idle: rss ${R[$key,rss_idle]}, pss ${R[$key,pss_idle]}, uss ${R[$key,uss_idle]}), cpu ${R[$key,cpu]} s/min, ${R[$key,bytes]} B/s (udp ${R[$key,bytes_udp]}, tcp ${R[$key,bytes_tcp]}, after a settle of ${R[$key,settle]} s), detect ${R[$key,detect]} s (worst ${R[$key,detect_max]}, log ${R[$key,detect_log]}, model ${R[$key,model]}), leave ${R[$key,leave]} s (worst ${R[$key,leave_max]}, log ${R[$key,leave_log]}, seen failed ${R[$key,leave_failed]} times), poll round ${R[$key,poll]} s"
    e2e_kill_all
    [ -z "$COUNTING" ] || nft flush set inet bench gossip
}

for profile in $PROFILES; do
    for n in $SIZES; do
        for impl in $IMPLS; do run_one "$profile" "$impl" "$n"; done
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
cols=(launch converge converge_log rss pss uss cpu bytes detect detect_max detect_log model leave leave_max leave_log leave_failed poll)
{
    echo "profile,impl,n,launch_s,converge_s,converge_log_s,rss_kib,pss_kib,uss_kib,cpu_s_per_agent_min,bytes_per_agent_s,detect_s,detect_max_s,detect_log_s,model_s,leave_s,leave_max_s,leave_log_s,leave_seen_failed,poll_round_s,idle_window_s,settle_s,bytes_udp_per_agent_s,bytes_tcp_per_agent_s,rss_idle_kib,pss_idle_kib,uss_idle_kib"
    for profile in $PROFILES; do
        for n in $SIZES; do
            for impl in $IMPLS; do
                line="$profile,$impl,$n"
                for c in "${cols[@]}"; do line+=",${R[$profile,$impl,$n,$c]}"; done
                k="$profile,$impl,$n"
                echo "$line,$IDLE,${R[$k,settle]},${R[$k,bytes_udp]},${R[$k,bytes_tcp]},${R[$k,rss_idle]},${R[$k,pss_idle]},${R[$k,uss_idle]}"
            done
        done
    done
} >"$CSV"

row='%-6s %-9s %4s %9s %7s %7s %7s %8s %8s %8s %7s %6s %7s %7s\n'
printf "\n$row" profile impl N converge rss_KiB pss_KiB uss_KiB cpu_s/min bytes/s detect model /model leave poll
for profile in $PROFILES; do
    for n in $SIZES; do
        for impl in $IMPLS; do
            k="$profile,$impl,$n"
            printf "$row" "$profile" "$impl" "$n" "${R[$k,converge]}" "${R[$k,rss]}" "${R[$k,pss]}" "${R[$k,uss]}" \
                "${R[$k,cpu]}" "${R[$k,bytes]}" "${R[$k,detect]}" "${R[$k,model]}" \
                "$(ratio "${R[$k,detect]}" "${R[$k,model]}")" "${R[$k,leave]}" "${R[$k,poll]}"
        done
        if [[ " $IMPLS " == *" moonlist "* && " $IMPLS " == *" serf "* ]]; then
            a="$profile,moonlist,$n" b="$profile,serf,$n"
            printf "$row" "$profile" "ml/serf" "$n" \
                "$(ratio "${R[$a,converge]}" "${R[$b,converge]}")" \
                "$(ratio "${R[$a,rss]}" "${R[$b,rss]}")" \
                "$(ratio "${R[$a,pss]}" "${R[$b,pss]}")" \
                "$(ratio "${R[$a,uss]}" "${R[$b,uss]}")" \
                "$(ratio "${R[$a,cpu]}" "${R[$b,cpu]}")" \
                "$(ratio "${R[$a,bytes]}" "${R[$b,bytes]}")" \
                "$(ratio "${R[$a,detect]}" "${R[$b,detect]}")" "" "" \
                "$(ratio "${R[$a,leave]}" "${R[$b,leave]}")" ""
        fi
    done
done
mrow='%-6s %-9s %4s %9s %9s %9s %9s %9s %9s\n'
printf "\nmemory per agent, KiB: after convergence, and after the idle window\n$mrow" profile impl N rss pss uss \
    rss_idle pss_idle uss_idle
for profile in $PROFILES; do
    for n in $SIZES; do
        for impl in $IMPLS; do
            k="$profile,$impl,$n"
            printf "$mrow" "$profile" "$impl" "$n" "${R[$k,rss]}" "${R[$k,pss]}" "${R[$k,uss]}" \
                "${R[$k,rss_idle]}" "${R[$k,pss_idle]}" "${R[$k,uss_idle]}"
        done
        if [[ " $IMPLS " == *" moonlist "* && " $IMPLS " == *" serf "* ]]; then
            a="$profile,moonlist,$n" b="$profile,serf,$n"
            line=()
            for c in rss pss uss rss_idle pss_idle uss_idle; do line+=("$(ratio "${R[$a,$c]}" "${R[$b,$c]}")"); done
            printf "$mrow" "$profile" "ml/serf" "$n" "${line[@]}"
        fi
    done
done
if [[ " $IMPLS " == *" moonlist "* ]]; then
    printf '\nmoonlist from its logs (ms timestamps): converge, detect (mean), leave (mean)\n'
    for profile in $PROFILES; do
        for n in $SIZES; do
            k="$profile,moonlist,$n"
            printf '%-6s %4s %8s %8s %8s\n' "$profile" "$n" "${R[$k,converge_log]}" "${R[$k,detect_log]}" "${R[$k,leave_log]}"
        done
    done
fi

# The plot, from the CSV: memory per agent against N, one line per
# implementation (colour) and measure (dash); the first profile's rows,
# read after the idle window (what an agent keeps).
plot_memory() { # plot_memory DIR: DIR/IMPL.csv, that implementation's rows
    local dir=$1 impl m curves=()
    local -A colour=([moonlist]='#1f77b4' [serf]='#d62728') dash=([rss]=1 [pss]=2 [uss]=3) column=([rss]=25 [pss]=26 [uss]=27) point=([rss]=7 [pss]=5 [uss]=9)
    for impl in $IMPLS; do
        for m in rss pss uss; do
            curves+=("'$dir/$impl.csv' using 3:(\$${column[$m]} / 1024) with linespoints lw 2 dt ${dash[$m]} pt ${point[$m]} lc rgb '${colour[$impl]:-#2ca02c}' title '$impl ${m^^}'")
        done
    done
    gnuplot <<GNUPLOT
set terminal pngcairo size 900,600
set output '$PNG'
set datafile separator ','
set title 'Memory per idle agent (after the idle window), loopback cluster'
set xlabel 'agents in the cluster (N)'
set xtics ($(echo $SIZES | tr ' ' ,))
set ylabel 'MiB per agent'
set yrange [0:*]
set key outside right top
set grid
plot $(IFS=,; echo "${curves[*]}")
GNUPLOT
}
if ! command -v gnuplot >/dev/null 2>&1; then
    plot="no plot: gnuplot is not installed (./setup installs gnuplot-nox)"
else
    data=$(mktemp -d)
    first=${PROFILES%% *}
    for impl in $IMPLS; do grep "^$first,$impl," "$CSV" >"$data/$impl.csv" || true; done
    if plot_memory "$data"; then plot="plot in $PNG"; else plot="gnuplot failed: no plot"; fi
    rm -rf "$data"
fi
printf '\n(idle window %s s; bytes: %s; CSV in %s; %s)\n' "$IDLE" \
    "$([ -n "$COUNTING" ] && echo "nftables counters in a namespace of its own" || echo "not counted (needs root)")" "$CSV" "$plot"
