local catalog = require "moonlist.catalog"
local T = require "moonlist.testing"

local web = { web = { addr = "10.0.0.1", port = 80, healthy = true, tags = { tier = "front" } } }

describe("moonlist.catalog", function()
  it("spreads a node's record and keeps only the newest", function()
    local a, b = catalog.new(), catalog.new()
    assert.is_true(a:set_local("n1", web))
    local v1 = a:encode_node("n1")
    assert.is_true(b:apply(v1))
    assert.is_false(b:apply(v1)) -- again: nothing new
    a:set_local("n1", { web = { addr = "10.0.0.1", port = 81 } })
    local v2 = a:encode_node("n1")
    assert.is_true(b:apply(v2))
    assert.is_false(b:apply(v1)) -- older, late: ignored
    assert.are.equal(81, b:healthy()[1].port)
  end)

  it("merges push/pull state from every node", function()
    local a, b, c = catalog.new(), catalog.new(), catalog.new()
    a:set_local("n1", web)
    b:set_local("n2", { db = { addr = "10.0.0.2", port = 5432 } })
    assert.is_true(c:merge(a:encode_all()))
    assert.is_true(c:merge(b:encode_all()))
    assert.is_false(c:merge(a:encode_all()))
    local h = c:healthy()
    assert.are.equal(2, #h)
    assert.are.equal("db", h[1].service)
    assert.are.equal("web", h[2].service)
  end)

  it("removes a dead node and does not let an old copy bring it back", function()
    local a, b = catalog.new(), catalog.new()
    a:set_local("n1", web)
    b:merge(a:encode_all())
    assert.is_true(b:remove_node("n1"))
    assert.are.equal(0, #b:healthy())
    assert.is_false(b:merge(a:encode_all()))
    assert.are.equal(0, #b:healthy())
    -- the node comes back and publishes again: a newer version wins
    a:set_local("n1", web)
    assert.is_true(b:apply(a:encode_node("n1")))
  end)

  it("leaves unhealthy services out of the outputs", function()
    local c = catalog.new()
    c:set_local("n1", { web = { addr = "10.0.0.1", port = 80 }, api = { addr = "::1", port = 9000, healthy = false } })
    c:set_local("n2", { web = { addr = "10.0.0.2", port = 80 } })
    assert.are.equal('[{"labels":{"service":"web"},"targets":["10.0.0.1:80","10.0.0.2:80"]}]\n', c:file_sd())
    assert.are.equal("10.0.0.1\tweb.service.moonlist n1.web.service.moonlist\n" ..
                     "10.0.0.2\tweb.service.moonlist n2.web.service.moonlist\n", c:hosts())
    assert.are.equal("[]\n", catalog.new():file_sd())
  end)

  it("refuses malformed records", function()
    local c = catalog.new()
    assert.is_nil((c:apply("junk")))
    assert.is_nil((c:apply(catalog.MAGIC .. "\193")))
    local mp = require "moonlist.msgpack"
    local _, err = c:apply(catalog.MAGIC .. mp.encode({ node = "x", version = 1, services = { s = { addr = "a", port = 0 } } }))
    assert.truthy(err:find("port must be 1..65535", 1, true))
    assert.has_error(function() c:set_local("x", { s = { port = 1 } }) end)
  end)

  it("writes files atomically", function()
    local path = T.dir() .. "/atomic.json"
    assert.is_true(catalog.write_atomic(path, "one"))
    assert.is_true(catalog.write_atomic(path, "two"))
    assert.are.equal("two", T.read(path))
    assert.is_nil(T.read(path .. ".tmp"))
    assert.is_nil((catalog.write_atomic("/nonexistent/dir/x", "y")))
  end)
end)
