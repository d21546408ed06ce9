-- moonlist.testing: helpers for busted specs.
--
--   local T = require "moonlist.testing"
--   T.wait_until(5, function() return cond() end)   -- true, or false after 5 s
--   local h = T.host([[ ...script... ]])             -- a Lua host on its own (moonlist.core)
--   local s = T.sim{ nodes = { { path = "scripts/agent.lua" }, ... } } -- scripts on simulated nodes
--   local a = T.agent{ name = "a" }                  -- a real agent on loopback
--   local b = T.agent{ name = "b", join = a, config = "script.lua", flags = { "-tag", "role=x" } }
--   T.wait_until(10, function() return a:status_of("b") == "alive" end)
--   a:stop(); T.stop_all()
--
-- Agents need MOONLIST_BIN (ctest sets it; default build/moonlist). Every
-- agent logs to a file in a fresh temporary directory (T.dir()); T.stop_all
-- (call it in after_each/teardown) kills whatever is still running.
local uv = require "luv"
local json = require "moonlist.json"

local M = {}

M.bin = os.getenv("MOONLIST_BIN") or "build/moonlist"
M.build = os.getenv("MOONLIST_BUILD") or "build"

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.sh_quote = sh_quote

function M.sleep(s)
  uv.sleep(math.floor(s * 1000))
end

function M.now()
  return uv.hrtime() / 1e9
end

-- Poll fn every `step` seconds (default 0.1) until it returns a true value
-- (returned) or `secs` pass (false). The sleep paces the polling only.
function M.wait_until(secs, fn, step)
  local deadline = M.now() + secs
  while true do
    local v = fn()
    if v then return v end
    if M.now() >= deadline then return false end
    M.sleep(step or 0.1)
  end
end

local tmpdir
function M.dir()
  if not tmpdir then
    local p = io.popen("mktemp -d /tmp/moonlist-spec.XXXXXX")
    tmpdir = p:read("*l")
    p:close()
  end
  return tmpdir
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- A loopback port free for both TCP and UDP now (the kernel picks it).
function M.free_port()
  for _ = 1, 50 do
    local tcp = uv.new_tcp()
    assert(tcp:bind("127.0.0.1", 0))
    local port = tcp:getsockname().port
    local udp = uv.new_udp()
    local ok = udp:bind("127.0.0.1", port)
    tcp:close()
    udp:close()
    uv.run("nowait")
    if ok then return port end
  end
  error("no free port")
end

-- ---- a Lua host without an agent (moonlist.core) ----

function M.host(code, opts)
  local core = require "moonlist.core"
  opts = opts or {}
  local h, err = core.host { code = code, name = opts.name or "=spec.lua", lua_path = "lua/?.lua" }
  return h, err
end

-- ---- scripts on simulated nodes (moonlist.core.sim) ----
-- opts: seed, profile, nodes = { { name = "n0", code = "..." | path = "..." }, ... }
-- returns the simulation (run, join, kill, pause, now, log, state, members)
function M.sim(opts)
  local core = require "moonlist.core"
  return core.sim(opts)
end

-- ---- real agents ----

local running = {}
local Agent = {}
Agent.__index = Agent

-- opts: name, config (script path), join (agent or "host:port"),
-- flags (list), env (table of extra environment variables)
function M.agent(opts)
  local a = setmetatable({ name = opts.name }, Agent)
  a.port = M.free_port()
  a.rpc = M.free_port()
  a.addr = "127.0.0.1:" .. a.port
  a.log_path = M.dir() .. "/" .. opts.name .. ".log"
  local args = { M.bin, "agent", "-node", opts.name, "-bind", a.addr, "-rpc-addr", "127.0.0.1:" .. a.rpc,
                 "-log-level", opts.log_level or "debug" }
  if opts.config then
    args[#args + 1] = "-config"
    args[#args + 1] = opts.config
  end
  if opts.join then
    args[#args + 1] = "-join"
    args[#args + 1] = type(opts.join) == "table" and opts.join.addr or opts.join
  end
  for _, f in ipairs(opts.flags or {}) do args[#args + 1] = f end
  local env = ""
  for k, v in pairs(opts.env or {}) do env = env .. k .. "=" .. sh_quote(v) .. " " end
  local quoted = {}
  for i, s in ipairs(args) do quoted[i] = sh_quote(s) end
  local cmd = string.format("%sexec %s >%s 2>&1 </dev/null & echo $!", env, table.concat(quoted, " "),
                            sh_quote(a.log_path))
  local p = io.popen(cmd)
  a.pid = tonumber(p:read("*l"))
  p:close()
  running[#running + 1] = a
  if opts.wait ~= false then
    local ok = M.wait_until(15, function() return a:status_of(a.name) == "alive" or not a:running() end)
    if not ok or not a:running() then
      error("agent " .. a.name .. " did not start:\n" .. (a:log() or ""), 2)
    end
  end
  return a
end

function Agent:running()
  -- a zombie (exited, not reaped: its parent shell is gone) counts as gone
  local st = M.read("/proc/" .. self.pid .. "/stat")
  if not st then return false end
  local state = st:match("%) (%a)")
  return state ~= "Z" and state ~= "X"
end

function Agent:log()
  return M.read(self.log_path) or ""
end

function Agent:members()
  local p = io.popen(string.format("timeout 5 %s members -format json -rpc-addr 127.0.0.1:%d 2>/dev/null",
                                   sh_quote(M.bin), self.rpc))
  local out = p:read("*a")
  p:close()
  local v = json.decode(out)
  return v and v.members
end

function Agent:member(name)
  for _, m in ipairs(self:members() or {}) do
    if m.name == name then return m end
  end
end

function Agent:status_of(name)
  local m = self:member(name)
  return m and m.status
end

function Agent:signal(sig)
  os.execute("kill -" .. sig .. " " .. self.pid .. " 2>/dev/null")
end

-- Graceful stop (TERM: leave), waiting up to secs for the exit.
function Agent:stop(secs)
  if not self:running() then return true end
  self:signal("TERM")
  if M.wait_until(secs or 10, function() return not self:running() end) then return true end
  self:signal("KILL")
  return false
end

function Agent:kill()
  self:signal("KILL")
  M.wait_until(5, function() return not self:running() end)
end

function M.stop_all()
  for _, a in ipairs(running) do
    if a:running() then a:signal("KILL") end
  end
  for _, a in ipairs(running) do
    M.wait_until(5, function() return not a:running() end)
  end
  running = {}
end

-- Run a command, return its exit code and its output (stdout + stderr).
function M.run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit:$?\"")
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit:(%d+)%s*$"))
  return code, out:gsub("exit:%d+%s*$", "")
end

return M
