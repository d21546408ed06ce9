#!/usr/bin/env bash
# The knob table (agent/swim/swim_knobs.h) is the one list of memberlist's
# knobs; the README names each knob's flag and docs/lua.md each
# agent.config key. A knob added to the table but not to the docs fails
# here. Usage: knob_docs.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: knob_docs.sh SOURCE_DIR}
rows=$(sed -n 's/^[[:space:]]*X(\([a-z_]*\), "\([a-z-]*\)".*/\1 \2/p' "$src/agent/swim/swim_knobs.h")
n=$(wc -l <<<"$rows")
[ "$n" -ge 10 ] || { echo "knob_docs: read only $n rows from swim_knobs.h: the table's format changed?"; exit 1; }
bad=0
while read -r key flag; do
    grep -q -- "-$flag\b" "$src/README.md" || { echo "README.md does not name the flag -$flag"; bad=1; }
    grep -q -- "\`$key\`" "$src/docs/lua.md" || { echo "docs/lua.md does not name the agent.config key '$key'"; bad=1; }
done <<<"$rows"
[ $bad = 0 ] && echo "knob_docs: $n knobs, each in README.md and docs/lua.md"
exit $bad
