#!/usr/bin/env bash
# Soak: N moonlist agents for an hour under churn and UDP loss, in a
# network namespace of their own (tests/e2e/lib_faults.sh; root). Watches
# every agent's memory and file descriptors over time, crashes and stuck
# agents. Not a test (ctest does not run it); docs/soak.md tells the story.
#
#   bash bench/soak.sh build/moonlist
#
# The cluster: m1..mN, joined through m1 and converged, then SOAK_LOSS % of
# every UDP packet dropped (both ways, any agent to any agent). Every
# SOAK_CHURN_EVERY seconds one running agent other than m1 (the join
# target, never churned) is picked at random and one of, at random:
#   kill   kill -9, restarted as itself (same name and port) SOAK_DOWN s later
#   pause  SIGSTOP, SIGCONT SOAK_PAUSE s later (below the shortest suspicion)
#   leave  `moonlist leave` (graceful), then restarted as itself at once
# Every SOAK_SETTLE_EVERY seconds, and at the end, churn stops until every
# agent lists all N alive (or SOAK_SETTLE_MAX passes: those agents are
# stuck). Every SOAK_SAMPLE seconds: each agent's RSS (VmRSS, KiB), open
# fds and CPU ticks from /proc, then `members` through its RPC.
#
# Checks (exit 1 if one fails):
#   crashes  an agent that exits without being told to (not kill -9, not
#            the leave): none
#   stuck    an agent whose RPC `members` does not answer within 5 s, one
#            whose `leave` does not end it within 30 s, or one that does not
#            list all N alive within SOAK_SETTLE_MAX of a settle: none
#   growth   every process (a restarted agent is a new one) that
#            lived SOAK_LONG s or more: from its sample at that age to its
#            last, RSS grows by at most SOAK_RSS_GROWTH % and open fds by at
#            most SOAK_FD_GROWTH
# Reported besides: churn events by kind, the loss achieved (nftables
# counters), settle times, the slowest RPC answer, m1's CPU, and false
# deaths: "member leave (dead): T" in any agent's log at a time when T was
# not being churned (from its churn until SOAK_GRACE s after it was back).
#
# Environment:
#   SOAK_SECONDS=3600      churn phase (wall clock, settles included)
#   SOAK_N=20              agents
#   SOAK_LOSS=5            % of UDP dropped, both ways
#   SOAK_CHURN_EVERY=20    seconds between churn events
#   SOAK_SAMPLE=30         seconds between samples
#   SOAK_DOWN=10           a killed agent's time down
#   SOAK_PAUSE=3           a paused agent's time stopped
#   SOAK_SETTLE_EVERY=600  seconds between settles (0: only at the end)
#   SOAK_SETTLE_MAX        default: the longest suspicion for N plus a
#                          push/pull interval and 5 s (66 s for N = 20)
#   SOAK_GRACE             default: the longest suspicion plus 10 s
#   SOAK_LONG=600 SOAK_RSS_GROWTH=20 SOAK_FD_GROWTH=2
#   SOAK_SEED              $RANDOM's seed (default: this shell's PID)
#   SOAK_OUT=soak-out      soak.csv (time_s,agent,pid,rss_kib,fds,cpu),
#                          soak-events.csv, soak-summary.txt, soak.png
#   E2E_KEEP=1 (default here): the agents' logs are kept
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
E2E_NAME=bench-soak
. "$here/../tests/e2e/lib.sh"
. "$here/../tests/e2e/lib_faults.sh"
. "$here/../tests/e2e/lib_ops.sh"
E2E_NAME=bench-soak

SECS=${SOAK_SECONDS:-3600}
N=${SOAK_N:-20}
LOSS=${SOAK_LOSS:-5}
CHURN_EVERY=${SOAK_CHURN_EVERY:-20}
SAMPLE=${SOAK_SAMPLE:-30}
DOWN=${SOAK_DOWN:-10}
PAUSE_S=${SOAK_PAUSE:-3}
SETTLE_EVERY=${SOAK_SETTLE_EVERY:-600}
LONG=${SOAK_LONG:-600}
RSS_GROWTH=${SOAK_RSS_GROWTH:-20}
FD_GROWTH=${SOAK_FD_GROWTH:-2}
OUT=${SOAK_OUT:-soak-out}
SEED=${SOAK_SEED:-$$}
# An hour's logs are what a crash or a stuck agent is diagnosed from.
export E2E_KEEP=${E2E_KEEP-1}

