-- scripts/upstreams.lua: an nginx upstream (or haproxy backend) file from
-- the members with a tag, rewritten after the cluster changes, debounced,
-- with a reload command. On the simulator (membership, partitions, kills
-- on virtual time) and on real agents (the reload command).
local T = require "moonlist.testing"

local HEAD = "# written by moonlist scripts/upstreams.lua: members with role=web; do not edit\n"

local function nginx(lines)
  if #lines == 0 then lines = { "server 127.0.0.1:1 down; # placeholder: no member" } end
  return HEAD .. "upstream web {\n    " .. table.concat(lines, "\n    ") .. "\n}\n"
end

local function count(text, plain)
  local n, from = 0, 1
  while true do
    local at = text:find(plain, from, true)
    if not at then return n end
    n, from = n + 1, at + #plain
  end
end

describe("scripts/upstreams.lua on the simulator", function()
  local dir = T.dir()
  local seq = 0
  -- every node runs the script, each with its own file
  local function sim(nodes, seed)
    seq = seq + 1
    local files = {}
    for i, n in ipairs(nodes) do
      files[i - 1] = string.format("%s/sim%d-n%d.conf", dir, seq, i - 1)
      n.env = n.env or {}
      n.env.MOONLIST_UPSTREAM_FILE = files[i - 1]
      n.env.MOONLIST_UPSTREAM_RELOAD = n.env.MOONLIST_UPSTREAM_RELOAD or "nginx -s reload"
      n.path = n.code == nil and "scripts/upstreams.lua" or nil
    end
    local s = assert(T.sim { seed = seed or 1, nodes = nodes })
    return s, function(i) return T.read(files[i]) end
  end
  -- run in small steps until pred() holds; false after `secs` virtual seconds
  local function run_until(s, secs, pred)
    local stop = s:now() + secs
    while s:now() < stop do
      if pred() then return true end
      s:run(0.1)
    end
    return pred()
  end

  it("lists the alive members with the tag, sorted, and rewrites once per burst of joins", function()
    local s, file = sim {
      { name = "lb", tags = { role = "lb" } },
      { name = "web2", tags = { role = "web", port = "8082" } },
      { name = "web1", tags = { role = "web", port = "8081" } },
      { name = "web3", tags = { role = "web" } }, -- no port tag: 80
      { name = "db", tags = { role = "db", port = "5432" } },
    }
    s:join(4, 0)
    s:run(5)
    assert.are.equal(nginx {}, file(0))
    -- three web nodes join, 0.2 s apart: within the debounce of each other
    for i = 1, 3 do
      s:join(i, 0)
      s:run(0.2)
    end
    s:run(5)
    local want = nginx { "server 10.0.0.3:8081; # web1", "server 10.0.0.2:8082; # web2", "server 10.0.0.4:80; # web3" }
    for i = 0, 4 do assert.are.equal(want, file(i), "node " .. i) end
    -- lb wrote twice (alone, then after the burst) and "reloaded" after each
    local log = s:log(0)
    assert.are.equal(2, count(log, "wrote " .. dir), log)
    assert.are.equal(2, count(log, "reload skipped (no luv on the simulator): nginx -s reload"), log)
    -- nothing changes: nothing is written
    s:run(30)
    assert.are.equal(2, count(s:log(0), "wrote " .. dir), s:log(0))
  end)

  it("keeps a killed member while it is suspect and drops it once dead", function()
    local s, file = sim({
      { name = "lb", tags = { role = "lb" } },
      { name = "web1", tags = { role = "web" } },
      { name = "web2", tags = { role = "web" } },
      { name = "web3", tags = { role = "web" } },
      { name = "web4", tags = { role = "web" } },
    }, 7)
    for i = 1, 3 do s:join(i, 0) end
    s:run(5)
    local web = { "server 10.0.0.2:80; # web1", "server 10.0.0.3:80; # web2", "server 10.0.0.4:80; # web3",
                  "server 10.0.0.5:80; # web4" }
    assert.are.equal(nginx { web[1], web[2], web[3] }, file(0))
    s:kill(2)
    assert.truthy(run_until(s, 30, function() return (s:member(0, "web2") or {}).status == "suspect" end), s:log(0))
    -- web4 joins while web2 is suspect: the rewrite keeps web2
    s:join(4, 0)
    assert.truthy(run_until(s, 2, function() return file(0) == nginx(web) end), s:log(0))
    assert.are.equal("suspect", s:member(0, "web2").status)
    assert.truthy(run_until(s, 30, function() return s:member(0, "web2").status == "dead" end), s:log(0))
    s:run(0.6)
    local without = nginx { web[1], web[3], web[4] }
    for _, i in ipairs { 0, 1, 3, 4 } do assert.are.equal(without, file(i), "node " .. i) end
  end)

  it("follows a partition: the cut-off side drops the others once dead, and takes them back after a rejoin", function()
    local s, file = sim({
      { name = "lb", tags = { role = "lb" } },
      { name = "web1", tags = { role = "web" } },
      { name = "web2", tags = { role = "web" } },
    }, 11)
    s:join(1, 0); s:join(2, 0)
    s:run(5)
    local both = nginx { "server 10.0.0.2:80; # web1", "server 10.0.0.3:80; # web2" }
    assert.are.equal(both, file(0))
    s:partition({ 0 }, { 1, 2 })
    assert.truthy(run_until(s, 60, function()
      return s:member(0, "web1").status == "dead" and s:member(0, "web2").status == "dead"
    end), s:log(0))
    s:run(0.6)
    assert.are.equal(nginx {}, file(0))
    assert.are.equal(both, file(1)) -- the web side still sees both web nodes
    s:heal()
    s:join(0, 1)
    assert.truthy(run_until(s, 30, function() return file(0) == both end), s:log(0))
  end)

  it("follows tag changes and graceful leaves", function()
    local retire = [[
local agent = require "moonlist"
agent.after(10, function() agent.set_tags { role = "retired" } end)
agent.after(20, function() agent.set_tags { role = "web", port = "9000" } end)
]]
    local s, file = sim({
      { name = "lb", tags = { role = "lb" } },
      { name = "web1", tags = { role = "web" }, code = retire },
      { name = "web2", tags = { role = "web" }, code = "require('moonlist').after(25, require('moonlist').leave)" },
    }, 5)
    s:join(1, 0); s:join(2, 0)
    s:run(5)
    assert.are.equal(nginx { "server 10.0.0.2:80; # web1", "server 10.0.0.3:80; # web2" }, file(0))
    s:run(6) -- 11 s: web1 is retired
    assert.are.equal(nginx { "server 10.0.0.3:80; # web2" }, file(0))
    s:run(10) -- 21 s: web1 is back on another port
    assert.are.equal(nginx { "server 10.0.0.2:9000; # web1", "server 10.0.0.3:80; # web2" }, file(0))
    s:run(5) -- 26 s: web2 has left
    assert.are.equal("left", s:member(0, "web2").status)
    assert.are.equal(nginx { "server 10.0.0.2:9000; # web1" }, file(0))
  end)

  it("writes an haproxy backend, with its own name and tag, and skips a bad port tag", function()
    local env = { MOONLIST_UPSTREAM_FORMAT = "haproxy", MOONLIST_UPSTREAM_TAG = "tier=api",
                  MOONLIST_UPSTREAM_NAME = "api_v2", MOONLIST_UPSTREAM_PORT_TAG = "api_port",
                  MOONLIST_UPSTREAM_PORT = "8080" }
    local s, file = sim {
      { name = "lb", env = env },
      { name = "a1", tags = { tier = "api", api_port = "7001" } },
      { name = "a2", tags = { tier = "api" } },
      { name = "a3", tags = { tier = "api", api_port = "http" } },
    }
    for i = 1, 3 do s:join(i, 0) end
    s:run(5)
    assert.are.equal("# written by moonlist scripts/upstreams.lua: members with tier=api; do not edit\n" ..
                     "backend api_v2\n" ..
                     "    server a1 10.0.0.2:7001 check\n" ..
                     "    server a2 10.0.0.3:8080 check\n", file(0))
    assert.truthy(s:log(0):find("member a3 has a bad api_port tag: http", 1, true), s:log(0))
  end)
end)

