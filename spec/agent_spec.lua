-- Real agents on loopback running scripts: the contract end to end.
local T = require "moonlist.testing"

local function script(name, text)
  return T.write(T.dir() .. "/" .. name, "local agent = require 'moonlist'\n" .. text)
end

describe("moonlist agent with a script", function()
  after_each(function() T.stop_all() end)

  it("runs scripts/agent.lua when given no -config", function()
    local a = T.agent { name = "a" }
    local b = T.agent { name = "b", join = a, flags = { "-tag", "role=web" } }
    assert.truthy(T.wait_until(10, function() return a:log():find("member joined: b 127.0.0.1:" .. b.port .. " tags role=web", 1, true) end),
                  a:log())
    assert.truthy(a:log():find("agent.lua running on the Lua thread", 1, true))
  end)

  it("refuses to start on a bad agent.config, naming file, line and key", function()
    local path = script("bad.lua", "\nagent.config { bind = '127.0.0.1:1', gossip_nodez = 3 }\n")
    local code, out = T.run(T.sh_quote(T.bin) .. " agent -node x -config " .. T.sh_quote(path))
    assert.are.equal(2, code)
    assert.truthy(out:find(path .. ":3: agent.config: unknown key 'gossip_nodez'", 1, true), out)
  end)

  it("takes its settings from agent.config, flags overriding", function()
    local path = script("cfg.lua", [[
agent.config { tags = { role = "from-script", zone = "z1" }, probe_interval = 0.5, profile = "local" }
]])
    local a = T.agent { name = "a", config = path }
    local b = T.agent { name = "b", config = path, join = a, flags = { "-tag", "role=from-flag" } }
    assert.truthy(T.wait_until(10, function()
      local ma, mb = b:member("a"), a:member("b")
      return ma and mb and ma.tags.role == "from-script" and ma.tags.zone == "z1" and mb.tags.role == "from-flag"
    end))
    local code, info = T.run(T.sh_quote(T.bin) .. " info -rpc-addr 127.0.0.1:" .. a.rpc)
    assert.truthy(info:find("probe_interval_ms = 500", 1, true), info)
    assert.truthy(info:find("profile = local", 1, true), info)
  end)

  it("counts the script's errors in info", function()
    local path = script("errs.lua", [[
agent.every(0.05, function() error("tick failed") end)
agent.on("join", function() error("hook failed") end)
]])
    local a = T.agent { name = "a", config = path }
    local function counter(info, key)
      return tonumber(info:match("\n%s*" .. key .. " = (%d+)"))
    end
    local info
    assert.truthy(T.wait_until(10, function()
      local _, out = T.run(T.sh_quote(T.bin) .. " info -rpc-addr 127.0.0.1:" .. a.rpc)
      info = out
      return (counter(out, "timer_errors") or 0) >= 3 and (counter(out, "hook_errors") or 0) >= 1
    end), info)
    assert.truthy(info:find("script = running", 1, true), info)
    -- the same error again and again is logged once per window, the rest counted
    assert.truthy(counter(info, "suppressed_log_lines") >= 1, info)
  end)

  it("carries broadcasts, messages, tags and push/pull state between agents", function()
    local path = script("talk.lua", [[
local me
agent.state {
  local_state = function(is_join) return "state-of-" .. tostring(me) end,
  merge_remote_state = function(bytes, is_join) agent.log.info("remote state:", bytes, "join:", is_join) end,
}
agent.after(0, function() me = agent.self().name end)
agent.on("join", function(m)
  if me and m.name ~= me then
    agent.broadcast("hello from " .. me, "hello")
    agent.send(m.name, "direct from " .. me, { reliable = true })
    agent.set_tags { greeted = m.name }
  end
end)
agent.on("message", function(payload, from)
  agent.log.info("got message:", payload, "from", tostring(from.name))
end)
agent.on("ping", function(m, rtt, payload)
  if not pinged then pinged = true; agent.log.info("ping", m.name, string.format("rtt=%.4f", rtt)) end
end)
]])
    local a = T.agent { name = "a", config = path }
    local b = T.agent { name = "b", config = path, join = a }
    -- a broadcast is a serf user event, which does not say who sent it:
    -- from.name is nil (spec/serf_events_spec.lua)
    local function got(agent_, text)
      return T.wait_until(10, function() return agent_:log():find(text .. " from nil", 1, true) end)
    end
    assert.truthy(got(b, "got message: hello from a"), b:log())
    assert.truthy(got(a, "got message: hello from b"), a:log())
    assert.truthy(T.wait_until(10, function() return a:log():find("got message: direct from b", 1, true) end), a:log())
    assert.truthy(T.wait_until(10, function()
      local m = a:member("b")
      return m and m.tags.greeted == "a"
    end))
    -- b joined through a: the join push/pull carried both states
    assert.truthy(T.wait_until(10, function() return b:log():find("remote state: state-of-a join: true", 1, true) end),
                  b:log())
    assert.truthy(T.wait_until(10, function() return a:log():find("ping b rtt=", 1, true) end), a:log())
  end)

  it("reloads the script on SIGHUP, keeping the old one when the new one is broken", function()
    local path = script("reload.lua", "agent.on('join', function(m) agent.log.info('v1 saw', m.name) end)\n")
    local a = T.agent { name = "a", config = path }
    script("reload.lua", "agent.on('join', function(m) agent.log.info('v2 saw', m.name) end)\n")
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function() return a:log():find("reloaded", 1, true) end), a:log())
    T.agent { name = "b", join = a }
    assert.truthy(T.wait_until(10, function() return a:log():find("v2 saw b", 1, true) end), a:log())
    script("reload.lua", "agent.on('join', function(m) end\n")
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function() return a:log():find("failed, keeping the running script", 1, true) end))
    T.agent { name = "c", join = a }
    assert.truthy(T.wait_until(10, function() return a:log():find("v2 saw c", 1, true) end), a:log())
    assert.is_true(a:running())
  end)

  it("reloads a script that listens on a port, handing its state over", function()
    local port = T.free_port()
    -- a key-value map with a Lamport clock, served on a TCP port
    local function kv(version)
      return script("kv.lua", string.format([[
local uv = require "luv"
local st = agent.inherited or { clock = 0, kv = {} }
st.clock = st.clock + 1
st.kv["loaded" .. st.clock] = %q
agent.handoff(function() return st end)
agent.log.info("kv %s at load: " .. #agent.members() .. " member(s), self " .. agent.self().name)
local server = uv.new_tcp()
assert(server:bind("127.0.0.1", %d))
assert(server:listen(16, function()
  local c = uv.new_tcp()
  server:accept(c)
  local keys = {}
  for k, v in pairs(st.kv) do keys[#keys + 1] = k .. "=" .. v end
  table.sort(keys)
  c:write("clock=" .. st.clock .. " " .. table.concat(keys, ",") .. "\n", function() c:close() end)
end))
agent.log.info("kv %s listening")
]], version, version, port, version))
    end
    local function get()
      local _, out = T.run("timeout 5 bash -c 'cat </dev/tcp/127.0.0.1/" .. port .. "'")
      return out
    end
    local path = kv("v1")
    local a = T.agent { name = "a", config = path }
    assert.truthy(T.wait_until(10, function() return a:log():find("kv v1 listening", 1, true) end), a:log())
    assert.are.equal("clock=1 loaded1=v1\n", get())
    T.agent { name = "b", join = a }
    assert.truthy(T.wait_until(10, function() return a:status_of("b") == "alive" end))
    kv("v2")
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function() return a:log():find("kv v2 listening", 1, true) end), a:log())
    assert.are.equal("clock=2 loaded1=v1,loaded2=v2\n", get())
    assert.truthy(a:log():find("kv v2 at load: 2 member(s), self a", 1, true), a:log())
    assert.falsy(a:log():find("EADDRINUSE", 1, true), a:log())
    assert.truthy(a:log():find("kv v1 at load: 1 member(s), self", 1, true), a:log())
  end)

  it("merges agent.set_tags into the -tag flags, at load and after a reload; false deletes", function()
    local path = script("tags.lua", "agent.set_tags { at_load = 'yes' }\n")
    local a = T.agent { name = "a", config = path, flags = { "-tag", "role=web" } }
    assert.truthy(T.wait_until(10, function()
      local m = a:member("a")
      return m and m.tags.role == "web" and m.tags.at_load == "yes"
    end), a:log())
    script("tags.lua", "agent.set_tags { role = false }\n")
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function()
      local m = a:member("a")
      return m and m.tags.role == nil and m.tags.at_load == "yes"
    end), a:log())
  end)

  it("leaves the cluster when the script calls agent.leave()", function()
    local path = script("leave.lua", [[
agent.on("message", function(p) if p == "please leave" then agent.leave() end end)
agent.on("join", function(m)
  -- a asks b (b sees its own join too: it must not ask itself)
  if m.name == "b" and agent.self().name == "a" then agent.send("b", "please leave") end
end)
]])
    local a = T.agent { name = "a", config = path }
    -- b may be gone before a start-up check could see it: no wait
    local b = T.agent { name = "b", config = path, join = a, wait = false }
    assert.truthy(T.wait_until(15, function() return not b:running() end), b:log())
    assert.truthy(T.wait_until(10, function() return a:status_of("b") == "left" end), a:log() .. b:log())
    assert.truthy(b:log():find("leave requested by the script", 1, true))
  end)