for v in SECS N LOSS CHURN_EVERY SAMPLE DOWN PAUSE_S SETTLE_EVERY LONG RSS_GROWTH FD_GROWTH SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench-soak: $v='${!v}' is not a whole number" >&2; exit 2; }
done
[ "$N" -ge 3 ] || { echo "bench-soak: SOAK_N must be 3 or more" >&2; exit 2; }
if [ "$CHURN_EVERY" -lt 1 ] || [ "$SAMPLE" -lt 1 ]; then echo "bench-soak: periods must be >= 1 s" >&2; exit 2; fi

faults_init "$@"
RANDOM=$SEED

# The bounds, from the lan profile's knobs (§10.4, §13): a dead verdict
# about an agent can come up to one longest suspicion after it is back
# (a suspicion started while it was down), plus gossip; a settle may need
# that much and then one push/pull interval to repair a view gossip missed.
read -r PI SMULT SMAXM _ < <(profile_params lan)
read -r _ SUS_MAX < <(suspicion_bounds "$N" "$SMULT" "$SMAXM" "$PI")
SETTLE_MAX=${SOAK_SETTLE_MAX:-$(awk -v s="$SUS_MAX" -v b="$(converge_bound_s lan)" 'BEGIN { printf "%d", s + b + 0.999 }')}
GRACE=${SOAK_GRACE:-$(awk -v s="$SUS_MAX" 'BEGIN { printf "%d", s + 10 + 0.999 }')}
LEAVE_MAX=30  # a graceful leave ends the process within this

LONG_WORDS="$LONG s"
[ $((LONG % 60)) -ne 0 ] || LONG_WORDS="$((LONG / 60)) min"
mkdir -p "$OUT"
CSV=$OUT/soak.csv
EVENTS=$OUT/soak-events.csv
SUMMARY=$OUT/soak-summary.txt
PNG=$OUT/soak.png
WINDOWS=$E2E_DIR/churn-windows # "name start_iso back_iso end_iso kind"
echo "time_s,agent,pid,rss_kib,fds,cpu" >"$CSV"
echo "time_s,event,agent,pid,detail" >"$EVENTS"
: >"$WINDOWS"

declare -a NAMES=()
declare -A PORT=()       # name -> gossip port (kept across restarts)
declare -A ST=()         # name -> up | down | paused
declare -A DUE=()        # name -> ms at which it is restarted / continued
declare -A WSTART=()     # name -> iso time its current churn began
declare -A WKIND=()      # name -> kind of its current churn
declare -A NCHURN=()     # kind -> events
declare -A SDONE=()      # settle: name -> seconds to converge
CRASHES=0 STUCK=0 RPC_CALLS=0 RPC_MAX_MS=0 SETTLES=0 SETTLE_WORST=0
declare -a PROBLEMS=()

