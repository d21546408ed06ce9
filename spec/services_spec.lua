-- scripts/services.lua on three real agents: the catalog of healthy
-- services reaches every node's files; a failing check or a dead node
-- removes the service everywhere.
local T = require "moonlist.testing"
local json = require "moonlist.json"
local uv = require "luv"

local function targets(dir)
  local v = json.decode(T.read(dir .. "/services.json") or "")
  if not v then return nil end
  local out = {}
  for _, g in ipairs(v) do out[g.labels.service] = table.concat(g.targets, ",") end
  return out
end

describe("scripts/services.lua", function()
  after_each(function() T.stop_all() end)

  it("keeps every node's file_sd and hosts files in step with health and membership", function()
    local listener = uv.new_tcp()
    assert(listener:bind("127.0.0.1", 0))
    local web_port = listener:getsockname().port
    assert(listener:listen(16, function() end)) -- connects succeed from the backlog
    local dbflag = T.write(T.dir() .. "/db-up", "")
    local nodes = {
      a = { { name = "web", port = web_port, addr = "127.0.0.1", check = { tcp = "127.0.0.1:" .. web_port }, interval = 0.5 } },
      b = { { name = "db", port = 5432, check = { command = "test -f " .. dbflag }, interval = 0.5 } },
      c = { { name = "cache", port = 6379, tags = { tier = "mem" } } },
    }
    local agents, dirs = {}, {}
    for _, n in ipairs { "a", "b", "c" } do
      dirs[n] = T.dir() .. "/sd-" .. n
      os.execute("mkdir -p " .. T.sh_quote(dirs[n]))
      agents[n] = T.agent { name = n, config = "scripts/services.lua", join = agents.a,
                            env = { MOONLIST_SERVICES = json.encode(nodes[n]), MOONLIST_SD_DIR = dirs[n] } }
    end
    local function everywhere(pred)
      return T.wait_until(30, function()
        for _, n in ipairs { "a", "b", "c" } do
          local t = targets(dirs[n])
          if not t or not pred(t, n) then return false end
        end
        return true
      end)
    end
    local web = "127.0.0.1:" .. web_port
    assert.truthy(everywhere(function(t)
      return t.web == web and t.db == "127.0.0.1:5432" and t.cache == "127.0.0.1:6379"
    end), agents.a:log())
    local hosts = T.read(dirs.b .. "/hosts")
    assert.truthy(hosts:find("127.0.0.1\tweb.service.moonlist a.web.service.moonlist", 1, true), hosts)

    -- the web check fails: gone everywhere
    listener:close()
    uv.run("nowait")
    assert.truthy(everywhere(function(t) return t.web == nil and t.db ~= nil end), agents.c:log())
    -- the db check fails
    os.remove(dbflag)
    assert.truthy(everywhere(function(t) return t.db == nil and t.cache ~= nil end), agents.a:log())
    -- and comes back
    T.write(dbflag, "")
    assert.truthy(everywhere(function(t) return t.db ~= nil end))
    -- c dies: its service leaves the survivors' files
    agents.c:kill()
    assert.truthy(T.wait_until(40, function()
      local ta, tb = targets(dirs.a), targets(dirs.b)
      return ta and tb and ta.cache == nil and tb.cache == nil
    end), agents.a:log())
    assert.are.equal("dead", agents.a:status_of("c"))
  end)

  it("fails a command check that hangs, and leaves no zombie behind", function()
    local dir = T.dir() .. "/sd-hang"
    os.execute("mkdir -p " .. T.sh_quote(dir))
    local a = T.agent { name = "a", config = "scripts/services.lua", env = {
      MOONLIST_SERVICES = json.encode { { name = "slow", port = 1, check = { command = "sleep 30" }, interval = 1 } },
      MOONLIST_SD_DIR = dir } }
    assert.truthy(T.wait_until(15, function() return (a:log():find("unhealthy %(timeout%)")) ~= nil end), a:log())
    -- the killed checks were reaped: no child of the agent is a zombie
    local function zombies()
      local n = 0
      local p = io.popen("ps -o stat= --ppid " .. a.pid)
      for st in p:lines() do if st:find("^Z") then n = n + 1 end end
      p:close()
      return n
    end
    assert.truthy(T.wait_until(5, function() return zombies() == 0 end), "zombies: " .. zombies())
  end)
end)
