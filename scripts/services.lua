-- Service registration: every node declares its services, checks their
-- health with luv (a TCP connect or a command), and the cluster keeps a
-- catalog of the healthy ones. Every node writes that catalog, atomically,
-- as a Prometheus file_sd JSON file and as a hosts-style file. A failing
-- check or a dead node removes the service everywhere.
--
-- How it spreads: each node's service set is one record (moonlist.catalog)
-- sent as a keyed broadcast (serf's user event "moonlist:services:<node>")
-- when it changes and every REANNOUNCE_S seconds, and carried by push/pull
-- state, so a joining node gets everything at once.
--
-- Configuration (environment, so one script serves every node):
--   MOONLIST_SERVICES  JSON list of services, e.g.
--     [{"name":"web","port":8080,"check":{"tcp":"127.0.0.1:8080"},"interval":2,
--       "tags":{"tier":"front"}},
--      {"name":"db","port":5432,"addr":"10.0.0.5","check":{"command":"pg_isready -q"}}]
--     addr defaults to this node's advertised address; a service without a
--     check is always healthy.
--   MOONLIST_SD_DIR    where services.json and hosts are written (default ".")
--   MOONLIST_DOMAIN    the hosts file's domain (default "moonlist")
local agent = require "moonlist"
local uv = require "luv"
local catalog = require "moonlist.catalog"
local json = require "moonlist.json"

local REANNOUNCE_S = 10      -- heals a lost broadcast well before a push/pull (30 s on lan)
local DEFAULT_INTERVAL_S = 5 -- between checks of one service
local CHECK_TIMEOUT_S = 2    -- a check that takes longer has failed

local dir = os.getenv("MOONLIST_SD_DIR") or "."
local domain = os.getenv("MOONLIST_DOMAIN") or "moonlist"
local defs = {}
do
  local text = os.getenv("MOONLIST_SERVICES") or "[]"
  local list, err = json.decode(text)
  assert(type(list) == "table", "MOONLIST_SERVICES is not a JSON list: " .. tostring(err))
  for i, s in ipairs(list) do
    assert(type(s.name) == "string" and s.name ~= "", "service " .. i .. ": name missing")
    assert(type(s.port) == "number", "service " .. s.name .. ": port missing")
    if s.check ~= nil then
      assert(type(s.check) == "table" and (type(s.check.tcp) == "string" or type(s.check.command) == "string"),
             "service " .. s.name .. ": check must be {tcp=\"host:port\"} or {command=\"...\"}")
    end
    defs[#defs + 1] = s
  end
end

local cat = catalog.new()
local me, my_addr         -- learnt from agent.self() once running
local healthy = {}        -- service name -> true/false, from the last check
local too_large_logged     -- the warning that our record is too large for a broadcast, once

-- ---- outputs ----

local written = {}
local function write(name, text)
  if written[name] == text then return end
  local ok, err = catalog.write_atomic(dir .. "/" .. name, text)
  if ok then
    written[name] = text
  else
    agent.log.error("cannot write", dir .. "/" .. name .. ":", err)
  end
end

local function write_outputs()
  write("services.json", cat:file_sd())
  write("hosts", cat:hosts(domain))
end

-- ---- our record ----

local function announce()
  if not me then return end
  -- a broadcast is serf's user event (512 bytes at most): a record too
  -- large for one still reaches everyone by push/pull
  local ok, err = pcall(agent.broadcast, cat:encode_node(me), "services:" .. me)
  if not ok and not too_large_logged then
    too_large_logged = true
    agent.log.warn("our record travels by push/pull only:", err)
  end
end

local function publish()
  if not me then return end
  local svcs = {}
  for _, s in ipairs(defs) do
    svcs[s.name] = { addr = s.addr or my_addr, port = s.port, healthy = healthy[s.name] == true, tags = s.tags }
  end
  if cat:set_local(me, svcs) then
    announce()
    write_outputs()
  end
end

-- ---- health checks (luv, on the Lua thread's loop) ----

local function check_tcp(target, done)
  local host, port = target:match("^%[?(.-)%]?:(%d+)$")
  if not host then return done(false, "bad tcp target " .. target) end
  local tcp, timer, finished = uv.new_tcp(), uv.new_timer(), false
  local function finish(ok, why)
    if finished then return end
    finished = true
    timer:close()
    if not tcp:is_closing() then tcp:close() end
    done(ok, why)
  end
  timer:start(CHECK_TIMEOUT_S * 1000, 0, function() finish(false, "timeout") end)
  local ok, err = pcall(tcp.connect, tcp, host, tonumber(port), function(e) finish(e == nil, e) end)
  if not ok then finish(false, err) end
end

local function check_command(cmd, done)
  local timer, finished, handle = uv.new_timer(), false, nil
  local function finish(ok, why)
    if finished then return end
    finished = true
    done(ok, why)
  end
  local perr
  handle, perr = uv.spawn("/bin/sh", { args = { "-c", cmd } }, function(code)
    -- the process handle is closed only once the child exited: closed
    -- earlier, libuv stops reaping it and a killed check stays a zombie
    if not timer:is_closing() then timer:close() end
    handle:close()
    finish(code == 0, "exit " .. code)
  end)
  if not handle then
    timer:close()
    return finish(false, perr)
  end
  timer:start(CHECK_TIMEOUT_S * 1000, 0, function()
    timer:close()
    handle:kill("sigkill")   -- its exit callback closes the handle
    finish(false, "timeout")
  end)
end

local function run_check(s)
  local function done(ok, why)
    if healthy[s.name] ~= ok then
      agent.log.info("service", s.name, ok and "healthy" or ("unhealthy (" .. tostring(why) .. ")"))
    end
    healthy[s.name] = ok
    publish()
  end
  if not s.check then return done(true) end
  if s.check.tcp then check_tcp(s.check.tcp, done) else check_command(s.check.command, done) end
end

-- ---- cluster ----

agent.state {
  local_state = function() return cat:encode_all() end,
  merge_remote_state = function(bytes)
    if bytes == "" then return end
    if not catalog.is_record(bytes) then
      -- a serf agent's state in a mixed cluster: not ours, expected
      agent.log.debug("remote state is not a catalog (" .. #bytes .. " bytes): ignored")
      return
    end
    local changed, err = cat:merge(bytes)
    if changed == nil then agent.log.warn("ignored remote state:", err) end
    if changed then write_outputs() end
  end,
}

agent.on("message", function(payload)
  if not catalog.is_record(payload) then return end
  local changed, err = cat:apply(payload)
  if changed == nil then agent.log.warn("ignored a catalog record:", err) end
  if changed then write_outputs() end
end)

agent.on("leave", function(m)
  if m.name ~= me and cat:remove_node(m.name) then
    agent.log.info("services of", m.name, "removed:", m.status)
    write_outputs()
  end
end)

-- someone (re)joined: our record reaches it sooner than the next round
agent.on("join", function(m)
  if me and m.name ~= me then announce() end
end)

agent.after(0, function()
  local self = agent.self()
  me, my_addr = self.name, self.addr
  publish()
  write_outputs()
  for _, s in ipairs(defs) do
    run_check(s)
    agent.every(s.interval or DEFAULT_INTERVAL_S, function() run_check(s) end)
  end
  agent.every(REANNOUNCE_S, announce)
end)
