# -allow-cidr, memberlist's CIDRsAllowed, on loopback: an agent that only
# hears 10.0.0.0/8 drops our streams unread, so a join through it fails
# and the joiner exits 1; an agent that allows 127.0.0.0/8 is joined as
# usual. Both still list themselves (our own alive is never refused).
#   bash tests/e2e/allow_cidr.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"
if ! moonlist_only "-allow-cidr: serf's agent has no such flag"; then
    e2e_log "PASS"
    exit 0
fi

ml_start guard -allow-cidr 10.0.0.0/8
ml_launch outsider -join "$(agent_addr guard)"
agent_wait_exit outsider 15
[ "$AGENT_RC" -eq 1 ] || fail "outsider exited $AGENT_RC after a join through guard, want 1 (its stream dropped)"
expect_within 5 "guard logs the refused stream" log_has guard "outside -allow-cidr, closed"
all_see_count 1 alive guard || fail "guard does not list itself alone"

ml_start open -allow-cidr 127.0.0.0/8 -allow-cidr 10.0.0.0/8
ml_start b -join "$(agent_addr open)"
expect_within 10 "b joins open, which allows loopback" all_see_count 2 alive open b
e2e_log "PASS"
