-- scripts/kv.lua: a replicated map with Lamport versions. On the simulator
-- (writes through the module the script returns, at chosen virtual times):
-- convergence under loss, concurrent writes across a partition. On real
-- agents: the TCP API, and a SIGHUP that keeps the map and the clock.
local T = require "moonlist.testing"
local mp = require "moonlist.msgpack"
local uv = require "luv"

local SCRIPT = T.lua_dir .. "/../scripts/kv.lua"

-- a node that runs kv.lua and writes WRITES = "at:key=value;..." (virtual seconds)
local writer = [[
local agent = require "moonlist"
local kv = dofile(os.getenv("KV_SCRIPT"))
for at, k, v in (os.getenv("WRITES") or ""):gmatch("([%d.]+):([^=;]+)=([^;]*)") do
  agent.after(tonumber(at), function() agent.log.info("set", k, v, "at time", assert(kv.set(k, v))) end)
end
]]

local function node(name, writes)
  return { name = name, code = writer, env = { KV_SCRIPT = SCRIPT, WRITES = writes } }
end

-- node i's map from its push/pull state: key -> "value@time@node"
local function map(s, i)
  local st = s:state(i)
  assert.are.equal("mlkv1", st:sub(1, 5))
  local out = {}
  for k, e in pairs(mp.decode(st:sub(6))) do out[k] = (e.d and "<deleted>" or e.v) .. "@" .. e.t .. "@" .. e.n end
  return out
end

local function all_same(s, n, want)
  for i = 0, n - 1 do assert.are.same(want, map(s, i), "node " .. i) end
end

describe("scripts/kv.lua on the simulator", function()
  it("converges on every node under packet loss, and a late joiner gets the map by push/pull", function()
    local s = assert(T.sim { seed = 3, nodes = {
      node("n0", "5:a=1;15:a=2"),
      node("n1", "10:b=x;20:c=y"),
      node("n2", "25:b=z"),
      node("n3", "30:a=3"),
      node("late", ""),
    } })
    for i = 1, 3 do s:join(i, 0) end
    s:loss(0.3)
    s:run(60)
    -- five seconds apart, each write has seen the ones before it, even
    -- with a third of the packets lost: times 1 to 6
    local want = { a = "3@6@n3", b = "z@5@n2", c = "y@4@n1" }
    all_same(s, 4, want)
    s:loss(0)
    s:join(4, 2)
    s:run(2)
    assert.are.same(want, map(s, 4))
  end)

  it("resolves writes made on both sides of a partition by Lamport time, then by node name", function()
    local s = assert(T.sim { seed = 9, nodes = {
      node("n0", "1:color=red;9:size=small"),
      node("n1", "6:color=blue;7:color=navy"),
      node("n2", "9:size=large;9.5:size=huge"),
      node("n3", "8:color=green;30:color=final"),
    } })
    for i = 1, 3 do s:join(i, 0) end
    s:run(5)
    all_same(s, 4, { color = "red@1@n0" })
    s:partition({ 0, 1 }, { 2, 3 })
    s:run(10)
    -- each side sees its own writes only
    assert.are.same({ color = "navy@3@n1", size = "small@4@n0" }, map(s, 0))
    assert.are.same({ color = "green@2@n3", size = "huge@4@n2" }, map(s, 3))
    s:heal()
    s:join(2, 0) -- the halves may have declared each other dead: join again
    s:run(10)
    -- color: navy (time 3) beats green (2), although green was written
    -- later; size: small and huge both have time 4, n2 > n0 breaks the tie
    all_same(s, 4, { color = "navy@3@n1", size = "huge@4@n2" })
    -- n3's next write has seen everything: it wins
    s:run(10)
    all_same(s, 4, { color = "final@5@n3", size = "huge@4@n2" })
  end)

  it("breaks a tie of times by node name", function()
    local s = assert(T.sim { seed = 2, nodes = { node("alpha", "3:k=from-alpha"), node("beta", "3:k=from-beta") } })
    s:join(1, 0)
    s:run(10)
    all_same(s, 2, { k = "from-beta@1@beta" })
  end)
end)

