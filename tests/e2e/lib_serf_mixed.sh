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

    mixed_start_six "${common[@]}"

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
    # serf's leave intent before the memberlist leave (§16). Checked in
    # serf's view: serf's status on a serf agent, serf_status on a moonlist
    # one (what `serf members` shows there). Usually within a second or two,
    # both messages reaching everyone by gossip. But an observer gets only
    # about 4 copies of each (every holder sends it 4 times to random
    # others: 0 copies for about 1 observer in 100, serf's as often as
    # moonlist's; counted on 2026-12-02 over 40 runs of the --no-kill
    # variant: copies per observer 0 to 8, mean 4). Then serf repairs it,
    # and so must moonlist:
    #   - the memberlist leave missed, the intent got: the observer holds m2
    #     "leaving", probes it, suspects it and at the suspicion timeout
    #     turns it "left" (serf's handleNodeLeave: leaving -> left): the
    #     dead bound ($bound s);
    #   - the intent missed: the observer shows m2 "failed" until a
    #     push/pull brings m2 in LeftMembers ("EventMemberLeave (forced)"):
    #     the next periodic push/pull, up to two intervals after the
    #     agents' start (MIXED_CONVERGE_S; 31 s measured twice in 40 runs).
    # The bound is the larger; a leave slower than 10 s is logged.
    local leave_bound=$bound
    fle "$MIXED_CONVERGE_S" "$bound" || leave_bound=$MIXED_CONVERGE_S
    agent_signal m2 "$ml_leave"
    agent_wait_exit m2 15
    [ "$AGENT_RC" -eq 0 ] || fail "m2 exited with status $AGENT_RC after SIG$ml_leave (want 0)"
    gone+=(m2)
    local rest=(s1 s2 m1) t_leave
    [ -z "$no_kill" ] && rest=(s1 s2 m1) || rest=(s1 s2 s3 m1 m3)
    t_leave=$(now)
    expect_within "$leave_bound" "m2 seen as left (serf's view) by ${rest[*]}" mixed_all_see_serf m2 left "${rest[@]}"
    fle "$(elapsed "$t_leave")" 10 ||
        e2e_log "note: the leave took over 10 s to be seen everywhere (an observer missed a message: see above)"
    for o in "${rest[@]}"; do
        all_see "$o" alive "${rest[@]}" || { e2e_views >&2; fail "$o not alive everywhere at the end"; }
    done
}

# ---- the six-agent cluster, with serf's user events and queries ----------
# Added for the serf-peer tests (serf_mixed_events.sh, serf_mixed_query.sh,
# serf_mixed_keys.sh, serf_mixed_conflict.sh).

# mixed_start_six [--hooks] [agent flags for every agent...]: s1 m1 s2 m2 s3
# m3 started one after another, each joining through an agent of the other
# kind where it can, each waited for until everyone sees everyone alive.
# Tags: kind=serf|moonlist, idx=1..3. With --hooks every agent also
# records the user events and queries it gets (mixed_hooks_init first).
mixed_start_six() {
    local hooks=
    if [ "${1:-}" = --hooks ]; then hooks=1; shift; fi
    local common=("$@")
    _mixed_start serf s1 "$hooks" "${common[@]}" -tag kind=serf -tag idx=1
    _mixed_start ml m1 "$hooks" "${common[@]}" -tag kind=moonlist -tag idx=1 -join "$(agent_addr s1)"
    _mixed_start serf s2 "$hooks" "${common[@]}" -tag kind=serf -tag idx=2 -join "$(agent_addr m1)"
    _mixed_start ml m2 "$hooks" "${common[@]}" -tag kind=moonlist -tag idx=2 -join "$(agent_addr s2)"
    _mixed_start serf s3 "$hooks" "${common[@]}" -tag kind=serf -tag idx=3 -join "$(agent_addr s1)"
    _mixed_start ml m3 "$hooks" "${common[@]}" -tag kind=moonlist -tag idx=3 -join "$(agent_addr m2)"
}
MIXED_ALL=(s1 m1 s2 m2 s3 m3)

