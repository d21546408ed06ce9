# Fault injection for the end-to-end tests: loss, partitions, pauses and a
# starved agent, on real agents, in a network namespace of the test's own.
# Sourced after lib.sh, never run. A test does:
#
#   . "$here/lib.sh"
#   . "$here/lib_faults.sh"
#   faults_init "$@"         # instead of e2e_init: re-runs the script in a
#                            # private network namespace, then e2e_init
#   fault_group a 1001; start_converged ml n1; ...   # agents of group a
#   fault_group b 1002; start_converged ml n4 -join "$(agent_addr n1)"; ...
#   fault_nogroup
#   fault_loss 10            # drop 10 % of every UDP packet
#   fault_partition          # cut every group from every other one
#   fault_heal; fault_loss_clear
#
# How, and what it cannot do:
# * The namespace: faults_init re-executes the script under `unshare -n`
#   (root only). The test then has a loopback of its own (brought up here):
#   its rules see only its agents' packets, it cannot take a port from
#   another test, and the namespace and every rule in it disappear when
#   the last process in it exits. Nothing is changed outside it.
# * Loss: nftables in a prerouting chain (table inet faults), `numgen
#   random`: a packet is dropped silently on its way in, as a real network
#   does. Never in an output chain: the sender's sendto would fail with
#   EPERM, and memberlist (serf 0.9.4) aborts a probe on a send error
#   instead of suspecting, which tests an error path, not a lossy network.
#   UDP only (TCP would just retransmit). A direction is a pair of port
#   sets: an agent sends its UDP from its gossip port, so `--from` (source
#   port) and the destination port tell sender and receiver apart.
# * Partitions: TCP source ports are ephemeral, so ports alone cannot tell
#   whose a TCP segment is. Agents of a group run under the group's uid
#   (setpriv, through lib.sh's E2E_AGENT_PREFIX), an output chain marks
#   packets by socket owner (mark = uid) and the prerouting chain drops,
#   by mark, UDP and TCP to the gossip ports of the groups cut off (table
#   inet part). Control RPC is not cut (the CLI runs as root). A group's
#   port set is taken when the cut is made: agents started later in it
#   are not cut.
# * Pauses: SIGSTOP/SIGCONT. A starved agent: a SIGSTOP/SIGCONT duty cycle
#   run by a background loop (default 300 ms stopped of every 500 ms).
# * Delay: nftables cannot delay a packet, and this machine's kernel has no
#   sch_netem. fault_delay tries `tc qdisc ... netem` on lo; where that is
#   missing it says so and returns 1, delaying nothing: a test must then
#   skip its delay part. (A starved agent is the nearest thing here: its
#   replies are late by up to the stopped time.)
# Only processes started here are signalled, by PID; the loops are killed
# by lib.sh's cleanup (E2E_EXTRA_PIDS) or its watchdog ($E2E_DIR/pids), and
# a stopped agent gets SIGCONT before SIGKILL there.

declare -A AGENT_GROUP=()       # agent name -> group
declare -A FAULT_GROUP_UID=()   # group -> uid
declare -a FAULT_GROUPS=()      # in declaration order
FAULT_CUR_GROUP=
declare -A FAULT_STARVE_PID=()  # agent name -> duty-cycle loop
declare -A FAULT_LOSS_DESC=()   # rule id -> "10 % to ... from ..."
declare -a FAULT_LOSS_IDS=()
FAULT_LOSS_N=0
FAULT_DELAY_ON=

