#!/usr/bin/env bash
# Fault benchmark: moonlist and serf side by side under loss, pauses, a
# starved agent and a partition, on loopback in a network namespace of its
# own (tests/e2e/lib_faults.sh; root). Prints a table, writes a CSV and,
# with gnuplot, a PNG. Not a test (ctest does not run it).
#
#   bash bench/faults.sh build/moonlist
#
# For each N, one scenario at a time, a fresh moonlist cluster (m1..mN) and
# a fresh serf cluster (s1..sN) run at the same time under the same fault
# (so both see the same machine load). Agents 1..N/2 form group a (uid
# 1001), the others group b (uid 1002). Scenarios:
#   both-P      P % of UDP lost both ways (every packet between any agents)
#   oneway-P    P % of UDP lost from group a to group b only
#   pause       agent 2 stopped PAUSE_S of every PAUSE_PERIOD_S seconds
#               (default 3 of 10: shorter than the minimum suspicion
#               timeout, 4 s for N=10, 5.9 s for N=30)
#   starve      agent 2 stopped STOP_MS of every PERIOD_MS (300 of 500)
#   partition   group a cut from group b (UDP and TCP) for PARTITION_S
# Metrics:
#   false failures  healthy agents declared dead (serf: failed) during the
#                   window, from every agent's log: for each agent, the
#                   most times any one observer saw it become dead (so one
#                   episode counts once however far it spread), summed;
#                   per agent-hour = that / (N * window / 3600)
#   verdicts        every observer's dead transitions about healthy agents
#   detect_s        after the window, kill -9 of agent N with the fault
#                   still on: until every other agent sees it dead
#   loss_pct        the loss achieved, from the nftables counters
#   split_s         partition: until each half sees the other dead
#   heal_s          partition: from the heal until every agent lists all N
#                   alive ("none" if not within BENCH_HEAL_MAX seconds)
#
# Environment (the defaults give the full run: about 2 h 50 min on 2 cores):
#   BENCH_SIZES="10 30"          cluster sizes
#   BENCH_IMPLS="serf moonlist"
#   BENCH_SECONDS=600            false-failure window per scenario
#   BENCH_LOSSES="1 5 10"        loss percentages (0 adds a no-fault row)
#   BENCH_SCENARIOS="both oneway pause starve partition"
#   BENCH_PAUSE="3 10"           PAUSE_S PAUSE_PERIOD_S
#   BENCH_STARVE="300 500"       STOP_MS PERIOD_MS
#   BENCH_PARTITION_SECONDS=60
#   BENCH_HEAL_MAX=120           give up waiting for the heal after this
#   BENCH_DETECT_MAX=120         give up waiting for a detection after this
#   BENCH_CSV=faults-bench.csv   BENCH_PNG=faults-bench.png ("" for none)
# Times come from polling every agent's `members -format json` (both
# implementations the same way): as fine as a polling round, about 0.2 s
# plus one CLI call per agent not yet done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
E2E_NAME=bench-faults
. "$here/../tests/e2e/lib.sh"
. "$here/../tests/e2e/lib_faults.sh"
E2E_NAME=bench-faults

SIZES=${BENCH_SIZES:-10 30}
IMPLS=${BENCH_IMPLS:-serf moonlist}
WINDOW=${BENCH_SECONDS:-600}
LOSSES=${BENCH_LOSSES:-1 5 10}
SCENARIOS=${BENCH_SCENARIOS:-both oneway pause starve partition}
read -r PAUSE_S PAUSE_PERIOD_S <<<"${BENCH_PAUSE:-3 10}"
read -r STARVE_MS STARVE_PERIOD_MS <<<"${BENCH_STARVE:-300 500}"
PARTITION_S=${BENCH_PARTITION_SECONDS:-60}
HEAL_MAX=${BENCH_HEAL_MAX:-120}
DETECT_MAX=${BENCH_DETECT_MAX:-120}
CSV=${BENCH_CSV:-faults-bench.csv}
PNG=${BENCH_PNG-faults-bench.png}
E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-info}
E2E_SERF_LOG_LEVEL=${E2E_SERF_LOG_LEVEL:-info}
# Paths the user gave are relative to where they ran this; faults_init
# re-runs the script in the same directory, so they stay right.
case " $IMPLS " in
    *" moonlist "*) E2E_IMPL=moonlist faults_init "$@" ;;
    *) E2E_IMPL=serf faults_init "$@" ;;
