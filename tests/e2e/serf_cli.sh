# Debian's `serf` command against moonlist agents: the control port speaks
# serf's RPC (daemon/daemon_rpc.h), so serf's CLI and client libraries work
# unchanged. Checked here: members (text, json, filters), join, tags,
# monitor (log lines and a member event), info, force-leave, leave,
# -rpc-auth, what is not implemented (rtt) failing at once instead of hanging,
# and a stream client that never reads: it is dropped and counted while
# `moonlist members` keeps answering.
#   bash tests/e2e/serf_cli.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
e2e_init "$@"
[ "$E2E_IMPL" = moonlist ] || { e2e_log "SKIP: only meaningful against moonlist agents"; exit 0; }

# sc CMD AGENT [args...]: `serf CMD` against that agent's RPC
sc() { local cmd=$1 name=$2; shift 2; timeout 20 serf "$cmd" -rpc-addr="$(agent_rpc "$name")" "$@"; }
# serf_json AGENT [args...]: `serf members -format=json`
serf_json() { local name=$1; shift; sc members "$name" -format=json "$@"; }
# serf_status OBSERVER TARGET: TARGET's status in serf's words, or "absent"
serf_status() {
    serf_json "$1" | jq -er --arg n "$2" '[.members[] | select(.name == $n) | .status] | if length == 0 then "absent" else .[0] end'
}
serf_sees() { [ "$(serf_status "$1" "$2")" = "$3" ]; }

ml_start a -profile local -tag role=web
ml_start b -profile local

# ---- members, text and json ----------------------------------------------
out=$(sc members a) || fail "serf members failed: $out"
grep -Eq "^a +127\.0\.0\.1:$(agent_port a) +alive +role=web\$" <<<"$out" || fail "serf members text: '$out'"
js=$(serf_json a) || fail "serf members -format=json failed"
jq -e --arg p "$(agent_port a)" '.members | length == 1 and .[0].name == "a" and
        .[0].addr == ("127.0.0.1:" + $p) and (.[0].port | tostring) == $p and .[0].status == "alive" and
        .[0].tags == {"role": "web"} and .[0].protocol == {"min": 2, "max": 5, "version": 5}' <<<"$js" >/dev/null ||
    fail "serf members -format=json: $js"
e2e_log "ok: serf members (text and json) on a moonlist agent"

# ---- join ------------------------------------------------------------------
out=$(sc join a "$(agent_addr b)") || fail "serf join failed: $out"
[ "$out" = "Successfully joined cluster by contacting 1 nodes." ] || fail "serf join said: $out"
expect_within 10 "a and b see each other alive after serf join" all_see_count 2 alive a b
! out=$(sc join a 127.0.0.1:1 2>&1) || fail "serf join of a dead address succeeded: $out"
e2e_log "ok: serf join (and a failed one: $out)"

# a serf agent in the cluster: moonlist reports it as serf does
serf_start s -profile local -tag kind=serf -join "$(agent_addr a)"
expect_within 15 "a sees s alive through serf's CLI" serf_sees a s alive
js=$(serf_json a) || fail "serf members failed"
jq -e '.members[] | select(.name == "s") | .tags == {"kind": "serf"} and .protocol.max == 5' <<<"$js" >/dev/null ||
    fail "a reports the serf agent as: $(jq -c '.members[] | select(.name == "s")' <<<"$js")"
# and the other way round: moonlist's commands fall back to serf's on a serf agent
out=$("$ML" members -rpc-addr "$(agent_rpc s)") || fail "moonlist members on a serf agent failed: $out"
grep -Eq "^a +127\.0\.0\.1:$(agent_port a) +alive +role=web\$" <<<"$out" || fail "moonlist members on a serf agent: $out"
out=$("$ML" info -rpc-addr "$(agent_rpc s)") || fail "moonlist info on a serf agent failed: $out"
grep -q $'^\tmembers = 3$' <<<"$out" || fail "moonlist info on a serf agent: $out"
e2e_log "ok: moonlist members and info on a serf agent"

