-- Hostile sender for tests/e2e/hostile.sh: throws malformed input at one
-- agent over UDP and TCP on loopback, bounded in count and time.
--
--   luajit hostile.lua HOST PORT FRAMES_FILE SEED STALL_COUNT STALL_WAIT [no-absurd]
--
-- Phases, in order: random datagrams, random TCP streams, truncated and
-- bit-flipped real frames (from FRAMES_FILE, see
-- tools/gen_hostile_fixtures.py), hand-made frames declaring absurd
-- lengths, then STALL_COUNT connections that send one byte and stall. It
-- then waits up to STALL_WAIT seconds for the target to close the stalled
-- connections, and prints "stalled: CLOSED/COUNT closed by the target
-- after S s". Exit status 0 when everything was sent, 1 on a usage or
-- local error (the target's behaviour is judged by hostile.sh, except the
-- stall count, which it reads from the output). "no-absurd" leaves out
-- phase 4: only for checking the harness against serf, whose memberlist
-- (0.2.2) runs out of memory on a push/pull declaring 2^31 nodes.
local uv = require "luv"

local host, port, frames_file, seed, stall_count, stall_wait, variant = ...
port = tonumber(port)
seed = tonumber(seed)
stall_count = tonumber(stall_count)
stall_wait = tonumber(stall_wait)
if not (host and port and frames_file and seed and stall_count and stall_wait) then
  io.stderr:write("usage: luajit hostile.lua HOST PORT FRAMES_FILE SEED STALL_COUNT STALL_WAIT\n")
  os.exit(1)
end
if not (host:match("^127%.") or host == "::1") then
  io.stderr:write("hostile.lua: refusing non-loopback target " .. host .. "\n")
  os.exit(1)
end
math.randomseed(seed)

local function log(fmt, ...)
  io.stdout:write(string.format("hostile: " .. fmt .. "\n", ...))
  io.stdout:flush()
end

local function hex2bin(h)
  return (h:gsub("%x%x", function(c) return string.char(tonumber(c, 16)) end))
end

local function random_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

local function be32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                     math.floor(n / 256) % 256, n % 256)
end