# faults_init ARGS...: in place of e2e_init ARGS... (same arguments).
faults_init() {
    if [ "${E2E_FAULTS_NETNS:-}" != "$$" ]; then
        local t
        for t in unshare nft ip setpriv; do
            command -v "$t" >/dev/null 2>&1 ||
                { echo "FAIL $E2E_NAME: '$t' is not installed (./setup installs it)" >&2; exit 1; }
        done
        [ "$(id -u)" -eq 0 ] ||
            { echo "FAIL $E2E_NAME: needs root (a network namespace, nftables, other uids)" >&2; exit 1; }
        unshare -n -- true ||
            { echo "FAIL $E2E_NAME: cannot create a network namespace (unshare -n)" >&2; exit 1; }
        # unshare without --fork execs: same PID, so the marker says "this
        # process is already inside", and a child test does not inherit it.
        export E2E_FAULTS_NETNS=$$
        exec unshare -n -- bash "$0" "$@"
    fi
    ip link set lo up || { echo "FAIL $E2E_NAME: cannot bring lo up in the namespace" >&2; exit 1; }
    e2e_init "$@"
    nft -f - <<'EOF' || fail "cannot create the nftables table (is nftables installed?)"
table inet faults {
    chain pre {
        type filter hook prerouting priority -300; policy accept;
    }
}
EOF
    e2e_log "private network namespace (pid $$): loopback only, fault rules in table inet faults"
}

# e2e_launch_hook NAME (called by lib.sh): remember the agent's group.
e2e_launch_hook() {
    if [ -n "$FAULT_CUR_GROUP" ]; then AGENT_GROUP[$1]=$FAULT_CUR_GROUP; else unset "AGENT_GROUP[$1]"; fi
}

# fault_group NAME UID: agents started from now on run as UID:UID (no
# supplementary groups) and belong to group NAME. Checks that UID can run
# the agent binary (it and its scripts must be readable by it).
fault_group() {
    local g=$1 uid=$2 other
    [[ $uid =~ ^[1-9][0-9]*$ ]] || fail "fault_group $g: uid '$uid' is not a positive number"
    for other in "${!FAULT_GROUP_UID[@]}"; do
        [ "$other" = "$g" ] || [ "${FAULT_GROUP_UID[$other]}" != "$uid" ] ||
            fail "fault_group $g: uid $uid is already group $other's"
    done
    local priv=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
    if [ -z "${FAULT_GROUP_UID[$g]:-}" ]; then
        FAULT_GROUPS+=("$g")
        if [ -n "$ML" ]; then
            "${priv[@]}" "$ML" version >/dev/null 2>&1 ||
                fail "uid $uid cannot run $ML (make it and its scripts readable by others)"
        fi
        "${priv[@]}" serf version >/dev/null 2>&1 || fail "uid $uid cannot run serf"
    fi
    FAULT_GROUP_UID[$g]=$uid
    FAULT_CUR_GROUP=$g
    E2E_AGENT_PREFIX=("${priv[@]}")
}

# fault_nogroup: agents started from now on run as root, in no group.
fault_nogroup() {
    FAULT_CUR_GROUP=
    E2E_AGENT_PREFIX=()
}

# fault_members GROUP: the agents of GROUP, one per line.
fault_members() {
    local n
    for n in "${AGENT_ORDER[@]}"; do [ "${AGENT_GROUP[$n]:-}" != "$1" ] || echo "$n"; done
}

# _fault_ports WORD...: an nftables set of gossip ports, "{ p1, p2 }". A
# word is a port number or an agent name (its gossip port).
_fault_ports() {
    local w ports=()
    for w in $*; do
        if [[ $w =~ ^[0-9]+$ ]]; then ports+=("$w")
        elif [ -n "${AGENT_PORT[$w]:-}" ]; then ports+=("${AGENT_PORT[$w]}")
        else fail "fault rules: '$w' is neither a port nor a started agent"
        fi
    done
    [ ${#ports[@]} -gt 0 ] || fail "fault rules: empty port set"
    local IFS=,
    echo "{ ${ports[*]} }"
}

# fault_loss PCT [TO] [--from FROM]: drop PCT % (integer 0-100) of the UDP
# packets to the ports TO from the ports FROM (each a space-separated list
# of ports or agent names; default: any). Both ways between every agent:
# `fault_loss 10`. One way, group a to group b:
# `fault_loss 10 "$(fault_members b)" --from "$(fault_members a)"`.
# Rules add up; each has its counters. Sets REPLY to the rule's id.
fault_loss() {
    local pct=$1 to= from= match
    shift
    [[ $pct =~ ^[0-9]+$ ]] && [ "$pct" -le 100 ] || fail "fault_loss: '$pct' is not a percentage 0-100"
    while [ $# -gt 0 ]; do
        case $1 in
            --from) from=$2; shift 2 ;;
            --to) to=$2; shift 2 ;;
            *) to=$1; shift ;;
        esac
    done
    match="meta l4proto udp"
    [ -z "$to" ] || match="$match udp dport $(_fault_ports "$to")"
    [ -z "$from" ] || match="$match udp sport $(_fault_ports "$from")"
    FAULT_LOSS_N=$((FAULT_LOSS_N + 1))
    local id=loss$FAULT_LOSS_N pick="numgen random mod 100 lt $pct"
    [ "$pct" -lt 100 ] || pick= # numgen's range is 0-99
    nft add rule inet faults pre "$match counter comment \"$id seen\"" &&
        nft add rule inet faults pre "$match $pick counter drop comment \"$id drop\"" ||
        fail "fault_loss: nft refused the rule ($match)"
    FAULT_LOSS_IDS+=("$id")
    # shellcheck disable=SC2086 # word splitting joins the lists on one line
    FAULT_LOSS_DESC[$id]="$pct % of UDP to $(echo ${to:-any}) from $(echo ${from:-any})"
    e2e_log "fault: $id: dropping ${FAULT_LOSS_DESC[$id]}"
    REPLY=$id
}

