#!/usr/bin/env bash
# Where a process's memory goes, mapping by mapping, from /proc/PID/smaps.
#
#   tools/mem_breakdown.sh PID             one table, largest RSS first
#   MEM_RAW=1 tools/mem_breakdown.sh PID   also every mapping, on stderr
#
# Columns, in KiB: RSS (resident, shared pages counted whole), PSS (shared
# pages divided among the processes mapping them), USS (private:
# Private_Clean + Private_Dirty, what killing the process frees), VSZ (the
# address space reserved, resident or not).
#
# How each mapping is named:
#   a file             by its base name (libcrypto.so.3, moonlist, ...), its
#                      .bss included (the anonymous pages after its data, up
#                      to the end of its last PT_LOAD segment, per readelf)
#   [heap]             glibc's main malloc arena (brk)
#   [stack]            the main thread's stack
#   thread stack TID   the mapping holding that thread's stack pointer, read
#                      from /proc/PID/task/TID/syscall (needs ptrace rights:
#                      root or the owner); without them, "thread stack?": an
#                      anonymous mapping right above a PROT_NONE guard
#   malloc arena       a thread's glibc arena: anonymous, aligned to 64 MiB,
#                      and the PROT_NONE rest of its 64 MiB reservation
#   anon exec          anonymous executable pages: LuaJIT's trace machine code
#   anon               any other anonymous mapping: LuaJIT's allocator (its GC
#                      heap, in 128 KiB chunks), glibc's mmaps of 128 KiB or
#                      more, libuv's
# The kernel merges adjacent anonymous mappings of the same protection: a
# LuaJIT chunk placed right after a library's .bss becomes one mapping with
# it. Such a mapping is split at the library's end, the resident pages of
# each part counted in /proc/PID/pagemap (its present bits; root or owner).
# The totals line is /proc/PID/smaps_rollup's, with its anonymous memory.
#
# Reading it: a shared library's pages count whole in RSS in every process
# that maps them, and as private (USS) in a process that is the only one
# mapping them at that moment; PSS and USS of file pages therefore depend on
# what else runs on the machine. Anonymous memory (heap, stacks, arenas,
# LuaJIT's heap, a library's .bss and relocated data) does not.
# (In a Go program such as serf, "thread stack" is the Go heap span that
# holds a goroutine stack.)
set -euo pipefail
pid=${1:?usage: mem_breakdown.sh PID}
[ -r "/proc/$pid/smaps" ] || { echo "mem_breakdown: cannot read /proc/$pid/smaps" >&2; exit 1; }

# Each other thread's stack pointer: "TID SP" a line (the next-to-last
# field of task/TID/syscall; a running thread shows only "running").
sps=$(for t in /proc/"$pid"/task/*; do
    tid=${t##*/}
    [ "$tid" = "$pid" ] && continue
    read -r -a f <"$t/syscall" 2>/dev/null || continue
    [ "${#f[@]}" -ge 3 ] && echo "$tid ${f[$((${#f[@]} - 2))]}"
done || true)

# Each mapped file's end of image: "PATH BASE_HEX SPAN_HEX" a line, BASE the
# start of its offset-0 mapping, SPAN the end of its last PT_LOAD segment.
spans=$(if command -v readelf >/dev/null; then
    awk '$6 ~ /^\// && $3 ~ /^0+$/ && !seen[$6]++ { split($1, a, "-"); print $6, a[1] }' "/proc/$pid/maps" |
    while read -r path base; do
        span=$(readelf -lW "$path" 2>/dev/null | awk '$1 == "LOAD" { print $3, $6 }' | tail -n 1) || continue
        [ -n "$span" ] && echo "$path $base $span"
    done
fi || true)

pagemap=/proc/$pid/pagemap
[ -r "$pagemap" ] || pagemap=

