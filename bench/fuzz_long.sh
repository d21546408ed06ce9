#!/usr/bin/env bash
# Long fuzz runs, outside CI: each libFuzzer target for FUZZ_SECONDS
# (default 600) from its seed corpus, one after another, under nice (the
# machine's other work goes first; the executions counted say how much
# fuzzing a run got). Prints one line per target and a Markdown table; a
# crash leaves libFuzzer's reproducer in the output directory and makes
# the script exit 1 (a crash becomes a regression test: copy the input
# into fuzz/corpus/<target>/ and fix).
#
#   bash bench/fuzz_long.sh build-asan [target...]
#
# build-asan: a build with -DMOONLIST_SANITIZE=ON -DMOONLIST_FUZZ=ON (clang),
# as ./setup test makes. Environment: FUZZ_SECONDS=600, FUZZ_NICE=19,
# FUZZ_OUT=bench/out/fuzz (logs, new corpus entries, any crash inputs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench/fuzz_long.sh BUILD_DIR [target...]}
shift
seconds=${FUZZ_SECONDS:-600}
out=${FUZZ_OUT:-$here/bench/out/fuzz}
mkdir -p "$out"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in "$here"/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

status=0
table="| target | seconds | executions | exec/s | coverage (cov) | features (ft) | corpus | result |
|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
    bin=$build/$t
    [ -x "$bin" ] || { echo "fuzz_long: $bin is not built" >&2; exit 2; }
    work=$out/$t
    mkdir -p "$work/corpus" "$work/artifacts"
    log=$out/$t.log
    rc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        nice -n "${FUZZ_NICE:-19}" "$bin" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" "$here/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    execs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -n 1)
    secs=$(awk '/stat::total_run_time/ {} /Done [0-9]+ runs in/ { print $(NF-1) }' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")
    rate=$(awk -v e="${execs:-0}" -v s="${secs:-$seconds}" 'BEGIN { if (s > 0) printf "%d", e / s; else print "-" }')
    if [ "$rc" -eq 0 ]; then result=clean; else result="CRASH (rc $rc, see $log)"; status=1; fi
    echo "$t: ${secs:-?} s, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}: $result"
    table+=$'\n'"| $t | ${secs:-?} | ${execs:-?} | $rate | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |"
done
echo
echo "$table"
exit "$status"