-- msgpack pieces, enough to hand-build headers.
local function mp_str(s) return string.char(0xa0 + #s) .. s end
local function mp_u32(n) return "\xce" .. be32(n) end
local function mp_map(n) return string.char(0x80 + n) end

-- Frames: { transport, flags, source, bytes }
local frames = {}
for line in io.lines(frames_file) do
  local tr, flags, src, hex = line:match("^(%S+) (%S+) (%S+) (%x+)$")
  if tr then frames[#frames + 1] = { tr = tr, flags = flags, src = src, bytes = hex2bin(hex) } end
end
if #frames == 0 then
  io.stderr:write("hostile.lua: no frames in " .. frames_file .. "\n")
  os.exit(1)
end

-- Byte positions that belong to an embedded 127.0.0.1: never flipped, so a
-- mangled frame cannot point the target at a non-loopback address.
local function protected_positions(b)
  local p = {}
  local i = 1
  while true do
    local s = b:find("\127\0\0\1", i, true)
    if not s then break end
    for k = s, s + 3 do p[k] = true end
    i = s + 1
  end
  return p
end

local function flip(b, nbits)
  local prot = protected_positions(b)
  local t = { b:byte(1, -1) }
  local done, tries = 0, 0
  while done < nbits and tries < 1000 do
    tries = tries + 1
    local pos = math.random(1, #t)
    if not prot[pos] then
      t[pos] = bit.bxor(t[pos], bit.lshift(1, math.random(0, 7)))
      done = done + 1
    end
  end
  for i = 1, #t do t[i] = string.char(t[i]) end
  return table.concat(t)
end

-- Work items, run one after another with a small pacing so the target's
-- socket buffers are not simply overrun (that would test the kernel).
local items = {}
local function udp_item(data) items[#items + 1] = { "udp", data } end
local function tcp_item(data, opts) items[#items + 1] = { "tcp", data, opts or {} } end

-- 1. random datagrams, some with a real type byte in front
local types = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xf4 }
for i = 1, 1500 do
  local n = math.random(1, i % 50 == 0 and 9000 or 1400)
  local d = random_bytes(n)
  if i % 2 == 0 then d = string.char(types[math.random(#types)]) .. d end
  udp_item(d)
end
-- 2. random TCP streams
for i = 1, 60 do
  local d = random_bytes(math.random(1, 4096))
  if i % 2 == 0 then d = string.char(types[math.random(#types)]) .. d end
  tcp_item(d)
end
-- 3. truncated and bit-flipped real frames (never intact)
for _, f in ipairs(frames) do
  local b = f.bytes
  local add = f.tr == "udp" and udp_item or tcp_item
  if f.flags:find("t", 1, true) and #b > 1 then
    local cuts = { 1, #b - 1, math.floor(#b / 2) }
    for _ = 1, 6 do cuts[#cuts + 1] = math.random(1, #b - 1) end
    for _, c in ipairs(cuts) do add(b:sub(1, c)) end
  end
  if f.flags:find("f", 1, true) then
    for k = 1, 12 do
      local m = flip(b, 1 + k % 3)
      if m ~= b then add(m) end
    end
  end
end
-- 4. absurd declared lengths
local pp = "\x06"
local function pp_header(nodes, user_state_len)
  return mp_map(3) .. mp_str("Join") .. "\xc2" .. mp_str("Nodes") .. nodes ..
         mp_str("UserStateLen") .. user_state_len
end
local absurd_tcp = {
  -- encrypted stream body of 4 GiB, and just over the 20 MiB limit
  "\x0a\xff\xff\xff\xff" .. random_bytes(64),
  "\x0a\x01\x40\x00\x01\x01" .. random_bytes(64),
  "\x0a\x00\x00\x00\x00",
  -- push/pull: Nodes = 2^31, 2^32-1, just over 2^20; negative
  pp .. pp_header(mp_u32(2147483648), "\x00") .. random_bytes(32),
  pp .. pp_header(mp_u32(4294967295), "\x00"),
  pp .. pp_header(mp_u32(1048577), "\x00"),
  pp .. pp_header("\xd2\xff\xff\xff\xff", "\x00"),
  pp .. pp_header("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "\x00"),
  -- push/pull: UserStateLen huge, negative, 64-bit
  pp .. pp_header("\x00", mp_u32(2147483647)) .. random_bytes(100),
  pp .. pp_header("\x00", mp_u32(4294967295)),
  pp .. pp_header("\x00", "\xd2\x80\x00\x00\x00"),
  pp .. pp_header("\x00", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
  -- a node state declaring a 4 GiB Meta and a 4 GiB name
  pp .. pp_header("\x01", "\x00") .. mp_map(2) .. mp_str("Name") .. "\xdb\xff\xff\xff\xff" .. "abc",
  pp .. pp_header("\x01", "\x00") .. mp_map(1) .. mp_str("Meta") .. "\xc6\xff\xff\xff\xff" .. "abc",
  -- user message over TCP, 4 GiB
  "\x08" .. mp_map(1) .. mp_str("UserMsgLen") .. mp_u32(4294967295) .. random_bytes(16),
  -- compressed stream whose buffer declares 4 GiB
  "\x09" .. mp_map(2) .. mp_str("Algo") .. "\x00" .. mp_str("Buf") .. "\xc6\xff\xff\xff\xff" .. "x",
  "\x09" .. mp_map(2) .. mp_str("Algo") .. "\x00" .. mp_str("Buf") .. "\xdb\xff\xff\xff\xff" .. "x",
  -- map/array headers declaring 2^32-1 entries
  "\x06\xdf\xff\xff\xff\xff",
  "\x00\xdd\xff\xff\xff\xff",
  -- label header with a 255-byte label, then nothing sensible
  "\xf4\xff" .. random_bytes(255) .. "\x06",
  "\xf4\x00\x06",
}
if variant == "no-absurd" then absurd_tcp = {} end
for _, d in ipairs(absurd_tcp) do tcp_item(d) end
local absurd_udp = {
  -- compound: 255 parts of 65535 bytes each, with 3 bytes of payload
  "\x07\xff" .. string.rep("\xff\xff", 255) .. "abc",
  "\x07\x00",
  "\x07\x01\x00\x00",
  -- compound nested in compound, each declaring more than is there
  "\x07\x01\x00\x10\x07\x01\xff\xff",
  -- compressed packet declaring a 4 GiB buffer
  "\x09" .. mp_map(2) .. mp_str("Algo") .. "\x00" .. mp_str("Buf") .. "\xc6\xff\xff\xff\xff" .. "x",
  -- LZW bomb-ish: valid header, buffer of repeated codes
  "\x09" .. mp_map(2) .. mp_str("Algo") .. "\x00" .. mp_str("Buf") .. "\xc5\x04\x00" .. string.rep("\x00", 1024),
  -- CRC wrapper around nothing, label with declared length past the end
  "\x0c\x00\x00\x00\x00",
  "\xf4\xff\x00",
  "\xf4\x05ab",
  -- alive with a 4 GiB Meta and Vsn declared
  "\x04" .. mp_map(2) .. mp_str("Meta") .. "\xc6\xff\xff\xff\xff" .. mp_str("Vsn") .. "\xc4\x06",
  -- user message with a bogus huge serf header
  "\x08\x01\xdf\xff\xff\xff\xff",
}
if variant == "no-absurd" then absurd_udp = {} end
for _, d in ipairs(absurd_udp) do udp_item(d) end
for _, d in ipairs(absurd_tcp) do udp_item(d) end

-- Runner --------------------------------------------------------------------
local udp = uv.new_udp()
assert(udp:bind("127.0.0.1", 0))
local open_tcp = 0
local sent_udp, sent_tcp, tcp_failed = 0, 0, 0
local TCP_HOLD_MS = 300 -- how long a hostile stream waits for the target's reply

local function tcp_send(data, done)
  local c = uv.new_tcp()
  open_tcp = open_tcp + 1
  local closed = false
  local function finish()
    if closed then return end
    closed = true
    open_tcp = open_tcp - 1
    if not c:is_closing() then c:close() end
    if done then done() end
  end
  c:connect(host, port, function(err)
    if err then tcp_failed = tcp_failed + 1; finish(); return end
    c:write(data, function()
      sent_tcp = sent_tcp + 1
      -- half-close so the target sees the end of a truncated stream, then
      -- drain whatever it answers until it closes or we give up
      c:shutdown(function() end)
    end)
    c:read_start(function(rerr, chunk)
      if rerr or not chunk then finish() end
    end)
    local t = uv.new_timer()
    t:start(TCP_HOLD_MS, 0, function() t:close(); finish() end)
  end)
end

local stall_conns, stall_closed, stall_t0 = {}, 0, nil

local function stall_phase()
  log("sent %d datagrams, %d streams (%d connects failed); opening %d stalled connections",
      sent_udp, sent_tcp, tcp_failed, stall_count)
  stall_t0 = uv.hrtime()
  local connected = 0
  for i = 1, stall_count do
    local c = uv.new_tcp()
    stall_conns[i] = c
    local gone = false
    local function gone_now()
      if gone then return end
      gone = true
      stall_closed = stall_closed + 1
      if not c:is_closing() then c:close() end
    end
    c:connect(host, port, function(err)
      if err then gone_now(); return end
      connected = connected + 1
      -- one byte: a stream type (push/pull, user, ping, ...) or junk
      local first = ({ "\x06", "\x08", "\x00", "\x09", "\x0a", "\xf4", "\x42" })[i % 7 + 1]
      c:write(first)
      c:read_start(function(rerr, chunk)
        if rerr or not chunk then gone_now() end
      end)
    end)
  end
  local poll = uv.new_timer()
  poll:start(100, 100, function()
    local s = (uv.hrtime() - stall_t0) / 1e9
    if stall_closed >= stall_count or s >= stall_wait then
      poll:close()
      log("stalled: %d/%d closed by the target after %.1f s (%d had connected)",
          stall_closed, stall_count, s, connected)
      for _, c in ipairs(stall_conns) do if not c:is_closing() then c:close() end end
      udp:close()
    end
  end)
end

local idx = 0
local pacer = uv.new_timer()
-- a small batch every 5 ms: about 2000 items in a few seconds
pacer:start(0, 5, function()
  for _ = 1, 10 do
    if open_tcp > 32 then return end -- keep the concurrent hostile streams bounded
    idx = idx + 1
    local it = items[idx]
    if not it then
      if open_tcp == 0 then
        pacer:close()
        stall_phase()
      else
        idx = idx - 1
      end
      return
    end
    if it[1] == "udp" then
      udp:send(it[2], host, port, function() end)
      sent_udp = sent_udp + 1
    else
      tcp_send(it[2])
    end
  end
end)

log("target %s:%d, seed %d, %d frames loaded, %d items", host, port, seed, #frames, #items)
uv.run()
os.exit(0)
