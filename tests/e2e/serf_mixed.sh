# Mixed cluster, plaintext: 3 serf agents and 3 moonlist agents.
#   bash tests/e2e/serf_mixed.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_scenario
e2e_log "PASS"
