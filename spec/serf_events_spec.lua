-- Scripts on the serf layer: serf's user events and queries (agent.event,
-- agent.query, the "event" and "query" hooks), agent.broadcast and
-- agent.send as serf's, agent.state inside serf's push/pull. On the host
-- (the spec playing the protocol thread) for the contract, on the
-- simulator (virtual time, every node a serf peer) for the behaviour.
local T = require "moonlist.testing"

local function count(text, needle)
  local n, at = 0, 1
  while true do
    local i = text:find(needle, at, true)
    if not i then return n end
    n, at = n + 1, i + #needle
  end
end

local function kinds(cmds)
  local out = {}
  for i, c in ipairs(cmds) do
    out[i] = c.type .. " " .. tostring(c.name or c.key or c.query_id) .. " " .. tostring(c.payload)
  end
  return out
end

describe("events and queries on the host", function()
  it("give the event hook serf's user events and the message hook a script's broadcasts and sends", function()
    local h = assert(T.host [[
local agent = require "moonlist"
agent.on("event", function(ev)
  agent.log.info("event", ev.name, ev.payload, ev.ltime, tostring(ev.coalesce))
end)
agent.on("message", function(p, from) agent.log.info("message", p, tostring(from.name)) end)
agent.on("query", function(q) agent.log.info("query seen", q.name, q.from) end)
]])
    h:start()
    h:post { type = "event", name = "deploy", payload = "v2", ltime = 7, coalesce = true }
    h:post { type = "event", name = "moonlist:svc", payload = "record" }
    h:post { type = "query", name = "moonlist:send", payload = "direct", from = "b", id = 3 }
    assert.is_true(h:wait_log("message direct b"), h:log())
    local log = h:log()
    assert.truthy(log:find("event deploy v2 7 true", 1, true), log)
    -- a broadcast is a serf user event: it does not say who sent it
    assert.truthy(log:find("message record nil", 1, true), log)
    assert.falsy(log:find("event moonlist:", 1, true), log)
    assert.falsy(log:find("query seen", 1, true), log)
    h:stop()
  end)

  it("answers a query with the first hook that returns a string, and only once", function()
    local h = assert(T.host [[
local agent = require "moonlist"
agent.on("query", function(q) agent.log.info("first", q.name, q.payload, q.from, q.ltime) end)
agent.on("query", function(q) if q.name == "health" then return "ok " .. q.payload end end)
agent.on("query", function(q) return "never" end)
]])
    h:start()
    h:post { type = "query", name = "health", payload = "?", from = "asker", ltime = 4, id = 12 }
    h:post { type = "query", name = "other", payload = "", from = "asker", ltime = 5, id = 13 }
    local cmds = h:commands(2, 5)
    assert.are.same({ "respond 12 ok ?", "respond 13 never" }, kinds(cmds))
    assert.truthy(h:log():find("first health ? asker 4", 1, true), h:log())
    h:stop()
  end)

  it("sends events and queries down as commands, and checks their arguments", function()
    local h = assert(T.host [[
local agent = require "moonlist"
agent.event("deploy", "v3")
agent.event("quiet", nil, { coalesce = false })
local id = agent.query("health", "", { nodes = { "a" }, tags = { role = "^web" }, timeout = 2.5, ack = true,
                                      relay_factor = 2 }, function() end)
agent.log.info("token", type(id))
]])
    h:start()
    local c = h:commands(3, 5)
    assert.are.same({ type = "event", name = "deploy", payload = "v3", coalesce = true }, c[1])
    assert.are.same({ type = "event", name = "quiet", payload = "", coalesce = false }, c[2])
    assert.are.equal("query", c[3].type)
    assert.are.equal("health", c[3].name)
    assert.are.equal(2.5, c[3].timeout)
    assert.is_true(c[3].ack)
    assert.are.equal(2, c[3].relay_factor)
    assert.truthy(h:log():find("token number", 1, true), h:log())
    h:stop()
    for _, code in ipairs {
      "agent.event('x', string.rep('y', 600))",     -- over serf's 512-byte user event limit
      "agent.event('x', string.rep('y', 490))",     -- fits before encoding, not after
      "agent.event('', 'y')",
      "agent.event('moonlist:x', 'y')",
      "agent.event('x', 'y', { coalesce = 1 })",
      "agent.event('x', 'y', { colesce = true })",
      "agent.broadcast(string.rep('y', 500), 'k')",
      "agent.send('n1', string.rep('y', 1100))",
      "agent.query('_serf_ping', '')",
      "agent.query('q', string.rep('y', 1100))",
      "agent.query('q', '', { timeout = 0 })",
      "agent.query('q', '', { relay_factor = 6 })",
      "agent.query('q', '', { nodes = 'a' })",
      "agent.query('q', '', { tags = { role = 1 } })",
      "agent.query('q', '', { nodez = {} })",
      "agent.query('q', '', {}, 'not a function')",
      "agent.on('events', function() end)",
    } do
      local bad, err = T.host("local agent = require 'moonlist'\n" .. code .. "\n")
      assert.is_nil(bad, code)
      assert.truthy(err:find("spec.lua:2:", 1, true), err)
    end
    -- the largest payload that fits: name + payload + the message's own fields
    local ok = T.host("local agent = require 'moonlist'\nagent.event('x', string.rep('y', 460))\n")
    assert.truthy(ok)
    ok:stop()
  end)
end)

