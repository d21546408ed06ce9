#!/usr/bin/env bash
# What an agent maps (docs/footprint.md): libcrypto only with a key and
# libmicrohttpd (with GnuTLS) only with -metrics-addr, both opened with
# dlopen when needed. Two plain agents gossiping map neither; an -encrypt
# pair maps libcrypto and converges; an agent with -metrics-addr maps
# libmicrohttpd and answers a scrape. Without the library (an unloadable
# one first on LD_LIBRARY_PATH), -encrypt and -metrics-addr stop the agent
# at start with exit 1 and a sentence naming it. Each agent's VmRSS and
# PSS are logged, not asserted (they depend on the machine). The default
# script's thread does not wake while the agents are idle. An agent quiet
# for 5 s hands back the code pages it ran (docs/footprint.md, "Code
# pages"): its resident code drops by a quarter at least, its hooks and
# failure detection work after it, and it hands back again once quiet.
# The static build (MOONLIST_STATIC_DEPS, the default: the binary needs
# only libc) maps no other library file: plain agents map the binary,
# libc and ld.so alone, libm included once gossip has run (no libm on the
# packet path), and libm only once a script does math.
#   bash tests/e2e/footprint.sh /path/to/moonlist
here=$(dirname "$0")
[ -f "$here/lib.sh" ] || here=$here/..
. "$here/lib.sh"
. "$here/lib_ops.sh"
e2e_init "$@"
if ! moonlist_only "the whole test (moonlist's libraries)"; then
    e2e_log "PASS"
    exit 0
fi
command -v curl >/dev/null || fail "'curl' is not installed (./setup installs it)"

CRYPTO=libcrypto.so.3
MHD=libmicrohttpd.so.12
# maps NAME LIB: the agent has LIB mapped now
maps() { grep -q "/$2" "/proc/$(agent_pid "$1")/maps"; }
# footprint NAME: its memory, for the log
footprint() {
    local pid
    pid=$(agent_pid "$1")
    e2e_log "$1: VmRSS $(rss_kib "$pid") KiB, PSS $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup") KiB"
}
# maps_only NAME LIB...: of libcrypto, libmicrohttpd and GnuTLS, NAME maps
# exactly the LIBs given
maps_only() {
    local name=$1 lib want
    shift
    for lib in $CRYPTO $MHD libgnutls.so; do
        want=no
        case " $* " in *" $lib "*) want=yes ;; esac
        if maps "$name" "$lib"; then
            [ "$want" = yes ] || fail "$name maps $lib ($(grep -m 1 "/$lib" "/proc/$(agent_pid "$name")/maps"))"
        else
            [ "$want" = no ] || fail "$name does not map $lib"
        fi
    done
    footprint "$name"
}

# libs NAME: the base names of the files NAME maps other than its binary, sorted
libs() {
    local pid
    pid=$(agent_pid "$1")
    awk -v exe="$(readlink -f "/proc/$pid/exe")" '$6 ~ /^\// && $6 != exe { n = $6; sub(/.*\//, "", n); print n }' \
        "/proc/$pid/maps" | sort -u | tr '\n' ' '
}
# static: the binary needs libc alone (readelf, or the maps of a running agent);
# packed relative relocations (DT_RELR) add ld.so itself to the list, for
# the GLIBC_ABI_DT_RELR version that marks them
static_build() {
    if command -v readelf >/dev/null; then
        readelf -d "$ML" | grep -q 'NEEDED.*\[libc\.so' &&
            [ -z "$(readelf -d "$ML" | grep NEEDED | grep -v -e '\[libc\.so\.' -e '\[ld-linux')" ]
    else
        ! grep -q -e libluajit -e libuv "/proc/$(agent_pid a)/maps"
    fi
}

# two plain agents, after a join and some gossip: neither library
ml_start a -profile local
ml_start b -profile local -join "$(agent_addr a)"
expect_within 10 "a and b see 2 alive" all_see_count 2 alive a b
sleep 2 # some probes and gossip, a push/pull at the local profile
maps_only a
maps_only b
e2e_log "ok: plain agents map neither $CRYPTO nor $MHD"

# other_switches NAME: context switches so far of NAME's threads but the
# main one (the Lua thread, and libuv's pool if it ever started)
other_switches() {
    local pid t n=0
    pid=$(agent_pid "$1")
    for t in /proc/"$pid"/task/*; do
        [ "${t##*/}" = "$pid" ] && continue
        n=$((n + $(awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status")))
    done
    echo "$n"
}
# an idle agent's default script sleeps: no timer of its own, no probe
# acks queued without a "ping" hook; probes and gossip go on meanwhile
if grep -q "config script .*agent.lua running" "$(agent_log a)"; then
    before_a=$(other_switches a)
    before_b=$(other_switches b)
    sleep 3
    [ "$(other_switches a)" = "$before_a" ] || fail "a's Lua thread woke while idle: $before_a -> $(other_switches a) switches"
    [ "$(other_switches b)" = "$before_b" ] || fail "b's Lua thread woke while idle: $before_b -> $(other_switches b) switches"
    e2e_log "ok: the default script's thread sleeps while the agents are idle (3 s of probes)"
else
    e2e_log "no default script beside $ML: the idle Lua thread is not checked"
fi
if static_build; then
    for n in a b; do
        got=$(libs "$n")
        [ "$got" = "ld-linux-x86-64.so.2 libc.so.6 " ] || fail "$n (static build) maps more than libc and ld.so: $got"
    done
    e2e_log "ok: static build: plain agents map their binary, libc and ld.so alone (no libm after gossip)"
    # a script doing math: libm, loaded then
    cat >"$E2E_DIR/math.lua" <<'LUA'
local agent = require "moonlist"
agent.log.info("math says " .. string.format("%.4f", math.sin(1) + 2 ^ 0.5))
LUA
    ml_start s -profile local -config "$E2E_DIR/math.lua"
    expect_within 10 "s's script did math" grep -q "math says 2.2557" "$(agent_log s)"
    case " $(libs s) " in *" libm.so.6 "*) ;; *) fail "s did math without mapping libm: $(libs s)" ;; esac
    e2e_log "ok: static build: a script's math maps libm"