# MIXED_CONVERGE_S: how long a join may take to reach every agent here.
# Gossip alone usually does it in well under a second, but each agent sends
# a new member's alive only RetransmitMult x ceil(log10(n + 1)) = 4 times,
# and in six nodes one node now and then gets no copy at all (2 runs in 85
# of serf_mixed_leave_nokill.sh, one of them a serf agent missing a serf
# agent's alive: see pending/README.md). Push/pull repairs it, but a
# node's first periodic push/pull comes a random stagger *plus* one
# interval after its start (memberlist's pushPullTrigger; moonlist's
# swim_push_pull_tick does the same), so in [PP, 2 PP): lib.sh's
# converge_bound_s (one interval + 5 s) is not a bound for an agent started
# a moment before. Two intervals + 5 s is.
MIXED_CONVERGE_S=$(( $(converge_bound_s lan) + $(profile_params lan | awk '{ print $6 }') ))

_mixed_start() {
    local kind=$1 name=$2 hooks=$3 running=() n
    shift 3
    MIXED_HOOK_FLAGS=()
    [ -z "$hooks" ] || mixed_hook_flags "$kind" "$name"
    case $kind in
        ml) ml_start "$name" "$@" "${MIXED_HOOK_FLAGS[@]}" ;;
        serf) serf_start "$name" "$@" "${MIXED_HOOK_FLAGS[@]}" ;;
    esac
    for n in "${AGENT_ORDER[@]}"; do agent_running "$n" && running+=("$n"); done
    expect_within "$MIXED_CONVERGE_S" "${#running[@]} agents see ${#running[@]} alive after $name joined" \
        all_see_count "${#running[@]}" alive "${running[@]}"
}

# mixed_hooks_init: the recording hooks. Each agent appends what it gets to
# $MIXED_OUT/NAME.KIND, one line each (files are per agent: no two
# writers interleave):
#   NAME.events   "name payload ltime"       a user event
#   NAME.queries  "name payload from"        a query ("-" for from where
#                                            serf's handlers are not told)
# and answers every query with "answer-from-NAME". serf agents do it with
# event-handler scripts (user=, query=: stdout is the response); moonlist
# agents with a Lua script, tests/e2e/serf_mixed_hooks.lua by default, or
# MIXED_LUA[NAME] (a script that loads that one and adds to it). The
# directory reaches both through the environment (E2E_MIXED_DIR: serf's
# handlers inherit the agent's environment; the Lua script reads it with
# os.getenv). Payloads in these tests are single words without spaces.
declare -A MIXED_LUA=()
mixed_hooks_init() {
    MIXED_OUT=$E2E_DIR/out
    mkdir -p "$MIXED_OUT"
    export E2E_MIXED_DIR=$MIXED_OUT
    MIXED_LUA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    cat >"$E2E_DIR/on_user.sh" <<'SH'
#!/bin/sh
p=$(cat)
printf '%s %s %s\n' "$SERF_USER_EVENT" "$p" "$SERF_USER_LTIME" >>"$E2E_MIXED_DIR/$SERF_SELF_NAME.events"
SH
    cat >"$E2E_DIR/on_query.sh" <<'SH'
#!/bin/sh
p=$(cat)
printf '%s %s -\n' "$SERF_QUERY_NAME" "$p" >>"$E2E_MIXED_DIR/$SERF_SELF_NAME.queries"
printf 'answer-from-%s' "$SERF_SELF_NAME"
SH
    chmod +x "$E2E_DIR/on_user.sh" "$E2E_DIR/on_query.sh"
}

