-- moonlist.catalog: a cluster-wide catalog of services, each node the only
-- writer of its own entries.
--
-- Every node publishes its whole service set as one record
--   { node = "web-1", version = <number>, services = { [name] = svc, ... } }
-- with svc = { addr = "10.0.0.1", port = 8080, healthy = true, tags = {...} }.
-- A record replaces the node's previous one only if its version is newer,
-- so records can arrive in any order, by broadcast or by push/pull, any
-- number of times. Versions are wall-clock milliseconds (and at least the
-- last one + 1), so a restarted node's records still win over the ones it
-- published before.
--
--   local catalog = require "moonlist.catalog"
--   local c = catalog.new()
--   c:set_local("web-1", { web = { addr = "10.0.0.1", port = 80, healthy = true } })
--   local bytes = c:encode_node("web-1")   -- for agent.broadcast(bytes, key)
--   c:apply(bytes)                          -- on another node: true if changed
--   c:merge(c:encode_all())                 -- push/pull state
--   c:remove_node("web-1")                  -- the node died or left
--   c:file_sd(), c:hosts()                  -- outputs; catalog.write_atomic(path, text)
local mp = require "moonlist.msgpack"
local json = require "moonlist.json"

local M = {}
local Catalog = {}
Catalog.__index = Catalog

M.MAGIC = "mlsvc1" -- prefix of encoded records: tells them from other messages

function M.new()
  -- removed: node -> the version it had when removed, so an older copy of
  -- its record still travelling in someone's push/pull cannot bring it back
  return setmetatable({ nodes = {}, removed = {} }, Catalog)
end

local function now_ms()
  return math.floor(os.time() * 1000)
end

-- A service definition as it may come from the network: checked, copied.
local function clean_service(name, s)
  if type(name) ~= "string" or name == "" then return nil, "service name must be a non-empty string" end
  if type(s) ~= "table" then return nil, "service " .. name .. " must be a table" end
  if type(s.addr) ~= "string" or s.addr == "" then return nil, "service " .. name .. ": addr must be a string" end
  if type(s.port) ~= "number" or s.port < 1 or s.port > 65535 or s.port % 1 ~= 0 then
    return nil, "service " .. name .. ": port must be 1..65535"
  end
  local tags = {}
  if s.tags ~= nil then
    if type(s.tags) ~= "table" then return nil, "service " .. name .. ": tags must be a table" end
    for k, v in pairs(s.tags) do
      if type(k) ~= "string" or type(v) ~= "string" then
        return nil, "service " .. name .. ": tags must map strings to strings"
      end
      tags[k] = v
    end
  end
  return { addr = s.addr, port = s.port, healthy = s.healthy ~= false, tags = tags }
end

local function clean_services(services)
  if type(services) ~= "table" then return nil, "services must be a table" end
  local out = {}
  for name, s in pairs(services) do
    local c, err = clean_service(name, s)
    if not c then return nil, err end
    out[name] = c
  end
  return out
end

local function same(a, b)
  return mp.encode(a) == mp.encode(b)
end

-- Replace a node's record if `version` is newer. Returns changed (the
-- healthy view or the record differ), or nil, error for a bad record.
function Catalog:update(node, version, services)
  if type(node) ~= "string" or node == "" then return nil, "node must be a non-empty string" end
  if type(version) ~= "number" then return nil, "version must be a number" end
  local clean, err = clean_services(services)
  if not clean then return nil, err end
  local cur = self.nodes[node]
  if cur and cur.version >= version then return false end
  if self.removed[node] and self.removed[node] >= version then return false end
  self.removed[node] = nil
  self.nodes[node] = { version = version, services = clean }
  return not cur or not same(cur.services, clean)
end

