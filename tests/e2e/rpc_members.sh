# serf's member view over the RPC of a moonlist-only cluster of 4: a
# killed agent is listed "failed" (moonlist members -status failed, serf
# members -status failed), `moonlist force-leave` makes it "left", `serf
# force-leave -prune` erases another at once everywhere, a left member is
# reaped after -tombstone-timeout (a member-reap handler runs for it), and
# `moonlist tags -set/-delete` change our tags for everyone.
#   bash tests/e2e/rpc_members.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
e2e_init "$@"
[ "$E2E_IMPL" = moonlist ] || { e2e_log "SKIP: moonlist's CLI against moonlist agents"; exit 0; }

ml() { local cmd=$1 name=$2; shift 2; timeout 30 "$ML" "$cmd" -rpc-addr "$(agent_rpc "$name")" "$@"; }
sc() { local cmd=$1 name=$2; shift 2; timeout 30 serf "$cmd" -rpc-addr="$(agent_rpc "$name")" "$@"; }
# serf_of OBSERVER TARGET: TARGET's serf status as OBSERVER's moonlist CLI shows it, or "absent"
serf_of() {
    local js
    js=$(members_json "$1") || return 1
    jq -er --arg n "$2" '[.members[] | select(.name == $n) | .serf_status] | if length == 0 then "absent" else .[0] end' <<<"$js"
}
serf_sees() { [ "$(serf_of "$1" "$2")" = "$3" ]; }
all_serf_see() { local target=$1 want=$2 obs; shift 2; for obs in "$@"; do serf_sees "$obs" "$target" "$want" || return 1; done; }
names() { awk '{ print $1 }' | sort | tr '\n' ' '; }

cat >"$E2E_DIR/reap.sh" <<EOF
#!/bin/sh
cat >>"$E2E_DIR/reaped.\$SERF_SELF_NAME"
EOF
chmod +x "$E2E_DIR/reap.sh"
# left members are reaped 3 s after they left (serf looks every 15 s)
# At the local profile a message is gossiped in two sends
# (retransmit-mult 2): among 4 agents one may miss it, and a pruned member
# is then never pruned there (nothing else carries a prune), as in serf.
# Four sends reach the 3 others in the first round. What still misses one
# is healed at its next push/pull, up to 30 s after the start (the first
# is staggered by up to an interval of 15 s, then waits one): HEAL.
HEAL=35
flags=(-profile local -retransmit-mult 4 -tombstone-timeout 3s)
ml_start a "${flags[@]}" -event-handler "member-reap=$E2E_DIR/reap.sh"
ml_start b "${flags[@]}" -join "$(agent_addr a)"
ml_start c "${flags[@]}" -join "$(agent_addr a)"
ml_start d "${flags[@]}" -join "$(agent_addr a)"
expect_within "$HEAL" "all see 4 alive" all_see_count 4 alive a b c d

# ---- tags ------------------------------------------------------------------------
out=$(ml tags b -set role=web -set dc=x) || fail "moonlist tags -set failed: $out"
[ "$out" = "Successfully updated agent tags" ] || fail "moonlist tags said: $out"
b_tags() { [ "$(field_of "$1" b .tags | jq -cS .)" = "$2" ]; }
expect_within "$HEAL" "a sees b's new tags" b_tags a '{"dc":"x","role":"web"}'
ml tags b -delete dc >/dev/null || fail "moonlist tags -delete failed"
expect_within "$HEAL" "c sees b's tag deleted" b_tags c '{"role":"web"}'
e2e_log "ok: moonlist tags -set / -delete"

# ---- failed, then left by force-leave --------------------------------------------
agent_kill9 c
expect_within 30 "a, b and d see c failed (serf's word)" all_serf_see c failed a b d
[ "$(ml members a -status failed | names)" = "c " ] || fail "moonlist members -status failed: $(ml members a -status failed)"
[ "$(sc members b -status failed | names)" = "c " ] || fail "serf members -status failed: $(sc members b -status failed)"
out=$(ml force-leave a c) || fail "moonlist force-leave failed: $out"
expect_within "$HEAL" "a, b and d see c left after force-leave" all_serf_see c left a b d
[ "$(sc members d -status left | names)" = "c " ] || fail "serf members -status left: $(sc members d -status left)"
e2e_log "ok: the killed c listed failed, then left after moonlist force-leave"

# ---- serf force-leave -prune: gone at once -----------------------------------------
agent_kill9 d
expect_within 30 "a and b see d failed" all_serf_see d failed a b
out=$(sc force-leave a -prune d) || fail "serf force-leave -prune failed: $out"
expect_within "$HEAL" "a and b no longer list d after serf force-leave -prune" all_serf_see d absent a b
e2e_log "ok: serf force-leave -prune erased d"

# ---- the left c reaped after -tombstone-timeout (serf looks every 15 s) -----------
expect_within 25 "a no longer lists the left c (reaped)" serf_sees a c absent
expect_within 5 "a's member-reap handler ran for c" grep -q "^c	" "$E2E_DIR/reaped.a"
e2e_log "PASS"