# mixed_hook_flags KIND NAME: set MIXED_HOOK_FLAGS to the flags that give
# agent NAME (KIND serf or ml) the recording hooks. A serf agent standing in
# for moonlist (E2E_IMPL=serf) gets the serf handlers: one per user event
# name in MIXED_USER_EVENTS (user:NAME=...) and per query name in
# MIXED_QUERIES (query:NAME=...), as an operator filters them. The Lua
# script records every event and query. MIXED_ML_HANDLERS=1: moonlist
# agents run the same handler scripts instead of the Lua script (moonlist's
# serf-compatible -event-handler).
MIXED_USER_EVENTS=()
MIXED_QUERIES=()
MIXED_ML_HANDLERS=
mixed_hook_flags() {
    local kind=$1 name=$2
    local n
    if [ "$kind" = serf ] || [ "$E2E_IMPL" = serf ] || [ -n "$MIXED_ML_HANDLERS" ]; then
        MIXED_HOOK_FLAGS=()
        for n in "${MIXED_USER_EVENTS[@]}"; do
            MIXED_HOOK_FLAGS+=(-event-handler "user:$n=$E2E_DIR/on_user.sh")
        done
        for n in "${MIXED_QUERIES[@]}"; do
            MIXED_HOOK_FLAGS+=(-event-handler "query:$n=$E2E_DIR/on_query.sh")
        done
    else
        MIXED_HOOK_FLAGS=(-config "${MIXED_LUA[$name]:-$MIXED_LUA_DIR/serf_mixed_hooks.lua}")
    fi
}

# mixed_count NAME KIND ERE: how many of NAME's KIND lines match ERE (whole
# line); 0 if it has none yet.
mixed_count() {
    local f=$MIXED_OUT/$1.$2
    [ -e "$f" ] || { echo 0; return 0; }
    grep -Ecx -- "$3" "$f" || true
}

# mixed_all_have KIND ERE N NAME...: each NAME has at least N such lines.
mixed_all_have() {
    local kind=$1 re=$2 n=$3 name
    shift 3
    for name in "$@"; do
        [ "$(mixed_count "$name" "$kind" "$re")" -ge "$n" ] || return 1
    done
}

# mixed_any_over KIND ERE N NAME...: some NAME has more than N such lines.
mixed_any_over() {
    local kind=$1 re=$2 n=$3 name
    shift 3
    for name in "$@"; do
        [ "$(mixed_count "$name" "$kind" "$re")" -le "$n" ] || return 0
    done
    return 1
}

# MIXED_SETTLE: seconds to watch for a duplicate once every agent has had
# its copy. A user event or query is gossiped RetransmitMult * ceil(log10(n
# + 1)) = 4 times by every agent that got it, one gossip round (0.2 s) apart,
# so a copy that is going to be delivered again arrives within about a
# second of the first; 3 s leaves room for a loaded machine.
MIXED_SETTLE=3

# mixed_expect_n KIND ERE N WHAT NAME...: within MIXED_DELIVER_S every NAME
# has N lines matching ERE; then for MIXED_SETTLE s none gets one more.
# WHAT describes the delivery in the log. Fails with every agent's lines.
# mixed_expect_once KIND ERE WHAT NAME...: the same with N = 1.
# MIXED_DELIVER_S: a user event is gossiped only 4 times by each node that
# has it, and in six nodes one node now and then gets no copy (serf among
# serf agents misses one node in about 2 % of queries, which spread the
# same way); serf's push/pull carries the recent events and repairs that,
# so the bound is the one for a join (MIXED_CONVERGE_S: the agents of these
# tests may not have had their first periodic push/pull yet).
MIXED_DELIVER_S=$MIXED_CONVERGE_S
mixed_expect_n() {
    local kind=$1 re=$2 n=$3 what=$4
    shift 4
    local t0
    t0=$(now)
    if ! wait_until "$MIXED_DELIVER_S" mixed_all_have "$kind" "$re" "$n" "$@"; then
        mixed_dump "$kind" "$@"
        fail "not within $MIXED_DELIVER_S s: $what ($n lines '$re' in every $kind file)"
    fi
    e2e_log "ok: $what ($(elapsed "$t0") s)"
    if wait_until "$MIXED_SETTLE" mixed_any_over "$kind" "$re" "$n" "$@"; then
        mixed_dump "$kind" "$@"
        fail "delivered more than once: $what (over $n lines '$re')"
    fi
    e2e_log "ok: no more in $MIXED_SETTLE s: $what"
}
mixed_expect_once() {
    local kind=$1 re=$2
    shift 2
    mixed_expect_n "$kind" "$re" 1 "$@"
}