# members-filtered: serf's -status, -name and -tag regexps
[ "$(sc members a -name 'b|s' -status alive | awk '{ print $1 }' | sort | tr '\n' ' ')" = "b s " ] ||
    fail "serf members -name 'b|s' -status alive: $(sc members a -name 'b|s' -status alive)"
[ "$(sc members a -tag role=w.b | awk '{ print $1 }')" = a ] || fail "serf members -tag role=w.b: $(sc members a -tag role=w.b)"
[ -z "$(sc members a -status failed)" ] || fail "serf members -status failed lists someone"
! out=$(sc members a -name '(' 2>&1) || fail "a bad regexp was accepted: $out"
e2e_log "ok: serf members filters (and a bad regexp: $out)"

# ---- tags ------------------------------------------------------------------
out=$(sc tags b -set dc=x -set role=db) || fail "serf tags -set failed: $out"
b_tags() { [ "$(serf_json a | jq -cS '.members[] | select(.name == "b") | .tags')" = "$1" ]; }
expect_within 10 "a sees b's tags set by serf tags" b_tags '{"dc":"x","role":"db"}'
sc tags b -delete dc >/dev/null || fail "serf tags -delete failed"
expect_within 10 "a sees b's tag deleted by serf tags" b_tags '{"role":"db"}'
[ "$(field_of b b .tags | jq -cS .)" = '{"role":"db"}' ] || fail "moonlist members shows b's tags as $(field_of b b .tags)"

# ---- info ------------------------------------------------------------------
out=$(sc info a) || fail "serf info failed: $out"
for want in '^agent:$' $'^\tname = a$' '^serf:$' $'^\tmembers = 3$' $'^\tfailed = 0$' '^runtime:$' '^tags:$' \
            $'^\trole = web$'; do
    grep -q -- "$want" <<<"$out" || fail "serf info lacks '$want': $out"
done
[ "$(sc info a -format=json | jq -r .serf.health_score)" = 0 ] || fail "serf info -format=json: $(sc info a -format=json)"
e2e_log "ok: serf info"

# ---- monitor: the backlog, live lines and a member event -------------------
mon=$E2E_DIR/monitor.out
timeout 60 serf monitor -rpc-addr="$(agent_rpc a)" -log-level=debug >"$mon" 2>&1 &
mon_pid=$!
E2E_EXTRA_PIDS+=("$mon_pid")
expect_within 5 "serf monitor prints the agent's recent log lines at once" grep -q '\[\(DEBUG\|INFO\)\]' "$mon"
ml_start c -profile local -join "$(agent_addr a)"
expect_within 10 "serf monitor prints c's member-join event" grep -q '"Name":"c"' "$mon"
grep -q 'Event: "member-join"' "$mon" || fail "no member-join event in serf monitor's output"
expect_within 10 "serf monitor prints the log line of c's join" grep -q '\[INFO\] member join: c' "$mon"
kill -INT "$mon_pid" 2>/dev/null || true
wait "$mon_pid" 2>/dev/null || true
e2e_log "ok: serf monitor"

# ---- force-leave -------------------------------------------------------------
agent_kill9 c
expect_within 30 "a sees the killed c failed (serf's word)" serf_sees a c failed
[ "$(status_of a c)" = dead ] || fail "moonlist members shows c as $(status_of a c), want dead"
[ "$(sc members a -status failed | awk '{ print $1 }')" = c ] || fail "serf members -status failed: $(sc members a -status failed)"
out=$(sc force-leave a c) || fail "serf force-leave failed: $out"
expect_within 10 "a sees c left after serf force-leave" serf_sees a c left
e2e_log "ok: serf force-leave"

