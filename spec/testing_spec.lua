-- The testing kit itself (moonlist.testing, docs/lua.md "Testing your
-- script"): what a script author gets without reading the source.
local T = require "moonlist.testing"

local function host(code, opts)
  local h, err = T.host("local agent = require 'moonlist'\n" .. code, opts)
  assert(h, err)
  return h
end

describe("T.host", function()
  it("answers agent.members() and agent.self() while the spec waits for nothing", function()
    local h = host([[
agent.after(0, function()
  local names = {}
  for _, m in ipairs(agent.members()) do names[#names + 1] = m.name .. "=" .. m.status .. "/" .. tostring(m.tags.role) end
  agent.log.info("members " .. table.concat(names, ","), "self " .. agent.self().name)
end)
]])
    h:members { { name = "me", tags = { role = "web" } }, { name = "b", status = "suspect", tags = { role = "db" } } }
    h:start()
    -- nothing pumps the host's commands here: the log is only read
    assert.is_true(T.wait_until(5, function() return h:log():find("members", 1, true) ~= nil end, 0.01), h:log())
    assert.truthy(h:log():find("members me=alive/web,b=suspect/db self me", 1, true), h:log())
    assert.are.same({}, h:commands())
    h:stop()
  end)

  it("takes fake members as plain tables: tags encoded as serf meta, raw meta still accepted", function()
    local h = host([[
agent.on("join", function(m)
  local keys = {}
  for k, v in pairs(m.tags) do keys[#keys + 1] = k .. "=" .. v end
  table.sort(keys)
  agent.broadcast(string.format("%s %s:%d inc=%d p%d d%d %s", m.name, m.addr, m.port, m.incarnation, m.protocol.cur,
                                m.delegate.cur, table.concat(keys, ",")))
end)
]])
    h:start()
    h:post { type = "join", member = { name = "a", addr = "10.0.0.1", port = 7001, incarnation = 4,
                                       tags = { role = "web", dc = "eu" }, protocol = { cur = 4 } } }
    h:post { type = "join", member = { name = "b", meta = "\255\129\164role\162db" } }
    assert.are.same({ { type = "broadcast", key = "", payload = "a 10.0.0.1:7001 inc=4 p4 d5 dc=eu,role=web" },
                      { type = "broadcast", key = "", payload = "b 127.0.0.1:7946 inc=1 p2 d5 role=db" } },
                    h:commands(2, 5))
    h:stop()
  end)

  it("refuses a member field it does not know, and tags with meta", function()
    local h = host("")
    for _, c in ipairs {
      { { name = "a", tag = { role = "x" } }, "member: unknown field 'tag' (name, addr, port, status, incarnation" },
      { { name = "a", tags = { role = "x" }, meta = "" }, "member a: give tags or meta, not both" },
      { { name = "a", tags = { role = 1 } }, "member: tags must map string keys to string values" },
      { { name = "a", status = "gone" }, "member: bad status 'gone'" },
      { { name = "a", addr = "host.example" }, "member: bad addr 'host.example'" },
    } do
      local ok, err = pcall(h.members, h, { c[1] })
      assert.is_false(ok)
      assert.truthy(err:find(c[2], 1, true), err)
      ok, err = pcall(h.post, h, { type = "join", member = c[1] })
      assert.truthy(not ok and err:find(c[2], 1, true), err)
    end
    local ok, err = pcall(h.post, h, { type = "join", member = { name = "a" }, paylod = "x" })
    assert.truthy(not ok and err:find("event: unknown field 'paylod'", 1, true), err)
    h:stop()
  end)

  it("keeps the fake member table for the veto questions too", function()
    local h = host([[
agent.on("merge", function(peers)
  for _, p in ipairs(peers) do if p.tags.role == "evil" then return false, "evil " .. p.name end end
end)
]])
    h:start()
    local ok, reason
    assert.is_true(T.wait_until(5, function()
      local defaulted = h:stats().vetoes_defaulted
      ok, reason = h:allow_merge { { name = "x", tags = { role = "evil" } } }
      return h:stats().vetoes_defaulted == defaulted
    end, 0.005))
    assert.is_false(ok)
    assert.are.equal("evil x", reason)
    h:stop()
  end)
end)

describe("moonlist.core outside LuaJIT", function()
  -- every PUC interpreter on the machine; busted's own #! picks `lua`
  local function puc_interpreters()
    local found = {}
    for _, name in ipairs { "lua5.1", "lua5.2", "lua5.3", "lua5.4", "lua" } do
      local code, out = T.run("command -v " .. name .. " >/dev/null && " .. name .. " -v")
      if code == 0 and not out:find("LuaJIT", 1, true) then found[#found + 1] = name end
    end
    return found
  end

  it("fails with a sentence, not a crash", function()
    local luas = puc_interpreters()
    if #luas == 0 then
      pending("no PUC Lua interpreter here")
      return
    end
    local so = T.build .. "/lua/?.so"
    for _, lua in ipairs(luas) do
      local code, out = T.run(string.format("%s -e %s", lua,
        T.sh_quote("package.cpath = " .. string.format("%q", so) .. " .. ';' .. package.cpath; require 'moonlist.core'")))
      assert.are.equal(1, code, lua .. ": " .. out)
      assert.truthy(out:find("moonlist.core needs LuaJIT (run busted under luajit: luajit /usr/bin/busted ...)", 1,
                             true), lua .. ": " .. out)
    end
  end)
end)

describe("moonlist.testing run from another project", function()
  local busted = select(2, T.run("command -v busted")):match("[^\n]+")
  local project = T.dir() .. "/project"

  setup(function()
    os.execute("mkdir -p " .. T.sh_quote(project .. "/lua/myapp"))
    T.write(project .. "/lua/myapp/greet.lua", 'return function(who) return "hello " .. who end\n')
    T.write(project .. "/script.lua", [[
local agent = require "moonlist"
local mp = require "moonlist.msgpack"
local greet = require "myapp.greet"
agent.config { tags = { greeting = greet(os.getenv("WHO") or "world") } }
agent.after(0, function() agent.log.info(greet(agent.self().name), #mp.encode { 1, 2, 3 }) end)
]])
    T.write(project .. "/script_spec.lua", [[
local T = require "moonlist.testing"
local mp = require "moonlist.msgpack"
if not os.getenv("MOONLIST_LUA_PATH") then T.path("lua/?.lua") end
describe("my script", function()
  it("runs on the host", function()
    local h = assert(T.host { path = "script.lua" })
    h:members { { name = "me" } }
    h:start()
    assert.is_true(h:wait_log("hello me 4"), h:log())
    h:stop()
  end)
  it("runs on the simulator", function()
    local s = assert(T.sim { nodes = { { path = "script.lua", env = { WHO = "sim" } } } })
    s:run(1)
    assert.are.equal("hello sim", s:member(0, "n0").tags.greeting)
    assert.are.equal("hello spec", require("myapp.greet")("spec"))
    assert.are.equal("x", mp.decode(mp.encode("x")))
  end)
end)
]])
  end)

  -- the environment a user's shell would have: no MOONLIST_* but what is given
  local function run(env, interpreter)
    return T.run(string.format("cd %s && env -u MOONLIST_BUILD -u MOONLIST_BIN -u MOONLIST_LUA_PATH %s LUA_PATH=%s %s "
                               .. "script_spec.lua", T.sh_quote(project), env, T.sh_quote(T.lua_dir .. "/?.lua;;"),
                               interpreter))
  end

  it("finds moonlist's modules, moonlist.core and the project's lua/ (MOONLIST_BUILD, T.path)", function()
    local code, out = run("MOONLIST_BUILD=" .. T.sh_quote(T.build), "luajit " .. busted)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("2 successes / 0 failures / 0 errors", 1, true), out)
  end)

  it("finds moonlist.core beside its own checkout, the project's lua/ from MOONLIST_LUA_PATH", function()
    if not T.read(T.lua_dir .. "/../build/lua/moonlist/core.so") then
      pending("this checkout is not built in build/")
      return
    end
    local code, out = run("MOONLIST_LUA_PATH=lua/?.lua", "luajit " .. busted)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("2 successes / 0 failures / 0 errors", 1, true), out)
  end)

  it("says busted must run under LuaJIT when it runs under PUC Lua", function()
    local code, out = run("MOONLIST_BUILD=" .. T.sh_quote(T.build), "lua " .. busted)
    if out:find("module 'busted.runner' not found", 1, true) or code == 127 then
      pending("no busted for PUC Lua here")
      return
    end
    assert.are_not.equal(139, code, out)
    assert.truthy(out:find("moonlist.core needs LuaJIT (run busted under luajit: luajit /usr/bin/busted ...)", 1, true)
                  or out:find("module 'luv' not found", 1, true), out)
  end)
end)

describe("T.host and T.sim options", function()
  it("refuse an option they do not know", function()
    local ok, err = pcall(T.host, { code = "", lua_paht = "x/?.lua" })
    assert.truthy(not ok and err:find("core.host: unknown field 'lua_paht' (code, path, name, lua_path)", 1, true), err)
    ok, err = pcall(T.sim, { nodes = { { code = "" } }, sed = 1 })
    assert.truthy(not ok and err:find("core.sim: unknown field 'sed' (seed, profile, lua_path, nodes, serf)", 1, true), err)
  end)
end)
