# Hostile input against a live 3-agent encrypted moonlist cluster: the
# frames now meet the decryption path (absurd envelope lengths, mangled
# ciphertext). Same assertions as hostile.sh.
#   bash tests/e2e/hostile_encrypted.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_hostile.sh"
e2e_init "$@"
hostile_scenario -encrypt AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
e2e_log "PASS"
