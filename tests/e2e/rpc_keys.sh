# serf's key rotation across 3 encrypted moonlist agents, each with a
# -keyring-file: `moonlist keys -install/-use/-remove` reach every agent
# (serf's internal key queries), `-list` counts every key on every node,
# `serf keys -list` reads the same from a moonlist agent, and the keyring
# files end with the new key alone, so that an agent restarted from its
# file joins the rotated cluster. Also: the primary cannot be removed (the
# failures printed per node), and -encrypt is refused with -keyring-file.
#   bash tests/e2e/rpc_keys.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"
[ "$E2E_IMPL" = moonlist ] || { e2e_log "SKIP: moonlist's CLI against moonlist agents"; exit 0; }

K1=$(head -c 32 /dev/urandom | base64)
K2=$(head -c 16 /dev/urandom | base64)
for n in a b c; do printf '[\n  "%s"\n]' "$K1" >"$E2E_DIR/keyring.$n"; done
ml() { local cmd=$1 name=$2; shift 2; timeout 30 "$ML" "$cmd" -rpc-addr "$(agent_rpc "$name")" "$@"; }
sc() { local cmd=$1 name=$2; shift 2; timeout 30 serf "$cmd" -rpc-addr="$(agent_rpc "$name")" "$@"; }
# keyring_is NAME KEY...: NAME's keyring file holds exactly these keys, in order
keyring_is() {
    local n=$1
    shift
    [ "$(jq -c . "$E2E_DIR/keyring.$n")" = "$(printf '%s\n' "$@" | jq -Rsc 'split("\n") | map(select(length > 0))')" ]
}

# -encrypt with a keyring file: refused at start, as serf refuses it
rc=0
out=$("$ML" agent -node x -bind 127.0.0.1:0 -encrypt "$K1" -keyring-file "$E2E_DIR/keyring.a" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q 'keyring-file' <<<"$out" || fail "-encrypt with -keyring-file: rc $rc: $out"

# The lan profile: a key query lasts serf's default query timeout, 16
# gossip intervals (x log N), 1.6 s at the local profile, too short for
# every answer on a loaded machine; 3.2 s here.
ml_start a -keyring-file "$E2E_DIR/keyring.a"
ml_start b -keyring-file "$E2E_DIR/keyring.b" -join "$(agent_addr a)"
ml_start c -keyring-file "$E2E_DIR/keyring.c" -join "$(agent_addr a)"
expect_within 10 "all see 3 alive" all_see_count 3 alive a b c
log_has a "restored keyring with 1 keys" || fail "a did not log its restored keyring"

out=$(ml keys a -list) || fail "moonlist keys -list failed: $out"
grep -qxF "$K1  [3/3]" <<<"$out" || fail "moonlist keys -list:"$'\n'"$out"
out=$(ml keys b -install "$K2") || fail "moonlist keys -install failed: $out"
grep -qxF "Successfully installed key!" <<<"$out" || fail "moonlist keys -install said:"$'\n'"$out"
for n in a b c; do keyring_is $n "$K1" "$K2" || fail "$n's keyring file after install: $(cat "$E2E_DIR/keyring.$n")"; done
out=$(sc keys c -list) || fail "serf keys -list failed: $out"
grep -Eq "^$(sed 's/[+/]/\\&/g' <<<"$K1") +\[3/3\]$" <<<"$out" && grep -Eq "^$(sed 's/[+/]/\\&/g' <<<"$K2") +\[3/3\]$" <<<"$out" ||
    fail "serf keys -list on a moonlist agent:"$'\n'"$out"
e2e_log "ok: the new key installed on 3 agents, listed by moonlist and serf"

# the primary cannot go: every node says why
rc=0
out=$(ml keys a -remove "$K1" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "3/3 nodes reported failure" <<<"$out" && [ "$(grep -c '^failed: ' <<<"$out")" = 3 ] ||
    fail "removing the primary: rc $rc:"$'\n'"$out"
e2e_log "ok: removing the primary refused by every node"

out=$(sc keys a -use "$K2") || fail "serf keys -use failed: $out"
grep -q "Successfully changed primary key!" <<<"$out" || fail "serf keys -use said:"$'\n'"$out"
out=$(ml keys c -remove "$K1") || fail "moonlist keys -remove failed: $out"
grep -qxF "Successfully removed key!" <<<"$out" || fail "moonlist keys -remove said:"$'\n'"$out"
for n in a b c; do keyring_is $n "$K2" || fail "$n's keyring file after the rotation: $(cat "$E2E_DIR/keyring.$n")"; done
[ "$(stat -c %a "$E2E_DIR/keyring.b")" = 600 ] || fail "the keyring file's mode is $(stat -c %a "$E2E_DIR/keyring.b")"
out=$(ml keys b -list) || fail "moonlist keys -list failed: $out"
[ "$(grep -c '\[3/3\]' <<<"$out")" = 1 ] && grep -qxF "$K2  [3/3]" <<<"$out" || fail "after the rotation:"$'\n'"$out"
e2e_log "ok: rotated to the new key; every keyring file holds it alone"

# the cluster keeps talking on the new key, and c restarted from its file
# joins it
agent_kill9 c
expect_within 30 "a sees c failed" all_see c "dead" a
ml_start_at c "$(agent_port c)" -keyring-file "$E2E_DIR/keyring.c" -join "$(agent_addr a)"
expect_within 15 "c is back, alive for a and b" all_see c alive a b
e2e_log "PASS"