end)

describe("name conflicts through real agents", function()
  after_each(function() T.stop_all() end)

  it("calls the conflict hook when a second node claims a known member's name", function()
    local path = script("conflict.lua", [[
agent.on("conflict", function(m, other)
  agent.log.info("conflict:", m.name, m.addr .. ":" .. m.port, "claimed by", other.addr .. ":" .. other.port)
end)
]])
    local a = T.agent { name = "a", config = path }
    local d1 = T.agent { name = "dup", join = a }
    assert.truthy(T.wait_until(10, function() return a:status_of("dup") == "alive" end), a:log())
    -- the second "dup" joins through a: its alive carries another port
    local d2 = T.agent { name = "dup", join = a, wait = false }
    local want = "conflict: dup 127.0.0.1:" .. d1.port .. " claimed by 127.0.0.1:" .. d2.port
    assert.truthy(T.wait_until(10, function() return a:log():find(want, 1, true) end), a:log())
    -- the member keeps the address it had (memberlist ignores the claim)
    local m = a:member("dup")
    assert.are.equal(d1.port, m.port)
  end)
end)

describe("vetoes through a real agent", function()
  after_each(function() T.stop_all() end)

  it("a merge hook refuses a join, an alive hook refuses a node", function()
    local path = T.write(T.dir() .. "/veto.lua", [[
local agent = require "moonlist"
agent.on("merge", function(peers)
  for _, p in ipairs(peers) do
    if p.tags.role == "evil" then return false, "no evil peers (" .. p.name .. ")" end
  end
end)
-- as in memberlist, a refused merge only drops that push/pull's view: the
-- node's alive messages must be refused too to keep it out
agent.on("alive", function(m)
  if m.name:match("^intruder") then return false, "no intruders" end
  if m.tags.role == "evil" then return false, "no evil nodes" end
end)
]])
    local a = T.agent { name = "a", config = path }
    local evil = T.agent { name = "evil", join = a, flags = { "-tag", "role=evil" }, wait = false }
    local good = T.agent { name = "good", join = a }
    assert.truthy(T.wait_until(10, function() return a:status_of("good") == "alive" end))
    assert.truthy(T.wait_until(10, function() return a:log():find("merge vetoed: no evil peers (evil)", 1, true) end),
                  a:log())
    -- an intruder joining through good: a refuses its alive messages
    local intruder = T.agent { name = "intruder1", join = good }
    assert.truthy(T.wait_until(10, function() return good:status_of("intruder1") == "alive" end))
    -- a hears about intruder1 by gossip, and refuses it
    assert.truthy(T.wait_until(10, function()
      return a:log():find("alive message about intruder1 refused by the script: no intruders", 1, true)
    end), a:log())
    assert.truthy(T.wait_until(10, function()
      return a:log():find("alive message about evil refused by the script: no evil nodes", 1, true)
    end), a:log())
    assert.is_nil(a:status_of("intruder1"), a:log())
    assert.is_nil(a:status_of("evil"), a:log())
    assert.truthy(evil:running())
    assert.truthy(intruder:running())
  end)
end)
