-- moonlist.testing: helpers for busted specs of moonlist scripts. Run
-- busted under LuaJIT (`luajit /usr/bin/busted`): moonlist.core, the C
-- module behind T.host and T.sim, is LuaJIT's. docs/lua.md, "Testing your
-- script", says the same with more examples.
--
--   local T = require "moonlist.testing"
--
-- Finding things. Everything is found from this file's own place (a
-- checkout's lua/, or <prefix>/share/moonlist/lua), not from the directory
-- busted runs in:
--   T.lua_dir        the lua/ directory this file is in (absolute)
--   T.build          MOONLIST_BUILD, else the checkout's build/
--   T.bin            MOONLIST_BIN, else build/moonlist or <prefix>/bin/moonlist, else "moonlist"
--   T.core()         moonlist.core, from MOONLIST_BUILD/lua, the checkout's build/lua,
--                    <prefix>/lib/lua/5.1, then package.cpath
--   T.path("lua/?.lua;other/?.lua")
--                    package.path entries for your own modules (relative ones
--                    against the current directory): the scripts of T.host, T.sim
--                    and T.agent (as MOONLIST_LUA_PATH) find them, and so does the
--                    spec. MOONLIST_LUA_PATH in the environment is added at load.
--                    Returns the scripts' package.path entries.
--
-- A script on the real Lua host, the spec playing the protocol thread:
--   local h, err = T.host(code [, opts]) or T.host{ path = "x.lua" | code = "...",
--                                                  name = "=x.lua", lua_path = "..." }
--                    loads the script (nil, err if it does not load); name is the
--                    chunk name for code (default "=spec.lua")
--   h:members{ member, ... }   the table agent.members() answers with, at once and
--                    whatever the spec is doing; the first is agent.self(). A member
--                    is a plain table: name (required), addr ("127.0.0.1"), port
--                    (7946), status ("alive"|"suspect"|"dead"|"left"), incarnation (1),
--                    tags ({k = "v"}, encoded as serf meta) or meta (raw bytes),
--                    protocol/delegate ({min, max, cur}). Another field is an error.
--   h:start()        starts the Lua thread: events flow, timers run
--   h:post{ type = "join"|"update"|"leave"|"conflict"|"message"|"ping",
--           member = m, payload = "...", from = {addr, port}, other = {addr, port},
--           rtt = seconds }   an event for the hooks (never blocks)
--   h:post{ type = "event", name, payload, ltime, coalesce }   a serf user event
--   h:post{ type = "query", name, payload, from, ltime, id }   a serf query (answered
--                    by a "respond" command with query_id = id)
--   h:commands([n [, timeout]])   waits (5 s) until the script sent n commands since
--                    the start; returns all of them, in order: {type = "broadcast",
--                    payload, key}, {type = "send", name, payload, reliable},
--                    {type = "set_meta", meta}, {type = "leave"},
--                    {type = "event", name, payload, coalesce}, {type = "query", name,
--                    payload, token, timeout, ack, relay_factor}, {type = "respond",
--                    query_id, payload}
--   h:log()          everything logged, "[LEVEL] message" lines
--   h:wait_log(text [, timeout])   true once the log holds text (5 s: false)
--   h:local_state(is_join)         what push/pull would send now (bytes)
--   h:ack_payload()                what pings are answered with
--   h:merge_remote_state(bytes, is_join)   queued to merge_remote_state
--   h:allow_alive(member)          the alive veto: true or false
--   h:allow_merge{ member, ... }   the merge veto: true, or false and the reason
--   h:settings()     agent.config as { key = { value = v, where = "file:line" } }
--   h:reload()       loads the script again (a path) on the Lua thread
--   h:stats()        events_posted, events_dropped, hooks_run, hook_errors,
--                    vetoes_asked, vetoes_defaulted
--   h:stop([timeout])   true; false if a hook never returned (the host is abandoned)
--
-- Scripts on simulated nodes, virtual time and network, no threads:
--   local s, err = T.sim{ seed = 1, profile = "lan", lua_path = "...", serf = true,
--     nodes = { { name = "n0", code = "..." | path = "x.lua",
--                 env = { NAME = "value" }, tags = { role = "web" } }, ... } }
--                    env: the node's own environment (its os.getenv reads it first,
--                    then the process's); tags: in place of its agent.config tags.
--                    require "luv" fails there (virtual time).
--   s:join(i, seed, ...)   node i joins through the seeds (indexes from 0)
--   s:run(seconds)   runs the simulation that many virtual seconds
--   s:now()          virtual seconds
--   s:kill(i), s:pause(i), s:pause(i, true)   crash, pause, resume node i
--   s:loss(p [, from, to])   packet loss on every link, or on one direction
--   s:partition({0, 1}, {2, 3})   groups that only talk within themselves (nodes
--                    left out make one more group); s:heal() joins them again
--   s:members(i)     the list node i sees, as agent.members() gives it
--   s:member(i, name)   one of them, or nil
--   s:log(i)         node i's log, "<virtual seconds> [LEVEL] message" lines
--   s:state(i [, is_join])   node i's local_state
--   (serf = true, the default: every node a serf peer, as the agent)
--   s:event(i, name [, payload [, coalesce]])   a serf user event from node i
--   local q = s:query(i, name [, payload [, opts]])   a serf query from node i
--                    (opts: nodes, tags, timeout, ack, relay_factor, no_broadcast)
--   s:answers(q)     { acks = {name...}, responses = {name = payload}, list, done }
--
-- Real agents on loopback (MOONLIST_BIN), each logging to a file in a fresh
-- temporary directory (T.dir()):
--   local a = T.agent{ name = "a", config = "script.lua", join = other,
--                      flags = { "-tag", "role=x" }, env = { K = "v" } }
--   a:members(), a:member(name), a:status_of(name), a:log(), a:running(),
--   a:signal("HUP"), a:stop([secs]), a:kill(); T.stop_all() in after_each/teardown
--
-- Small things: T.wait_until(secs, fn [, step]) (fn's true value, or false
-- after secs), T.sleep(s), T.now(), T.dir(), T.write(path, text),
-- T.read(path), T.free_port(), T.run(cmd) (exit code, output),
-- T.sh_quote(s).
local uv = require "luv"