-- every node: logs its hooks' arguments, answers "health" when ANSWER is
-- set (with its name), acks anything else
local listener = [[
local agent = require "moonlist"
local me = os.getenv("ME")
agent.on("event", function(ev) agent.log.info("event", ev.name, ev.payload, tostring(ev.coalesce)) end)
agent.on("message", function(p, from) agent.log.info("message", p, "from", tostring(from.name)) end)
agent.on("query", function(q)
  agent.log.info("query", q.name, q.payload, "from", q.from)
  if q.name == "health" and os.getenv("ANSWER") then return "ok " .. me end
end)
]]

local function nodes(n, code, extra)
  local list = {}
  for i = 1, n do
    local name = "n" .. (i - 1)
    list[i] = { name = name, code = code, env = { ME = name }, tags = { role = i % 2 == 0 and "db" or "web" } }
    if extra then extra(i - 1, list[i]) end
  end
  return list
end

local function cluster(n, code, extra, seed)
  local s = assert(T.sim { seed = seed or 5, nodes = nodes(n, code, extra) })
  for i = 1, n - 1 do s:join(i, 0) end
  s:run(10)
  for i = 0, n - 1 do assert.are.equal(n, #s:members(i), s:log(i)) end
  return s
end

describe("events and queries on the simulator", function()
  it("delivers an event to each of 10 nodes' event hook exactly once", function()
    local s = cluster(10, listener)
    assert(s:event(3, "deploy", "v1"))
    assert(s:event(7, "deploy", "v2", false))
    s:run(10)
    for i = 0, 9 do
      local log = s:log(i)
      assert.are.equal(1, count(log, "event deploy v1 true"), "n" .. i .. "\n" .. log)
      assert.are.equal(1, count(log, "event deploy v2 false"), "n" .. i .. "\n" .. log)
    end
  end)

  it("delivers a script's agent.event everywhere, its sender included", function()
    local s = cluster(5, listener .. [[
if me == "n2" then agent.after(12, function() agent.event("restart", "web") end) end
]])
    s:run(10)
    for i = 0, 4 do assert.are.equal(1, count(s:log(i), "event restart web true"), s:log(i)) end
  end)

  it("answers a query with the first hook's string, acks without one, and ends with done", function()
    local s = cluster(6, listener, function(i, n) if i % 3 == 0 then n.env.ANSWER = "1" end end)
    local q = assert(s:query(1, "health", "?", { ack = true, timeout = 5 }))
    s:run(2)
    local a = s:answers(q)
    assert.is_false(a.done)
    s:run(5)
    a = s:answers(q)
    assert.is_true(a.done)
    table.sort(a.acks)
    assert.are.same({ "n0", "n1", "n2", "n3", "n4", "n5" }, a.acks)
    assert.are.same({ n0 = "ok n0", n3 = "ok n3" }, a.responses)
    for i = 0, 5 do assert.are.equal(1, count(s:log(i), "query health ? from n1"), s:log(i)) end
  end)

  it("lets a hook answer later with q:respond, once", function()
    local late = listener .. [[
agent.on("query", function(q)
  if q.name == "slow" then
    agent.after(0.5, function() q:respond("late " .. me); q:respond("again " .. me) end)
  end
end)
]]
    local s = cluster(3, late)
    local q = assert(s:query(0, "slow", "", { timeout = 3 }))
    s:run(4)
    local a = s:answers(q)
    assert.are.same({ n0 = "late n0", n1 = "late n1", n2 = "late n2" }, a.responses)
    assert.are.equal(3, #a.list)
    assert.is_true(a.done)
  end)

  it("filters a query by node and by tag", function()
    local s = cluster(6, listener, function(_, n) n.env.ANSWER = "1" end)
    local byname = assert(s:query(0, "health", "", { nodes = { "n2", "n5" }, ack = true, timeout = 4 }))
    local bytag = assert(s:query(0, "health", "", { tags = { role = "^db$" }, timeout = 4 }))
    s:run(6)
    local a, b = s:answers(byname), s:answers(bytag)
    table.sort(a.acks)
    assert.are.same({ "n2", "n5" }, a.acks)
    assert.are.same({ n2 = "ok n2", n5 = "ok n5" }, a.responses)
    -- role db: the odd indexes (tags above)
    assert.are.same({ n1 = "ok n1", n3 = "ok n3", n5 = "ok n5" }, b.responses)
    assert.are.same({}, b.acks)
    assert.is_true(a.done and b.done)
    -- the hooks ran where the filters passed, once per query
    local seen = { [0] = 0, 1, 1, 1, 0, 2 }
    for i = 0, 5 do assert.are.equal(seen[i], count(s:log(i), "query health  from n0"), "n" .. i .. "\n" .. s:log(i)) end
  end)

  it("gives a script's agent.query callback every ack and response, then done", function()
    local asker = listener .. [[
if me == "n0" then
  agent.after(12, function()
    agent.query("health", "", { ack = true, timeout = 3, tags = { role = "web|db" } }, function(a)
      agent.log.info("answer", a.type, tostring(a.from), tostring(a.payload), "at", string.format("%.1f", agent.now()))
    end)
  end)
end
]]
    local s = cluster(4, asker, function(i, n) if i >= 2 then n.env.ANSWER = "1" end end)
    s:run(10)
    local log = s:log(0)
    for i = 0, 3 do assert.are.equal(1, count(log, "answer ack n" .. i .. " nil"), log) end
    assert.are.equal(1, count(log, "answer response n2 ok n2"), log)
    assert.are.equal(1, count(log, "answer response n3 ok n3"), log)
    assert.are.equal(1, count(log, "answer done nil nil"), log)
    -- done comes last, once the timeout (3 s from 12 s) passed
    local done_at = tonumber(log:match("answer done nil nil at ([%d.]+)"))
    assert.is_true(done_at >= 15, log)
    local last
    for what in log:gmatch("answer (%a+) ") do last = what end
    assert.are.equal("done", last, log)
  end)

  it("carries agent.broadcast and agent.send to the message hook, not to the event or query hooks", function()
    local talker = listener .. [[
if me == "n1" then
  agent.after(12, function()
    agent.broadcast("hello all", "greeting")
    agent.broadcast("no key")
    agent.send("n3", "just for n3")
  end)
end
]]
    local s = cluster(5, talker)
    s:run(10)
    for i = 0, 4 do
      local log = s:log(i)
      local want = i == 1 and 0 or 1   -- never to the sender itself, as before
      assert.are.equal(want, count(log, "message hello all from nil"), "n" .. i .. "\n" .. log)
      assert.are.equal(want, count(log, "message no key from nil"), "n" .. i .. "\n" .. log)
      assert.are.equal(i == 3 and 1 or 0, count(log, "message just for n3 from n1"), "n" .. i .. "\n" .. log)
      assert.are.equal(0, count(log, "event moonlist:"), log)
      assert.are.equal(0, count(log, "query moonlist:"), log)
    end
  end)

  it("merges agent.state between nodes inside serf's push/pull", function()
    local stateful = [[
local agent = require "moonlist"
local me = os.getenv("ME")
local seen = {}
agent.state {
  local_state = function() return "state-of-" .. me end,
  merge_remote_state = function(bytes, is_join)
    if not seen[bytes] then seen[bytes] = true; agent.log.info("merged", bytes, "join", tostring(is_join)) end
  end,
}
]]
    local s = cluster(3, stateful)
    s:run(40)   -- a push/pull round (30 s on lan)
    for i = 0, 2 do
      local log = s:log(i)
      for j = 0, 2 do
        if j ~= i then assert.truthy(log:find("merged state-of-n" .. j .. " ", 1, true), "n" .. i .. "\n" .. log) end
      end
      -- only the script's own bytes reach it: serf's part of the state stays serf's
      assert.falsy(log:find("merged [^s]"), log)
    end
  end)
end)
