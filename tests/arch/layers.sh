#!/usr/bin/env bash
# Every #include between agent/ layers points down the table CMake declares.
#
#   bash tests/arch/layers.sh AGENT_DIR LAYER:DEP,DEP ...
#
# CMakeLists.txt passes its own layer table (MOONLIST_DEPS_*), so the build
# and this check cannot disagree. A layer may include its own headers and
# those of every layer it depends on, directly or through another; anything
# else (an include pointing up, or sideways between net and sim) fails, and
# so does a cycle in the table itself. The sans-I/O layers (wire, swim,
# serf) also may not include an event loop, sockets or a clock: the core
# gets `now` and bytes from its caller (docs/architecture.md).
#
# With --self-test it first checks that it catches a bad include in a
# throw-away tree, so a broken checker cannot pass silently.
set -euo pipefail

declare -A deps=()
sans_io="wire swim serf"
forbidden_sys='<uv\.h>|<sys/socket\.h>|<netinet/|<netdb\.h>|<pthread\.h>|<time\.h>|<sys/time\.h>|<unistd\.h>'

closure() { # closure LAYER: every layer LAYER may include, itself excluded
    local seen=" " todo=(${deps[$1]//,/ }) d
    while [ ${#todo[@]} -gt 0 ]; do
        d=${todo[0]}; todo=("${todo[@]:1}")
        case "$seen" in *" $d "*) continue ;; esac
        seen="$seen$d "
        todo+=(${deps[$d]//,/ })
    done
    echo "$seen"
}

check_tree() { # check_tree AGENT_DIR: prints one line per violation, returns 1 if any
    local dir=$1 bad=0 layer allowed f inc target
    for layer in "${!deps[@]}"; do
        allowed=$(closure "$layer")
        case "$allowed" in *" $layer "*) echo "cycle: $layer depends on itself through$allowed"; bad=1 ;; esac
        [ -d "$dir/$layer" ] || continue
        for f in "$dir/$layer"/*.[ch]; do
            [ -e "$f" ] || continue
            while IFS= read -r inc; do
                target=${inc%%/*}
                [ "$target" = "$layer" ] && continue
                [ -n "${deps[$target]+x}" ] || continue   # not a layer (generated headers)
                case "$allowed" in
                    *" $target "*) ;;
                    *) echo "$f: includes \"$inc\": $layer may only use ${allowed# }"; bad=1 ;;
                esac
            done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
            case " $sans_io " in
                *" $layer "*)
                    if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*($forbidden_sys)" "$f"; then
                        echo "$f: $layer is sans I/O: no event loop, sockets, threads or clocks"; bad=1
                    fi ;;
            esac
        done
    done
    return $bad
}

self_test=0
if [ "${1:-}" = "--self-test" ]; then self_test=1; shift; fi
agent_dir=$1; shift
for spec in "$@"; do deps[${spec%%:*}]=${spec#*:}; done

if [ $self_test = 1 ]; then
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/wire" "$tmp/swim"
    printf '#include "swim/swim.h"\n' > "$tmp/wire/up.c"
    printf '#include <uv.h>\n#include "wire/wire.h"\n' > "$tmp/swim/loop.c"
    out=$(check_tree "$tmp" || true)
    grep -q 'wire/up.c: includes "swim/swim.h"' <<<"$out" || { echo "self-test: an upward include was not caught"; exit 1; }
    grep -q 'swim/loop.c: swim is sans I/O' <<<"$out" || { echo "self-test: a loop in the core was not caught"; exit 1; }
    rm -rf "$tmp"; trap - EXIT
fi

if check_tree "$agent_dir"; then
    echo "layers: every include points down (${#deps[@]} layers)"
else
    exit 1
fi
