-- The recording hooks of tests/e2e/lib_serf_mixed.sh (mixed_hooks_init),
-- for a moonlist agent: every user event and query this agent gets is
-- appended to $E2E_MIXED_DIR/NAME.events or NAME.queries, one line each,
-- as the serf agents' handler scripts write them, and every query is
-- answered with "answer-from-NAME".
local agent = require "moonlist"

local dir = assert(os.getenv("E2E_MIXED_DIR"), "E2E_MIXED_DIR is not set")
local me = agent.self().name

local function append(kind, line)
  local f = assert(io.open(dir .. "/" .. me .. "." .. kind, "a"))
  f:write(line, "\n")
  f:close()
end

agent.on("event", function(ev)
  append("events", string.format("%s %s %s", ev.name, ev.payload, tostring(ev.ltime)))
end)

agent.on("query", function(q)
  append("queries", string.format("%s %s %s", q.name, q.payload, q.from))
  return "answer-from-" .. me
end)

return { append = append, me = me }
