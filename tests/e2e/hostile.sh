# Hostile input against a live 3-agent moonlist cluster (plaintext): the
# target stays up, its view does not change, its memory stays flat.
#   bash tests/e2e/hostile.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_hostile.sh"
e2e_init "$@"
hostile_scenario
e2e_log "PASS"
