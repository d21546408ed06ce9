-- Rolling out a version with serf's user events and queries. Every node
-- runs this script; a "deploy" event (from `serf event deploy v42` on any
-- serf agent of the cluster, or agent.event("deploy", "v42") in a script)
-- makes each node run its deploy command once, and a "deploy-status"
-- query asks every node how it went:
--
--   event "deploy", payload "<version>"
--       runs MOONLIST_DEPLOY_CMD with `sh -c`, DEPLOY_VERSION=<version> in
--       its environment. One deploy at a time: a version that arrives
--       while one runs waits, and only the latest waiting one runs next;
--       the version that runs or last succeeded again is ignored (serf
--       delivers an event once, but `serf event deploy v42` twice is two
--       events).
--   query "deploy-status"
--       answered with "<version> <state>": state "running", "ok", "failed
--       <exit code>" or "dry-run"; "none none" before any deploy. From a
--       serf agent: `serf query deploy-status`; with -tag role=web for
--       the web nodes only.
--
-- Without MOONLIST_DEPLOY_CMD (and on the simulator, where luv is not
-- available) a deploy is a dry run: logged, and reported as "dry-run".
-- The command's output goes to the agent's log, line by line, at info.
local agent = require "moonlist"
local has_luv, uv = pcall(require, "luv")

local cmd = os.getenv("MOONLIST_DEPLOY_CMD")
local version, state = "none", "none"   -- the last deploy started, and how it went
local waiting                            -- the latest version that came while one ran

local function log_lines(prefix)
  local rest = ""
  return function(err, data)
    if data then
      rest = rest .. data
      for line in rest:gmatch("([^\n]*)\n") do agent.log.info(prefix, line) end
      rest = rest:match("[^\n]*$")
    elseif rest ~= "" then
      agent.log.info(prefix, rest)
      rest = ""
    end
  end
end

local deploy

local function finished(v, how)
  state = how
  agent.log.info("deploy", v, how)
  if waiting then
    local next_v = waiting
    waiting = nil
    deploy(next_v)
  end
end

function deploy(v)
  version, state = v, "running"
  if not cmd or not has_luv then
    agent.log.info("deploy", v, "(dry run: no MOONLIST_DEPLOY_CMD" .. (has_luv and "" or ", no luv") .. ")")
    return finished(v, "dry-run")
  end
  local out, errp = uv.new_pipe(false), uv.new_pipe(false)
  local env = { "DEPLOY_VERSION=" .. v, "PATH=" .. (os.getenv("PATH") or "/usr/bin:/bin") }
  local handle, err
  handle, err = uv.spawn("sh", { args = { "-c", cmd }, env = env, stdio = { nil, out, errp } },
                         function(code)
                           handle:close()
                           finished(v, code == 0 and "ok" or ("failed " .. code))
                         end)
  if not handle then
    out:close()
    errp:close()
    return finished(v, "failed to start: " .. tostring(err))
  end
  out:read_start(log_lines("deploy " .. v .. ":"))
  errp:read_start(log_lines("deploy " .. v .. " (stderr):"))
end

agent.on("event", function(ev)
  if ev.name ~= "deploy" then return end
  local v = ev.payload:match("^%s*(%S+)%s*$")
  if not v then return agent.log.warn("deploy event without a version: '" .. ev.payload .. "'") end
  if v == version and not state:find("^failed") then return end   -- running or done already
  if state == "running" then
    waiting = v
    return
  end
  deploy(v)
end)

agent.on("query", function(q)
  if q.name == "deploy-status" then return version .. " " .. state end
end)