-- Our own services: a new version. Returns changed.
function Catalog:set_local(node, services)
  local cur = self.nodes[node]
  local version = math.max(now_ms(), cur and cur.version + 1 or 0, (self.removed[node] or 0) + 1)
  local changed, err = self:update(node, version, services)
  if changed == nil then error("catalog.set_local: " .. err, 2) end
  return changed
end

function Catalog:remove_node(node)
  if not self.nodes[node] then return false end
  self.removed[node] = self.nodes[node].version
  self.nodes[node] = nil
  return true
end

function Catalog:version(node)
  local r = self.nodes[node]
  return r and r.version
end

function Catalog:encode_node(node)
  local r = self.nodes[node]
  if not r then return nil end
  return M.MAGIC .. mp.encode({ node = node, version = r.version, services = r.services })
end

-- Apply a record from encode_node. Returns changed, or nil, error when the
-- bytes are not a record (other messages: check with catalog.is_record).
function Catalog:apply(bytes)
  if not M.is_record(bytes) then return nil, "not a catalog record" end
  local ok, r = mp.safe_decode(bytes:sub(#M.MAGIC + 1))
  if not ok then return nil, r end
  if type(r) ~= "table" then return nil, "record is not a map" end
  return self:update(r.node, r.version, r.services)
end

function M.is_record(bytes)
  return type(bytes) == "string" and bytes:sub(1, #M.MAGIC) == M.MAGIC
end

-- Every record, for push/pull state.
function Catalog:encode_all()
  local all = {}
  for node, r in pairs(self.nodes) do
    all[node] = { version = r.version, services = r.services }
  end
  return M.MAGIC .. mp.encode(all)
end

-- Merge push/pull state. Returns changed, or nil, error.
function Catalog:merge(bytes)
  if not M.is_record(bytes) then return nil, "not catalog state" end
  local ok, all = mp.safe_decode(bytes:sub(#M.MAGIC + 1))
  if not ok then return nil, all end
  if type(all) ~= "table" then return nil, "state is not a map" end
  local changed = false
  for node, r in pairs(all) do
    if type(r) == "table" then
      local c = self:update(node, r.version, r.services)
      changed = changed or c == true
    end
  end
  return changed
end

-- Healthy services, sorted by service name, then node.
function Catalog:healthy()
  local list = {}
  for node, r in pairs(self.nodes) do
    for name, s in pairs(r.services) do
      if s.healthy then
        list[#list + 1] = { service = name, node = node, addr = s.addr, port = s.port, tags = s.tags }
      end
    end
  end
  table.sort(list, function(a, b)
    if a.service ~= b.service then return a.service < b.service end
    return a.node < b.node
  end)
  return list
end

local function hostport(addr, port)
  if addr:find(":", 1, true) then return "[" .. addr .. "]:" .. port end
  return addr .. ":" .. port
end

-- Prometheus file_sd: one target group per service.
function Catalog:file_sd()
  local groups, by = json.array(), {}
  for _, e in ipairs(self:healthy()) do
    local g = by[e.service]
    if not g then
      g = { targets = json.array(), labels = { service = e.service } }
      by[e.service] = g
      groups[#groups + 1] = g
    end
    g.targets[#g.targets + 1] = hostport(e.addr, e.port)
  end
  return json.encode_sorted(groups) .. "\n"
end

-- hosts(5) style: "addr service.service.<domain> node.service.<domain>".
function Catalog:hosts(domain)
  domain = domain or "moonlist"
  local lines = {}
  for _, e in ipairs(self:healthy()) do
    lines[#lines + 1] = string.format("%s\t%s.service.%s %s.%s.service.%s", e.addr, e.service, domain, e.node,
                                      e.service, domain)
  end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

-- Write text to path atomically: a reader sees the old file or the new one,
-- never a part (write a temporary file beside it, then rename).
function M.write_atomic(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  if not ok then f:close(); os.remove(tmp); return nil, werr end
  ok, werr = f:close()
  if not ok then os.remove(tmp); return nil, werr end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, rerr end
  return true
end

return M