# ---- what moonlist does not have yet fails at once -------------------------
# (event, query and keys work: tests/e2e/rpc_events.sh, rpc_keys.sh)
for cmd in "rtt b"; do
    read -ra words <<<"$cmd"
    rc=0
    out=$(sc "${words[0]}" a "${words[@]:1}" 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || fail "serf $cmd succeeded: $out"
    [ "$rc" -ne 124 ] || fail "serf $cmd hung"
    e2e_log "ok: serf $cmd fails at once: $(head -n 3 <<<"$out" | tr '\n' ' ')"
done

# ---- a stream client that never reads ----------------------------------------
# serf's framing by hand: handshake, a stream of every event and a debug
# monitor, never a byte read back; then 8192 moonlist-info requests, whose
# answers (~30 MiB) fill the socket buffers and DAEMON_RPC_OUT_MAX.
flood=$E2E_DIR/flood.bin
printf '\x82\xa7Command\xa9handshake\xa3Seq\x01\x81\xa7Version\x01' >"$flood.hello"
printf '\x82\xa7Command\xa6stream\xa3Seq\x02\x81\xa4Type\xa1*' >>"$flood.hello"
printf '\x82\xa7Command\xa7monitor\xa3Seq\x03\x81\xa8LogLevel\xa5debug' >>"$flood.hello"
printf '\x82\xa7Command\xadmoonlist-info\xa3Seq\x04' >"$flood"
for _ in $(seq 13); do cat "$flood" "$flood" >"$flood.two"; mv "$flood.two" "$flood"; done
members_beside() {
    local i t0
    for i in 1 2 3; do
        t0=$(now)
        timeout 5 "$ML" members -rpc-addr "$(agent_rpc a)" >/dev/null || fail "moonlist members failed beside $1"
        fle "$(elapsed "$t0")" 2 || fail "moonlist members took $(elapsed "$t0") s beside $1"
    done
}
exec {stuck}<>"/dev/tcp/127.0.0.1/${AGENT_RPC[a]}"
cat "$flood.hello" >&"$stuck"
members_beside "a stream and a monitor nobody reads"
timeout 20 cat "$flood" >&"$stuck" 2>/dev/null || true   # dropped while writing: EPIPE
members_beside "a client with megabytes unread"
slow_dropped() { "$ML" info -rpc-addr "$(agent_rpc a)" | awk '$1 == "slow_dropped" { v = $3 } END { exit !(v >= 1) }'; }
expect_within 10 "the stuck client is dropped and counted (info: rpc slow_dropped)" slow_dropped
exec {stuck}>&-
grep -q 'rpc: dropped client .* bytes unread' "$(agent_log a)" || fail "a did not log the dropped client"
agent_running a || fail "a died"
e2e_log "ok: a stuck stream client is dropped; moonlist members answered beside it"

# ---- -rpc-auth ---------------------------------------------------------------
ml_launch d -profile local -rpc-auth s3cret
d_ready() { sc members d -rpc-auth=s3cret | grep -q '^d '; }
expect_within 15 "d answers serf members with the right key" d_ready
if out=$(sc members d 2>&1); then fail "serf members without the key succeeded: $out"; fi
grep -q 'Authentication required' <<<"$out" || fail "without the key: $out"
if out=$(sc members d -rpc-auth=wrong 2>&1); then fail "serf members with a wrong key succeeded: $out"; fi
grep -q 'Invalid authentication token' <<<"$out" || fail "with a wrong key: $out"
if out=$("$ML" members -rpc-addr "$(agent_rpc d)" 2>&1); then fail "moonlist members without the key succeeded: $out"; fi
"$ML" members -rpc-addr "$(agent_rpc d)" -rpc-auth s3cret | grep -q '^d ' || fail "moonlist members -rpc-auth failed"
e2e_log "ok: -rpc-auth: no key and a wrong key refused, the right one served"

# ---- leave -------------------------------------------------------------------
out=$(sc leave b) || fail "serf leave failed: $out"
[ "$out" = "Graceful leave complete" ] || fail "serf leave said: $out"
agent_wait_exit b 10
[ "$AGENT_RC" -eq 0 ] || fail "b exited $AGENT_RC after serf leave, want 0"
expect_within 10 "a sees b left after serf leave" serf_sees a b left
[ "$(status_of a b)" = left ] || fail "moonlist members shows b as $(status_of a b)"
e2e_log "PASS"
