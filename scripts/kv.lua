-- A replicated key-value map: every node holds the whole map, any node can
-- write, and every node ends up with the same values. For small maps
-- (feature flags, a leader hint, settings): the whole map travels in every
-- push/pull. Values are strings.
--
-- Versions: each write carries a Lamport time and the writer's name. A
-- node's clock is above every time it has seen, so a write made after a
-- node saw a value wins over that value; two writes made without seeing
-- each other (in a partition, say) are ordered by time, then by node name
-- (the higher name wins a tie). Every node applies the same rule, so all
-- converge on the same winner. A delete is a write of a tombstone (kept
-- forever: small maps only).
--
-- How it spreads: a write is a broadcast keyed by its map key (serf's user
-- event "moonlist:kv:<key>": at most 512 bytes, see MAX_WRITE). The full map is the
-- push/pull state: a joining node, or one back from a partition, gets
-- everything at once. A node that learns a newer value, either way,
-- broadcasts it again, as serf does with user events, so a write reaches
-- everyone even when the writer's own broadcasts are lost, and a value
-- from across a healed partition spreads without waiting for every node's
-- own push/pull.
--
-- Reload (SIGHUP): the map and the clock are handed to the new script
-- (agent.handoff / agent.inherited), so nothing is lost and writes after
-- the reload still win over older ones. The API port is re-bound by the
-- new script (the old one's socket is closed before it runs).
--
-- The local API, with luv: TCP on 127.0.0.1:MOONLIST_KV_PORT (default 7380;
-- 0: none), one command per line, one answer per command:
--   GET k        -> "VALUE v" or "NONE"
--   SET k v      -> "OK <time>"    (v: the rest of the line, may be empty)
--   DEL k        -> "OK <time>"
--   DUMP         -> "k <time> <node> v" per key, sorted, then "END"
--   CLOCK        -> "CLOCK <n>"
--   otherwise    -> "ERR <why>"  (a malformed line, a write too large to broadcast)
-- It has no authentication: any local user can write.
--   from bash:  exec 3<>/dev/tcp/127.0.0.1/7380
--               printf 'SET color blue\nGET color\n' >&3; head -2 <&3; exec 3<&-
--
-- As a module: loaded with dofile (or require) from another script, this
-- script returns { set = fn(k, v), del = fn(k), get = fn(k), dump = fn(),
-- clock = fn() }: the same writes as the API, for a script of your own
-- (it must then not call agent.handoff itself: kv.lua's would be replaced).
--
-- On the simulator there is no luv, so no API: the replication runs as on
-- an agent and writes come through the module (spec/kv_spec.lua wraps
-- this script and writes at chosen virtual times). The map is what
-- s:state(i) returns (MAGIC, then msgpack).
local agent = require "moonlist"
local mp = require "moonlist.msgpack"
local has_luv, uv = pcall(require, "luv")

local MAGIC = "mlkv1"      -- prefix of our broadcasts and state: tells them from other payloads
-- bytes of one encoded write with its key: a write is broadcast as serf's
-- user event "moonlist:kv:<key>", and serf's limit for one (512 bytes
-- encoded) holds the event's name, the write and about 40 bytes of serf's
-- own fields
local MAX_WRITE = 512 - 40 - #"moonlist:kv:"
local MAX_LINE = 64 * 1024 -- an API line longer than this closes the connection

-- map: key -> { t = time, n = node, v = value } or { t, n, d = true } (deleted)
local st = agent.inherited or { clock = 0, map = {} }
agent.handoff(function() return st end)

local me = agent.self().name
local encoded_state -- local_state's bytes, until the map changes

-- ---- versions ----

local function newer(a, b)
  return a.t > b.t or (a.t == b.t and a.n > b.n)
end

local function valid(k, e)
  return type(k) == "string" and k ~= "" and type(e) == "table" and type(e.t) == "number" and e.t >= 0
    and e.t % 1 == 0 and type(e.n) == "string" and (e.d == true or type(e.v) == "string")
end

-- Apply one entry (ours or someone's); true if it replaced what we had.
local function apply(k, e)
  if e.t > st.clock then st.clock = e.t end
  local cur = st.map[k]
  if cur and not newer(e, cur) then return false end
  st.map[k] = { t = e.t, n = e.n, v = e.v, d = e.d }
  encoded_state = nil
  return true
end

local function announce(k)
  local e = st.map[k]
  agent.broadcast(MAGIC .. mp.encode { k = k, t = e.t, n = e.n, v = e.v, d = e.d }, "kv:" .. k)
end

local function decode(bytes)
  if bytes:sub(1, #MAGIC) ~= MAGIC then return nil end
  local ok, v = mp.safe_decode(bytes:sub(#MAGIC + 1))
  if ok and type(v) == "table" then return v end
end

-- ---- writes ----

local M = {}

local function write(k, e)
  if type(k) ~= "string" or k == "" or k:find("%s") then return nil, "the key must be a non-empty string without white space" end
  if e.v and e.v:find("\n", 1, true) then return nil, "the value must not hold a newline" end
  e.t, e.n = st.clock + 1, me
  local size = #MAGIC + #mp.encode { k = k, t = e.t, n = e.n, v = e.v, d = e.d }
  if size + #k > MAX_WRITE then
    return nil, "too large: " .. size .. " bytes encoded, at most " .. (MAX_WRITE - #k) .. " with this key"
  end
  apply(k, e)
  announce(k)
  return e.t
end

function M.set(k, v)
  if type(v) ~= "string" then return nil, "the value must be a string" end
  return write(k, { v = v })
end

function M.del(k)
  return write(k, { d = true })
end

function M.get(k)
  local e = st.map[k]
  if e and not e.d then return e.v end
end

-- { {k, t, n, v}, ... } sorted by key, tombstones left out
function M.dump()
  local out = {}
  for k, e in pairs(st.map) do
    if not e.d then out[#out + 1] = { k = k, t = e.t, n = e.n, v = e.v } end
  end
  table.sort(out, function(a, b) return a.k < b.k end)
  return out
end

function M.clock()
  return st.clock
end

-- ---- the cluster ----

agent.on("message", function(payload)
  local w = decode(payload)
  if not w then return end
  if not valid(w.k, w) then
    agent.log.warn("ignored a bad kv write")
    return
  end
  -- new to us: pass it on (a copy we already have is not sent again, so this ends)
  if apply(w.k, w) then announce(w.k) end
end)

agent.state {
  local_state = function()
    if not encoded_state then
      local wire = {}
      for k, e in pairs(st.map) do wire[k] = { t = e.t, n = e.n, v = e.v, d = e.d } end
      encoded_state = MAGIC .. mp.encode(wire)
    end
    return encoded_state
  end,
  merge_remote_state = function(bytes)
    if bytes == "" then return end
    local remote = decode(bytes)
    if not remote then
      agent.log.debug("remote state is not a kv map (" .. #bytes .. " bytes): ignored")
      return
    end
    local n = 0
    for k, e in pairs(remote) do
      -- passed on like a broadcast: the other nodes need not wait for their own push/pull
      if valid(k, e) and apply(k, e) then
        n = n + 1
        announce(k)
      end
    end
    if n > 0 then agent.log.debug("push/pull brought", n, "newer key(s)") end
  end,
}

-- ---- the local TCP API (luv only) ----

local function answer(line)
  line = line:gsub("\r$", "")
  local cmd, rest = line:match("^(%u+)%s*(.*)$")
  if cmd == "GET" and rest:match("^%S+$") then
    local v = M.get(rest)
    return v and ("VALUE " .. v) or "NONE"
  elseif cmd == "SET" and rest:match("^%S+") then
    local k, v = rest:match("^(%S+) ?(.*)$")
    local t, err = M.set(k, v)
    return t and ("OK " .. t) or ("ERR " .. err)
  elseif cmd == "DEL" and rest:match("^%S+$") then
    local t, err = M.del(rest)
    return t and ("OK " .. t) or ("ERR " .. err)
  elseif cmd == "DUMP" and rest == "" then
    local out = {}
    for _, e in ipairs(M.dump()) do out[#out + 1] = table.concat({ e.k, e.t, e.n, e.v }, " ") end
    out[#out + 1] = "END"
    return table.concat(out, "\n")
  elseif cmd == "CLOCK" and rest == "" then
    return "CLOCK " .. st.clock
  end
  return "ERR usage: GET k | SET k v | DEL k | DUMP | CLOCK"
end

local function serve(client)
  local buf = ""
  local function done()
    -- shutdown sends what is still queued, then the connection closes
    if client:is_closing() then return end
    if not client:shutdown(function() client:close() end) then client:close() end
  end
  client:read_start(function(err, data)
    if err or not data then return done() end
    buf = buf .. data
    for line in buf:gmatch("([^\n]*)\n") do client:write(answer(line) .. "\n") end
    buf = buf:match("[^\n]*$")
    if #buf > MAX_LINE then
      client:write("ERR line too long\n")
      client:read_stop()
      done()
    end
  end)
end

local port = tonumber(os.getenv("MOONLIST_KV_PORT") or "7380")
assert(port and port >= 0 and port <= 65535, "MOONLIST_KV_PORT must be a port number (0: no API)")
if has_luv and port > 0 then
  local server = uv.new_tcp()
  local ok, err = server:bind("127.0.0.1", port)
  if ok then ok, err = server:listen(64, function(lerr)
    if lerr then return agent.log.warn("kv API accept:", lerr) end
    local client = uv.new_tcp()
    if server:accept(client) then serve(client) else client:close() end
  end) end
  assert(ok, "kv API: cannot listen on 127.0.0.1:" .. port .. ": " .. tostring(err))
  agent.log.info("kv API on 127.0.0.1:" .. port .. ", clock " .. st.clock .. (agent.inherited and " (handed over)" or ""))
end

return M