esac
E2E_IMPL=moonlist

scenario_list=()
for s in $SCENARIOS; do
    case $s in
        both | oneway) for p in $LOSSES; do scenario_list+=("$s-$p"); done ;;
        pause | starve | partition) scenario_list+=("$s") ;;
        *) fail "unknown scenario $s (BENCH_SCENARIOS)" ;;
    esac
done

declare -A R=()       # R[impl,n,scenario,metric]
declare -A NAMES=()   # NAMES[impl] = "m1 m2 ..."
declare -A DONE_AT=() # poll_all's results: name -> seconds

ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }
prefix_of() { if [ "$1" = serf ]; then echo s; else echo m; fi; }

# members_of IMPL [a|b]: the names of that cluster, or of one half.
members_of() {
    local impl=$1 half=${2:-} n=$CUR_N p i
    p=$(prefix_of "$impl")
    for ((i = 1; i <= n; i++)); do
        case $half in
            a) [ "$i" -le $((n / 2)) ] || continue ;;
            b) [ "$i" -gt $((n / 2)) ] || continue ;;
        esac
        echo "$p$i"
    done
}

# sees_as OBSERVER alive|dead TARGET...: one members call; every TARGET
# has that status (dead in the observer's words).
sees_as() {
    local o=$1 want=$2 js
    shift 2
    [ "$want" != dead ] || want=$(dead_word "$o")
    js=$(members_json "$o") || return 1
    jq -e --arg s "$want" '[.members[] | {key: .name, value: .status}] | from_entries as $m
        | all($ARGS.positional[]; $m[.] == $s)' --args "$@" <<<"$js" >/dev/null
}
# converged NAME: lists exactly CUR_N members, all alive.
converged() {
    local js
    js=$(members_json "$1") || return 1
    jq -e --argjson n "$CUR_N" '(.members | length) == $n and all(.members[]; .status == "alive")' <<<"$js" >/dev/null
}