# fault_loss_counts [ID]: "seen dropped" packet counts of one loss rule, or
# summed over every loss rule in place.
fault_loss_counts() {
    nft -j list chain inet faults pre | jq -r --arg id "${1:-}" '
        [.nftables[] | select(.rule) | .rule
         | {c: (.comment // ""), p: ([.expr[] | select(.counter) | .counter.packets] | add // 0)}
         | select(.c | startswith("loss"))
         | select($id == "" or (.c | split(" ")[0]) == $id)] as $r
        | "\([$r[] | select(.c | endswith(" seen")) | .p] | add // 0) \([$r[] | select(.c | endswith(" drop")) | .p] | add // 0)"'
}

# fault_loss_report: one line per loss rule: what it drops, packets seen
# and dropped, the achieved rate.
fault_loss_report() {
    local id seen dropped
    for id in "${FAULT_LOSS_IDS[@]}"; do
        read -r seen dropped < <(fault_loss_counts "$id")
        e2e_log "fault: $id (${FAULT_LOSS_DESC[$id]}): $seen packets seen, $dropped dropped: $(_fault_rate "$seen" "$dropped") %"
    done
}
_fault_rate() { awk -v s="$1" -v d="$2" 'BEGIN { if (s > 0) printf "%.2f", 100 * d / s; else print "-" }'; }

# fault_loss_clear: report, then remove every loss rule.
fault_loss_clear() {
    [ ${#FAULT_LOSS_IDS[@]} -gt 0 ] || return 0
    fault_loss_report
    nft flush chain inet faults pre || fail "cannot flush the loss rules"
    FAULT_LOSS_IDS=()
    e2e_log "fault: loss rules removed"
}

# fault_cut FROM_GROUP TO_GROUP: drop every packet (UDP and TCP) that an
# agent of FROM_GROUP sends to the gossip port of an agent of TO_GROUP.
# One way; fault_partition cuts both.
fault_cut() {
    local from=$1 to=$2 uid ports
    uid=${FAULT_GROUP_UID[$from]:-}
    [ -n "$uid" ] || fail "fault_cut: no group $from"
    [ -n "${FAULT_GROUP_UID[$to]:-}" ] || fail "fault_cut: no group $to"
    local members
    members=$(fault_members "$to")
    [ -n "$members" ] || fail "fault_cut: group $to has no agents"
    ports=$(_fault_ports "$members")
    nft -f - <<EOF || fail "fault_cut: nft refused the rules"
table inet part {
    chain out {
        type filter hook output priority -300; policy accept;
    }
    chain pre {
        type filter hook prerouting priority -300; policy accept;
    }
}
EOF
    # mark by socket owner, once per uid
    if ! nft list chain inet part out | grep -q "skuid $uid "; then
        nft add rule inet part out "meta skuid $uid meta mark set $uid" || fail "fault_cut: cannot mark uid $uid"
    fi
    nft add rule inet part pre "meta mark $uid udp dport $ports counter drop comment \"$from>$to udp\"" &&
        nft add rule inet part pre "meta mark $uid tcp dport $ports counter drop comment \"$from>$to tcp\"" ||
        fail "fault_cut: nft refused the rules"
    e2e_log "fault: cut $from -> $to (uid $uid to $(tr '\n' ' ' <<<"$members"))"
}

# fault_partition [GROUP...]: cut each of the groups (default: every group
# declared) from each other, both ways.
fault_partition() {
    local gs=("$@") g h
    [ ${#gs[@]} -gt 0 ] || gs=("${FAULT_GROUPS[@]}")
    [ ${#gs[@]} -ge 2 ] || fail "fault_partition: needs two groups at least"
    for g in "${gs[@]}"; do
        for h in "${gs[@]}"; do
            [ "$g" = "$h" ] || fault_cut "$g" "$h"
        done
    done
}

# fault_partition_report: packets dropped by each cut so far.
fault_partition_report() {
    nft -j list chain inet part pre 2>/dev/null | jq -r '
        .nftables[] | select(.rule) | .rule
        | "\(.comment): \([.expr[] | select(.counter) | .counter.packets] | add // 0) packets dropped"' |
        while read -r line; do e2e_log "fault: cut $line"; done
}

# fault_heal: remove every cut (reporting what was dropped).
fault_heal() {
    nft list table inet part >/dev/null 2>&1 || return 0
    fault_partition_report
    nft delete table inet part || fail "fault_heal: cannot delete table inet part"
    e2e_log "fault: healed"
}

# fault_stop NAME / fault_cont NAME: SIGSTOP / SIGCONT the agent.
fault_stop() { agent_signal "$1" STOP; e2e_log "fault: $1 stopped"; }
fault_cont() { agent_signal "$1" CONT; e2e_log "fault: $1 continued"; }

# fault_pause NAME SECONDS: stopped for SECONDS, then continued (blocks).
fault_pause() {
    fault_stop "$1"
    sleep "$2" # the pause is the fault itself
    fault_cont "$1"
}

# fault_starve NAME [STOP_MS [PERIOD_MS]]: in the background, stop the
# agent for STOP_MS (300) of every PERIOD_MS (500) until fault_unstarve or
# the end of the test. The loop ends by itself when the agent is gone.
fault_starve() {
    local name=$1 stop_ms=${2:-300} period_ms=${3:-500} pid
    [ -z "${FAULT_STARVE_PID[$name]:-}" ] || fail "fault_starve: $name is already starved"
    [ "$stop_ms" -gt 0 ] && [ "$stop_ms" -lt "$period_ms" ] || fail "fault_starve: need 0 < STOP_MS < PERIOD_MS"
    pid=$(agent_pid "$name")
    local stop_s run_s
    stop_s=$(awk -v m="$stop_ms" 'BEGIN { printf "%.3f", m / 1000 }')
    run_s=$(awk -v m="$((period_ms - stop_ms))" 'BEGIN { printf "%.3f", m / 1000 }')
    (
        trap - EXIT
        trap 'kill -CONT "$pid" 2>/dev/null; exit 0' TERM
        while kill -STOP "$pid" 2>/dev/null; do
            sleep "$stop_s"
            kill -CONT "$pid" 2>/dev/null || exit 0
            sleep "$run_s"
        done
    ) >/dev/null 2>&1 </dev/null &
    FAULT_STARVE_PID[$name]=$!
    E2E_EXTRA_PIDS+=("$!")
    echo "$!" >>"$E2E_DIR/pids"
    disown "$!"
    e2e_log "fault: $name starved: stopped ${stop_ms} ms of every ${period_ms} ms (loop pid $!)"
}

# fault_unstarve NAME: end the duty cycle; the agent is left running.
fault_unstarve() {
    local name=$1 lp=${FAULT_STARVE_PID[$1]:-}
    [ -n "$lp" ] || return 0
    kill -KILL "$lp" 2>/dev/null || true
    # disowned: not this shell's to wait for; it is gone once kill -0 fails
    wait_until 5 _not_running "$lp" || fail "fault_unstarve: loop $lp of $name does not end"
    kill -CONT "$(agent_pid "$name")" 2>/dev/null || true
    unset "FAULT_STARVE_PID[$name]"
    e2e_log "fault: $name no longer starved"
}

# fault_delay MS [JITTER_MS]: delay every packet on lo by MS, where the
# kernel can (sch_netem; nftables cannot delay). Returns 1, delaying
# nothing, where it cannot: the caller decides whether to skip.
fault_delay() {
    local ms=$1 jitter=${2:-}
    if command -v tc >/dev/null 2>&1 &&
        tc qdisc replace dev lo root netem delay "${ms}ms" ${jitter:+"${jitter}ms"} 2>/dev/null; then
        FAULT_DELAY_ON=1
        e2e_log "fault: every packet on lo delayed ${ms} ms${jitter:+ ± $jitter ms} (netem)"
        return 0
    fi
    e2e_log "fault: delay unavailable: no sch_netem in this kernel, and nftables cannot delay; nothing delayed"
    return 1
}

# fault_undelay: remove the delay, if any.
fault_undelay() {
    [ -n "$FAULT_DELAY_ON" ] || return 0
    tc qdisc del dev lo root 2>/dev/null || true
    FAULT_DELAY_ON=
}

# dead_word NAME: the status an agent of NAME's kind shows for a failed
# member: dead (moonlist) or failed (serf).
dead_word() { if [ "${AGENT_KIND[$1]}" = serf ]; then echo failed; else echo dead; fi; }

# dead_events OBSERVER TARGET: how many times OBSERVER's log says it saw
# TARGET become failed (moonlist: "member leave (dead): T", serf:
# "EventMemberFailed: T"). Unlike polling, this misses no short episode.
dead_events() {
    local pat
    if [ "${AGENT_KIND[$1]}" = serf ]; then
        pat="serf: EventMemberFailed: $2 "
    else
        pat="member leave (dead): $2 "
    fi
    grep -cF -- "$pat" "$(agent_log "$1")" || true
}

# groups_see OBS_GROUP TARGET_GROUP alive|dead: every agent of OBS_GROUP
# reports every agent of TARGET_GROUP alive, or dead in its own words
# (dead_word). The same group twice: each one's view of the others.
groups_see() {
    local og=$1 tg=$2 want=$3 o t w
    local obs tgt
    mapfile -t obs < <(fault_members "$og")
    mapfile -t tgt < <(fault_members "$tg")
    [ ${#obs[@]} -gt 0 ] && [ ${#tgt[@]} -gt 0 ] || return 1
    for o in "${obs[@]}"; do
        agent_running "$o" || continue
        w=$want
        [ "$want" != dead ] || w=$(dead_word "$o")
        for t in "${tgt[@]}"; do
            [ "$o" != "$t" ] || continue
            is_status "$o" "$t" "$w" || return 1
        done
    done
}

# agent_join NAME ADDR...: ask a running agent to join through ADDR (its
# `join` control command).
agent_join() {
    local name=$1
    shift
    if [ "${AGENT_KIND[$name]}" = serf ]; then
        timeout 15 serf join -rpc-addr "$(agent_rpc "$name")" "$@"
    else
        timeout 15 "$ML" join -rpc-addr "$(agent_rpc "$name")" "$@"
    fi
}

# fault_start_halves: six agents in two uid groups, a = n1 n2 n3 (uid 1001)
# and b = n4 n5 n6 (uid 1002), each joined through n1 and converged, ready
# for fault_partition a b; sets names=(n1 .. n6).
fault_start_halves() {
    names=(n1 n2 n3 n4 n5 n6)
    fault_group a 1001
    start_converged ml n1
    start_converged ml n2 -join "$(agent_addr n1)"
    start_converged ml n3 -join "$(agent_addr n1)"
    fault_group b 1002
    start_converged ml n4 -join "$(agent_addr n1)"
    start_converged ml n5 -join "$(agent_addr n1)"
    start_converged ml n6 -join "$(agent_addr n1)"
    fault_nogroup
}