# Integer milliseconds, no fork: the loop runs every second for an hour.
ms_now() { local t=$EPOCHREALTIME; REPLY=$((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
iso_at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%3NZ; } # epoch seconds -> log time
iso_now() { iso_at "$EPOCHREALTIME"; }
since_s() { ms_now; echo $(((REPLY - T0_MS) / 1000)); }

# ev KIND NAME DETAIL: one line of soak-events.csv (and of the log).
ev() {
    local t pid=${AGENT_PID[$2]:-}
    t=$(since_s)
    printf '%s,%s,%s,%s,"%s"\n' "$t" "$1" "$2" "$pid" "${3//\"/\'}" >>"$EVENTS"
    e2e_log "t=${t}s $1 $2${3:+: $3}"
}
problem() { PROBLEMS+=("t=$(since_s)s $*"); }

# gone PID: the process has exited (a zombie counts: it is not reaped yet).
# `read` of /proc, no fork, since it runs for every agent every second.
gone() {
    local _a _b st
    read -r _a _b st _ 2>/dev/null <"/proc/$1/stat" || return 0
    [ "$st" = Z ] || [ "$st" = X ]
}

# window_close NAME: its churn is over (it is back now); dead verdicts
# about it until GRACE s from now are the churn's.
window_close() {
    local t=$EPOCHREALTIME end
    end=$(iso_at "$(awk -v t="$t" -v g="$GRACE" 'BEGIN { printf "%.3f", t + g }')")
    echo "$1 ${WSTART[$1]} $(iso_at "$t") $end ${WKIND[$1]}" >>"$WINDOWS"
    unset "WSTART[$1]" "WKIND[$1]"
}
window_open() { WSTART[$1]=$(iso_now); WKIND[$1]=$2; }

restart() { # NAME
    ml_start_at "$1" "${PORT[$1]}" -join "$(agent_addr m1)"
    ST[$1]=up
    unset "DUE[$1]"
    ev restart "$1" "back as pid ${AGENT_PID[$1]}"
    window_close "$1"
}

check_crashes() {
    local name pid rc
    for name in "${NAMES[@]}"; do
        [ "${ST[$name]}" != down ] || continue
        pid=${AGENT_PID[$name]}
        gone "$pid" || continue
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        CRASHES=$((CRASHES + 1))
        cp "$(agent_log "$name")" "$OUT/crash-$name-$pid.log"
        ev crash "$name" "pid $pid exited with status $rc untold (log in $OUT/crash-$name-$pid.log)"
        problem "crash: $name pid $pid exited with status $rc; last log lines: $(tail -n 3 "$(agent_log "$name")" | tr '\n' '|')"
        [ -n "${WSTART[$name]:-}" ] || window_open "$name" crash
        ST[$name]=down
        ms_now; DUE[$name]=$REPLY
    done
}

run_due() {
    local name
    ms_now
    for name in "${!DUE[@]}"; do
        [ "${DUE[$name]}" -le "$REPLY" ] || continue
        case ${ST[$name]} in
            down) restart "$name" ;;
            paused)
                fault_cont "$name"
                ST[$name]=up
                unset "DUE[$name]"
                ev cont "$name" ""
                window_close "$name" ;;
        esac
        ms_now
    done
}