else
    e2e_log "shared build: plain agents map $(libs a)"
fi

# an encrypted pair: libcrypto from the start, and the AES-GCM it lends works
KEY=$(head -c 32 /dev/urandom | base64)
ml_start c -profile local -encrypt "$KEY"
maps_only c $CRYPTO
ml_start d -profile local -encrypt "$KEY" -join "$(agent_addr c)"
expect_within 10 "c and d (encrypted) see 2 alive" all_see_count 2 alive c d
maps_only d $CRYPTO
e2e_log "ok: -encrypt agents map $CRYPTO and talk through it"

# -metrics-addr: libmicrohttpd (and GnuTLS under it), serving
free_port
MADDR=127.0.0.1:$REPLY
ml_start m -profile local -metrics-addr "$MADDR"
# (into a file: grep -q ending a pipe early would fail curl under pipefail)
curl -sf --max-time 5 -o "$E2E_DIR/m.scrape" "http://$MADDR/metrics" || fail "no answer on $MADDR/metrics"
grep -q '^moonlist_members{status="alive"} 1$' "$E2E_DIR/m.scrape" || fail "m's metrics do not count one alive member"
maps_only m $MHD libgnutls.so
e2e_log "ok: a -metrics-addr agent maps $MHD and serves"

# without the library: an empty file of its name comes first on the path
mkdir "$E2E_DIR/nolib"
: >"$E2E_DIR/nolib/$CRYPTO"
: >"$E2E_DIR/nolib/$MHD"
free_port
E2E_AGENT_PREFIX=(env "LD_LIBRARY_PATH=$E2E_DIR/nolib")
ml_launch x -profile local -encrypt "$KEY"
ml_launch y -profile local -metrics-addr "127.0.0.1:$REPLY"
E2E_AGENT_PREFIX=()
agent_wait_exit x 10
[ "$AGENT_RC" = 1 ] || fail "x (-encrypt, no $CRYPTO) exited $AGENT_RC, not 1"
grep -q "cannot load $CRYPTO: .*$CRYPTO" "$(agent_log x)" || fail "x did not say it cannot load $CRYPTO"
agent_wait_exit y 10
[ "$AGENT_RC" = 1 ] || fail "y (-metrics-addr, no $MHD) exited $AGENT_RC, not 1"
grep -q -- "-metrics-addr: cannot load $MHD: .*$MHD" "$(agent_log y)" || fail "y did not say it cannot load $MHD"
e2e_log "ok: without the library, -encrypt and -metrics-addr stop at start saying so"
# text_rss NAME: KiB of NAME's binary's code mapped in it now
text_rss() {
    local pid
    pid=$(agent_pid "$1")
    awk -v exe="$(readlink -f "/proc/$pid/exe")" '/^[0-9a-f]+-[0-9a-f]+ / { on = ($2 == "r-xp" && $6 == exe) }
        on && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps"
}
# releases NAME: how many times NAME has handed its code pages back
RELEASED="KiB of read-only file mappings handed back"
releases() { grep -c "$RELEASED" "$(agent_log "$1")"; }
# released_since NAME N: NAME has handed its pages back more than N times
released_since() { [ "$(releases "$1")" -gt "$2" ]; }
# An agent quiet for 5 s (no member change) hands back the code pages
# that ran meanwhile (base_pages.h; logged at debug, the tests' level):
# what runs again maps back, the rest stays out. Last in this test: q's
# failure makes every agent load libm (the suspicion timeout's log).
ml_start p -profile local -join "$(agent_addr a)"
expect_within 10 "a, b and p see 3 alive" all_see_count 3 alive a b p
before=$(text_rss p)
if [ "$(releases p)" != 0 ]; then
    e2e_log "p handed its code pages back before they were counted (a start slower than 5 s): the drop is not checked"
else
    expect_within 15 "p hands its start's code pages back" released_since p 0
    sleep 1 # probes and gossip after it
    after=$(text_rss p)
    [ "$after" -lt $((before * 3 / 4)) ] || fail "p's resident code went from $before KiB to $after KiB only"
    e2e_log "ok: p's resident code went from $before KiB to $after KiB ($(grep -o "[0-9]* $RELEASED" "$(agent_log p)"))"
fi
# and the code runs again when needed: the script's join hook, a
# failure detected; then, quiet again, p hands the pages back again
ml_start q -profile local -join "$(agent_addr p)"
expect_within 10 "p's script logs q's join" grep -q "member joined: q " "$(agent_log p)"
agent_kill9 q
expect_within 20 "p sees q dead" all_see q "dead failed" p
busy=$(text_rss p)
n=$(releases p)
expect_within 15 "p hands its code pages back once quiet again" released_since p "$n"
e2e_log "ok: p ran its hooks and detected a failure after the release ($busy KiB of code mapped), then handed back again ($(text_rss p) KiB)"

e2e_log "PASS"
