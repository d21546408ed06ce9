#!/usr/bin/env bash
# The SWIM and Lifeguard papers' figures, reproduced on `moonlist sim`
# (virtual time, deterministic per seed). Not a test (ctest does not run it).
#
#   bash bench/papers.sh [--full] [--replot] [--docs] [build/moonlist]
#
# Four figures, each beside the paper's number:
#   detect-first  first suspicion of a crashed node against N, in protocol
#                 periods (SWIM: e/(e-1) = 1.582 expected, independent of N)
#   detect-all    time until every node has declared it dead, and the
#                 gossip part of it (last minus first declaration), against
#                 N, with a + b ln N fitted (SWIM: O(log N) dissemination)
#   load          messages each node sends per protocol period, no fault,
#                 against N (SWIM: constant; 1 ping + 1 ack on average)
#   false-pos     healthy or merely slow nodes declared dead, Lifeguard on
#                 and off, under 1, 5 and 10 % packet loss, with paused
#                 nodes, and with slow nodes (`sim -slow`: everything
#                 reaches them 0.5 D to 1.5 D late) (Lifeguard's paper:
#                 more than 50x fewer with it)
# It writes, under bench/out (PAPERS_OUT):
#   scale.tsv  one row per (N, seed): a crash once the join's gossip is over (-settle)
#   load.tsv   one row per N: no fault, PAPERS_LOAD_SECONDS once the join's gossip is over
#   fp.tsv     one row per (scenario, lifeguard, seed); healthy_deaths is
#              the episodes of healthy nodes (loss and slow runs; in the
#              pause runs the healthy nodes the sim saw declared dead),
#              slow_declared the slow nodes' episodes (slow runs) or the
#              paused nodes declared dead (pause runs)
#   papers.tsv the summary: ours (mean, sd over seeds) beside the paper's
#   papers-{detect-first,detect-all,load,false-pos}.png (gnuplot)
# --replot remakes papers.tsv and the plots from the raw TSVs of an earlier
# run, without running the simulator; --docs copies papers.tsv, fit.txt
# and the plots to docs/figures/. A part whose raw TSV is missing (not run
# here, e.g. PAPERS_PARTS=fp) keeps its rows of docs/figures/papers.tsv
# in the table, and its plots and fits in docs/figures/ are left alone.
#
# Defaults finish in about ten minutes on two shared cores; --full goes to
# N = 4096 with 20 seeds (hours, until the simulator's speed-up lands).
# Environment (defaults; --full's in brackets):
#   PAPERS_SIZES="16 32 64 128 256 512"  ["... 1024 2048 4096"]
#   PAPERS_SEEDS=10 [20]         seeds per N for the crash runs
#   PAPERS_LOAD_SECONDS=300      virtual seconds of the no-fault load runs
#   PAPERS_FP_NODES=64           cluster size of the false-positive runs
#   PAPERS_FP_SEEDS=5 [10]       seeds per false-positive scenario
#   PAPERS_FP_SECONDS=1800 [3600] virtual seconds watched per loss run
#   PAPERS_LOSSES="0.01 0.05 0.10"
#   PAPERS_PAUSES="6 9 12"       pause lengths (s) of the slow-node runs
#   PAPERS_PAUSED=4              nodes paused per pause run
#   PAPERS_SLOW="0.5 1 2"        slow-node runs: D in s, each delivery to a
#                                slow node waits 0.5 D to 1.5 D
#   PAPERS_SLOWED=4              slow nodes per slow-node run, slow for
#                                PAPERS_FP_SECONDS, TCP pings on and off
#   PAPERS_SETTLE=900s           crash and load runs start once no node has
#                                membership news left to gossip (`sim -settle`),
#                                at most this long after convergence: SWIM's
#                                figures are of a settled group, and a burst
#                                join converges (by push/pull, §12.2) long
#                                before its gossip is over
#   PAPERS_PROFILE=lan           (probe interval 1 s: seconds = periods)
#   PAPERS_PARTS="crash load fp" the sweeps to run (the others' TSVs are
#                                left as they are, and summarised)
#   PAPERS_NICE=10
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

full=
docs=
replot=
bin=
for a in "$@"; do
    case $a in
    --full) full=1 ;;
    --docs) docs=1 ;;
    --replot) replot=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "papers.sh: unknown flag $a (try -h)" >&2
        exit 2
        ;;
    *) bin=$a ;;
    esac
