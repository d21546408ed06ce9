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
