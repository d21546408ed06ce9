-- scripts/health_tag.lua: a `health` tag flipped by a luv check, with
-- hysteresis. On the simulator the hysteresis alone (results reported on
-- virtual time through the module the script returns); on real agents a
-- TCP check and a command check, seen from another agent.
local T = require "moonlist.testing"
local uv = require "luv"

local SCRIPT = T.lua_dir .. "/../scripts/health_tag.lua"

describe("scripts/health_tag.lua on the simulator", function()
  it("flips the tag after three results in a row, keeps the other tags, and other nodes see it", function()
    -- one result a second from 1 s: RESULTS[i] at i seconds
    local reporter = [[
local agent = require "moonlist"
local health = dofile(os.getenv("HEALTH_SCRIPT"))
local results, i = os.getenv("RESULTS"), 0
agent.every(1, function()
  i = i + 1
  local r = results:sub(i, i)
  if r ~= "" then health.report(r == "1", "result " .. i) end
end)
]]
    local s = assert(T.sim { seed = 4, nodes = {
      { name = "web", code = reporter, tags = { role = "web", dc = "eu" },
        --            passing at 3     critical at 11    passing at 17
        --            vvv              vvvvvvvv          vvvvvv
        env = { HEALTH_SCRIPT = SCRIPT, RESULTS = "11101001000110111" } },
      { name = "watcher", path = "scripts/agent.lua" },
    } })
    s:join(1, 0)
    local function seen(at)
      s:run(at - s:now())
      return s:member(1, "web").tags.health
    end
    assert.are.equal("critical", seen(2.9))
    assert.are.equal("passing", seen(4))
    -- single and double failures (4, 6-7, 9-10) do not flip it
    assert.are.equal("passing", seen(10.9))
    assert.are.equal("critical", seen(12))
    assert.are.equal("critical", seen(16.9)) -- 12-13 passed, 14 failed: the streak starts again
    assert.are.equal("passing", seen(18))
    assert.are.same({ role = "web", dc = "eu", health = "passing" }, s:member(1, "web").tags)
    local log = s:log(0)
    local flips = {}
    for at, line in log:gmatch("([%d.]+) %[INFO%] [^\n]*: (health %a+ %-> %a+)") do flips[#flips + 1] = at .. " " .. line end
    assert.are.same({ "3.000 health critical -> passing", "11.000 health passing -> critical",
                      "17.000 health critical -> passing" }, flips, log)
    assert.truthy(log:find("no luv (simulator): no check runs", 1, true), log)
  end)
end)

describe("scripts/health_tag.lua on real agents", function()
  after_each(function() T.stop_all() end)

  it("turns critical when the checked port goes away and passing when it is back, seen by another agent", function()
    -- the target: a listener in this process, which accepts (and closes)
    -- whenever the loop runs: at every poll of wait_until below
    local port = T.free_port()
    local listener
    local function listen()
      listener = uv.new_tcp()
      assert(listener:bind("127.0.0.1", port))
      assert(listener:listen(64, function()
        local c = uv.new_tcp()
        listener:accept(c)
        c:close()
      end))
    end
    listen()
    local function wait(secs, fn)
      return T.wait_until(secs, function()
        uv.run("nowait")
        return fn()
      end)
    end
    local a = T.agent { name = "web", config = "scripts/health_tag.lua", flags = { "-tag", "role=web" },
                        env = { MOONLIST_HEALTH_ADDR = "127.0.0.1:" .. port, MOONLIST_HEALTH_INTERVAL = "0.3" } }
    local b = T.agent { name = "watcher", join = a }
    local function health()
      local m = b:member("web")
      return m and m.tags.health
    end
    assert.truthy(wait(15, function() return health() == "passing" end), a:log())
    assert.are.equal("web", b:member("web").tags.role)
    listener:close()
    assert.truthy(wait(15, function() return health() == "critical" end), a:log())
    assert.truthy(a:log():find("health passing -> critical after 3 checks in a row; last: ECONNREFUSED", 1, true), a:log())
    listen()
    assert.truthy(wait(15, function() return health() == "passing" end), a:log())
    assert.are.equal("web", b:member("web").tags.role)
    listener:close()
    uv.run("nowait")
  end)

  it("runs a command check, and a reload keeps the tag", function()
    local flag = T.write(T.dir() .. "/healthy", "")
    local a = T.agent { name = "db", config = "scripts/health_tag.lua", flags = { "-tag", "role=db" },
                        env = { MOONLIST_HEALTH_CMD = "test -f " .. T.sh_quote(flag), MOONLIST_HEALTH_INTERVAL = "0.3" } }
    local b = T.agent { name = "watcher", join = a }
    local function health()
      local m = b:member("db")
      return m and m.tags.health
    end
    assert.truthy(T.wait_until(15, function() return health() == "passing" end), a:log())
    a:signal("HUP")
    assert.truthy(T.wait_until(10, function() return a:log():find("reloaded", 1, true) end), a:log())
    os.remove(flag)
    assert.truthy(T.wait_until(15, function() return health() == "critical" end), a:log())
    assert.truthy(a:log():find("health passing -> critical after 3 checks in a row; last: exit 1", 1, true), a:log())
    -- one flip to passing, one back: the reload did not start it over from critical
    local _, ups = a:log():gsub("critical %-> passing", "")
    assert.are.equal(1, ups, a:log())
    assert.are.same({ role = "db", health = "critical" }, b:member("db").tags)
  end)
end)
