-- A moonlist agent's script beside a real serf agent (Debian's serf 0.9.4,
-- SERF_BIN or /usr/bin/serf): `serf event` reaches the script's event
-- hook, `serf query` gets the script's answer, and what the script sends
-- (agent.event, agent.broadcast, agent.send, agent.query) reaches serf as
-- serf's own messages, without a warning in serf's log.
--
-- Pending while the agent is not a serf peer yet (the daemon still hands
-- serf's messages to the script as raw user messages).
local T = require "moonlist.testing"

local SERF = os.getenv("SERF_BIN") or "/usr/bin/serf"
local DEPLOY = T.lua_dir .. "/../scripts/deploy_event.lua"

local serfs = {}

-- a serf agent on loopback, logging to a file (killed in after_each)
local function serf_agent(name, join)
  local s = { name = name, port = T.free_port(), rpc = T.free_port(), log_path = T.dir() .. "/" .. name .. ".log" }
  local cmd = string.format("exec %s agent -node %s -bind 127.0.0.1:%d -advertise 127.0.0.1:%d -rpc-addr 127.0.0.1:%d "
                            .. "-log-level debug %s >%s 2>&1 </dev/null & echo $!",
                            T.sh_quote(SERF), T.sh_quote(name), s.port, s.port, s.rpc,
                            join and ("-join " .. join) or "", T.sh_quote(s.log_path))
  local p = io.popen(cmd)
  s.pid = tonumber(p:read("*l"))
  p:close()
  serfs[#serfs + 1] = s
  function s.log() return T.read(s.log_path) or "" end
  -- s.run("event", "deploy v7"): Go's flags come before the arguments
  function s.run(sub, args)
    return T.run(string.format("timeout 20 %s %s -rpc-addr 127.0.0.1:%d %s", T.sh_quote(SERF), sub, s.rpc, args))
  end
  return s
end

local function have_serf()
  return T.run(T.sh_quote(SERF) .. " version") == 0
end

describe("a script beside a serf agent", function()
  after_each(function()
    T.stop_all()
    for _, s in ipairs(serfs) do os.execute("kill -9 " .. s.pid .. " 2>/dev/null") end
    serfs = {}
  end)

  it("sees serf's events and queries, and sends only what serf understands", function()
    if not have_serf() then
      pending("no serf binary at " .. SERF)
      return
    end
    local script = T.write(T.dir() .. "/interop.lua", string.format([[
local agent = require "moonlist"
dofile(%q)
agent.on("message", function(p, from)
  if p:byte(1) and p:byte(1) <= 9 then agent.log.info("RAW SERF MESSAGE") end
  agent.log.info("message", p)
end)
agent.on("join", function(m)
  if m.name ~= "s1" then return end
  agent.after(1, function()
    agent.event("from-moonlist", "e1")
    agent.broadcast("hello serf", "greet")
    agent.send("s1", "just for s1")
    agent.query("moonlist-asks", "", { timeout = 3 }, function(a)
      agent.log.info("answer", a.type, tostring(a.from), tostring(a.payload))
    end)
  end)
end)
]], DEPLOY))
    local m = T.agent { name = "m1", config = script }
    local s = serf_agent("s1", m.addr)
    assert.truthy(T.wait_until(15, function() return m:status_of("s1") == "alive" end), m:log())
    local code, out = s.run("event", "deploy v7")
    assert.are.equal(0, code, out)
    assert.truthy(T.wait_until(10, function()
      return m:log():find("deploy v7", 1, true) or m:log():find("RAW SERF MESSAGE", 1, true)
    end), m:log())
    if m:log():find("RAW SERF MESSAGE", 1, true) then
      pending("the agent is not a serf peer yet: serf's messages reach the script raw")
      return
    end
    code, out = s.run("query", "-timeout 3s deploy-status")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("Response from 'm1': v7 dry-run", 1, true), out)
    -- the script's own: serf sees a user event and a broadcast as user events
    assert.truthy(T.wait_until(10, function()
      local log = s.log()
      return log:find("from-moonlist", 1, true) and log:find("moonlist:greet", 1, true)
    end), s.log())
    -- the script's query ran to its end (serf acks nothing unasked; no handler answers)
    assert.truthy(T.wait_until(10, function() return m:log():find("answer done", 1, true) end), m:log())
    local log = s.log()
    assert.falsy(log:find("unknown type", 1, true), log)
    assert.falsy(log:find("[ERR]", 1, true), log)
    assert.falsy(log:find("[WARN] serf", 1, true), log)
  end)
end)
