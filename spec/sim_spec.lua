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

-- the error of a one-node simulation whose script does not load
local function load_error(code)
  local s, err = T.sim { nodes = { { code = code } } }
  assert.is_nil(s)
  return err
end

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
      assert.are.equal(5, #s:members(i))
      for j = 0, 4 do assert.are.equal("alive", s:member(i, "n" .. j).status) end
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
    local err = load_error("local agent = require 'moonlist'\nagent.config { nope = 1 }\n")
    assert.truthy(err:find("node 0: sim.lua:2: agent.config: unknown key 'nope'", 1, true), err)
  end)

  it("gives each node its own environment and tags, and shows members as agent.members() does", function()
    local code = [[
local agent = require "moonlist"
agent.config { tags = { role = os.getenv("ROLE") or "none" } }
agent.log.info("ROLE", os.getenv("ROLE"), "PATH", os.getenv("PATH"))
]]
    local s = assert(T.sim { seed = 5, nodes = {
      { code = code, env = { ROLE = "web" } },
      { code = code, env = { ROLE = "db", PATH = "/node/bin" } },
      { code = code, tags = { role = "cache", dc = "eu" } },
    } })
    s:join(1, 0)
    s:join(2, 0)
    s:run(5)
    assert.truthy(s:log(0):find("ROLE web PATH " .. os.getenv("PATH"), 1, true), s:log(0))
    assert.truthy(s:log(1):find("ROLE db PATH /node/bin", 1, true), s:log(1))
    assert.truthy(s:log(2):find("ROLE nil", 1, true), s:log(2))
    local roles = {}
    for _, m in ipairs(s:members(2)) do roles[m.name] = m.tags.role end
    assert.are.same({ n0 = "web", n1 = "db", n2 = "cache" }, roles)
    local n1 = s:member(0, "n1")
    assert.are.equal("10.0.0.2", n1.addr)
    assert.are.equal(7946, n1.port)
    assert.are.equal("alive", n1.status)
    assert.is_number(n1.incarnation)
    assert.are.equal("\255\129\164role\162db", n1.meta)
    assert.are.same({ min = 1, max = 5, cur = 2 }, n1.protocol)
    assert.are.same({ dc = "eu", role = "cache" }, s:member(1, "n2").tags)
    assert.is_nil(s:member(0, "nobody"))
  end)

  it("partitions the network and heals it", function()
    local s = assert(T.sim { seed = 21, nodes = nodes(4, { code = detector }) })
    for i = 1, 3 do s:join(i, 0) end
    s:run(5)
    local function seen(i, name) return (s:member(i, name) or { status = "gone" }).status end
    local function all_alive()
      for i = 0, 3 do
        for j = 0, 3 do assert.are.equal("alive", seen(i, "n" .. j), "n" .. i .. " sees n" .. j) end
      end
    end
    -- healed while the other side is only suspect: the suspicions are refuted
    s:partition({ 0, 1 }, { 2, 3 })
    s:run(6)
    assert.are.equal("alive", seen(0, "n1"))
    assert.are.equal("alive", seen(2, "n3"))
    assert.are.equal("suspect", seen(0, "n2"))
    assert.are.equal("suspect", seen(3, "n1"))
    s:heal()
    s:run(10)
    all_alive()
    -- long enough for dead, then forgotten: as in memberlist, only a new
    -- join brings the halves together again
    s:partition({ 0, 1 }, { 2, 3 })
    s:run(50)
    assert.are.equal("gone", seen(0, "n2"))
    s:heal()
    s:run(10)
    assert.are.equal("gone", seen(0, "n2"))
    s:join(2, 0)
    s:run(10)
    all_alive()
  end)

  it("loses packets on every link or on chosen ones", function()
    -- without TCP pings, a node no UDP packet reaches is suspected
    local code = "local agent = require 'moonlist'\nagent.config { disable_tcp_pings = true }\n"
    local s = assert(T.sim { seed = 4, nodes = nodes(3, { code = code }) })
    s:join(1, 0)
    s:join(2, 0)
    s:run(5)
    -- n0 <-> n2 cut: the indirect probes through n1 still reach n2
    s:loss(1, 0, 2)
    s:loss(1, 2, 0)
    s:run(20)
    assert.are.equal("alive", s:member(0, "n2").status)
    s:loss(1)
    s:run(20)
    assert.are_not.equal("alive", s:member(0, "n1").status)
    assert.are_not.equal("alive", s:member(1, "n0").status)
  end)

  it("refuses luv, which would run on real time", function()
    local err = load_error("local agent = require 'moonlist'\nlocal uv = require 'luv'\n")
    assert.truthy(err:find("node 0: sim.lua:2: luv is not available on the simulator (virtual time)", 1, true), err)
  end)

  it("refuses a node field it does not know", function()
    local ok, err = pcall(T.sim, { nodes = { { code = "", evn = { X = "1" } } } })
    assert.is_false(ok)
    assert.truthy(err:find("core.sim: node 0: unknown field 'evn' (name, code, path, env, tags)", 1, true), err)
  end)
end)
