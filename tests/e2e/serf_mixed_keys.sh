# Key rotation in an encrypted mixed cluster (3 serf + 3 moonlist agents,
# one AES-256 key K1), as an operator does it with serf's key queries:
#   - at a serf agent: `keys -install K2`, `-use K2`, `-remove K1`; every
#     step answered by all six (serf's CLI fails unless every member
#     responds); then `keys -list`, at a serf and at a moonlist agent, shows
#     K2 alone, on 6/6 nodes;
#   - the same rotation K2 -> K3 run at a moonlist agent with its own CLI;
#   - no member lost: all six alive on every agent after each step and for
#     8 s after the rotations, and a new agent holding only the removed key
#     K2 cannot join any moonlist agent (they dropped K2).
#   bash tests/e2e/serf_mixed_keys.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"

K1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= # the serf captures' test key
K2=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8= # bytes 32..63
K3=QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8= # bytes 64..95
mixed_start_six -encrypt "$K1"
all=("${MIXED_ALL[@]}")

all_alive() {
    all_see_count 6 alive "${all[@]}" || { e2e_views >&2; fail "a member is not alive everywhere $1"; }
}

# keyop AGENT FLAG KEY: one key operation at AGENT, which must succeed on
# every member. A key operation is a query, gossiped only 4 times by each
# node that has it: in six nodes one node now and then gets no copy (about
# 2 % of queries among serf agents alone, see serf_mixed_query.sh), and
# serf's CLI then fails with "5/6 nodes reported success"; keys_retry
# (lib.sh) runs that case again, at most 3 times; any node reporting a
# failure fails the test.
keyop() {
    local out
    keys_retry 6 "keys $2 $3 at $1" mixed_cli "$1" keys "$2" "$3"
    e2e_log "ok: keys $2 at $1 ($(tr '\n' ' ' <<<"$out"))"
    all_alive "after keys $2 at $1"
}

# only_key AGENT KEY: `keys -list` at AGENT lists KEY alone, on 6 of 6
# nodes (asked again on a missing answer, as keyop).
only_key() {
    local out lines
    keys_retry 6 "keys -list at $1" mixed_cli "$1" keys -list
    lines=$(grep -E '\[[0-9]+/[0-9]+\]' <<<"$out")
    [ "$(wc -l <<<"$lines")" = 1 ] && grep -Eq "^$2 +\[6/6\]\$" <<<"$lines" ||
        fail "keys -list at $1: want $2 alone on [6/6], got: $out"
    e2e_log "ok: keys -list at $1: $lines"
}

keyop s1 -install "$K2"
keyop s1 -use "$K2"
keyop s1 -remove "$K1"
only_key s2 "$K2"
only_key m2 "$K2"

keyop m1 -install "$K3"
keyop m1 -use "$K3"
keyop m1 -remove "$K2"
only_key s3 "$K3"
only_key m3 "$K3"

# Nobody lost afterwards either: 8 s is eight probe rounds, enough for a
# member that cannot read the others any more to be suspected.
t0=$(now)
while ! fle 8 "$(elapsed "$t0")"; do
    all_alive "within 8 s after the rotations"
    sleep 0.5
done
e2e_log "ok: all six alive everywhere for 8 s after the rotations"

# An agent with the removed key only: the moonlist agents refuse it. (Its
# join fails in any case, since the answers come under K3; a moonlist agent
# that still read K2 would have merged its push/pull, and list it.)
serf_start x -encrypt "$K2"
out=$(timeout 30 serf join -rpc-addr "$(agent_rpc x)" "$(agent_addr m1)" "$(agent_addr m2)" "$(agent_addr m3)" 2>&1) &&
    fail "an agent holding only the removed key joined: $out"
x_known() {
    local n st
    for n in "${all[@]}"; do
        st=$(status_of "$n" x) || continue
        [ "$st" = absent ] || return 0
    done
    return 1
}
if wait_until 2 x_known; then e2e_views >&2; fail "an agent read the push/pull of an agent with the removed key"; fi
e2e_log "ok: an agent with the removed key cannot join, nobody lists it ($(tr '\n' ' ' <<<"$out"))"
agent_kill9 x
all_alive "after the refused join"
e2e_log "PASS"
