-- moonlist.json: JSON through lua-cjson, with the settings a config script
-- wants: errors as (nil, message) instead of raised, sparse arrays refused
-- rather than guessed, and keys sorted on output when asked (stable files).
--
--   local json = require "moonlist.json"
--   local text = json.encode({ a = 1 })            -- raises on cycles etc.
--   local v, err = json.decode(text)               -- nil, message on error
--   json.encode_sorted({ b = 1, a = 2 })           --> {"a":2,"b":1}
--   json.encode_sorted(json.array{})               --> []
local cjson = require "cjson"

local M = {}
local safe = cjson.new()
safe.encode_sparse_array(false, 1, 0) -- any hole is an error
safe.decode_invalid_numbers(false)
safe.encode_invalid_numbers(false)

M.null = cjson.null
-- mark a table as a JSON array for encode_sorted (an empty one included,
-- which would otherwise be {})
local array_mt = {}
function M.array(t) return setmetatable(t or {}, array_mt) end

function M.encode(v)
  return safe.encode(v)
end

function M.decode(text)
  if type(text) ~= "string" then return nil, "json.decode: input must be a string" end
  local ok, v = pcall(safe.decode, text)
  if ok then return v end
  return nil, v
end

-- Encode with object keys sorted, recursively (cjson keeps table order,
-- which is not stable between runs).
local function sorted(v, out)
  local tv = type(v)
  if tv ~= "table" or v == cjson.null then
    out[#out + 1] = safe.encode(v)
    return
  end
  local n, max = 0, 0
  for k in pairs(v) do
    n = n + 1
    if type(k) == "number" and k > max then max = k end
  end
  if getmetatable(v) == array_mt or (n > 0 and max == n) then
    out[#out + 1] = "["
    for i = 1, max do
      if i > 1 then out[#out + 1] = "," end
      sorted(v[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(v) do
    if type(k) ~= "string" then error("json.encode_sorted: object keys must be strings", 0) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = safe.encode(k)
    out[#out + 1] = ":"
    sorted(v[k], out)
  end
  out[#out + 1] = "}"
end

function M.encode_sorted(v)
  local out = {}
  sorted(v, out)
  return table.concat(out)
end

return M
