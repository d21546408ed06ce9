-- The default config script: `moonlist agent` runs it when given no
-- -config. It sets nothing (flags and built-in defaults rule) and logs
-- every membership change with the member's tags, one line each.
local agent = require "moonlist"

local function describe(m)
  local tags = {}
  for k, v in pairs(m.tags) do tags[#tags + 1] = k .. "=" .. v end
  table.sort(tags)
  local where = m.addr:find(":", 1, true) and ("[" .. m.addr .. "]") or m.addr
  return string.format("%s %s:%d%s", m.name, where, m.port,
                       #tags > 0 and (" tags " .. table.concat(tags, ",")) or "")
end

agent.on("join", function(m) agent.log.info("member joined:", describe(m)) end)
agent.on("update", function(m) agent.log.info("member updated:", describe(m), "incarnation", m.incarnation) end)
agent.on("leave", function(m) agent.log.info("member " .. (m.status == "left" and "left:" or "failed:"), describe(m)) end)
agent.on("conflict", function(m, other)
  agent.log.warn("name conflict:", m.name, "is also claimed by", other.addr .. ":" .. other.port)
end)
