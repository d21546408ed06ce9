# The hostile-input scenario, shared by hostile.sh (plain cluster) and
# hostile_encrypted.sh. Sourced after lib.sh and e2e_init.
#
# hostile_scenario [agent flags for every agent...]
# A live 3-agent cluster; tests/e2e/hostile.lua throws random datagrams and
# streams, truncated and bit-flipped real frames, absurd declared lengths
# and 200 stalled connections at one agent. The agent must stay up, keep
# exactly the same member view throughout, close the stalled connections
# within its TCP timeout, and its RSS must come back within 10 MiB of the
# baseline.
hostile_scenario() {
    local common=("$@")
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    local lua_script=$here/hostile.lua
    local frames=$here/../fixtures/hostile/frames.txt
    command -v luajit >/dev/null || fail "luajit is not installed (./setup installs it)"
    luajit -e 'require "luv"' 2>/dev/null || fail "luajit cannot load luv (Debian package lua-luv)"
    [ -f "$frames" ] || fail "missing fixture $frames"

    # Names no mangled fixture frame can spell (theirs are n1..n3).
    local all=(hx-target hx-peer-1 hx-peer-2)
    start_converged ml hx-target "${common[@]}"
    start_converged ml hx-peer-1 "${common[@]}" -join "$(agent_addr hx-target)"
    start_converged ml hx-peer-2 "${common[@]}" -join "$(agent_addr hx-target)"

    local pid base_view base_rss tcp_timeout
    read -r _ _ _ _ tcp_timeout _ < <(profile_params lan)
    pid=$(agent_pid hx-target)
    base_view=$(view_of hx-target) || fail "cannot read the target's view"
    base_rss=$(rss_kib "$pid")
    e2e_log "baseline: RSS $base_rss KiB, view: $(tr '\n' ';' <<<"$base_view")"

    # The stalled connections must be closed by the target within its TCP
    # timeout (§6.1: a deadline covers every connection), plus slack.
    local stall_count=200 stall_wait=$((tcp_timeout + 5))
    local out=$E2E_DIR/hostile.log seed=${HOSTILE_SEED:-$RANDOM}
    e2e_log "hostile sender: seed $seed (HOSTILE_SEED=$seed reproduces the same bytes)"
    local variant=()
    if [ "$E2E_IMPL" = serf ]; then
        # serf's memberlist 0.2.2 dies of a push/pull declaring 2^31 nodes
        # (limits came in 0.6.0): harness check only, never for moonlist.
        variant=(no-absurd)
        e2e_log "serf stands in: absurd-length frames left out"
    fi
    luajit "$lua_script" 127.0.0.1 "$(agent_port hx-target)" "$frames" "$seed" \
        "$stall_count" "$stall_wait" "${variant[@]}" >"$out" 2>&1 &
    local lua_pid=$!
    E2E_EXTRA_PIDS+=("$lua_pid")
    echo "$lua_pid" >>"$E2E_DIR/pids"

    # While the barrage lasts: the target must keep answering and keep the
    # same view at every sample; note the peak RSS.
    local peak=$base_rss r v samples=0 changed=
    while kill -0 "$lua_pid" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || fail "the target agent died under the barrage"
        r=$(rss_kib "$pid") && [ "$r" -gt "$peak" ] && peak=$r
        if v=$(view_of hx-target); then
            samples=$((samples + 1))
            if [ "$v" != "$base_view" ]; then
                changed="$changed
--- at +${samples} samples: $(tr '\n' ';' <<<"$v")"
            fi
        else
            changed="$changed
--- RPC query failed during the barrage"
        fi
        sleep 0.3
    done
    local lua_rc=0
    wait "$lua_pid" || lua_rc=$?
    cat "$out" >&2
    [ "$lua_rc" -eq 0 ] || fail "hostile.lua failed (exit $lua_rc)"
    agent_running hx-target || fail "the target agent died under the barrage"
    [ -z "$changed" ] || fail "the target's member view changed during the barrage (baseline: $(tr '\n' ';' <<<"$base_view")):$changed"
    e2e_log "ok: target up, view unchanged over $samples samples; peak RSS $peak KiB"

    local stall_line closed
    stall_line=$(grep '^hostile: stalled:' "$out") || fail "hostile.lua printed no stall result"
    closed=$(sed -E 's/^hostile: stalled: ([0-9]+)\/.*/\1/' <<<"$stall_line")
    [ "$closed" -eq "$stall_count" ] ||
        fail "only $closed of $stall_count stalled connections were closed by the target within ${stall_wait} s (TCP timeout ${tcp_timeout} s)"
    e2e_log "ok: all $stall_count stalled connections closed by the target"

    # Memory: back within 10 MiB of the baseline once things settle.
    rss_flat() { [ "$(rss_kib "$pid")" -le $((base_rss + 10240)) ]; }
    wait_until 20 rss_flat ||
        fail "target RSS $(rss_kib "$pid") KiB stays above baseline $base_rss KiB + 10 MiB (peak $peak KiB)"
    e2e_log "ok: RSS $(rss_kib "$pid") KiB (baseline $base_rss, peak $peak)"

    v=$(view_of hx-target) || fail "target RPC not answering after the barrage"
    [ "$v" = "$base_view" ] || fail "the target's view changed: $(tr '\n' ';' <<<"$v") (baseline $(tr '\n' ';' <<<"$base_view"))"
    all_see_count 3 alive "${all[@]}" || { e2e_views >&2; fail "not all 3 agents alive everywhere after the barrage"; }
    e2e_log "ok: the cluster is intact"
}
