#!/usr/bin/env bash
# Where a process's memory goes, mapping by mapping, from /proc/PID/smaps.
#
#   tools/mem_breakdown.sh PID         one table, largest RSS first
#   MEM_RAW=1 tools/mem_breakdown.sh PID   also every mapping (kB)
#
# Columns, in KiB: RSS (resident, shared pages counted whole), PSS (shared
# pages divided by the number of processes mapping them), USS (private:
# Private_Clean + Private_Dirty, what killing the process frees), VSZ (the
# address space reserved, resident or not).
#
# How each mapping is named:
#   a file             by its base name (libcrypto.so.3, moonlist, ...);
#                      the anonymous mapping right after a file's last
#                      writable mapping is that file's .bss (" bss")
#   [heap]             glibc's main malloc arena (brk)
#   [stack]            the main thread's stack
#   thread stack TID   the mapping holding that thread's stack pointer, read
#                      from /proc/PID/task/TID/syscall (needs ptrace rights:
#                      root or the owner); without them, an anonymous
#                      mapping right above a 4 KiB PROT_NONE guard
#   malloc arena       a thread's glibc arena: anonymous, aligned to 64 MiB,
#                      and the PROT_NONE rest of its 64 MiB reservation
#   anon exec          anonymous executable pages: LuaJIT's trace machine code
#   anon               any other anonymous mapping: LuaJIT's allocator
#                      (its GC heap, 128 KiB chunks), malloc's mmaps of
#                      128 KiB and more, libuv's
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

# Each thread's stack pointer (hex), one "TID SP" a line; a thread in a
# system call shows its registers, a running one only "running".
sps=$(for t in /proc/"$pid"/task/*; do
    tid=${t##*/}
    [ "$tid" = "$pid" ] && continue
    read -r -a f <"$t/syscall" 2>/dev/null || continue
    [ "${#f[@]}" -ge 3 ] && echo "$tid ${f[$((${#f[@]} - 2))]}"
done || true)

awk -v pid="$pid" -v sps="$sps" -v raw="${MEM_RAW:-}" '
function hex(s,   i, c, v) { s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v }
function flush(   name, k) {
    if (start == "") return
    name = path
    if (path ~ /^\//) { name = path; sub(/.*\//, "", name); lastfile = name; lastend = end; lastw = (perms ~ /w/) }
    else if (path == "") {
        name = "anon"
        if (perms ~ /x/) name = "anon exec"
        for (k in spmap) if (spmap[k] >= start && spmap[k] < end) name = "thread stack " k
        if (name == "anon" && lastfile != "" && lastend == start && lastw) name = lastfile " bss"
        if (name == "anon" && start % 67108864 == 0) { name = "malloc arena"; arenaend = start + 67108864 }
        if (name == "anon" && perms == "---p" && arenaend > start && end <= arenaend) name = "malloc arena"
        if (name == "anon" && nsp == 0 && prevguard == start && perms ~ /rw/) name = "thread stack (guard-adjacent)"
    }
    prevguard = (path == "" && perms == "---p") ? end : -1
    if (path != "" && path !~ /^\//) lastfile = ""
    if (!(name in rss)) order[++n] = name
    rss[name] += r; pss[name] += p; uss[name] += u; vsz[name] += size / 1024
    if (raw != "") printf "  %7d %7d %7d %8d  %s %s %s\n", r, p, u, size / 1024, perms, name, range > "/dev/stderr"
    start = ""
}
BEGIN {
    nsp = split(sps, a, "\n")
    for (i = 1; i <= nsp; i++) if (split(a[i], b, " ") == 2) spmap[b[1]] = hex(b[2])
    if (sps == "") nsp = 0
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
    # library .bss and its file: one line per library
    for (i = 1; i <= n; i++) {
        k = order[i]
        if (k ~ / bss$/) { f = k; sub(/ bss$/, "", f)
            if (f in rss) { rss[f] += rss[k]; pss[f] += pss[k]; uss[f] += uss[k]; vsz[f] += vsz[k]; drop[k] = 1 } }
    }
    printf "%-34s %8s %8s %8s %10s\n", "mapping (KiB)", "RSS", "PSS", "USS", "VSZ"
    fflush()
    cmd = "sort -t\"|\" -k2,2nr"
    for (i = 1; i <= n; i++) {
        k = order[i]
        if (k in drop) continue
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
