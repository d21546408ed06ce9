-- scripts/deploy_event.lua: a "deploy" event runs the deploy command once
-- per node, a "deploy-status" query reports how it went. On the simulator
-- (a dry run: no luv there) for the cluster; on the host (luv, the spec
-- playing the protocol thread) for the command itself.
local T = require "moonlist.testing"

local SCRIPT = T.lua_dir .. "/../scripts/deploy_event.lua"

local function sorted_responses(a)
  local out = {}
  for from, p in pairs(a.responses) do out[#out + 1] = from .. "=" .. p end
  table.sort(out)
  return out
end

describe("scripts/deploy_event.lua", function()
  it("deploys once on every node of the simulator and reports it to a status query", function()
    local nodes = {}
    for i = 1, 5 do nodes[i] = { name = "n" .. (i - 1), path = SCRIPT } end
    local s = assert(T.sim { seed = 9, nodes = nodes })
    for i = 1, 4 do s:join(i, 0) end
    s:run(10)
    local before = assert(s:query(4, "deploy-status", "", { timeout = 2 }))
    s:run(3)
    assert.are.same({ "n0=none none", "n1=none none", "n2=none none", "n3=none none", "n4=none none" },
                    sorted_responses(s:answers(before)))
    assert(s:event(2, "deploy", "v42"))
    assert(s:event(3, "deploy", "v42"))   -- the same version again: ignored
    s:run(5)
    local after = assert(s:query(0, "deploy-status", "", { timeout = 2 }))
    s:run(3)
    assert.are.same({ "n0=v42 dry-run", "n1=v42 dry-run", "n2=v42 dry-run", "n3=v42 dry-run", "n4=v42 dry-run" },
                    sorted_responses(s:answers(after)))
    for i = 0, 4 do
      local log = s:log(i)
      local _, runs = log:gsub("deploy v42 %(dry run", "")
      assert.are.equal(1, runs, log)
    end
  end)

  it("runs the command with the version, one at a time, the latest waiting version next", function()
    local out = T.dir() .. "/deployed"
    os.remove(out)
    local code = string.format([[
local real = os.getenv
os.getenv = function(k)
  if k == "MOONLIST_DEPLOY_CMD" then return "sleep 0.3; echo $DEPLOY_VERSION >> %s; echo did $DEPLOY_VERSION" end
  return real(k)
end
dofile(%q)
]], out, SCRIPT)
    local h = assert(T.host(code))
    h:start()
    h:post { type = "event", name = "deploy", payload = "v1" }
    h:post { type = "event", name = "deploy", payload = "v2" }   -- waits for v1
    h:post { type = "event", name = "deploy", payload = "v3" }   -- replaces v2 while it waits
    assert.is_true(h:wait_log("deploy v3 ok", 10), h:log())
    assert.are.equal("v1\nv3\n", T.read(out))
    assert.truthy(h:log():find("deploy v1: did v1", 1, true), h:log())
    h:post { type = "query", name = "deploy-status", payload = "", from = "x", id = 5 }
    local cmds = h:commands(1, 5)
    assert.are.same({ type = "respond", query_id = 5, payload = "v3 ok" }, cmds[1])
    h:stop()
  end)
end)
