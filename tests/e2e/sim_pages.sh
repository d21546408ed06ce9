#!/usr/bin/env bash
# `moonlist sim` restarts itself with glibc.malloc.hugetlb=1 in
# GLIBC_TUNABLES (agent/cli/cli_sim_pages.c), keeps an operator's own
# value of that tunable, adds it to other tunables, and reports the same
# run either way (same seed, same report but the wall time). -profile-time
# gives the CPU time in the process and in the kernel.
# Usage: sim_pages.sh /path/to/moonlist
set -u
BIN=${1:?usage: sim_pages.sh /path/to/moonlist}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; for f in "$TMP"/*; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

run() { # NAME [env...]: a small run's report and its timing lines
  local name=$1; shift
  env "$@" "$BIN" sim -nodes 60 -seed 3 -format json -profile-time >"$TMP/$name.json" 2>"$TMP/$name.err" ||
    fail "$name: exit $?"
}
run plain -u GLIBC_TUNABLES
grep -q 'in huge pages (glibc.malloc.hugetlb=1)$' "$TMP/plain.err" || fail "no hugetlb=1 after the restart"
run off GLIBC_TUNABLES=glibc.malloc.hugetlb=0
grep -q 'in huge pages (glibc.malloc.hugetlb=0)$' "$TMP/off.err" || fail "the operator's hugetlb=0 was not kept"
run other GLIBC_TUNABLES=glibc.malloc.perturb=0
grep -q 'in huge pages (glibc.malloc.hugetlb=1)$' "$TMP/other.err" || fail "hugetlb=1 not added to other tunables"
# the report but wall_s: the same in all three
for r in off other; do
  sed 's/"wall_s":[^,}]*//' "$TMP/plain.json" >"$TMP/a" && sed 's/"wall_s":[^,}]*//' "$TMP/$r.json" >"$TMP/b"
  cmp -s "$TMP/a" "$TMP/b" || fail "the report differs with $r"
done
# where the time went includes the CPU in the process and in the kernel
# (page faults, counted)
grep -Eq '^  CPU, user +[0-9]+\.[0-9]+ s$' "$TMP/plain.err" || fail "no user CPU line in -profile-time"
grep -Eq '^  CPU, kernel +[0-9]+\.[0-9]+ s  \([1-9][0-9]* page faults\)$' "$TMP/plain.err" ||
  fail "no kernel CPU line with its page faults in -profile-time"
grep -o 'memory: .*' "$TMP/plain.err"
echo "ok"