# poll_all T0 MAX CHECK NAME...: run CHECK NAME for every NAME not done
# yet, about every 0.2 s, until all are done or MAX seconds after T0; sets
# DONE_AT[NAME] to the seconds after T0 at which its check first passed.
poll_all() {
    local t0=$1 max=$2 check=$3 name left
    shift 3
    for name in "$@"; do unset "DONE_AT[$name]"; done
    while :; do
        left=0
        for name in "$@"; do
            [ -z "${DONE_AT[$name]:-}" ] || continue
            # shellcheck disable=SC2086 # CHECK may carry its arguments
            if $check "$name"; then DONE_AT[$name]=$(elapsed "$t0"); else left=$((left + 1)); fi
        done
        [ "$left" -gt 0 ] || return 0
        fle "$max" "$(elapsed "$t0")" && return 1
        sleep 0.2
    done
}
# slowest NAME...: the largest DONE_AT, or "none" if one is missing.
slowest() {
    local name t=0
    for name in "$@"; do
        [ -n "${DONE_AT[$name]:-}" ] || { echo none; return; }
        t=$(awk -v a="$t" -v b="${DONE_AT[$name]}" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "$t"
}

# start_clusters N: both clusters, groups a and b, all converged.
start_clusters() {
    local n=$1 impl p i all=() name names
    CUR_N=$n
    for impl in $IMPLS; do
        p=$(prefix_of "$impl")
        fault_group a 1001
        if [ "$impl" = serf ]; then serf_start "${p}1"; else ml_start "${p}1"; fi
        for ((i = 2; i <= n; i++)); do
            [ "$i" -le $((n / 2)) ] || fault_group b 1002
            if [ "$impl" = serf ]; then serf_launch "$p$i" -join "$(agent_addr "${p}1")"
            else ml_launch "$p$i" -join "$(agent_addr "${p}1")"; fi
        done
        fault_nogroup
        mapfile -t names < <(members_of "$impl")
        NAMES[$impl]="${names[*]}"
        all+=("${names[@]}")
    done
    local t0
    t0=$(now)
    poll_all "$t0" $((n * 2 + 60)) converged "${all[@]}" ||
        fail "N=$n: not every agent converged in $((n * 2 + 60)) s"
    for name in "${all[@]}"; do
        agent_running "$name" || fail "agent $name died at start-up (see its log)"
    done
    e2e_log "N=$n: $IMPLS clusters converged in $(elapsed "$t0") s"
}

stop_clusters() {
    local dir=$1 impl name
    for impl in $IMPLS; do
        for name in ${NAMES[$impl]}; do fault_unstarve "$name"; done
    done
    fault_loss_clear
    fault_heal
    e2e_kill_all
    mkdir -p "$E2E_DIR/$dir"
    mv "$E2E_DIR"/*.log "$E2E_DIR/$dir/" 2>/dev/null || true
}

# count_false IMPL N SCENARIO: false failures of the window, from the logs.
count_false() {
    local impl=$1 n=$2 sc=$3 t o c most total=0 verdicts=0
    local names
    read -ra names <<<"${NAMES[$impl]}"
    for t in "${names[@]}"; do
        most=0
        for o in "${names[@]}"; do
            [ "$o" != "$t" ] || continue
            c=$(dead_events "$o" "$t")
            verdicts=$((verdicts + c))
            [ "$c" -le "$most" ] || most=$c
        done
        total=$((total + most))
    done
    R[$impl,$n,$sc,ff]=$total
    R[$impl,$n,$sc,verdicts]=$verdicts
    R[$impl,$n,$sc,ah]=$(awk -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.3f", n * w / 3600 }')
    R[$impl,$n,$sc,ffh]=$(awk -v f="$total" -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.2f", f / (n * w / 3600) }')
}

# detect N SCENARIO: kill -9 agent N of every cluster at once; until each
# other agent sees it dead.
detect() {
    local n=$1 sc=$2 impl p obs=() all=() t0
    declare -A victim_of=()
    for impl in $IMPLS; do
        p=$(prefix_of "$impl")
        victim_of[$impl]=$p$n
        agent_kill9 "$p$n"
    done
    t0=$(now)
    sees_victim_dead() { local p=${1:0:1}; sees_as "$1" dead "$p$CUR_N"; }
    for impl in $IMPLS; do
        mapfile -t obs < <(members_of "$impl" | grep -vx "${victim_of[$impl]}")
        all+=("${obs[@]}")
    done
    poll_all "$t0" "$DETECT_MAX" sees_victim_dead "${all[@]}" || true
    for impl in $IMPLS; do
        mapfile -t obs < <(members_of "$impl" | grep -vx "${victim_of[$impl]}")
        R[$impl,$n,$sc,detect]=$(slowest "${obs[@]}")
    done
}

run_window_scenario() { # N SCENARIO
    local n=$1 sc=$2 impl pct name seen dropped
    start_clusters "$n"
    declare -A loss_id=()
    for impl in $IMPLS; do
        local p
        p=$(prefix_of "$impl")
        case $sc in
            both-*)
                pct=${sc#both-}
                fault_loss "$pct" "${NAMES[$impl]}"
                loss_id[$impl]=$REPLY ;;
            oneway-*)
                pct=${sc#oneway-}
                fault_loss "$pct" "$(members_of "$impl" b)" --from "$(members_of "$impl" a)"
                loss_id[$impl]=$REPLY ;;
            pause) fault_starve "${p}2" "$(ms "$PAUSE_S")" "$(ms "$PAUSE_PERIOD_S")" ;;
            starve) fault_starve "${p}2" "$STARVE_MS" "$STARVE_PERIOD_MS" ;;
        esac
    done
    e2e_log "N=$n $sc: window of $WINDOW s"
    sleep "$WINDOW" # the measured window, not an assertion
    for impl in $IMPLS; do
        for name in ${NAMES[$impl]}; do
            agent_running "$name" || fail "N=$n $sc: $impl agent $name died during the window (see its log)"
        done
        count_false "$impl" "$n" "$sc"
    done
    detect "$n" "$sc"
    for impl in $IMPLS; do
        if [ -n "${loss_id[$impl]:-}" ]; then
            read -r seen dropped < <(fault_loss_counts "${loss_id[$impl]}")
            R[$impl,$n,$sc,loss]=$(_fault_rate "$seen" "$dropped")
        fi
        e2e_log "N=$n $sc $impl: false failures ${R[$impl,$n,$sc,ff]} (${R[$impl,$n,$sc,ffh]}/agent-h, ${R[$impl,$n,$sc,verdicts]} verdicts), detect ${R[$impl,$n,$sc,detect]} s, loss ${R[$impl,$n,$sc,loss]:--} %"
    done
    stop_clusters "N$n-$sc"
}

run_partition() { # N
    local n=$1 impl all=() t0 names
    start_clusters "$n"
    # sees_other_half NAME: every agent of the other half of its cluster dead
    sees_other_half() {
        local o=$1 p=${1:0:1} i targets=()
        for ((i = 1; i <= CUR_N; i++)); do
            if [ "${o:1}" -le $((CUR_N / 2)) ]; then [ "$i" -gt $((CUR_N / 2)) ] || continue
            else [ "$i" -le $((CUR_N / 2)) ] || continue; fi
            targets+=("$p$i")
        done
        sees_as "$o" dead "${targets[@]}"
    }
    for impl in $IMPLS; do read -ra names <<<"${NAMES[$impl]}"; all+=("${names[@]}"); done
    fault_partition a b
    t0=$(now)
    poll_all "$t0" "$PARTITION_S" sees_other_half "${all[@]}" || true
    for impl in $IMPLS; do
        # shellcheck disable=SC2086
        R[$impl,$n,partition,split]=$(slowest ${NAMES[$impl]})
    done
    local rest
    rest=$(awk -v p="$PARTITION_S" -v e="$(elapsed "$t0")" 'BEGIN { d = p - e; printf "%.3f", (d > 0) ? d : 0 }')
    sleep "$rest" # the rest of the partition
    fault_heal
    t0=$(now)
    poll_all "$t0" "$HEAL_MAX" converged "${all[@]}" || true
    for impl in $IMPLS; do
        # shellcheck disable=SC2086
        R[$impl,$n,partition,heal]=$(slowest ${NAMES[$impl]})
        e2e_log "N=$n partition $impl: split seen ${R[$impl,$n,partition,split]} s, healed ${R[$impl,$n,partition,heal]} s after the heal"
    done
    stop_clusters "N$n-partition"
}

t_all=$(now)
for n in $SIZES; do
    [ "$n" -ge 4 ] || fail "BENCH_SIZES: N must be 4 or more"
    for sc in "${scenario_list[@]}"; do
        if [ "$sc" = partition ]; then run_partition "$n"; else run_window_scenario "$n" "$sc"; fi
    done
done
total_s=$(elapsed "$t_all")

v() { local x=${R[$1]:-}; echo "${x:--}"; }
cv() { echo "${R[$1]:-}"; }
{
    echo "impl,n,scenario,window_s,agent_hours,false_failures,false_per_agent_hour,verdicts,detect_s,loss_pct,split_s,heal_s"
    for n in $SIZES; do
        for sc in "${scenario_list[@]}"; do
            for impl in $IMPLS; do
                k=$impl,$n,$sc
                if [ "$sc" = partition ]; then
                    echo "$impl,$n,$sc,$PARTITION_S,,,,,,,$(cv "$k,split"),$(cv "$k,heal")"
                else
                    echo "$impl,$n,$sc,$WINDOW,$(cv "$k,ah"),$(cv "$k,ff"),$(cv "$k,ffh"),$(cv "$k,verdicts"),$(cv "$k,detect"),$(cv "$k,loss"),,"
                fi
            done
        done
    done
} >"$CSV"

printf '\n%-9s %3s %-11s %8s %6s %9s %8s %8s %7s %7s %7s\n' impl N scenario agent_h false false/ah verdicts detect_s loss_% split_s heal_s
for n in $SIZES; do
    for sc in "${scenario_list[@]}"; do
        for impl in $IMPLS; do
            k=$impl,$n,$sc
            printf '%-9s %3s %-11s %8s %6s %9s %8s %8s %7s %7s %7s\n' "$impl" "$n" "$sc" \
                "$(v "$k,ah")" "$(v "$k,ff")" "$(v "$k,ffh")" "$(v "$k,verdicts")" "$(v "$k,detect")" \
                "$(v "$k,loss")" "$(v "$k,split")" "$(v "$k,heal")"
        done
    done
done
printf '\n(window %s s per scenario, partition %s s, heal given up after %s s; run took %s s; CSV in %s)\n' \
    "$WINDOW" "$PARTITION_S" "$HEAL_MAX" "$total_s" "$CSV"

# --- the plot ----------------------------------------------------------------
[ -n "$PNG" ] || exit 0
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "(no PNG: gnuplot is not installed; apt-get install gnuplot-nox)" >&2
    exit 0
fi
dat=$E2E_DIR/plot.dat
part=$E2E_DIR/partition.dat
nan() { sed 's/^none$/NaN/; s/^-$/NaN/'; }
series=()
for n in $SIZES; do for impl in $IMPLS; do series+=("$impl,$n"); done; done
window_scs=()
for sc in "${scenario_list[@]}"; do [ "$sc" = partition ] || window_scs+=("$sc"); done
{
    printf 'scenario'
    for s in "${series[@]}"; do printf '\t%s N=%s\t%s N=%s' "${s%,*}" "${s#*,}" "${s%,*}" "${s#*,}"; done
    printf '\n'
    for sc in "${window_scs[@]}"; do
        printf '%s' "$sc"
        for s in "${series[@]}"; do
            printf '\t%s\t%s' "$(v "$s,$sc,ffh" | nan)" "$(v "$s,$sc,detect" | nan)"
        done
        printf '\n'
    done
} >"$dat"
# partition: one row per series: x, name, split, heal (the cap if not
# healed), a label
i=0
for s in "${series[@]}"; do
    h=$(v "$s,partition,heal")
    label=.
    case $h in none) h=$HEAL_MAX label="not healed" ;; -) h=NaN ;; esac
    printf '%s\t%s N=%s\t%s\t%s\t%s\n' "$i" "${s%,*}" "${s#*,}" "$(v "$s,partition,split" | nan)" "$h" "$label"
    i=$((i + 1))
done >"$part"
ns=${#series[@]}
has_partition=
[[ " ${scenario_list[*]} " == *" partition "* ]] && has_partition=1
rows=0
[ ${#window_scs[@]} -eq 0 ] || rows=2
[ -z "$has_partition" ] || rows=$((rows + 1))
{
    cat <<EOF
set terminal pngcairo size 1400,$((rows * 420)) font ",10" noenhanced
set output "$PNG"
set datafile missing "NaN"
set datafile separator "\t"
set style fill solid 0.8 border -1
set key outside right top
set grid ytics
set yrange [0:*]
set multiplot layout $rows,1 title "moonlist vs serf 0.9.4 under faults (window $WINDOW s per scenario)"
EOF
    if [ ${#window_scs[@]} -gt 0 ]; then
        cat <<EOF
set style data histograms
set style histogram clustered gap 1
set xtics rotate by -30
set title "false failures per agent-hour (healthy agents declared dead)"
set ylabel "per agent-hour"
plot for [i=0:$((ns - 1))] "$dat" using (column(2 + 2*i)):xtic(1) title columnhead(2 + 2*i)
set title "detection of a kill -9 under the same fault: until every other agent sees it dead"
set ylabel "seconds"
plot for [i=0:$((ns - 1))] "$dat" using (column(3 + 2*i)):xtic(1) title columnhead(3 + 2*i)
EOF
    fi
    if [ -n "$has_partition" ]; then
        cat <<EOF
set style data boxes
set boxwidth 0.35
set xtics norotate
set xrange [-0.6:$ns - 0.4]
set title "partition of $PARTITION_S s, half against half: split seen, then healed after the heal (given up at $HEAL_MAX s)"
set ylabel "seconds"
plot "$part" using (\$1 - 0.2):3:xtic(2) title "split seen (s)", \\
     "$part" using (\$1 + 0.2):4 title "healed (s)", \\
     "$part" using (\$1 + 0.2):(\$4 / 2):(stringcolumn(5) eq "." ? "" : stringcolumn(5)) with labels notitle
EOF
    fi
    echo "unset multiplot"
} | gnuplot 2> >(grep -v "empty y range" >&2) || echo "(gnuplot failed: no PNG)" >&2
[ -f "$PNG" ] && echo "(plot in $PNG)"
