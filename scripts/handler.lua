-- A serf-style event handler: runs a command on every membership change,
-- with the environment and standard input serf gives its handlers, so
-- existing serf handler scripts work unchanged.
--
--   MOONLIST_HANDLER   the command (run by /bin/sh -c); required
--
-- Environment of each run:
--   SERF_EVENT       member-join, member-leave, member-failed, member-update
--   SERF_SELF_NAME   this node's name
--   SERF_SELF_ROLE   this node's "role" tag
--   SERF_TAG_<KEY>   every tag of this node, key upper-cased
-- Standard input: one line per member, "name<TAB>address<TAB>role<TAB>tags"
-- with tags as "k=v,k=v" (sorted), as serf writes it.
-- Runs are serial and in event order (a queue), as serf's are; a run that
-- takes longer than HANDLER_TIMEOUT_S is killed.
local agent = require "moonlist"
local uv = require "luv"

local HANDLER_TIMEOUT_S = 60 -- serf does not bound handlers; a hung one must not stall the queue forever

local command = os.getenv("MOONLIST_HANDLER")
assert(command and command ~= "", "handler.lua needs MOONLIST_HANDLER (the command to run)")

local queue, running = {}, false

local function tags_text(tags)
  local kv = {}
  for k, v in pairs(tags) do kv[#kv + 1] = k .. "=" .. v end
  table.sort(kv)
  return table.concat(kv, ",")
end

local function base_env(self)
  local env = {}
  -- the agent's own environment first (PATH, HOME...), as serf passes it
  local p = io.popen("env")
  for line in p:lines() do
    if not line:match("^SERF_") then env[#env + 1] = line end
  end
  p:close()
  env[#env + 1] = "SERF_SELF_NAME=" .. self.name
  env[#env + 1] = "SERF_SELF_ROLE=" .. (self.tags.role or "")
  for k, v in pairs(self.tags) do
    env[#env + 1] = "SERF_TAG_" .. k:upper():gsub("[^%w_]", "_") .. "=" .. v
  end
  return env
end

local run_next

local function run(job)
  running = true
  local self = agent.self() or { name = "", tags = {} }
  local env = base_env(self)
  env[#env + 1] = "SERF_EVENT=" .. job.event
  local stdin = uv.new_pipe(false)
  local timer = uv.new_timer()
  local handle, err
  handle, err = uv.spawn("/bin/sh", { args = { "-c", command }, env = env, stdio = { stdin, 1, 2 } },
    function(code, signal)
      timer:close()
      handle:close()
      if code ~= 0 or signal ~= 0 then
        agent.log.warn("handler for", job.event, "exited with", code, signal ~= 0 and ("signal " .. signal) or "")
      end
      run_next()
    end)
  if not handle then
    agent.log.error("cannot run the handler:", err)
    stdin:close()
    timer:close()
    return run_next()
  end
  timer:start(HANDLER_TIMEOUT_S * 1000, 0, function()
    agent.log.warn("handler for", job.event, "ran over", HANDLER_TIMEOUT_S, "s: killed")
    handle:kill("sigkill")
  end)
  stdin:write(job.input, function() stdin:close() end)
end

function run_next()
  running = false
  local job = table.remove(queue, 1)
  if job then run(job) end
end

local function enqueue(event, input)
  queue[#queue + 1] = { event = event, input = input }
  if not running then run_next() end
end

local function member_line(m)
  return table.concat({ m.name, m.addr, m.tags.role or "", tags_text(m.tags) }, "\t") .. "\n"
end

agent.on("join", function(m) enqueue("member-join", member_line(m)) end)
agent.on("update", function(m) enqueue("member-update", member_line(m)) end)
agent.on("leave", function(m)
  enqueue(m.status == "left" and "member-leave" or "member-failed", member_line(m))
end)
