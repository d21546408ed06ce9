-- The same scripts on simulated nodes: virtual time, a virtual network,
-- no threads (moonlist.core.sim drives the Lua hosts between simulator
-- steps).
local T = require "moonlist.testing"

local detector = [[
local agent = require "moonlist"
agent.on("join", function(m) agent.log.info("join", m.name) end)
agent.on("leave", function(m) agent.log.info("leave", m.name, m.status, string.format("at %.3f", agent.now())) end)
agent.every(1, function() end)
]]

local function nodes(n, spec)
  local list = {}
  for i = 1, n do
    list[i] = { name = "n" .. (i - 1) }
    for k, v in pairs(spec) do list[i][k] = v end
  end
  return list
end

describe("scripts on the simulator", function()
  it("runs scripts/agent.lua unchanged on five nodes", function()
    local s = assert(T.sim { seed = 7, nodes = nodes(5, { path = "scripts/agent.lua" }) })
    for i = 1, 4 do s:join(i, 0) end
    s:run(10)
    for i = 0, 4 do
      local m = s:members(i)
      for j = 0, 4 do assert.are.equal("alive", m["n" .. j]) end
      local log = s:log(i)
      for j = 0, 4 do
        assert.truthy(log:find("member joined: n" .. j .. " ", 1, true), log)
      end
    end
  end)

  it("sees a killed node fail within Lifeguard's bound, on virtual time", function()
    local s = assert(T.sim { seed = 11, nodes = nodes(5, { code = detector }) })
    for i = 1, 4 do s:join(i, 0) end
    s:run(10)
    s:kill(4)
    local killed = s:now()
    s:run(40)
    for i = 0, 3 do
      local log = s:log(i)
      local at = log:match("leave n4 dead at ([%d.]+)")
      assert.truthy(at, log)
      -- lan, 5 nodes: a failed probe within 2(N-1)+1 probe intervals, then
      -- a suspicion timeout of at most 6 x 4 x log10(5) s
      assert.is_true(tonumber(at) - killed <= 9 + 6 * 4 * math.log10(5) + 1, "n" .. i .. " at " .. at)
      -- (after GossipToTheDeadTime, 30 s on lan, the dead node is dropped from the table)
    end
  end)

  it("is deterministic: the same seed gives the same hooks at the same virtual times", function()
    local function run()
      local s = assert(T.sim { seed = 99, nodes = nodes(4, { code = detector }) })
      for i = 1, 3 do s:join(i, 0) end
      s:run(5)
      s:kill(3)
      s:run(30)
      return s:log(0) .. s:log(1) .. s:log(2)
    end
    assert.are.equal(run(), run())
  end)

  it("applies agent.config knobs and tags to the simulated node", function()
    local code = [[
local agent = require "moonlist"
agent.config { tags = { role = "sim" }, probe_interval = 0.8 }
agent.after(1, function()
  for _, m in ipairs(agent.members()) do agent.log.info("member", m.name, m.tags.role) end
end)
]]
    local s = assert(T.sim { seed = 3, nodes = nodes(2, { code = code }) })
    s:join(1, 0)
    s:run(2)
    assert.truthy(s:log(0):find("member n1 sim", 1, true), s:log(0))
  end)

  it("reports a script error with the node", function()
    local s, err = T.sim { nodes = { { code = "local agent = require 'moonlist'\nagent.config { nope = 1 }\n" } } }
    assert.is_nil(s)
    assert.truthy(err:find("node 0: sim.lua:2: agent.config: unknown key 'nope'", 1, true), err)
  end)
end)
