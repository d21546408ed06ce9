# Event handlers as serf's agent: -event-handler [filter=]script runs with
# serf's environment (SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE,
# SERF_TAG_*) and members on standard input as serf writes them
# ("name\taddr\trole\ttags"); a filtered handler sees only its events; a
# handler that sleeps 10 s never makes its node look dead to the others.
#   bash tests/e2e/event_handler.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"

EV=$E2E_DIR/events
mkdir -p "$EV"
# every event: SERF_* and stdin into a numbered file (runs are serial)
cat >"$E2E_DIR/all.sh" <<EOF
#!/bin/sh
n=\$(cat "$EV/seq" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >"$EV/seq"
f="$EV/\$n.\$SERF_EVENT"
env | grep '^SERF_' | sort >"\$f.tmp"
echo --- >>"\$f.tmp"
cat >>"\$f.tmp"
mv "\$f.tmp" "\$f"
EOF
# failures only: the event name and stdin, appended
cat >"$E2E_DIR/failed.sh" <<EOF
#!/bin/sh
{ echo "event \$SERF_EVENT"; cat; } >>"$EV/failed.log"
EOF
chmod +x "$E2E_DIR/all.sh" "$E2E_DIR/failed.sh"

# event_file EVENT LINE: a run for EVENT got LINE on stdin; prints the file
event_file() {
    local f
    for f in "$EV"/*."$1"; do
        [ -e "$f" ] || continue
        grep -qxF -- "$2" "$f" && { cat "$f"; return 0; }
    done
    return 1
}

ml_start a -tag role=lb -tag dc=eu-1 -event-handler "$E2E_DIR/all.sh" -event-handler "member-failed=$E2E_DIR/failed.sh"
ml_start b -join "$(agent_addr a)" -tag role=web
b_line=$(printf 'b\t127.0.0.1\tweb\trole=web')
expect_within 10 "a's handler ran for b's member-join" event_file member-join "$b_line"
got=$(event_file member-join "$b_line")
for want in SERF_EVENT=member-join SERF_SELF_NAME=a SERF_SELF_ROLE=lb SERF_TAG_DC=eu-1 SERF_TAG_ROLE=lb; do
    grep -qxF "$want" <<<"$got" || fail "b's member-join run lacks $want:"$'\n'"$got"
done
e2e_log "ok: member-join with serf's environment and member line"

# s runs a handler that sleeps 10 s on every event, from its own join on
ml_start s -join "$(agent_addr a)" -event-handler "sleep 10"
expect_within 10 "a and b see s alive" all_see s alive a b
t0=$(now)

# b is killed meanwhile: a's handlers see it failed, the filtered one only that
agent_kill9 b
expect_within 20 "a's handler ran for b's member-failed" event_file member-failed "$b_line"
expect_within 5 "the member-failed handler ran (after the first)" grep -qxF "$b_line" "$EV/failed.log"
[ "$(grep -c '^event ' "$EV/failed.log")" = 1 ] && grep -qx 'event member-failed' "$EV/failed.log" &&
    grep -qxF "$b_line" "$EV/failed.log" || fail "the member-failed handler saw:"$'\n'"$(cat "$EV/failed.log")"
e2e_log "ok: member-failed, and the filtered handler saw only that"

# 12 s after s joined its handler has run 10 s; a has never seen s
# other than alive
while ! fle 12 "$(elapsed "$t0")"; do
    st=$(status_of a s) || fail "a's RPC did not answer"
    [ "$st" = alive ] || { e2e_views >&2; fail "a sees s $st while s's handler sleeps"; }
    sleep 0.5
done
if moonlist_only "s's slow handler line and a's log"; then
    log_has s "event handler 'sleep 10' (member-join) slow" || fail "s did not log its slow handler"
    ! grep -Eq '(suspect|marking) s (has|as) ' "$(agent_log a)" || fail "a suspected s"
fi
e2e_log "ok: s stayed alive for 12 s behind a 10 s handler"
e2e_log "PASS"
