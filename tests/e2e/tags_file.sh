# serf's -tags-file: tags changed at run time (a script's agent.set_tags)
# are written to the file and survive a restart; -tag beside it is refused.
#   bash tests/e2e/tags_file.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"
if ! moonlist_only "the whole test (tags set by a moonlist script)"; then
    e2e_log "PASS"
    exit 0
fi

TAGS=$E2E_DIR/t/tags.json
mkdir -p "$(dirname "$TAGS")"
# with SET_TAGS=1, the script changes the tags once the agent runs
cat >"$E2E_DIR/set_tags.lua" <<'EOF'
local agent = require "moonlist"
if os.getenv("SET_TAGS") == "1" then
  agent.after(0.2, function() agent.set_tags { role = "db", zone = "z1", gone = false } end)
end
EOF

tags_of() { field_of "$1" "$2" '.tags | tojson'; }
want='{"role":"db","zone":"z1"}'

ml_start p
free_port; t_port=$REPLY
# the file has a tag the script deletes
printf '{"gone": "yes"}' >"$TAGS"
SET_TAGS=1 ml_start_at t "$t_port" -join "$(agent_addr p)" -config "$E2E_DIR/set_tags.lua" -tags-file "$TAGS"
log_has t "restored 1 tag from $TAGS" || fail "t did not restore the file's tag"
expect_within 10 "p sees t's tags as the script set them" eval '[ "$(tags_of p t)" = "$want" ]'
expect_within 5 "the file holds them" eval '[ "$(jq -c . "$TAGS" 2>/dev/null)" = "$want" ]'
[ "$(stat -c %a "$TAGS")" = 600 ] || fail "the tags file's mode is $(stat -c %a "$TAGS"), want 600"
e2e_log "tags file: $(tr -d '\n' <"$TAGS")"

# stopped without leaving (SIGTERM, as a service restart), started again
# without the change: the file's tags are its tags
inc_before=$(field_of p t .incarnation)
agent_signal t TERM
agent_wait_exit t 10
ml_start_at t "$t_port" -join "$(agent_addr p)" -config "$E2E_DIR/set_tags.lua" -tags-file "$TAGS"
log_has t "restored 2 tags from $TAGS" || fail "t did not restore its tags after the restart"
[ "$(tags_of t t)" = "$want" ] || fail "t restarted with tags $(tags_of t t), want $want"
# p learns the restarted t's alive (it refutes its old incarnation)
expect_within 10 "p sees the restarted t alive, newer, with the same tags" \
    eval '[ "$(field_of p t .incarnation)" -gt "$inc_before" ] && [ "$(tags_of p t)" = "$want" ] && is_status p t alive'

# serf refuses tags beside a tags file
rc=0
out=$("$ML" agent -node x -tags-file "$TAGS" -tag a=b 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '-tag cannot be used with -tags-file' <<<"$out" ||
    fail "-tag with -tags-file: exit $rc, $out"
e2e_log "PASS"