churn() {
    local cands=() name v kind pid rc KINDS=(kill pause leave)
    for name in "${NAMES[@]:1}"; do [ "${ST[$name]}" != up ] || cands+=("$name"); done
    [ ${#cands[@]} -gt 0 ] || return 0
    v=${cands[RANDOM % ${#cands[@]}]}
    kind=${KINDS[RANDOM % 3]}
    NCHURN[$kind]=$((${NCHURN[$kind]:-0} + 1))
    pid=${AGENT_PID[$v]}
    window_open "$v" "$kind"
    case $kind in
        kill)
            ev kill "$v" "kill -9, back in $DOWN s"
            agent_kill9 "$v"
            ST[$v]=down
            ms_now; DUE[$v]=$((REPLY + DOWN * 1000)) ;;
        pause)
            ev pause "$v" "SIGSTOP for $PAUSE_S s"
            fault_stop "$v"
            ST[$v]=paused
            ms_now; DUE[$v]=$((REPLY + PAUSE_S * 1000)) ;;
        leave)
            ev leave "$v" "moonlist leave"
            rc=0
            timeout 15 "$ML" leave -rpc-addr "$(agent_rpc "$v")" >/dev/null 2>&1 || rc=$?
            [ "$rc" -eq 0 ] || ev leave_cmd "$v" "the leave command exited $rc"
            if ! wait_until "$LEAVE_MAX" gone "$pid"; then
                STUCK=$((STUCK + 1))
                problem "stuck: $v pid $pid still running $LEAVE_MAX s after leave (killed)"
                ev stuck "$v" "still running $LEAVE_MAX s after leave: killed"
                agent_kill9 "$v"
            else
                rc=0
                wait "$pid" 2>/dev/null || rc=$?
                ev left "$v" "exited with status $rc"
                if [ "$rc" -ne 0 ]; then
                    CRASHES=$((CRASHES + 1))
                    problem "crash: $v pid $pid exited with status $rc after leave"
                fi
            fi
            ST[$v]=down
            ms_now; DUE[$v]=$REPLY ;;
    esac
}

sample() {
    local t name pid rss fds cpu rc t1
    t=$(since_s)
    for name in "${NAMES[@]}"; do
        [ "${ST[$name]}" != down ] || continue
        pid=${AGENT_PID[$name]}
        rss=$(rss_kib "$pid" 2>/dev/null) || continue
        fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || continue
        cpu=$(cpu_ticks "$pid" 2>/dev/null) || continue
        if [ -z "$rss" ] || [ -z "$cpu" ]; then continue; fi
        echo "$t,$name,$pid,$rss,$fds,$cpu" >>"$CSV"
    done
    # after /proc, so that our own connection is not among the fds
    for name in "${NAMES[@]}"; do
        [ "${ST[$name]}" = up ] || continue
        ms_now; t1=$REPLY
        rc=0
        members_json "$name" >/dev/null 2>&1 || rc=$?
        ms_now; t1=$((REPLY - t1))
        RPC_CALLS=$((RPC_CALLS + 1))
        [ "$t1" -le "$RPC_MAX_MS" ] || RPC_MAX_MS=$t1
        if [ "$rc" -ne 0 ] && ! gone "${AGENT_PID[$name]}"; then
            STUCK=$((STUCK + 1))
            problem "stuck: $name pid ${AGENT_PID[$name]}: members did not answer (status $rc after $t1 ms)"
            ev stuck "$name" "members: status $rc after $t1 ms"
        fi
    done
}

# Settle: no churn until every pending restart is done and then every
# agent lists all N alive; SETTLE is "" (churning), wait or poll.
SETTLE=
settle_begin() { SETTLE="wait"; ev settle_begin - "churn stopped"; }
settle_step() {
    local name left=0 t
    if [ "$SETTLE" = wait ]; then
        [ ${#DUE[@]} -eq 0 ] || return 0
        SETTLE=poll
        ms_now; SETTLE_T0=$REPLY
        SDONE=()
    fi
    for name in "${NAMES[@]}"; do
        [ -z "${SDONE[$name]:-}" ] || continue
        if all_see_count "$N" alive "$name" >/dev/null 2>&1; then
            ms_now; SDONE[$name]=$(((REPLY - SETTLE_T0) / 100))
        else
            left=$((left + 1))
        fi
    done
    ms_now; t=$(((REPLY - SETTLE_T0) / 100)) # tenths of a second
    if [ "$left" -eq 0 ]; then
        SETTLES=$((SETTLES + 1))
        [ "$t" -le "$SETTLE_WORST" ] || SETTLE_WORST=$t
        ev settled - "all $N list all $N alive after $((t / 10)).$((t % 10)) s"
        SETTLE=
    elif [ "$t" -ge $((SETTLE_MAX * 10)) ]; then
        for name in "${NAMES[@]}"; do
            [ -z "${SDONE[$name]:-}" ] || continue
            STUCK=$((STUCK + 1))
            problem "stuck: $name does not list all $N alive within $SETTLE_MAX s of a settle: $(view_of "$name" 2>&1 | grep -v ' alive$' | tr '\n' ' ')"
            ev stuck "$name" "not all $N alive within $SETTLE_MAX s: $(view_of "$name" 2>&1 | grep -v ' alive$' | tr '\n' ' ')"
        done
        SETTLES=$((SETTLES + 1))
        SETTLE=
    fi
}

# --- the cluster ------------------------------------------------------------
for ((i = 1; i <= N; i++)); do NAMES+=("m$i"); done
ml_start m1
for name in "${NAMES[@]:1}"; do ml_launch "$name" -join "$(agent_addr m1)"; done
expect_within $((N * 2 + 60)) "$N agents see $N alive" all_see_count "$N" alive "${NAMES[@]}"
for name in "${NAMES[@]}"; do PORT[$name]=${AGENT_PORT[$name]}; ST[$name]=up; done
fault_loss "$LOSS"
LOSS_ID=$REPLY

ms_now; T0_MS=$REPLY
T_START_ISO=$(iso_now)
e2e_log "soak: $N agents, $LOSS % loss, churn every $CHURN_EVERY s, sample every $SAMPLE s, settle every $SETTLE_EVERY s (bound $SETTLE_MAX s), $SECS s, seed $SEED, out $OUT"
next_sample=$T0_MS
next_churn=$((T0_MS + CHURN_EVERY * 1000))
next_settle=$((SETTLE_EVERY > 0 ? T0_MS + SETTLE_EVERY * 1000 : T0_MS + (SECS + 1) * 1000))
end_ms=$((T0_MS + SECS * 1000))
final=
while :; do
    check_crashes
    run_due
    ms_now
    if [ "$REPLY" -ge "$next_sample" ]; then
        sample
        next_sample=$((next_sample + SAMPLE * 1000))
    fi
    ms_now
    if [ -z "$final" ] && [ "$REPLY" -ge "$end_ms" ]; then
        final=1
        [ -n "$SETTLE" ] || settle_begin
    elif [ -z "$final" ] && [ -z "$SETTLE" ] && [ "$REPLY" -ge "$next_settle" ]; then
        settle_begin
        next_settle=$((next_settle + SETTLE_EVERY * 1000))
    fi
    if [ -n "$SETTLE" ]; then
        settle_step
        if [ -z "$SETTLE" ]; then
            [ -z "$final" ] || break
            ms_now; next_churn=$((REPLY + CHURN_EVERY * 1000))
        fi
    elif [ "$REPLY" -ge "$next_churn" ]; then
        churn
        next_churn=$((next_churn + CHURN_EVERY * 1000))
    fi
    sleep 1 # the loop's tick: churn and samples are whole seconds apart
done
check_crashes
sample
T_END_ISO=$(iso_now)
RUN_S=$(since_s)
read -r SEEN DROPPED < <(fault_loss_counts "$LOSS_ID")
fault_loss_clear

# --- false deaths, from every agent's logs (restarted ones' included) ----
# Each "member leave (dead): T" line in the run: the churn's if T was in a
# churn window then (or up to GRACE s after), else false; and whether the
# observer itself was down or stopped then (a paused observer's verdicts
# are its own doing).
for f in "$E2E_DIR"/m*.log*; do
    o=$(basename "$f"); o=${o%%.log*}
    { grep -F 'member leave (dead): ' "$f" || true; } |
        awk -v o="$o" '{ for (i = 1; i <= NF; i++) if ($i == "(dead):") print $1, o, $(i + 1) }'
done | sort >"$E2E_DIR/dead-verdicts"
read -r VERDICTS FALSE_V FALSE_V_CALM FALSE_EP < <(awk -v from="$T_START_ISO" -v to="$T_END_ISO" '
    FNR == NR { n[$1]++; s[$1, n[$1]] = $2; b[$1, n[$1]] = $3; e[$1, n[$1]] = $4; next }
    function churned(who, t,   i) {
        for (i = 1; i <= n[who]; i++) if (s[who, i] <= t && t <= e[who, i]) return 1
        return 0
    }
    function out(who, t,   i) {
        for (i = 1; i <= n[who]; i++) if (s[who, i] <= t && t <= b[who, i]) return 1
        return 0
    }
    $1 < from || $1 > to { next }
    { all++
      if (churned($3, $1)) next
      fv++
      if (!out($2, $1)) fvc++
      # one episode per target: verdicts within 60 s of its last one
      split($1, hms, "T"); split(hms[2], x, ":"); sec = x[1] * 3600 + x[2] * 60 + x[3]
      if (!($3 in last) || sec - last[$3] > 60 || sec < last[$3]) ep++
      last[$3] = sec
      print "false death: " $0 > "/dev/stderr" }
    END { printf "%d %d %d %d\n", all, fv, fvc, ep }' "$WINDOWS" "$E2E_DIR/dead-verdicts" 2>"$E2E_DIR/false-deaths")

# --- memory and fds per process -------------------------------------------
# By process: a restarted agent is a new one, told apart by its PID
# changing (not by the PID alone: PIDs wrap, and an hour of CLI calls and
# awks wraps them several times, so one agent's old PID comes back as
# another's). A process that lived LONG s or more is measured from its
# sample at that age (start-up and the first push/pulls are not a leak)
# to its last.
GROWTH=$(awk -F, -v long="$LONG" -v rg="$RSS_GROWTH" -v fg="$FD_GROWTH" '
    NR == 1 { next }
    { if (cur[$2] != $3) { cur[$2] = $3; lives[$2]++ }
      k = $2 "#" lives[$2]; pid[k] = $3
      if (!(k in t0)) { t0[k] = $1; ag[k] = $2; r0[k] = $4; f0[k] = $5; rmax[k] = $4; fmax[k] = $5; c0[k] = $6; order[++np] = k }
      if ($1 - t0[k] >= long && !(k in rl0)) { rl0[k] = $4; fl0[k] = $5 }
      t1[k] = $1; r1[k] = $4; f1[k] = $5; c1[k] = $6
      if ($4 + 0 > rmax[k]) rmax[k] = $4; if ($5 + 0 > fmax[k]) fmax[k] = $5 }
    END {
      printf "%-5s %7s %6s | %9s %9s %9s %9s %7s | %4s %4s %4s %4s %4s | %s\n", "agent", "pid", "min", "rss_first", "rss_at_L", "rss_last", "rss_max", "growth", "fd_f", "fd_L", "fd_l", "fd_m", "fd+", "verdict"
      for (i = 1; i <= np; i++) { k = order[i]
        life = t1[k] - t0[k]; if (life < long) continue
        g = 100 * (r1[k] - rl0[k]) / rl0[k]; fdg = f1[k] - fl0[k]
        bad = (g > rg || fdg > fg); nbad += bad; nlong++
        printf "%-5s %7s %6.1f | %9d %9d %9d %9d %6.1f%% | %4d %4d %4d %4d %+4d | %s\n", ag[k], pid[k], life / 60, r0[k], rl0[k], r1[k], rmax[k], g, f0[k], fl0[k], f1[k], fmax[k], fdg, bad ? "GREW" : "flat"
        if (nlong == 1 || r0[k] < a1) a1 = r0[k]; if (nlong == 1 || r0[k] > b1) b1 = r0[k]
        if (nlong == 1 || r1[k] < a2) a2 = r1[k]; if (nlong == 1 || r1[k] > b2) b2 = r1[k]
        if (nlong == 1 || rmax[k] < a3) a3 = rmax[k]; if (nlong == 1 || rmax[k] > b3) b3 = rmax[k]
        if (nlong == 1 || f1[k] < a4) a4 = f1[k]; if (nlong == 1 || fmax[k] > b4) b4 = fmax[k]
        if (nlong == 1 || f0[k] < a5) a5 = f0[k]; if (nlong == 1 || f0[k] > b5) b5 = f0[k]
        if (nlong == 1 || g > gmax) gmax = g; if (nlong == 1 || fdg > fdmax) fdmax = fdg }
      printf "RANGES %d %d %d-%d %d-%d %d-%d %d-%d %d-%d %.1f %+d\n", np, nlong, a1, b1, a2, b2, a3, b3, a5, b5, a4, b4, gmax, fdmax
      printf "BAD %d\n", nbad }' "$CSV")
read -r _ NPIDS NLONG RSS_FIRST RSS_LAST RSS_MAX FD_FIRST FD_RANGE GROWTH_MAX FD_GROWTH_MAX < <(grep '^RANGES' <<<"$GROWTH")
NBAD=$(awk '/^BAD/ { print $2 }' <<<"$GROWTH")
if [ "$NLONG" -eq 0 ]; then
    RSS_FIRST=- RSS_LAST=- RSS_MAX=- FD_FIRST=- FD_RANGE=- GROWTH_MAX=- FD_GROWTH_MAX=-
fi
# m1 is never churned: its CPU over the run, as % of one core
M1_CPU=$(awk -F, -v hz="$(getconf CLK_TCK)" '$2 == "m1" { if (t0 == "") { t0 = $1; c0 = $6 } t1 = $1; c1 = $6 }
    END { if (t1 > t0) printf "%.2f", 100 * (c1 - c0) / hz / (t1 - t0); else print "-" }' "$CSV")

{
    printf 'moonlist soak: %s agents, %s %% UDP loss both ways, churn every %s s, %s s (seed %s)\n\n' "$N" "$LOSS" "$CHURN_EVERY" "$RUN_S" "$SEED"
    printf '| %-42s | %s |\n' "what" "measured" "------------------------------------------" "--------"
    printf '| %-42s | %s |\n' \
        "agents" "$N (m1 never churned)" \
        "churn events: kill -9 / pause / leave" "${NCHURN[kill]:-0} / ${NCHURN[pause]:-0} / ${NCHURN[leave]:-0}" \
        "processes sampled / lived >= $LONG_WORDS" "$NPIDS / $NLONG" \
        "RSS KiB first (long-lived)" "$RSS_FIRST" \
        "RSS KiB last" "$RSS_LAST" \
        "RSS KiB max" "$RSS_MAX" \
        "RSS growth after $LONG_WORDS, worst" "$GROWTH_MAX % (limit $RSS_GROWTH %)" \
        "open fds first / last..max" "$FD_FIRST / $FD_RANGE" \
        "fd growth after $LONG_WORDS, worst" "$FD_GROWTH_MAX (limit $FD_GROWTH)" \
        "crashes" "$CRASHES" \
        "stuck" "$STUCK" \
        "settles / worst (bound $SETTLE_MAX s)" "$SETTLES / $((SETTLE_WORST / 10)).$((SETTLE_WORST % 10)) s" \
        "members RPC calls / slowest" "$RPC_CALLS / $RPC_MAX_MS ms" \
        "UDP loss achieved" "$(_fault_rate "$SEEN" "$DROPPED") % ($DROPPED of $SEEN packets)" \
        "dead verdicts / false (observer running)" "$VERDICTS / $FALSE_V ($FALSE_V_CALM)" \
        "false-death episodes" "$FALSE_EP" \
        "m1 CPU (% of a core)" "$M1_CPU"
    printf '\nper process that lived %s s or more (growth from its sample at that age to its last):\n' "$LONG"
    grep -v -e '^RANGES' -e '^BAD' <<<"$GROWTH"
    if [ -s "$E2E_DIR/false-deaths" ]; then
        printf '\nfalse deaths (log time, observer, target):\n'
        sed 's/^false death: /  /' "$E2E_DIR/false-deaths"
    fi
    if [ ${#PROBLEMS[@]} -gt 0 ]; then
        printf '\nproblems:\n'
        printf '  %s\n' "${PROBLEMS[@]}"
    fi
    printf '\n(CSV %s, events %s, logs %s)\n' "$CSV" "$EVENTS" "$E2E_DIR"
} | tee "$SUMMARY"

# --- the plot ----------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
    dat=$E2E_DIR/plot.dat
    # one block per agent (gnuplot's index), a blank line between its PIDs
    tail -n +2 "$CSV" | sort -t, -k2,2V -k1,1n | awk -F, '
        { if ($2 != a) { if (a != "") printf "\n\n"; a = $2; p = $3 }
          else if ($3 != p) { printf "\n"; p = $3 }
          printf "%.2f %.3f %d\n", $1 / 60, $4 / 1024, $5 }' >"$dat"
    gnuplot 2> >(grep -v "empty y range" >&2) <<EOF || echo "(gnuplot failed: no PNG)" >&2
set terminal pngcairo size 1200,800 font ",10" noenhanced
set output "$PNG"
set multiplot layout 2,1 title "moonlist soak: $N agents, $LOSS % UDP loss, churn every $CHURN_EVERY s (a break in a line: a restart)"
set key outside right top
set grid
set yrange [0:*]
set autoscale xfixmax
set xlabel "minutes"
set ylabel "RSS (MiB)"
plot for [i=0:$((N - 1))] "$dat" index i using 1:2 with lines lw (i == 0 ? 2.5 : 1) title sprintf("m%d", i + 1)
set ylabel "open fds"
plot for [i=0:$((N - 1))] "$dat" index i using 1:3 with lines lw (i == 0 ? 2.5 : 1) title sprintf("m%d", i + 1)
unset multiplot
EOF
    [ -f "$PNG" ] && echo "(plot in $PNG)"
else
    echo "(no PNG: gnuplot is not installed; apt-get install gnuplot-nox)" >&2
fi

if [ "$CRASHES" -gt 0 ] || [ "$STUCK" -gt 0 ] || [ "$NBAD" -gt 0 ]; then
    printf '\nSOAK FAILED: %s crashes, %s stuck, %s processes grew\n' "$CRASHES" "$STUCK" "$NBAD" >&2
    # the summary above is the report, and the logs are kept: not lib.sh's
    # "unexpected error" and its dump of every log's tail
    E2E_FAILED=1
    exit 1
fi
printf '\nsoak passed: no crash, no stuck agent, memory and fds flat\n'
