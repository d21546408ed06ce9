# Mixed cluster, encrypted: 3 serf agents and 3 moonlist agents sharing one
# AES-256-GCM key (the published test key of the serf captures).
#   bash tests/e2e/serf_mixed_encrypted.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_serf_mixed.sh"
e2e_init "$@"
mixed_scenario -encrypt AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
e2e_log "PASS"