# mixed_dump KIND NAME...: print the recorded lines (failure reports).
mixed_dump() {
    local kind=$1 name
    shift
    for name in "$@"; do
        printf -- '--- %s.%s:\n' "$name" "$kind" >&2
        sed 's/^/    /' "$MIXED_OUT/$name.$kind" >&2 2>/dev/null || echo "    (none)" >&2
    done
}

# mixed_cli NAME SUBCOMMAND [args...]: the agent's own CLI (serf's for a
# serf agent, moonlist's for a moonlist agent) on its RPC, at most 30 s.
mixed_cli() {
    local name=$1 sub=$2
    shift 2
    if [ "${AGENT_KIND[$name]}" = serf ]; then
        timeout 30 serf "$sub" -rpc-addr "$(agent_rpc "$name")" "$@"
    else
        timeout 30 "$ML" "$sub" -rpc-addr "$(agent_rpc "$name")" "$@"
    fi
}

# mixed_serf_complaints NAME...: the [ERR] and [WARN] lines of these serf
# agents' logs, less the ones that only say the machine was slow (a probe
# or a handler that took long, a suspicion refuted): what is left is serf
# finding fault with something it was sent. Prints "NAME: line" for each.
MIXED_SERF_BENIGN='network may be congested|Failed fallback ping|Refuting a suspect|slow, execution exceeding|Failed to send (ping|indirect ping)|i/o timeout'
mixed_serf_complaints() {
    local name
    for name in "$@"; do
        grep -E '\[(ERR|WARN)\]' "$(agent_log "$name")" | grep -Ev "$MIXED_SERF_BENIGN" | sed "s/^/$name: /" || true
    done
}

# mixed_start_as KIND HNAME NODE [flags...]: start an agent (KIND ml or
# serf) known to the harness as HNAME but named NODE in the cluster (a
# second agent claiming a member's name), on fresh ports, and wait until
# its RPC lists NODE alive on its own port. Retried on fresh ports when one
# was taken meanwhile, as ml_start is. Not joined: the caller joins it.
mixed_start_as() {
    local kind=$1 hname=$2 node=$3 try port rpc rc deadline cmd
    shift 3
    [ "$kind" = ml ] && [ "$E2E_IMPL" = serf ] && kind=serf
    for ((try = 1; try <= E2E_START_TRIES; try++)); do
        free_port; port=$REPLY
        free_port; rpc=$REPLY
        AGENT_PORT[$hname]=$port
        AGENT_RPC[$hname]=$rpc
        if [ "$kind" = serf ]; then cmd=(serf agent); else cmd=("$ML" agent); fi
        _agent_launch "$([ "$kind" = serf ] && echo serf || echo moonlist)" "$hname" "${cmd[@]}" -node "$node" \
            -bind "127.0.0.1:$port" -advertise "127.0.0.1:$port" -rpc-addr "127.0.0.1:$rpc" -profile lan \
            -log-level debug "$@"
        deadline=$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t + 15 }')
        while :; do
            if ! agent_running "$hname"; then
                rc=0
                wait "${AGENT_PID[$hname]}" || rc=$?
                [ "$rc" -eq 1 ] && grep -qi 'address already in use' "$(agent_log "$hname")" || 
                    fail "agent $hname ($node) exited during start-up with status $rc"
                _agent_forget "$hname" "$try"
                continue 2
            fi
            _lists_node_alive "$hname" "$node" && return 0
            fle "$deadline" "$EPOCHREALTIME" && fail "agent $hname ($node): RPC not answering with itself alive after 15 s"
            sleep 0.1
        done
    done
    fail "agent $hname: a port was taken every time in $E2E_START_TRIES tries"
}

# _lists_node_alive HNAME NODE: HNAME's RPC lists NODE alive on HNAME's port.
_lists_node_alive() {
    local js
    js=$(members_json "$1" 2>/dev/null) || return 1
    jq -e --arg n "$2" --arg p "${AGENT_PORT[$1]}" \
        'any(.members[]; .name == $n and .status == "alive" and
             ((.port | tostring) == $p or ((.addr | tostring) | endswith(":" + $p))))' <<<"$js" >/dev/null
}

