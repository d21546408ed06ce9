-- The recording hooks (serf_mixed_hooks.lua), plus the two things a script
-- sends that serf agents must never see as garbage: push/pull user state
-- (agent.state) and broadcasts (agent.broadcast). The broadcasts that reach
-- this agent from another chatty one go to $E2E_MIXED_DIR/NAME.messages;
-- merged states from other moonlist agents to NAME.states.
local agent = require "moonlist"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local rec = dofile(here .. "serf_mixed_hooks.lua")

agent.state{
  local_state = function() return "chatty-state " .. rec.me end,
  merge_remote_state = function(s)
    if type(s) == "string" and s:match("^chatty%-state ") then rec.append("states", s) end
  end,
}

local n = 0
agent.every(0.3, function()
  n = n + 1
  agent.broadcast(string.format("chatty %s %d", rec.me, n), "chatty-" .. rec.me)
end)

agent.on("message", function(payload)
  if payload:match("^chatty ") then rec.append("messages", payload) end
end)

-- The script's own serf event and query, on demand: a user event "kick"
-- with payload "NAME:TRY" makes agent NAME send agent.event("lua-ev",
-- "NAME-TRY", uncoalesced) and ask agent.query("lua-q", TRY) with acks;
-- what comes back goes to NAME.answers ("ack FROM TRY", "response FROM
-- PAYLOAD TRY", "done TRY [error]").
agent.on("event", function(ev)
  if ev.name ~= "kick" then return end
  local try = ev.payload:match("^" .. rec.me .. ":(try%d+)$")
  if not try then return end
  agent.event("lua-ev", rec.me .. "-" .. try, { coalesce = false })
  agent.query("lua-q", try, { timeout = 3, ack = true }, function(a)
    if a.type == "ack" then
      rec.append("answers", "ack " .. a.from .. " " .. try)
    elseif a.type == "response" then
      rec.append("answers", "response " .. a.from .. " " .. a.payload .. " " .. try)
    else
      rec.append("answers", "done " .. try .. (a.error and (" " .. a.error) or ""))
    end
  end)
end)