awk -v sps="$sps" -v spans="$spans" -v pagemap="$pagemap" -v raw="${MEM_RAW:-}" '
function hex(s,   i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return v }
# resident pages in [a, b), from the present bit of each pagemap entry
function present(a, b,   cmd, line, n, i, w, k) {
    cmd = sprintf("od -An -v -tx8 -j %.0f -N %.0f %s", a / 4096 * 8, (b - a) / 4096 * 8, pagemap)
    n = 0
    while ((cmd | getline line) > 0) {
        k = split(line, w, " ")
        for (i = 1; i <= k; i++) if (w[i] ~ /^[89a-f]/) n++
    }
    close(cmd)
    return n
}
function add(name, r, p, u, v) {
    if (!(name in rss)) order[++n] = name
    rss[name] += r; pss[name] += p; uss[name] += u; vsz[name] += v
}
function flush(   name, k, cut, rb) {
    if (start == "") return
    if (path ~ /^\//) {
        name = path; sub(/.*\//, "", name)
        lastname = name; lastend = end; lastw = (perms ~ /w/); lastpath = path
    } else {
        name = "anon"
        if (perms ~ /x/) name = "anon exec"
        for (k in spmap) if (spmap[k] >= start && spmap[k] < end) name = "thread stack " k
        if (name == "anon" && path == "" && lastw && start == lastend && (lastpath in imgend)) {
            cut = imgend[lastpath]
            if (end <= cut) name = lastname
            else if (start < cut) {
                # the .bss and what the kernel merged after it
                rb = (pagemap != "") ? present(start, cut) * 4 : -1
                if (rb >= 0) {
                    add(lastname, rb, rb, rb, (cut - start) / 1024)
                    if (raw != "") printf "  %7d %7d %7d %8d  %s %s (bss part)\n", rb, rb, rb, (cut - start) / 1024, perms, lastname > "/dev/stderr"
                    r -= rb; p -= rb; u -= rb; size = end - cut
                } else name = lastname " bss + anon"
            }
        }
        if (name == "anon" && path == "" && start % 67108864 == 0) { name = "malloc arena"; arenaend = start + 67108864 }
        if (name == "anon" && path == "" && perms == "---p" && start < arenaend) name = "malloc arena"
        if (name == "anon" && path == "" && nsp == 0 && guardend == start && perms ~ /rw/) name = "thread stack?"
        if (path != "") name = path
        lastw = 0
    }
    guardend = (path == "" && perms == "---p") ? end : -1
    add(name, r, p, u, size / 1024)
    if (raw != "") printf "  %7d %7d %7d %8d  %s %s %s\n", r, p, u, size / 1024, perms, name, range > "/dev/stderr"
    start = ""
}
BEGIN {
    nsp = 0
    k = split(sps, a, "\n")
    for (i = 1; i <= k; i++) if (split(a[i], b, " ") == 2) { spmap[b[1]] = hex(b[2]); nsp++ }
    k = split(spans, a, "\n")
    for (i = 1; i <= k; i++) if (split(a[i], b, " ") == 4) {
        e = hex(b[2]) + hex(b[3]) + hex(b[4])
        imgend[b[1]] = e + (4096 - e % 4096) % 4096
    }
}
/^[0-9a-f]+-[0-9a-f]+ / {
    flush()
    range = $1; split($1, ab, "-"); start = hex(ab[1]); end = hex(ab[2]); size = end - start
    perms = $2; path = ""
    if (NF >= 6) { path = $6; for (i = 7; i <= NF; i++) path = path " " $i }
    r = p = u = 0; next
}
/^Rss:/ { r = $2 } /^Pss:/ { p = $2 }
/^Private_Clean:/ { u += $2 } /^Private_Dirty:/ { u += $2 }
END {
    flush()
    printf "%-34s %8s %8s %8s %10s\n", "mapping (KiB)", "RSS", "PSS", "USS", "VSZ"
    fflush()
    cmd = "sort -t\"|\" -k2,2nr"
    for (i = 1; i <= n; i++) {
        k = order[i]
        printf "%s|%d|%d|%d|%d\n", k, rss[k], pss[k], uss[k], vsz[k] | cmd
        tr += rss[k]; tp += pss[k]; tu += uss[k]; tv += vsz[k]
    }
    close(cmd)
    printf "%-34s %8d %8d %8d %10d\n", "sum", tr, tp, tu, tv
}' "/proc/$pid/smaps" | awk -F'|' 'NF == 5 { printf "%-34s %8d %8d %8d %10d\n", $1, $2, $3, $4, $5; next } { print }'

# the kernel's own totals, for comparison with the sum
awk '/^(Rss|Pss|Private_Clean|Private_Dirty|Anonymous):/ { v[$1] = $2 }
     END { printf "%-34s %8d %8d %8d   (anonymous %d)\n", "smaps_rollup", v["Rss:"], v["Pss:"],
           v["Private_Clean:"] + v["Private_Dirty:"], v["Anonymous:"] }' "/proc/$pid/smaps_rollup"
awk '/^VmSize:/ { printf "%-34s %39d\n", "VmSize", $2 }' "/proc/$pid/status"
