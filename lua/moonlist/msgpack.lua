-- moonlist.msgpack: MessagePack for plain Lua values, in pure Lua (LuaJIT /
-- Lua 5.1), for tags and push/pull state.
--
--   local mp = require "moonlist.msgpack"
--   local bytes = mp.encode({ web = { port = 80 }, list = { 1, 2, 3 } })
--   local value = mp.decode(bytes)            -- raises on malformed input
--   local ok, value = mp.safe_decode(bytes)   -- false, message instead
--
-- Encoding: nil, booleans, numbers (integers up to 2^53 as msgpack ints,
-- others as float64), strings (str), and tables: a table whose keys are
-- exactly 1..n is an array, any other table a map (keys sorted when they
-- are all strings or all numbers, so equal tables give equal bytes). An
-- empty table is an empty map unless mp.array{} marks it. Cycles, functions
-- and userdata are errors.
-- Decoding is bounded: every length is checked against the input left, and
-- nesting deeper than 64 is refused. bin decodes to a string; ext is
-- refused; nil inside arrays decodes as mp.null (a sentinel) so lengths
-- survive.

local M = {}

local char, byte, sub, floor, frexp, ldexp = string.char, string.byte, string.sub, math.floor, math.frexp, math.ldexp
local concat, sort = table.concat, table.sort

M.null = setmetatable({}, { __tostring = function() return "msgpack.null" end })
local array_mt = { __name = "msgpack.array" }
function M.array(t) return setmetatable(t or {}, array_mt) end

local MAX_DEPTH = 64 -- far beyond any tag map or state a script builds

local function be(n, bytes) -- n >= 0 integer, big-endian in `bytes` bytes
  local t = {}
  for i = bytes, 1, -1 do
    t[i] = char(n % 256)
    n = floor(n / 256)
  end
  return concat(t)
end

local function double(x)
  if x ~= x then return "\203\127\248\0\0\0\0\0\0" end
  if x == math.huge then return "\203\127\240\0\0\0\0\0\0" end
  if x == -math.huge then return "\203\255\240\0\0\0\0\0\0" end
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign = 0x80; x = -x end
  if x == 0 then return char(0xcb, sign) .. "\0\0\0\0\0\0\0" end
  local m, e = frexp(x) -- x = m * 2^e, 0.5 <= m < 1
  e = e + 1022
  local hi, lo
  if e <= 0 then -- subnormal
    m = ldexp(m, e - 1 + 52)
    e = 0
  else
    m = (m * 2 - 1) * 2 ^ 52
  end
  hi = floor(m / 2 ^ 32)
  lo = m - hi * 2 ^ 32
  local b1 = sign + floor(e / 16)
  local b2 = (e % 16) * 16 + floor(hi / 2 ^ 16)
  return char(0xcb, b1, b2) .. be(hi % 2 ^ 16, 2) .. be(lo, 4)
end

local encode_value

local function is_array(t)
  if getmetatable(t) == array_mt then return true, #t end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  if n == 0 then return false, 0 end
  for i = 1, n do
    if t[i] == nil then return false, n end
  end
  return true, n
end