local M = {}

local function exists(path)
  return path and uv.fs_stat(path) ~= nil
end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return (uv.cwd() .. "/" .. path):gsub("/%./", "/")
end

-- This file is <lua dir>/moonlist/testing.lua.
local function own_lua_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then return absolute("lua") end
  return (absolute(src:sub(2)):gsub("/?moonlist/testing%.lua$", ""))
end

M.lua_dir = own_lua_dir()
-- a checkout (lua/ beside build/) or an install (<prefix>/share/moonlist/lua)
local checkout = M.lua_dir:match("^(.*)/lua$")
local prefix = M.lua_dir:match("^(.*)/share/moonlist/lua$")

M.build = os.getenv("MOONLIST_BUILD") or (checkout and checkout .. "/build") or "build"
M.bin = os.getenv("MOONLIST_BIN")
for _, p in ipairs { M.build .. "/moonlist", prefix and prefix .. "/bin/moonlist" } do
  if not M.bin and exists(p) then M.bin = p end
end
M.bin = M.bin or "moonlist"

-- package.path entries the scripts get (the spec's own are package.path)
local script_path = { M.lua_dir .. "/?.lua" }
local user_path = {}

local function add_spec_path(entry)
  if not (";" .. package.path .. ";"):find(";" .. entry .. ";", 1, true) then
    package.path = entry .. ";" .. package.path
  end
end
add_spec_path(M.lua_dir .. "/?.lua")

function M.path(entries)
  for entry in tostring(entries):gmatch("[^;]+") do
    entry = absolute(entry)
    table.insert(script_path, #user_path + 1, entry)
    table.insert(user_path, entry)
    add_spec_path(entry)
  end
  return table.concat(script_path, ";")
end
if os.getenv("MOONLIST_LUA_PATH") then M.path(os.getenv("MOONLIST_LUA_PATH")) end

local function lua_path_for(opts)
  local extra = opts.lua_path and (opts.lua_path .. ";") or ""
  return extra .. table.concat(script_path, ";")
end

-- ---- moonlist.core ----

local core
function M.core()
  core = core or package.loaded["moonlist.core"]
  if core then return core end
  if not jit then
    -- the C module would crash the interpreter: its ABI is LuaJIT's
    error("moonlist.core needs LuaJIT (run busted under luajit: luajit /usr/bin/busted ...); this is " .. _VERSION,
          3)
  end
  local places = { M.build .. "/lua/?.so" }
  if checkout then places[#places + 1] = checkout .. "/build/lua/?.so" end
  if prefix then
    places[#places + 1] = prefix .. "/lib/lua/5.1/?.so"
    places[#places + 1] = prefix .. "/lib64/lua/5.1/?.so"
  end
  places[#places + 1] = package.cpath
  local file, err = package.searchpath("moonlist.core", table.concat(places, ";"))
  if not file then error("moonlist.core not found (build it, or set MOONLIST_BUILD):" .. err, 3) end
  core = assert(package.loadlib(file, "luaopen_moonlist_core"))()
  package.loaded["moonlist.core"] = core
  return core
end

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

-- core.host and core.sim get every option given (they refuse one they do
-- not know) and the scripts' package.path
local function with_lua_path(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.lua_path = lua_path_for(opts)
  return o
end

-- T.host(code [, opts]) or T.host(opts): opts = code | path, name, lua_path
function M.host(code, opts)
  if type(code) == "table" then code, opts = nil, code end
  local o = with_lua_path(opts or {})
  o.code = code or o.code
  o.name = o.name or "=spec.lua"
  return M.core().host(o)
end

-- ---- scripts on simulated nodes (moonlist.core.sim) ----

function M.sim(opts)
  return M.core().sim(with_lua_path(opts))
end

-- ---- real agents ----

local json = require "moonlist.json"
local running = {}
local Agent = {}
Agent.__index = Agent

-- opts: name, config (script path), join (agent or "host:port"),
-- flags (list), env (table of extra environment variables), log_level,
-- wait (false: do not wait until it runs)
-- free_port's ports are free when picked, not reserved: another test's
-- agent may bind one first. The agent then exits at start-up saying
-- "address already in use", and is started again on fresh ports (as
-- tests/e2e/lib.sh does), whether or not the caller waits for it.
local START_TRIES = 5

local function launch(a, opts)
  a.port = M.free_port()
  a.rpc = M.free_port()
  a.addr = "127.0.0.1:" .. a.port
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
  if #user_path > 0 then env = "MOONLIST_LUA_PATH=" .. sh_quote(table.concat(user_path, ";")) .. " " end
  for k, v in pairs(opts.env or {}) do env = env .. k .. "=" .. sh_quote(v) .. " " end
  local quoted = {}
  for i, s in ipairs(args) do quoted[i] = sh_quote(s) end
  local cmd = string.format("%sexec %s >%s 2>&1 </dev/null & echo $!", env, table.concat(quoted, " "),
                            sh_quote(a.log_path))
  local p = io.popen(cmd)
  a.pid = tonumber(p:read("*l"))
  p:close()
end

function M.agent(opts)
  local a = setmetatable({ name = opts.name }, Agent)
  a.log_path = M.dir() .. "/" .. opts.name .. ".log"
  for try = 1, START_TRIES do
    launch(a, opts)
    -- both ports are bound once the start line is logged; or it is gone
    M.wait_until(15, function() return a:log():find(" gossip on ", 1, true) or not a:running() end, 0.02)
    if a:running() or not a:log():find("address already in use", 1, true) or try == START_TRIES then break end
    os.rename(a.log_path, a.log_path .. ".try" .. try)
  end
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

-- Graceful stop (INT: leave, as serf's agent; TERM would stop without
-- leaving), waiting up to secs for the exit.
function Agent:stop(secs)
  if not self:running() then return true end
  self:signal("INT")
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
