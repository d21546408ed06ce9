# -metrics-addr: Prometheus text from a running agent, checked by
# prometheus_client's parser when the machine has it; numbers that move
# when a member fails (suspect, then dead; probe failures), the Lua
# counters and the hook histogram; 404 elsewhere; a taken metrics port
# stops the agent at start with a sentence; off by default.
#   bash tests/e2e/metrics.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"
if ! moonlist_only "the whole test (moonlist's metrics)"; then
    e2e_log "PASS"
    exit 0
fi

scrape() { curl -sf --max-time 5 "http://$MADDR/metrics"; }
# value NAME_AND_LABELS: the sample's value in a fresh scrape
value() { scrape | awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }'; }
value_ge() { local v; v=$(value "$1") && [ "$v" -ge "$2" ]; }

free_port; mport=$REPLY
MADDR=127.0.0.1:$mport
ml_start a -profile local -metrics-addr "$MADDR"
ml_start b -profile local -join "$(agent_addr a)"
expect_within 10 "a sees 2 alive" all_see_count 2 alive a b
grep -q "metrics on http://$MADDR/metrics" "$(agent_log a)" || fail "no log line naming the metrics address"

text=$(scrape) || fail "no answer on $MADDR/metrics"
grep -q '^# TYPE moonlist_members gauge$' <<<"$text" || fail "no moonlist_members family"
[ "$(value 'moonlist_members{status="alive"}')" = 2 ] || fail "not 2 alive in the metrics"
[ "$(value 'moonlist_lua_script')" = 1 ] || fail "the default script is not counted as running"
value_ge 'moonlist_lua_hook_duration_seconds_count' 1 || fail "no call into the script counted"
value_ge 'moonlist_push_pulls_total{direction="sent"}' 1 ||
    value_ge 'moonlist_push_pulls_total{direction="received"}' 1 || fail "the join's push/pull not counted"
[ "$(value 'moonlist_metrics_stale')" = 0 ] || fail "a scrape of an idle agent came back stale"
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
    /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families as f
fams = list(f(sys.stdin.read()))
assert len(fams) > 40, len(fams)' <<<"$text" || fail "prometheus_client refused the text"
    e2e_log "ok: prometheus_client parses it"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$MADDR/")
[ "$code" = 404 ] || fail "/ answered $code, not 404"

# b fails: a sees it suspect then dead, and its probes fail
agent_signal b KILL
expect_within 10 "a's metrics show b dead" value_ge 'moonlist_members{status="dead"}' 1
value_ge 'moonlist_probe_failures_total' 1 || fail "no probe failure counted"
value_ge 'moonlist_suspect_messages_total{direction="sent"}' 1 || fail "no suspicion counted"

# info -format json carries the Lua counters
"$ML" info -rpc-addr "$(agent_rpc a)" -format json | jq -e '.lua.hook_errors >= 0 and .lua.hooks_run >= 1' >/dev/null ||
    fail "info -format json has no Lua counters"

# a taken metrics port: the agent says so and exits 1
ml_launch c -profile local -metrics-addr "$MADDR"
agent_wait_exit c 10
[ "$AGENT_RC" = 1 ] || fail "c exited $AGENT_RC with its metrics port taken, not 1"
grep -q -- "-metrics-addr: cannot listen on $MADDR" "$(agent_log c)" || fail "c did not say why it stopped"

# off by default: no metrics line in b's log
grep -q "metrics on" "$(agent_log b)" && fail "metrics served without -metrics-addr"
e2e_log "PASS"