done
bin=${bin:-$root/build/moonlist}
[ -x "$bin" ] || { echo "papers.sh: no moonlist binary at $bin (give its path)" >&2; exit 2; }
command -v jq >/dev/null || { echo "papers.sh: needs jq" >&2; exit 2; }

if [ -n "$full" ]; then
    SIZES=${PAPERS_SIZES:-16 32 64 128 256 512 1024 2048 4096}
    SEEDS=${PAPERS_SEEDS:-20}
    FP_SEEDS=${PAPERS_FP_SEEDS:-10}
    FP_SECONDS=${PAPERS_FP_SECONDS:-3600}
else
    SIZES=${PAPERS_SIZES:-16 32 64 128 256 512}
    SEEDS=${PAPERS_SEEDS:-10}
    FP_SEEDS=${PAPERS_FP_SEEDS:-5}
    FP_SECONDS=${PAPERS_FP_SECONDS:-1800}
fi
LOAD_SECONDS=${PAPERS_LOAD_SECONDS:-300}
FP_NODES=${PAPERS_FP_NODES:-64}
LOSSES=${PAPERS_LOSSES:-0.01 0.05 0.10}
PAUSES=${PAPERS_PAUSES:-6 9 12}
PAUSED=${PAPERS_PAUSED:-4}
SLOW=${PAPERS_SLOW:-0.5 1 2}
SLOWED=${PAPERS_SLOWED:-4}
PROFILE=${PAPERS_PROFILE:-lan}
SETTLE=${PAPERS_SETTLE:-900s}
NICE=${PAPERS_NICE:-10}
PARTS=" ${PAPERS_PARTS:-crash load fp} "
OUT=${PAPERS_OUT:-$here/out}
mkdir -p "$OUT"
CONFIG=$here/papers.lua
t_start=$(date +%s)

sim() { nice -n "$NICE" "$bin" sim -profile "$PROFILE" -format json "$@"; }
say() { printf '[%4ds] %s\n' $(($(date +%s) - t_start)) "$*" >&2; }
# jq's null as "-", so the TSV columns stay aligned
J='def v: if . == null then "-" else . end;'

scale=$OUT/scale.tsv
load=$OUT/load.tsv
fp=$OUT/fp.tsv
if [ -z "$replot" ]; then
# ---- 1. a crash, against N ----
if [[ $PARTS == *" crash "* ]]; then
printf 'nodes\tseed\tconverge_s\tsuspect_first_s\tdetect_first_s\tdetect_all_s\tsuspicion_max_s\tfalse_dead\twall_s\tsettle_s\n' >"$scale"
for n in $SIZES; do
    for s in $(seq 1 "$SEEDS"); do
        sim -nodes "$n" -seed "$s" -kill 1 -settle "$SETTLE" | jq -r "$J"'[.nodes, .seed, (.converge_s|v), (.suspect_first_s|v),
            (.detect_first_s|v), (.detect_all_s|v), .suspicion_max_s, .false_dead, .wall_s, (.settle_s|v)] | @tsv' >>"$scale"
    done
    say "crash runs: N=$n done ($SEEDS seeds)"
done
fi

# ---- 2. load without a fault, against N ----
if [[ $PARTS == *" load "* ]]; then
printf 'nodes\tseed\tseconds\tmsgs_per_node_s\tbytes_per_node_s\tfalse_dead\twall_s\tsettle_s\n' >"$load"
for n in $SIZES; do
    sim -nodes "$n" -seed 1 -kill 0 -duration "${LOAD_SECONDS}s" -settle "$SETTLE" | jq -r --arg d "$LOAD_SECONDS" "$J"'
        [.nodes, .seed, ($d|tonumber), .msgs_per_node_s, .bytes_per_node_s, .false_dead, .wall_s, (.settle_s|v)] | @tsv' >>"$load"
    say "load run: N=$n done"
done
fi

