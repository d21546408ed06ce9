local mp = require "moonlist.msgpack"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

describe("moonlist.msgpack", function()
  it("encodes the smallest format of each value", function()
    local cases = {
      { nil, "c0" }, { false, "c2" }, { true, "c3" },
      { 0, "00" }, { 127, "7f" }, { 128, "cc80" }, { 256, "cd0100" }, { 65536, "ce00010000" },
      { 2 ^ 32, "cf0000000100000000" }, { -1, "ff" }, { -32, "e0" }, { -33, "d0df" },
      { -129, "d1ff7f" }, { -32769, "d2ffff7fff" }, { -2 ^ 31 - 1, "d3ffffffff7fffffff" },
      { 1.5, "cb3ff8000000000000" }, { -0.25, "cbbfd0000000000000" },
      { "", "a0" }, { "abc", "a3616263" }, { string.rep("x", 32), "d920" .. string.rep("78", 32) },
      { { 1, 2 }, "920102" }, { {}, "80" }, { mp.array {}, "90" },
      { { b = 1, a = 2 }, "82a16102a16201" },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], hex(mp.encode(c[1])), tostring(c[1]))
    end
  end)

  it("round-trips values", function()
    local values = { 0, 1, -1, 2 ^ 53, -2 ^ 53, 1e300, -1e-300, 3.25, 1 / 3, "", string.rep("y", 70000),
                     { 1, "two", { three = 3 } }, { nested = { deeper = { list = { true, false } } } } }
    for _, v in ipairs(values) do
      assert.are.same(v, mp.decode(mp.encode(v)))
    end
    local nan = mp.decode(mp.encode(0 / 0))
    assert.is_true(nan ~= nan)
    assert.are.equal(math.huge, mp.decode(mp.encode(math.huge)))
  end)

  it("decodes what other encoders write: float32, bin, 16/32-bit containers", function()
    assert.are.equal(1.5, mp.decode("\202\63\192\0\0"))
    assert.are.equal("ab", mp.decode("\196\2ab"))
    assert.are.same({ 7 }, mp.decode("\220\0\1\7"))
    assert.are.same({ k = "v" }, mp.decode("\222\0\1\161k\161v"))
    assert.are.equal(mp.null, mp.decode("\145\192")[1])
  end)

  it("refuses malformed input with an error, never reading past it", function()
    for _, bad in ipairs { "", "\205\1", "\219\255\255\255\255x", "\221\0\0\0\9\1", "\223\255\255\255\255",
                           "\193", "\199\1\1x", "\1\2", "\129\192\1", string.rep("\145", 100) .. "\0" } do
      local ok, err = mp.safe_decode(bad)
      assert.is_false(ok, hex(bad))
      assert.truthy(err:find("msgpack.decode:", 1, true))
    end
    assert.has_error(function() mp.decode("\193") end)
  end)

  it("refuses what it cannot encode", function()
    local t = {}
    t.self = t
    assert.has_error(function() mp.encode(t) end, "msgpack.encode: a table contains itself")
    assert.has_error(function() mp.encode(print) end, "msgpack.encode: cannot encode a function")
  end)
end)