# mixed_port_of OBSERVER NODE: the gossip port OBSERVER lists NODE on.
mixed_port_of() {
    local js
    js=$(members_json "$1") || return 1
    jq -er --arg n "$2" '.members[] | select(.name == $n) |
        if .port != null then .port else (.addr | tostring | sub(".*:"; "")) end' <<<"$js"
}

# mixed_ask ASKER WANT_ACKS WANT_RESPONDERS [query flags...] NAME: run query NAME
# at ASKER (its own CLI, -format json) and compare who acked and who
# answered (sorted names, space-separated; "" for none) and that every
# response is "answer-from-" its sender. The default timeout of a query
# (gossip interval x 16 x ceil(log10(n + 1)) = 3.2 s here) bounds it.
# A query is gossiped only RetransmitMult x ceil(log10(n + 1)) = 4 times by
# each node that has it, so in six nodes one node now and then gets no copy
# at all: serf among serf agents misses one in about 2 % of queries here
# (3 of 7 runs of serf_mixed_query.sh with E2E_IMPL=serf, 11 queries each, missed
# one node once). A moonlist asker also sends its query straight to the
# members it selects (docs/protocol.md 16.6), a serf asker does not. So a
# query whose answers are a strict subset of the
# wanted ones is asked again (payload try1, try2, try3) up to three times;
# anything else (an extra node, a wrong response, three misses) fails.
# MIXED_ASK_PAYLOAD[NAME] keeps the payload that got the full answer.
declare -A MIXED_ASK_PAYLOAD=()
mixed_ask() {
    local asker=$1 want_acks=$2 want_resp=$3 out acks resp bad try
    shift 3
    local name=${*: -1}
    for try in 1 2 3; do
        out=$(mixed_cli "$asker" query -format json "$@" "try$try" 2>&1) || fail "query $* try$try at $asker failed: $out"
        acks=$(jq -r '[(.Acks // [])[]] | sort | join(" ")' <<<"$out") || fail "query $* at $asker: not json: $out"
        resp=$(jq -r '.Responses // {} | keys | sort | join(" ")' <<<"$out")
        bad=$(jq -r '.Responses // {} | to_entries[] | select(.value != "answer-from-" + .key) | "\(.key): \(.value)"' <<<"$out")
        [ -z "$bad" ] || fail "query $* at $asker: wrong responses: $bad"
        if [ "$acks" = "$want_acks" ] && [ "$resp" = "$want_resp" ]; then
            MIXED_ASK_PAYLOAD[$name]=try$try
            e2e_log "ok: query $* at $asker: acks and responses from ${want_resp:-nobody} (try $try)"
            return 0
        fi
        mixed_subset "$acks" "$want_acks" && mixed_subset "$resp" "$want_resp" ||
            fail "query $* at $asker: acks from '$acks', responses from '$resp'; want '$want_acks' and '$want_resp' (output: $out)"
        e2e_log "query $* at $asker: acks from '$acks', responses from '$resp' (a node missed it): again"
    done
    fail "query $* at $asker: three times short of acks '$want_acks' and responses '$want_resp'"
}
# mixed_subset "A B" "A B C": every word of the first is in the second
mixed_subset() {
    local w
    for w in $1; do case " $2 " in *" $w "*) ;; *) return 1 ;; esac; done
}

# mixed_serf_status OBSERVER TARGET: TARGET's status in serf's view as
# OBSERVER reports it (a moonlist agent's serf_status, else its status:
# agents without the serf layer have none), or "absent".
mixed_serf_status() {
    local js
    js=$(members_json "$1") || return 1
    jq -er --arg n "$2" '[.members[] | select(.name == $n) | (.serf_status // .status)] |
        if length == 0 then "absent" else .[0] end' <<<"$js"
}

# mixed_all_see_serf TARGET STATUS OBSERVER...: every observer's serf view
# shows TARGET with STATUS.
mixed_all_see_serf() {
    local target=$1 want=$2 obs
    shift 2
    for obs in "$@"; do
        [ "$(mixed_serf_status "$obs" "$target")" = "$want" ] || return 1
    done
}
