-- A health tag: a luv check runs every few seconds and this node's `health`
-- tag says how it went, `passing` or `critical`, for every member to see
-- (`moonlist members`, other scripts' agent.members(), serf agents too).
-- The tag is set with agent.set_tags, which merges: the node's other tags
-- (role, port, ...) are kept.
--
-- The check, one of:
--   MOONLIST_HEALTH_ADDR      ip:port: passing if a TCP connect succeeds
--   MOONLIST_HEALTH_CMD       a shell command (/bin/sh -c): passing if it exits 0
--   MOONLIST_HEALTH_INTERVAL  seconds between checks (default 2)
-- A check that takes longer than the interval (at most CHECK_TIMEOUT_S)
-- has failed; a command still running then is killed.
--
-- Hysteresis: the tag flips only after FLIP_AFTER consecutive results that
-- disagree with it, so one lost connect or one slow command does not make
-- the whole cluster see the node flap. A node starts `critical` (unless it
-- was started with -tag health=...) and turns `passing` after FLIP_AFTER
-- passing checks: nobody sends it traffic before it has proved healthy.
-- A reload (SIGHUP) keeps the tag and the current streak (agent.handoff).
--
-- On the simulator there is no luv, so no check runs: the script sets the
-- starting tag and waits for results through its return value, a table
-- with report(ok, why) and state(); spec/health_tag_spec.lua loads it with
-- dofile and reports results on virtual time to test the hysteresis.
local agent = require "moonlist"
local has_luv, uv = pcall(require, "luv")

local TAG = "health"
-- 3 x the default 2 s interval: a real outage shows within ~6 s, while a
-- single failure (a connect lost under load, a GC pause in the checked
-- service) never flips the tag; haproxy's default fall is 3 for the same reason
local FLIP_AFTER = 3
local CHECK_TIMEOUT_S = 5

local addr = os.getenv("MOONLIST_HEALTH_ADDR")
local cmd = os.getenv("MOONLIST_HEALTH_CMD")
local interval = tonumber(os.getenv("MOONLIST_HEALTH_INTERVAL") or "2")
assert(interval and interval > 0, "MOONLIST_HEALTH_INTERVAL must be seconds > 0")
local timeout = math.min(interval, CHECK_TIMEOUT_S)

-- state: the value the tag has; streak: results in a row that disagree with it
local st = agent.inherited or { state = agent.self().tags[TAG], streak = 0 }
agent.handoff(function() return st end)
if st.state ~= "passing" and st.state ~= "critical" then
  st.state, st.streak = "critical", 0
  agent.set_tags { [TAG] = st.state }
end

local M = {}

function M.state()
  return st.state
end

-- One check's result: flips the tag after FLIP_AFTER in a row against it.
function M.report(ok, why)
  local result = ok and "passing" or "critical"
  if result == st.state then
    if st.streak > 0 then agent.log.debug("check", result, "again: the streak of", st.streak, "ends") end
    st.streak = 0
    return
  end
  st.streak = st.streak + 1
  agent.log.debug("check", result, "(" .. tostring(why or "ok") .. "),", st.streak, "of", FLIP_AFTER, "to flip")
  if st.streak >= FLIP_AFTER then
    agent.log.info(TAG, st.state, "->", result, "after", FLIP_AFTER, "checks in a row; last:", tostring(why or "ok"))
    st.state, st.streak = result, 0
    agent.set_tags { [TAG] = result }
  end
end

-- ---- the checks (luv) ----

-- Start `begin(finish)`, which calls finish(ok, why) once; a timeout or
-- a failure to start finishes it as failed. cleanup() closes its handles.
local function bounded(begin, cleanup, done)
  local timer, finished = uv.new_timer(), false
  local function finish(ok, why)
    if finished then return end
    finished = true
    timer:close()
    cleanup()
    done(ok, why)
  end
  timer:start(math.floor(timeout * 1000), 0, function() finish(false, "timeout after " .. timeout .. " s") end)
  local started, err = pcall(begin, finish)
  if not started then finish(false, err) end
end

local function check_addr(done)
  local host, port = addr:match("^%[?(.-)%]?:(%d+)$")
  local tcp = uv.new_tcp()
  bounded(function(finish)
    assert(tcp:connect(host, tonumber(port), function(err) finish(err == nil, err) end))
  end, function() if not tcp:is_closing() then tcp:close() end end, done)
end

local function check_cmd(done)
  local proc, exited
  bounded(function(finish)
    local err
    proc, err = uv.spawn("/bin/sh", { args = { "-c", cmd } }, function(code, signal)
      exited = true
      proc:close()
      finish(code == 0 and signal == 0, "exit " .. code .. (signal ~= 0 and (" signal " .. signal) or ""))
    end)
    assert(proc, err)
  end, function()
    -- a command still running at the timeout is killed, and its handle closed
    -- when it exits (closed before, libuv would stop reaping it: a zombie)
    if proc and not exited then proc:kill("sigkill") end
  end, done)
end

if not has_luv then
  agent.log.info("no luv (simulator): no check runs; results come through report()")
else
  assert((addr == nil) ~= (cmd == nil), "health_tag.lua needs MOONLIST_HEALTH_ADDR or MOONLIST_HEALTH_CMD (one)")
  assert(addr == nil or addr:match("^%[?.-%]?:%d+$"), "MOONLIST_HEALTH_ADDR must be ip:port")
  local check = addr and check_addr or check_cmd
  local running = false
  local function run()
    if running then return end -- the previous check is still within its timeout
    running = true
    check(function(ok, why)
      running = false
      M.report(ok, why)
    end)
  end
  agent.after(0, run)
  agent.every(interval, run)
end

return M
