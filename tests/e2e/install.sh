#!/usr/bin/env bash
# `cmake --install` into a fresh prefix gives an agent that runs from there
# alone: it finds its default script in share/moonlist/scripts, the example
# scripts find their moonlist.* modules in share/moonlist/lua, and the
# control commands work. Usage: install.sh /path/to/build/moonlist
. "$(dirname "$0")/lib.sh"
built=${1:?usage: install.sh /path/to/build/moonlist}
build_dir=$(cd "$(dirname "$built")" && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/moonlist-install.XXXXXX")
cmake --install "$build_dir" --prefix "$prefix" >/dev/null || { echo "FAIL install: cmake --install failed" >&2; exit 1; }
e2e_init "$prefix/bin/moonlist"
trap 'e2e_cleanup; rm -rf "$prefix"' EXIT

for f in bin/moonlist share/moonlist/scripts/agent.lua share/moonlist/scripts/services.lua \
         share/moonlist/lua/moonlist/catalog.lua lib/lua/5.1/moonlist/core.so share/doc/moonlist/README.md \
         lib/systemd/system/moonlist.service; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done

ml_start a
grep -q "config script $prefix/bin/../share/moonlist/scripts/agent.lua running" "$(agent_log a)" ||
    fail "the installed agent did not run its installed default script"

# services.lua requires moonlist.catalog and moonlist.json: found only in the prefix
mkdir -p "$E2E_DIR/sd"
MOONLIST_SD_DIR=$E2E_DIR/sd MOONLIST_SERVICES='[{"name":"db","port":5432}]' \
    ml_start b -join "$(agent_addr a)" -config "$prefix/share/moonlist/scripts/services.lua"
expect_within 15 "a and b see each other alive" all_see_count 2 alive a b
expect_within 10 "b's catalog lists db" grep -q '"db"' "$E2E_DIR/sd/services.json"
grep -q "module 'moonlist" "$(agent_log b)" && fail "a moonlist.* module was not found"
e2e_log "installed agent ran from $prefix"
