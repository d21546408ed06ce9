#!/usr/bin/env bash
# Smoke test: two agents on loopback find each other, show up alive in
# `moonlist members -format json`, and a SIGINT makes one leave so the
# other sees it "left" (SIGTERM stops without leaving, as serf's agent). Usage: smoke.sh /path/to/moonlist
set -u
BIN=${1:?usage: smoke.sh /path/to/moonlist}
TMP=$(mktemp -d)
PIDS=()
fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  exit 1
}
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds or the
# deadline passes (the sleep paces the polling; it asserts nothing).
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  while :; do
    p=$(( (RANDOM % 25000) + 30000 ))
    port_free "$p" && { echo "$p"; return; }
  done
}

# start_agent NAME [flags...]: sets AGENT_PID, GOSSIP_PORT, RPC_PORT. Retries
# with other ports if the chosen ones turn out to be taken.
start_agent() {
  local name=$1; shift
  local try
  for try in 1 2 3 4 5; do
    GOSSIP_PORT=$(pick_port); RPC_PORT=$(pick_port)
    "$BIN" agent -node "$name" -bind "127.0.0.1:$GOSSIP_PORT" -rpc-addr "127.0.0.1:$RPC_PORT" \
      -profile local "$@" >"$TMP/$name.log" 2>&1 &
    AGENT_PID=$!
    # up, or exited (a port was taken after all: try others), or too slow
    if wait_until 10 up_or_gone "$RPC_PORT" && kill -0 "$AGENT_PID" 2>/dev/null; then
      PIDS+=("$AGENT_PID"); return 0
    fi
    kill -KILL "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null
  done
  fail "agent $name did not start"
}
up_or_gone() {
  ! kill -0 "$AGENT_PID" 2>/dev/null || "$BIN" info -rpc-addr "127.0.0.1:$1" >/dev/null 2>&1
}

members_json() { "$BIN" members -format json -rpc-addr "127.0.0.1:$1"; }
alive_count() { members_json "$1" 2>/dev/null | grep -o '"status":"alive"' | wc -l; }
sees_alive() { [ "$(alive_count "$1")" -eq "$2" ]; }
sees_status() { # RPC_PORT NAME STATUS
  members_json "$1" 2>/dev/null | grep -o "{\"name\":\"$2\",[^}]*" | grep -q "\"status\":\"$3\""
}

# bad flags are rejected with exit status 2
"$BIN" agent -no-such-flag >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "unknown flag: exit $rc, want 2"
"$BIN" members -format xml >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "bad -format: exit $rc, want 2"

start_agent a1 -tag role=web -tag dc=test
A1_PID=$AGENT_PID A1_GOSSIP=$GOSSIP_PORT A1_RPC=$RPC_PORT
start_agent a2 -join "127.0.0.1:$A1_GOSSIP"
A2_PID=$AGENT_PID A2_RPC=$RPC_PORT

wait_until 20 sees_alive "$A1_RPC" 2 || fail "a1 does not see 2 alive members: $(members_json "$A1_RPC")"
wait_until 20 sees_alive "$A2_RPC" 2 || fail "a2 does not see 2 alive members: $(members_json "$A2_RPC")"

# the JSON shape, and a1's tags as a2 sees them
out=$(members_json "$A2_RPC") || fail "members -format json failed"
case "$out" in '{"members":['*']}') ;; *) fail "unexpected JSON: $out" ;; esac
echo "$out" | grep -q '"name":"a1","addr":"127.0.0.1","port":'"$A1_GOSSIP"',"status":"alive","tags":{"role":"web","dc":"test"}' \
  || fail "a1's entry or tags wrong: $out"
echo "$out" | grep -q '"protocol":\[1,5,2\],"delegate":\[2,5,5\]' || fail "version triples wrong: $out"
"$BIN" members -rpc-addr "127.0.0.1:$A1_RPC" | grep -q '^a2 .*127.0.0.1:.* alive' || fail "text members output"
[ "$("$BIN" members -status 'left|dead' -format json -rpc-addr "127.0.0.1:$A1_RPC")" = '{"members":[]}' ] \
  || fail "-status filter"
"$BIN" info -rpc-addr "127.0.0.1:$A1_RPC" | grep -q 'alive = 2' || fail "info does not count 2 alive"
# a malformed alive is dropped and counted under its type
printf '\x04\x85' > "/dev/udp/127.0.0.1/$A1_GOSSIP"
dropped_alive() { "$BIN" info -rpc-addr "127.0.0.1:$A1_RPC" | sed -n '/^messages dropped:/,/^[^[:space:]]/p' | grep -q 'alive = 1'; }
wait_until 5 dropped_alive || fail "info does not count the dropped alive: $("$BIN" info -rpc-addr "127.0.0.1:$A1_RPC")"

# SIGINT: graceful leave, exit 0; the other side sees "left"
kill -INT "$A2_PID"
wait_until 20 sees_status "$A1_RPC" a2 left || fail "a1 does not see a2 left: $(members_json "$A1_RPC")"
wait_until 15 eval '! kill -0 '"$A2_PID"' 2>/dev/null' || fail "a2 did not exit after SIGINT"
wait "$A2_PID"; rc=$?
[ "$rc" -eq 0 ] || fail "a2 exited $rc after SIGINT, want 0"
grep -q 'member leave (left): a2' "$TMP/a1.log" || fail "a1 did not log a2's leave"

# `moonlist leave` over RPC does the same for a1
"$BIN" leave -rpc-addr "127.0.0.1:$A1_RPC" >/dev/null || fail "moonlist leave failed"
wait_until 15 eval '! kill -0 '"$A1_PID"' 2>/dev/null' || fail "a1 did not exit after leave"
wait "$A1_PID"; rc=$?
[ "$rc" -eq 0 ] || fail "a1 exited $rc after leave, want 0"
echo "smoke: ok"
