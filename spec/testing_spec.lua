-- The testing kit itself (moonlist.testing, docs/lua.md "Testing your
-- script"): what a script author gets without reading the source.
local T = require "moonlist.testing"

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