-- one API exchange: send `text`, read until the server has answered every
-- line and the client's half-close is honoured (nil after 5 s)
local function api(port, text)
  local c, out, done = uv.new_tcp(), {}, false
  local guard = uv.new_timer()
  guard:start(5000, 0, function() done = true end)
  c:connect("127.0.0.1", port, function(err)
    if err then done = true; return end
    c:write(text)
    c:shutdown()
    c:read_start(function(rerr, data)
      if data then out[#out + 1] = data else done = true end
      if rerr then done = true end
    end)
  end)
  while not done do uv.run("once") end
  guard:close()
  c:close()
  uv.run("nowait")
  return table.concat(out)
end

describe("scripts/kv.lua on real agents", function()
  after_each(function() T.stop_all() end)

  local function kv_agent(name, join)
    local port = T.free_port()
    local a = T.agent { name = name, config = "scripts/kv.lua", join = join, env = { MOONLIST_KV_PORT = tostring(port) } }
    a.kv = port
    assert.truthy(T.wait_until(10, function() return a:log():find("kv API on 127.0.0.1:" .. port, 1, true) end), a:log())
    return a
  end

  it("serves the map on its TCP port and replicates writes to the other agents", function()
    local a = kv_agent("a")
    local b = kv_agent("b", a)
    assert.are.equal("OK 1\nOK 2\nVALUE blue\nNONE\n", api(a.kv, "SET color blue\nSET motd hello world\nGET color\nGET nothing\n"))
    assert.truthy(T.wait_until(10, function() return api(b.kv, "GET motd\n") == "VALUE hello world\n" end), b:log())
    assert.are.equal("OK 3\n", api(b.kv, "DEL color\n"))
    assert.truthy(T.wait_until(10, function() return api(a.kv, "GET color\n") == "NONE\n" end), a:log())
    assert.are.equal("motd 2 a hello world\nEND\nCLOCK 3\n", api(a.kv, "DUMP\nCLOCK\n"))
    local bad = api(a.kv, "SET two words\nPUT x\nGET\nSET k\n")
    assert.are.equal("OK 4\nERR usage: GET k | SET k v | DEL k | DUMP | CLOCK\n" ..
                     "ERR usage: GET k | SET k v | DEL k | DUMP | CLOCK\nOK 5\n", bad)
    assert.are.equal("VALUE words\nVALUE \n", api(a.kv, "GET two\nGET k\n"))
    assert.truthy(api(a.kv, "SET big " .. string.rep("x", 2000) .. "\n"):find("^ERR too large: %d+ bytes encoded"))
  end)

  it("keeps the map and the clock across a SIGHUP: a write after the reload wins over older data", function()
    local a = kv_agent("a")
    local b = kv_agent("b", a)
    -- b's clock runs ahead: its value of k has time 5
    assert.are.equal("OK 1\nOK 2\nOK 3\nOK 4\nOK 5\n", api(b.kv, "SET k 1\nSET k 2\nSET k 3\nSET k 4\nSET k old\n"))
    assert.truthy(T.wait_until(10, function() return api(a.kv, "GET k\n") == "VALUE old\n" end), a:log())
    assert.are.equal("CLOCK 5\n", api(a.kv, "CLOCK\n"))
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function() return a:log():find("clock 5 (handed over)", 1, true) end), a:log())
    assert.falsy(a:log():find("EADDRINUSE", 1, true), a:log())
    -- the map and the clock survived, on the same port
    assert.are.equal("VALUE old\nCLOCK 5\n", api(a.kv, "GET k\nCLOCK\n"))
    -- a's write has time 6: it beats b's (5), although "a" < "b" would lose a tie
    assert.are.equal("OK 6\n", api(a.kv, "SET k new\n"))
    assert.truthy(T.wait_until(10, function() return api(b.kv, "GET k\n") == "VALUE new\n" end), b:log())
    assert.are.equal("k 6 a new\nEND\n", api(b.kv, "DUMP\n"))
  end)
end)
