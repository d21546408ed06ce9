#!/usr/bin/env bash
# Cluster benchmark on loopback: moonlist against serf, same machine, same
# run. Prints a table and writes a CSV. Not a test (ctest does not run it).
#
#   bash bench/cluster.sh build/moonlist
#
# For each N and each implementation: start a seed, then N-1 agents that
# join it all at once, and measure
#   converge_s   from the launch of the N-1 joiners until every agent lists
#                N members alive
#   detect_s     from kill -9 of one agent until every other agent lists it
#                dead (moonlist) / failed (serf)
#   rss_kib      VmRSS per agent, averaged, after convergence
#   pss_kib      Pss per agent (smaps_rollup), same moment: shared pages
#                divided among the processes mapping them (this cluster's
#                agents, and whatever else on the machine maps the same
#                libraries)
#   uss_kib      Private_Clean + Private_Dirty per agent (smaps_rollup):
#                what stopping one agent would free
#   cpu_s_min    CPU seconds (utime+stime) per agent per minute, over an
#                idle window after convergence, scaled to one minute
#
# Environment:
#   BENCH_SIZES="5 20 50"      cluster sizes (up to 100: "5 20 50 100")
#   BENCH_IMPLS="serf moonlist"
#   BENCH_IDLE_SECONDS=60      length of the idle window
#   BENCH_CSV=cluster-bench.csv
#   BENCH_PNG=cluster-bench.png  RSS, PSS and USS per agent against N, both
#                              implementations (gnuplot; skipped, with a
#                              note, if gnuplot is not installed)
# Times are found by polling every agent's `members -format json`, so their
# resolution is a polling round: about 0.2 s plus N CLI calls at first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
E2E_NAME=bench-cluster
. "$here/../tests/e2e/lib.sh"
E2E_NAME=bench-cluster

SIZES=${BENCH_SIZES:-5 20 50}
IMPLS=${BENCH_IMPLS:-serf moonlist}
IDLE=${BENCH_IDLE_SECONDS:-60}
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

declare -A R=() # R[impl,n,metric]

# rollup_kib PID: "PSS USS" in KiB, from /proc/PID/smaps_rollup.
rollup_kib() {
    awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { print p, u }' "/proc/$1/smaps_rollup"
}

# converged NAME N: NAME lists exactly N members, all alive.
converged() {
    local js
    js=$(members_json "$1") || return 1
    jq -e --argjson n "$2" '(.members | length) == $n and all(.members[]; .status == "alive")' <<<"$js" >/dev/null
}

run_one() { # run_one IMPL N
    local impl=$1 n=$2 i names=() t0 name
    E2E_IMPL=$impl
    e2e_log "== $impl, N=$n"
    ml_start a1
    names=(a1)
    for i in $(seq 2 "$n"); do names+=("a$i"); done
    local seed
    seed=$(agent_addr a1)
    t0=$(now)
    for name in "${names[@]:1}"; do ml_launch "$name" -join "$seed"; done

    # Poll the agents that have not converged yet, until all have.
    local -A conv=()
    local deadline=$((n * 2 + 60)) left t
    while :; do
        left=0
        for name in "${names[@]}"; do
            [ -z "${conv[$name]:-}" ] || continue
            agent_running "$name" || fail "$impl agent $name died while joining (see $name.log)"
            if converged "$name" "$n"; then conv[$name]=$(elapsed "$t0"); else left=$((left + 1)); fi
        done
        [ "$left" -gt 0 ] || break
        fle "$deadline" "$(elapsed "$t0")" && fail "$impl N=$n: $left agents not converged after ${deadline} s"
        sleep 0.2
    done
    # The slowest agent's time; a converged agent is not polled again.
    R[$impl,$n,converge]=$(printf '%s\n' "${conv[@]}" | sort -g | tail -n 1)
    # Everyone must still agree now (no flapping hidden by the skip above).
    for name in "${names[@]}"; do
        wait_until 10 converged "$name" "$n" || fail "$impl N=$n: $name lost convergence"
    done

    # Memory and idle CPU.
    local rss_sum=0 pss_sum=0 uss_sum=0 pid pss uss
    for name in "${names[@]}"; do
        pid=$(agent_pid "$name")
        rss_sum=$((rss_sum + $(rss_kib "$pid")))
        read -r pss uss < <(rollup_kib "$pid")
        pss_sum=$((pss_sum + pss))
        uss_sum=$((uss_sum + uss))
    done
    R[$impl,$n,rss]=$((rss_sum / n))
    R[$impl,$n,pss]=$((pss_sum / n))
    R[$impl,$n,uss]=$((uss_sum / n))
    local -A c0=()
    for name in "${names[@]}"; do c0[$name]=$(cpu_ticks "$(agent_pid "$name")"); done
    local w0
    w0=$(now)
    sleep "$IDLE" # the measured idle window, not an assertion
    local win ticks=0
    win=$(elapsed "$w0")
    for name in "${names[@]}"; do
        ticks=$((ticks + $(cpu_ticks "$(agent_pid "$name")") - ${c0[$name]}))
    done
    R[$impl,$n,cpu]=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$n" -v w="$win" \
        'BEGIN { printf "%.3f", t / hz / n / w * 60 }')

    # Failure detection: kill -9 the last agent.
    local victim=${names[$((n - 1))]} dead=dead
    [ "$impl" = serf ] && dead=failed
    agent_kill9 "$victim"
    t0=$(now)
    local -A seen=()
    while :; do
        left=0
        for name in "${names[@]}"; do
            [ "$name" != "$victim" ] || continue
            [ -z "${seen[$name]:-}" ] || continue
            if is_status "$name" "$victim" "$dead"; then seen[$name]=$(elapsed "$t0"); else left=$((left + 1)); fi
        done
        [ "$left" -gt 0 ] || break
        # 120 s, and a second more per agent: at N = 100 the victim's
        # probe comes later and the suspicion timeout (log N) is longer
        fle $((120 + n)) "$(elapsed "$t0")" && fail "$impl N=$n: $left agents do not see $victim $dead after $((120 + n)) s"
        sleep 0.2
    done
    R[$impl,$n,detect]=$(printf '%s\n' "${seen[@]}" | sort -g | tail -n 1)
    e2e_log "$impl N=$n: converge ${R[$impl,$n,converge]} s, detect ${R[$impl,$n,detect]} s, rss ${R[$impl,$n,rss]} KiB, pss ${R[$impl,$n,pss]} KiB, uss ${R[$impl,$n,uss]} KiB, cpu ${R[$impl,$n,cpu]} s/min"
    e2e_kill_all
}