# ---- 3. false positives, Lifeguard on and off ----
if [[ $PARTS == *" fp "* ]]; then
events=$(mktemp)
trap 'rm -f "$events"' EXIT
printf 'scenario\tlifeguard\tseed\tnodes\tseconds\tloss\tfaulted\tdeclarations\tepisodes\thealthy_declared\tslow_declared\tsuspicion_max_s\twall_s\thealthy_deaths\n' >"$fp"
# fp_run SCENARIO LIFEGUARD TCP_PINGS SEED SECONDS LOSS FAULTED sim-flags...
fp_run() {
    local sc=$1 lg=$2 tcp=$3 seed=$4 secs=$5 loss=$6 paused=$7 js decl epi subj
    shift 7
    : >"$events"
    js=$(PAPERS_LIFEGUARD=$lg PAPERS_TCP_PINGS=$tcp PAPERS_EVENTS=$events \
        sim -nodes "$FP_NODES" -seed "$seed" -loss "$loss" -config "$CONFIG" "$@")
    decl=$(wc -l <"$events")
    # an episode: one death of one subject at one incarnation, however
    # many nodes declared it
    epi=$(cut -f2,3 "$events" | sort -u | wc -l)
    subj=$(cut -f2 "$events" | sort -u | wc -l)
    # healthy and slow nodes apart: a slow run's sim counts the slow
    # nodes' episodes itself (slow_declared), so the rest are the healthy
    # ones'; under loss every node is healthy; a pause run counts subjects
    jq -r --arg sc "$sc" --arg lg "$lg" --arg secs "$secs" --arg paused "$paused" \
        --argjson decl "$decl" --argjson epi "$epi" --argjson subj "$subj" \
        '(if .fault == "slow" then .slow_declared elif .fault == "pause" then $subj - .false_dead else 0 end) as $slow
         | (if .fault == "slow" then $epi - .slow_declared elif .fault == "pause" then .false_dead else $epi end) as $healthy
         | [$sc, $lg, .seed, .nodes, ($secs|tonumber), .loss, ($paused|tonumber), $decl, $epi, .false_dead,
          $slow, .suspicion_max_s, .wall_s, $healthy] | @tsv' <<<"$js" >>"$fp"
}
for lg in off on; do
    for loss in $LOSSES; do
        for s in $(seq 1 "$FP_SEEDS"); do
            fp_run "loss-$loss" "$lg" off "$s" "$FP_SECONDS" "$loss" 0 -kill 0 -duration "${FP_SECONDS}s"
        done
        say "false positives: loss $loss, TCP pings off, lifeguard $lg done"
    done
    # the default, TCP pings on, at the highest loss
    last=${LOSSES##* }
    for s in $(seq 1 "$FP_SEEDS"); do
        fp_run "loss-$last-tcp" "$lg" on "$s" "$FP_SECONDS" "$last" 0 -kill 0 -duration "${FP_SECONDS}s"
    done
    say "false positives: loss $last, TCP pings on, lifeguard $lg done"
    for p in $PAUSES; do
        for s in $(seq 1 "$FP_SEEDS"); do
            fp_run "pause-${p}s" "$lg" on "$s" "$p" 0 "$PAUSED" -pause "$PAUSED" -heal "${p}s"
        done
        say "paused nodes: $PAUSED paused ${p} s, lifeguard $lg done"
    done
    # slow nodes: TCP pings on (as agents run) and off
    for d in $SLOW; do
        for tcp in on off; do
            sc=slow-${d}s
            [ "$tcp" = off ] || sc=$sc-tcp
            for s in $(seq 1 "$FP_SEEDS"); do
                fp_run "$sc" "$lg" "$tcp" "$s" "$FP_SECONDS" 0 "$SLOWED" -slow "$SLOWED" -slow-delay "${d}s" \
                    -duration "${FP_SECONDS}s"
            done
            say "slow nodes: $SLOWED slow by ${d} s x [0.5, 1.5], TCP pings $tcp, lifeguard $lg done"
        done
    done
done
# which half of Lifeguard does it, at the highest loss
for lg in no-awareness no-suspicion; do
    for s in $(seq 1 "$FP_SEEDS"); do
        fp_run "loss-$last" "$lg" off "$s" "$FP_SECONDS" "$last" 0 -kill 0 -duration "${FP_SECONDS}s"
    done
    say "false positives: loss $last, TCP pings off, lifeguard $lg done"
    for d in $SLOW; do
        for s in $(seq 1 "$FP_SEEDS"); do
            fp_run "slow-${d}s-tcp" "$lg" on "$s" "$FP_SECONDS" 0 "$SLOWED" -slow "$SLOWED" -slow-delay "${d}s" \
                -duration "${FP_SECONDS}s"
        done
        say "slow nodes: $SLOWED slow by ${d} s x [0.5, 1.5], TCP pings on, lifeguard $lg done"
    done
done
fi
fi # [ -z "$replot" ]

# ---- 4. the summary ----
sum=$OUT/papers.tsv
# the rows of parts not run here come from the table in the docs
prev=$root/docs/figures/papers.tsv
carry() { # carry AWK-PATTERN: those rows of $prev, if any
    [ ! -f "$prev" ] || awk -F'\t' "NR > 1 && ($1)" "$prev"
}
E_OVER=$(awk 'BEGIN { e = exp(1); printf "%.3f", e / (e - 1) }')
{
    printf 'figure\tN\truns\tprofile\tloss\tours\tours_sd\tpaper\tunit\n'
    # mean and sd of a column over the seeds of each N
    if [ ! -f "$scale" ]; then carry '$1 ~ /^(detect-first|detect-all|spread)$/'; else awk -F'\t' -v prof="$PROFILE" -v eo="$E_OVER" '
        NR == 1 { next }
        $4 != "-" { n1[$1]++; s1[$1] += $4; q1[$1] += $4 * $4 }
        $6 != "-" { n2[$1]++; s2[$1] += $6; q2[$1] += $6 * $6 }
        $6 != "-" && $5 != "-" { d = $6 - $5; n3[$1]++; s3[$1] += d; q3[$1] += d * d }
        { if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
        function sd(n, s, q) { return n > 1 ? sqrt((q - s * s / n) / (n - 1)) : 0 }
        END {
            for (i = 1; i <= k; i++) { x = order[i]
                printf "detect-first\t%d\t%d\t%s\t0\t%.3f\t%.3f\t%s\tprotocol periods (first suspicion)\n", x, n1[x], prof, s1[x] / n1[x], sd(n1[x], s1[x], q1[x]), eo }
            for (i = 1; i <= k; i++) { x = order[i]
                printf "detect-all\t%d\t%d\t%s\t0\t%.3f\t%.3f\tO(log N)\ts until all declared dead\n", x, n2[x], prof, s2[x] / n2[x], sd(n2[x], s2[x], q2[x]) }
            for (i = 1; i <= k; i++) { x = order[i]
                printf "spread\t%d\t%d\t%s\t0\t%.3f\t%.3f\tO(log N)\ts from first to last declaration\n", x, n3[x], prof, s3[x] / n3[x], sd(n3[x], s3[x], q3[x]) }
        }' "$scale"; fi
    if [ ! -f "$load" ]; then carry '$1 == "load"'; else awk -F'\t' -v prof="$PROFILE" 'NR > 1 {
        printf "load\t%d\t1\t%s\t0\t%.3f\t0\t2 (constant)\tmsgs sent per node per period, no fault\n", $1, prof, $4 }' "$load"; fi
    # false positives: deaths per run (mean, sd over seeds): episodes under
    # loss, paused and healthy nodes declared dead in the pause runs; the
    # slow runs give two rows, healthy nodes' episodes (slow-*) and the
    # slow nodes' own (slowdead-*); "off" rows come first, so an "on" row
    # shows where the paper's ratio puts it
    if [ ! -f "$fp" ]; then carry '$1 ~ /^false-pos:/'; else awk -F'\t' -v prof="$PROFILE" '
        NR == 1 { next }
        function add(sc, y,  key) { key = sc "\t" $2; if (!(key in runs)) order[++k] = key
          runs[key]++; nodes[key] = $4; loss[key] = $6; s[key] += y; q[key] += y * y }
        { add($1, $1 ~ /^pause/ ? $11 + $10 : $1 ~ /^slow/ ? $14 : $9)
          if ($1 ~ /^slow/) { sc = $1; sub(/^slow/, "slowdead", sc); add(sc, $11) } }
        END { for (i = 1; i <= k; i++) { x = order[i]; split(x, p, "\t"); r = runs[x]; m = s[x] / r
            sd = r > 1 ? sqrt((q[x] - s[x] * s[x] / r) / (r - 1)) : 0
            if (p[2] == "off") { off[p[1]] = m; paper = "(baseline)" }
            else if (p[2] == "on") paper = sprintf("<= %.3f (off/50)", off[p[1]] / 50)
            else paper = "-"
            printf "false-pos:%s:lifeguard-%s\t%d\t%d\t%s\t%s\t%.3f\t%.3f\t%s\tfalse deaths per run\n",
                p[1], p[2], nodes[x], r, prof, loss[x], m, sd, paper } }' "$fp"
    fi
} >"$sum"

# ---- 5. plots ----
fitfile=$OUT/fit.txt
# least squares y = a + b ln N over every run (not the means)
fit() { # fit COLUMN-EXPR -> "a b"
    awk -F'\t' "NR > 1 && \$6 != \"-\" && \$5 != \"-\" { x = log(\$1); y = $1; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
        END { b = (n * sxy - sx * sy) / (n * sxx - sx * sx); a = (sy - b * sx) / n; printf \"%.4f %.4f\n\", a, b }" "$scale"
}
if [ -f "$scale" ]; then
    read -r fa_a fa_b < <(fit '$6')
    read -r fs_a fs_b < <(fit '$6 - $5')
    printf 'detect_all_s = %s + %s ln N\nspread_s = %s + %s ln N\n' "$fa_a" "$fa_b" "$fs_a" "$fs_b" >"$fitfile"
elif [ -f "$root/docs/figures/fit.txt" ]; then
    cp "$root/docs/figures/fit.txt" "$fitfile"
    read -r fa_a fa_b < <(awk '/^detect_all_s/ { print $3, $5 }' "$fitfile")
    read -r fs_a fs_b < <(awk '/^spread_s/ { print $3, $5 }' "$fitfile")
else
    fa_a=0 fa_b=0 fs_a=0 fs_b=0
fi
say "fits: $(tr '\n' ';' <"$fitfile")"

if ! command -v gnuplot >/dev/null 2>&1; then
    say "no plots: gnuplot is not installed (./setup installs gnuplot-nox)"
else
    d=$(mktemp -d)
    awk -F'\t' '$1 == "detect-first" { print $2, $6, $7 }' "$sum" >"$d/first"
    awk -F'\t' '$1 == "detect-all" { print $2, $6, $7 }' "$sum" >"$d/all"
    awk -F'\t' '$1 == "spread" { print $2, $6, $7 }' "$sum" >"$d/spread"
    [ ! -f "$scale" ] || awk -F'\t' 'NR > 1 && $4 != "-" { print $1, $4 }' "$scale" >"$d/first-runs"
    [ ! -f "$load" ] || awk -F'\t' 'NR > 1 { print $1, $4, $5 / 1000 }' "$load" >"$d/load"
    # scenario, off, on, off/50 (where the paper's ratio would put "on")
    awk -F'\t' '$1 ~ /^false-pos:.*:lifeguard-o(n|ff)$/ { split($1, p, ":"); v[p[2], p[3]] = $6; if (!(p[2] in s)) { s[p[2]] = 1; o[++k] = p[2] } }
        END { for (i = 1; i <= k; i++) { x = o[i]; lab = x
            if (x ~ /^loss-/) { split(x, q, "-"); lab = sprintf("%g%% loss%s", q[2] * 100, q[3] == "tcp" ? ", TCP pings" : "") }
            if (x ~ /^pause-/) { lab = x; sub(/^pause-/, "pause ", lab) }
            if (x ~ /^slow(dead)?-/) { split(x, q, "-"); sub(/s$/, "", q[2])
                lab = sprintf("slow %s s%s: %s", q[2], q[3] == "tcp" ? ", TCP pings" : "", q[1] == "slow" ? "healthy dead" : "the slow dead") }
            printf "\"%s\" %s %s %s\n", lab, v[x, "lifeguard-off"], v[x, "lifeguard-on"], v[x, "lifeguard-off"] / 50 } }' "$sum" >"$d/fp"
    # the axes span the sizes in the data (a --replot of rows appended from
    # other runs holds more than this run's SIZES)
    [ ! -f "$scale" ] || [ ! -f "$load" ] ||
        SIZES=$(awk -F'\t' 'FNR > 1 { print $1 }' "$scale" "$load" | sort -n -u | tr '\n' ' ' | sed 's/ $//')
    xt=$(echo $SIZES | tr ' ' ,)
    if [ ! -f "$scale" ] || [ ! -f "$load" ]; then
        say "no detection or load plots: $scale or $load missing (that part not run here)"
    else
    gnuplot <<GNUPLOT || say "gnuplot failed: some detection or load plots missing"
set terminal pngcairo size 900,560
set grid
set key top left
set logscale x 2
set xtics ($xt)
set xrange [${SIZES%% *} / 1.2 : ${SIZES##* } * 1.2]
set xlabel 'nodes (N)'

set output '$OUT/papers-detect-first.png'
set title 'First detection of a crash: first suspicion, $PROFILE (1 period = 1 s), mean ± sd over the seeds'
set ylabel 'protocol periods after the crash'
set yrange [0:*]
plot '$d/first-runs' using 1:2 with points pt 7 ps 0.6 lc rgb '#aaaaaa' title 'one run', \
     '$d/first' using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#1f77b4' title 'moonlist (sim)', \
     $E_OVER with lines lw 2 dt 2 lc rgb '#d62728' title 'SWIM: e/(e-1) = $E_OVER (synchronous periods)', \
     1 + (x - 1) / x with lines lw 2 dt 3 lc rgb '#ff7f0e' title 'unsynchronised: (N-1)/N to the first probe, + 1 for the probe'

set output '$OUT/papers-detect-all.png'
set title 'A crash: time until every node has declared it dead (mean ± sd over the seeds)'
set ylabel 'seconds after the crash (all declared dead)'
set y2label 'seconds, gossip of the death (right)'
set y2tics
set y2range [0:*]
set key top left
plot '$d/all' using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#1f77b4' title 'moonlist: all declared dead (left)', \
     $fa_a + $fa_b * log(x) with lines lw 2 dt 2 lc rgb '#1f77b4' title sprintf('fit %.2f + %.2f ln N (SWIM: O(log N))', $fa_a, $fa_b), \
     4 * log10(x) with lines lw 1 dt 3 lc rgb '#d62728' title 'shortest suspicion 4 log10 N (memberlist)', \
     '$d/spread' using 1:2:3 axes x1y2 with yerrorlines lw 2 pt 5 lc rgb '#2ca02c' title 'moonlist: last - first declaration (right)', \
     $fs_a + $fs_b * log(x) axes x1y2 with lines lw 2 dt 2 lc rgb '#2ca02c' title sprintf('fit %.3f + %.3f ln N (SWIM: O(log N))', $fs_a, $fs_b)
unset y2tics; unset y2label

set output '$OUT/papers-load.png'
set title 'Messages sent per node per protocol period, no fault, ${LOAD_SECONDS} s after the join''s gossip (sim -settle)'
set ylabel 'messages per node per period'
set y2label 'KB per node per period'
set y2tics
set y2range [0:*]
plot '$d/load' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title 'moonlist: messages (left)', \
     '$d/load' using 1:3 axes x1y2 with linespoints lw 1 dt 4 pt 6 lc rgb '#7f7f7f' title 'moonlist: KB (right; push/pull grows with N)', \
     2 with lines lw 2 dt 2 lc rgb '#d62728' title 'SWIM: constant, 1 ping + 1 ack'
GNUPLOT
    fi
    gnuplot <<GNUPLOT || say "gnuplot failed: no false-positive plot"
set grid
set yrange [0:*]
set terminal pngcairo size 1400,620
set output '$OUT/papers-false-pos.png'
set title "False deaths per run, N=$FP_NODES, $FP_SEEDS seeds each: ${FP_SECONDS} s under loss (TCP pings off unless said), $PAUSED of $FP_NODES nodes paused once,\\nor $SLOWED slow for ${FP_SECONDS} s (each delivery to them late by 0.5 D to 1.5 D; healthy nodes' deaths and the slow nodes' own)"
set xlabel ''
set ylabel 'false deaths per run'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set offsets graph 0, graph 0, graph 0.1, 0
set key top left
set xtics rotate by 30 right
plot '$d/fp' using 2:xtic(1) lc rgb '#d62728' title 'Lifeguard off', \
     '' using 3 lc rgb '#1f77b4' title 'Lifeguard on (default)', \
     '' using 4 lc rgb '#bbbbbb' title 'Lifeguard paper: on <= off / 50'
GNUPLOT
    rm -rf "$d"
    say "plots in $OUT/papers-*.png"
fi

column -t -s $'\t' "$sum"
if [ -n "$docs" ]; then
    mkdir -p "$root/docs/figures"
    # a part not run here keeps its plots (and fits) in the docs
    files=("$sum")
    [ ! -f "$scale" ] || files+=("$fitfile" "$OUT/papers-detect-first.png" "$OUT/papers-detect-all.png")
    [ ! -f "$load" ] || files+=("$OUT/papers-load.png")
    [ ! -f "$fp" ] || files+=("$OUT/papers-false-pos.png")
    for f in "${files[@]}"; do [ ! -f "$f" ] || cp "$f" "$root/docs/figures/"; done
    say "copied to docs/figures/: $(for f in "${files[@]}"; do printf '%s ' "${f##*/}"; done)"
fi
say "done: $OUT"