describe("scripts/upstreams.lua on real agents", function()
  after_each(function() T.stop_all() end)

  it("rewrites the file and runs the reload command once per burst, after the rename", function()
    local dir = T.dir() .. "/real-upstreams"
    os.execute("mkdir -p " .. T.sh_quote(dir))
    local file = dir .. "/web.conf"
    -- the reload command counts its runs and keeps the file it saw
    local reload = string.format("cd %s && n=$(($(cat runs 2>/dev/null || echo 0) + 1)) && cp %s seen-$n && " ..
                                 "echo $n > runs.tmp && mv runs.tmp runs", T.sh_quote(dir), T.sh_quote(file))
    local lb = T.agent { name = "lb", config = "scripts/upstreams.lua", flags = { "-tag", "role=lb" },
                         env = { MOONLIST_UPSTREAM_FILE = file, MOONLIST_UPSTREAM_RELOAD = reload,
                                 -- a burst of agents starting on a busy machine spreads over a second or so
                                 MOONLIST_UPSTREAM_DEBOUNCE = "1.5" } }
    local function runs() return tonumber(T.read(dir .. "/runs") or "0") end
    assert.truthy(T.wait_until(15, function() return runs() == 1 end), lb:log())
    assert.are.equal(nginx {}, T.read(file))
    assert.are.equal(nginx {}, T.read(dir .. "/seen-1"))

    local web = {}
    for i = 1, 3 do
      web[i] = T.agent { name = "web" .. i, join = lb, flags = { "-tag", "role=web", "-tag", "port=" .. (8080 + i) },
                         wait = false }
    end
    local function line(i) return "server 127.0.0.1:" .. (8080 + i) .. "; # web" .. i end
    local three = nginx { line(1), line(2), line(3) }
    assert.truthy(T.wait_until(20, function() return T.read(file) == three end), lb:log())
    assert.truthy(T.wait_until(10, function() return runs() == 2 end), lb:log())
    assert.are.equal(three, T.read(dir .. "/seen-2"))
    -- one write for the whole burst: the file never held one or two of them
    assert.are.equal(2, count(lb:log(), "wrote " .. file), lb:log())
    assert.falsy(T.read(file .. ".tmp"))

    -- a killed member stays while suspect, goes once dead
    web[2]:kill()
    assert.truthy(T.wait_until(30, function() return lb:status_of("web2") == "dead" end), lb:log())
    assert.truthy(T.wait_until(10, function() return runs() == 3 end), lb:log())
    assert.are.equal(nginx { line(1), line(3) }, T.read(file))
    assert.are.equal(nginx { line(1), line(3) }, T.read(dir .. "/seen-3"))
    -- a graceful leave
    web[3]:stop()
    assert.truthy(T.wait_until(10, function() return runs() == 4 end), lb:log())
    assert.are.equal(nginx { line(1) }, T.read(dir .. "/seen-4"))
    -- the command's run is counted by its own file before the agent logs
    -- its exit: wait for the line
    assert.truthy(T.wait_until(5, function() return count(lb:log(), "reload command done") == 4 end), lb:log())
    assert.are.equal(4, count(lb:log(), "reload command done"), lb:log())

    -- a reload of the script with nothing changed rewrites and reloads nothing
    lb:signal("HUP")
    assert.truthy(T.wait_until(10, function() return lb:log():find("unchanged: " .. file, 1, true) end), lb:log())
    assert.are.equal(4, runs())
    assert.are.equal(4, count(lb:log(), "wrote " .. file), lb:log())
    web[4] = T.agent { name = "web4", join = lb, flags = { "-tag", "role=web", "-tag", "port=8084" } }
    assert.truthy(T.wait_until(10, function() return runs() == 5 end), lb:log())
    assert.are.equal(nginx { line(1), line(4) }, T.read(file))
  end)
end)