for n in $SIZES; do
    for impl in $IMPLS; do run_one "$impl" "$n"; done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
    echo "impl,n,converge_s,detect_s,rss_kib,pss_kib,uss_kib,cpu_s_per_agent_min,idle_window_s"
    for n in $SIZES; do
        for impl in $IMPLS; do
            echo "$impl,$n,${R[$impl,$n,converge]},${R[$impl,$n,detect]},${R[$impl,$n,rss]},${R[$impl,$n,pss]},${R[$impl,$n,uss]},${R[$impl,$n,cpu]},$IDLE"
        done
    done
} >"$CSV"

row='%-9s %4s %11s %10s %9s %9s %9s %16s\n'
printf "\n$row" impl N converge_s detect_s rss_KiB pss_KiB uss_KiB cpu_s/agent/min
for n in $SIZES; do
    for impl in $IMPLS; do
        printf "$row" "$impl" "$n" "${R[$impl,$n,converge]}" "${R[$impl,$n,detect]}" \
            "${R[$impl,$n,rss]}" "${R[$impl,$n,pss]}" "${R[$impl,$n,uss]}" "${R[$impl,$n,cpu]}"
    done
    if [[ " $IMPLS " == *" moonlist "* && " $IMPLS " == *" serf "* ]]; then
        printf "$row" "ml/serf" "$n" \
            "$(ratio "${R[moonlist,$n,converge]}" "${R[serf,$n,converge]}")" \
            "$(ratio "${R[moonlist,$n,detect]}" "${R[serf,$n,detect]}")" \
            "$(ratio "${R[moonlist,$n,rss]}" "${R[serf,$n,rss]}")" \
            "$(ratio "${R[moonlist,$n,pss]}" "${R[serf,$n,pss]}")" \
            "$(ratio "${R[moonlist,$n,uss]}" "${R[serf,$n,uss]}")" \
            "$(ratio "${R[moonlist,$n,cpu]}" "${R[serf,$n,cpu]}")"
    fi
done

# The plot, from the CSV: memory per agent against N, one line per
# implementation (colour) and measure (dash).
plot_memory() { # plot_memory DIR: DIR/IMPL.csv, that implementation's rows
    local dir=$1 impl m curves=()
    local -A colour=([moonlist]='#1f77b4' [serf]='#d62728') dash=([rss]=1 [pss]=2 [uss]=3) column=([rss]=5 [pss]=6 [uss]=7) point=([rss]=7 [pss]=5 [uss]=9)
    for impl in $IMPLS; do
        for m in rss pss uss; do
            curves+=("'$dir/$impl.csv' using 2:(\$${column[$m]} / 1024) with linespoints lw 2 dt ${dash[$m]} pt ${point[$m]} lc rgb '${colour[$impl]:-#2ca02c}' title '$impl ${m^^}'")
        done
    done
    gnuplot <<GNUPLOT
set terminal pngcairo size 900,600
set output '$PNG'
set datafile separator ','
set title 'Memory per agent after convergence, loopback cluster'
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
    for impl in $IMPLS; do grep "^$impl," "$CSV" >"$data/$impl.csv" || true; done
    if plot_memory "$data"; then plot="plot in $PNG"; else plot="gnuplot failed: no plot"; fi
    rm -rf "$data"
fi
printf '\n(idle window %s s; CSV in %s; %s)\n' "$IDLE" "$CSV" "$plot"
