-- scripts/handler.lua: a command per membership change with serf's
-- environment and standard input.
local T = require "moonlist.testing"

local function runs(dir)
  local p = io.popen("ls " .. T.sh_quote(dir) .. " 2>/dev/null | sort")
  local out = {}
  for f in p:lines() do out[#out + 1] = T.read(dir .. "/" .. f) end
  p:close()
  return out
end

local function find(dir, event, member)
  for _, r in ipairs(runs(dir)) do
    if r:find("SERF_EVENT=" .. event .. "\n", 1, true) and r:find("\n" .. member .. "\t", 1, true) then return r end
  end
end

describe("scripts/handler.lua", function()
  after_each(function() T.stop_all() end)

  it("runs the handler with SERF_* variables and member lines", function()
    local out = T.dir() .. "/handler-runs"
    os.execute("mkdir -p " .. T.sh_quote(out))
    local cmd = "f=" .. T.sh_quote(out) .. "/$(date +%s%N).$SERF_EVENT; env | grep '^SERF_' | sort > $f.tmp; " ..
                "echo >> $f.tmp; cat >> $f.tmp; mv $f.tmp $f"
    local a = T.agent { name = "a", config = "scripts/handler.lua", flags = { "-tag", "role=lb", "-tag", "dc=eu" },
                        env = { MOONLIST_HANDLER = cmd } }
    local b = T.agent { name = "b", join = a, flags = { "-tag", "role=web" } }
    local c = T.agent { name = "c", join = a }
    local r = T.wait_until(10, function() return find(out, "member-join", "b") end)
    assert.truthy(r, a:log())
    assert.truthy(r:find("SERF_SELF_NAME=a\n", 1, true), r)
    assert.truthy(r:find("SERF_SELF_ROLE=lb\n", 1, true), r)
    assert.truthy(r:find("SERF_TAG_DC=eu\n", 1, true), r)
    assert.truthy(r:find("SERF_TAG_ROLE=lb\n", 1, true), r)
    assert.truthy(r:find("\nb\t127.0.0.1\tweb\trole=web\n", 1, true), r)
    b:stop()
    assert.truthy(T.wait_until(15, function() return find(out, "member-leave", "b") end), a:log())
    c:kill()
    assert.truthy(T.wait_until(40, function() return find(out, "member-failed", "c") end), a:log())
  end)
end)
