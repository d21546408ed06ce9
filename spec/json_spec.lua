local json = require "moonlist.json"

describe("moonlist.json", function()
  it("encodes and decodes through lua-cjson", function()
    assert.are.same({ a = { 1, 2 }, b = "x" }, json.decode(json.encode({ a = { 1, 2 }, b = "x" })))
  end)

  it("returns nil and a message for bad input instead of raising", function()
    local v, err = json.decode("{bad")
    assert.is_nil(v)
    assert.truthy(err)
    v, err = json.decode(42)
    assert.is_nil(v)
    assert.truthy(err:find("must be a string", 1, true))
  end)

  it("refuses sparse arrays instead of guessing", function()
    assert.has_error(function() json.encode({ [1] = 1, [5] = 5 }) end)
  end)

  it("writes objects with sorted keys, arrays marked as such", function()
    assert.are.equal('{"a":[3,2],"b":{"x":1,"y":null},"c":[],"d":{}}',
                     json.encode_sorted({ b = { y = json.null, x = 1 }, a = { 3, 2 }, c = json.array(), d = {} }))
  end)
end)