local function encode_table(t, out, depth, seen)
  if seen[t] then error("msgpack.encode: a table contains itself", 0) end
  if depth > MAX_DEPTH then error("msgpack.encode: nested deeper than " .. MAX_DEPTH, 0) end
  seen[t] = true
  local arr, n = is_array(t)
  if arr then
    if n < 16 then out[#out + 1] = char(0x90 + n)
    elseif n < 65536 then out[#out + 1] = "\220" .. be(n, 2)
    else out[#out + 1] = "\221" .. be(n, 4) end
    for i = 1, n do encode_value(t[i], out, depth + 1, seen) end
  else
    local keys, kinds = {}, {}
    for k in pairs(t) do
      keys[#keys + 1] = k
      kinds[type(k)] = true
    end
    if (kinds.string and not kinds.number and not kinds.boolean and not kinds.table)
      or (kinds.number and not kinds.string and not kinds.boolean and not kinds.table) then
      sort(keys)
    end
    if n < 16 then out[#out + 1] = char(0x80 + n)
    elseif n < 65536 then out[#out + 1] = "\222" .. be(n, 2)
    else out[#out + 1] = "\223" .. be(n, 4) end
    for _, k in ipairs(keys) do
      encode_value(k, out, depth + 1, seen)
      encode_value(t[k], out, depth + 1, seen)
    end
  end
  seen[t] = nil
end

function encode_value(v, out, depth, seen)
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "\192"
  elseif tv == "boolean" then
    out[#out + 1] = v and "\195" or "\194"
  elseif tv == "number" then
    if v == floor(v) and v >= -2 ^ 53 and v <= 2 ^ 53 then
      if v >= 0 then
        if v < 128 then out[#out + 1] = char(v)
        elseif v < 256 then out[#out + 1] = "\204" .. char(v)
        elseif v < 65536 then out[#out + 1] = "\205" .. be(v, 2)
        elseif v < 2 ^ 32 then out[#out + 1] = "\206" .. be(v, 4)
        else out[#out + 1] = "\207" .. be(v, 8) end
      else
        if v >= -32 then out[#out + 1] = char(256 + v)
        elseif v >= -128 then out[#out + 1] = "\208" .. char(256 + v)
        elseif v >= -32768 then out[#out + 1] = "\209" .. be(65536 + v, 2)
        elseif v >= -2 ^ 31 then out[#out + 1] = "\210" .. be(2 ^ 32 + v, 4)
        else
          -- two's complement on 64 bits, split to stay exact in doubles
          local hi = floor(v / 2 ^ 32)
          local lo = v - hi * 2 ^ 32
          out[#out + 1] = "\211" .. be(2 ^ 32 + hi, 4) .. be(lo, 4)
        end
      end
    else
      out[#out + 1] = double(v)
    end
  elseif tv == "string" then
    local n = #v
    if n < 32 then out[#out + 1] = char(0xa0 + n)
    elseif n < 256 then out[#out + 1] = "\217" .. char(n)
    elseif n < 65536 then out[#out + 1] = "\218" .. be(n, 2)
    else out[#out + 1] = "\219" .. be(n, 4) end
    out[#out + 1] = v
  elseif tv == "table" then
    encode_table(v, out, depth, seen)
  else
    error("msgpack.encode: cannot encode a " .. tv, 0)
  end
end

function M.encode(v)
  local out = {}
  encode_value(v, out, 0, {})
  return concat(out)
end

-- ---- decoding ----

local function fail(pos, what)
  error(string.format("msgpack.decode: %s at byte %d", what, pos), 0)
end

local function need(s, pos, n)
  if pos + n - 1 > #s then fail(pos, "truncated input") end
end

local function uint(s, pos, n)
  need(s, pos, n)
  local v = 0
  for i = pos, pos + n - 1 do v = v * 256 + byte(s, i) end
  return v
end

local function float32(s, pos)
  local b1, b2, b3, b4 = byte(s, pos, pos + 3)
  local sign = b1 >= 128 and -1 or 1
  local e = (b1 % 128) * 2 + floor(b2 / 128)
  local m = ((b2 % 128) * 256 + b3) * 256 + b4
  if e == 255 then return m == 0 and sign * math.huge or 0 / 0 end
  if e == 0 then return sign * ldexp(m, -149) end
  return sign * ldexp(m + 2 ^ 23, e - 150)
end

local function float64(s, pos)
  local b1, b2 = byte(s, pos, pos + 1)
  local sign = b1 >= 128 and -1 or 1
  local e = (b1 % 128) * 16 + floor(b2 / 16)
  local m = (b2 % 16) * 2 ^ 48 + uint(s, pos + 2, 6)
  if e == 2047 then return m == 0 and sign * math.huge or 0 / 0 end
  if e == 0 then return sign * ldexp(m, -1074) end
  return sign * ldexp(m + 2 ^ 52, e - 1075)
end

local decode_at

local function decode_array(s, pos, n, depth)
  -- every element takes at least one byte: a count beyond the input is a lie
  if n > #s - pos + 1 then fail(pos, "array count beyond the input") end
  local t = {}
  for i = 1, n do
    local v
    v, pos = decode_at(s, pos, depth + 1)
    if v == nil then v = M.null end
    t[i] = v
  end
  return setmetatable(t, array_mt), pos
end

local function decode_map(s, pos, n, depth)
  if 2 * n > #s - pos + 1 then fail(pos, "map count beyond the input") end
  local t = {}
  for _ = 1, n do
    local k, v
    local kpos = pos
    k, pos = decode_at(s, pos, depth + 1)
    v, pos = decode_at(s, pos, depth + 1)
    if k == nil or k ~= k then fail(kpos, "nil or NaN map key") end
    t[k] = v
  end
  return t, pos
end

local function str(s, pos, n)
  need(s, pos, n)
  return sub(s, pos, pos + n - 1), pos + n
end

function decode_at(s, pos, depth)
  if depth > MAX_DEPTH then fail(pos, "nested deeper than " .. MAX_DEPTH) end
  need(s, pos, 1)
  local b = byte(s, pos)
  pos = pos + 1
  if b < 0x80 then return b, pos end
  if b >= 0xe0 then return b - 256, pos end
  if b < 0x90 then return decode_map(s, pos, b - 0x80, depth) end
  if b < 0xa0 then return decode_array(s, pos, b - 0x90, depth) end
  if b < 0xc0 then return str(s, pos, b - 0xa0) end
  if b == 0xc0 then return nil, pos end
  if b == 0xc2 then return false, pos end
  if b == 0xc3 then return true, pos end
  if b == 0xc4 or b == 0xd9 then return str(s, pos + 1, uint(s, pos, 1)) end
  if b == 0xc5 or b == 0xda then return str(s, pos + 2, uint(s, pos, 2)) end
  if b == 0xc6 or b == 0xdb then return str(s, pos + 4, uint(s, pos, 4)) end
  if b == 0xca then need(s, pos, 4); return float32(s, pos), pos + 4 end
  if b == 0xcb then need(s, pos, 8); return float64(s, pos), pos + 8 end
  if b == 0xcc then return uint(s, pos, 1), pos + 1 end
  if b == 0xcd then return uint(s, pos, 2), pos + 2 end
  if b == 0xce then return uint(s, pos, 4), pos + 4 end
  if b == 0xcf then return uint(s, pos, 8), pos + 8 end
  if b == 0xd0 then local v = uint(s, pos, 1); return v >= 2 ^ 7 and v - 2 ^ 8 or v, pos + 1 end
  if b == 0xd1 then local v = uint(s, pos, 2); return v >= 2 ^ 15 and v - 2 ^ 16 or v, pos + 2 end
  if b == 0xd2 then local v = uint(s, pos, 4); return v >= 2 ^ 31 and v - 2 ^ 32 or v, pos + 4 end
  if b == 0xd3 then
    local hi, lo = uint(s, pos, 4), uint(s, pos + 4, 4)
    if hi >= 2 ^ 31 then hi = hi - 2 ^ 32 end
    return hi * 2 ^ 32 + lo, pos + 8
  end
  if b == 0xdc then return decode_array(s, pos + 2, uint(s, pos, 2), depth) end
  if b == 0xdd then return decode_array(s, pos + 4, uint(s, pos, 4), depth) end
  if b == 0xde then return decode_map(s, pos + 2, uint(s, pos, 2), depth) end
  if b == 0xdf then return decode_map(s, pos + 4, uint(s, pos, 4), depth) end
  fail(pos - 1, string.format("unsupported type byte 0x%02x", b))
end

-- Decode one value; the whole input must be that value.
function M.decode(s)
  if type(s) ~= "string" then error("msgpack.decode: input must be a string", 2) end
  local v, pos = decode_at(s, 1, 0)
  if pos <= #s then fail(pos, (#s - pos + 1) .. " trailing bytes") end
  return v
end

function M.safe_decode(s)
  local ok, v = pcall(M.decode, s)
  if ok then return true, v end
  return false, v
end

return M
