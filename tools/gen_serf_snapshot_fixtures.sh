#!/bin/bash
# Make tests/fixtures/serf/snapshot/*.snap with Debian's serf 0.9.4: three
# agents on loopback (alpha and bravo with -snapshot), a join, two user
# events and a query; charlie leaves (SIGINT), alpha is stopped without a
# leave (SIGTERM), bravo leaves gracefully (SIGINT).
#   tools/gen_serf_snapshot_fixtures.sh [OUTDIR] [BASE_PORT]
# Stops only the agents it started.
set -eu
out=${1:-tests/fixtures/serf/snapshot}
B=${2:-27946}
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
cd "$dir"
start() { # name port-offset [snapshot]
    serf agent -node="$1" -bind=127.0.0.1:$((B + $2)) -rpc-addr=127.0.0.1:$((B + 100 + $2)) \
        ${3:+-snapshot=$3} >"$1.log" 2>&1 &
    pids+=($!)
}
start alpha 0 alpha.snap; PA=$!
start bravo 1 bravo.snap; PB=$!
start charlie 2; PC=$!
sleep 2
serf join -rpc-addr=127.0.0.1:$((B + 100)) 127.0.0.1:$((B + 1)) 127.0.0.1:$((B + 2))
sleep 1
serf event -rpc-addr=127.0.0.1:$((B + 101)) deploy v1
serf event -rpc-addr=127.0.0.1:$((B + 101)) deploy v2
serf query -rpc-addr=127.0.0.1:$((B + 102)) -timeout=1s ping x
sleep 1.5
kill -INT $PC; wait $PC || true
sleep 2
kill -TERM $PA; wait $PA || true
kill -INT $PB; wait $PB || true
cd - >/dev/null
cp "$dir/alpha.snap" "$out/go-serf-0.9.4-terminated.snap"
cp "$dir/bravo.snap" "$out/go-serf-0.9.4-left.snap"
