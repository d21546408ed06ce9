# Mixed cluster (plaintext): 3 serf and 3 moonlist agents, two
# of them killed, then a moonlist agent leaves on SIGINT: serf and moonlist
# must all show it "left" (serf needs its leave intent first, §16).
#   bash tests/e2e/serf_mixed_leave.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_scenario --leave
e2e_log "PASS"
