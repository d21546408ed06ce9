-- Load-balancer upstreams from membership: the members that carry a tag
-- (role=web by default) become the servers of an nginx `upstream` block (or
-- an haproxy `backend` section) in a file that is rewritten when the
-- cluster changes, followed by a reload command (`nginx -s reload`, ...).
--
--   # /etc/nginx/conf.d/web-upstream.conf, written by this script
--   upstream web {
--       server 10.0.0.11:8080; # web-1
--       server 10.0.0.12:8080; # web-2
--   }
--
-- Which members: alive or suspect ones with the tag. A suspect member stays
-- in the file until it is declared dead (or leaves): suspicion often ends
-- in a refutation within seconds, and the load balancer's own checks and
-- retries handle a server that is really down better than a rewrite and a
-- reload for every suspicion. Dead and left members are removed.
--
-- How the file is written: members are sorted by name, so the same
-- membership gives the same bytes; the file is written only when those
-- bytes change (compared with what is on disk at start, so a restart with
-- the same membership rewrites nothing and reloads nothing), to FILE.tmp
-- then renamed over FILE (a reader sees the old file or the new one, never
-- half of one). Changes are debounced: a rewrite waits until the cluster
-- has been quiet for DEBOUNCE seconds (at most MAX_DELAY_DEBOUNCES times
-- that after the first change), so a burst of joins makes one rewrite and
-- one reload. Reloads never overlap: a change during a reload runs one
-- more after it.
--
-- With no member, nginx refuses an empty upstream block, so the block
-- holds one placeholder, `server 127.0.0.1:1 down;` (the config stays
-- valid, requests get 502); an haproxy backend may be empty (503).
--
-- Configuration (environment):
--   MOONLIST_UPSTREAM_TAG       key=value a member must carry (default role=web)
--   MOONLIST_UPSTREAM_FILE      the file written (default upstream.conf)
--   MOONLIST_UPSTREAM_NAME      the upstream / backend name (default the tag's value)
--   MOONLIST_UPSTREAM_PORT_TAG  the tag holding a member's service port (default port)
--   MOONLIST_UPSTREAM_PORT      the port of a member without that tag (default 80)
--   MOONLIST_UPSTREAM_RELOAD    shell command run (/bin/sh -c) after each rewrite,
--                               e.g. "nginx -s reload" (default: none)
--   MOONLIST_UPSTREAM_FORMAT    nginx (default) or haproxy:
--                                 backend web
--                                     server web-1 10.0.0.11:8080 check
--                               (one file per backend; haproxy -f DIR loads them all)
--   MOONLIST_UPSTREAM_DEBOUNCE  seconds of quiet before a rewrite (default 0.5)
-- The address is the member's gossip address (its -advertise address).
--
-- On the simulator the file is written the same way (virtual time for the
-- debounce, the real file system); the reload command is not run (it needs
-- luv): "reload skipped" is logged in its place.
local agent = require "moonlist"
local catalog = require "moonlist.catalog" -- for write_atomic
local has_luv, uv = pcall(require, "luv")

local MAX_DELAY_DEBOUNCES = 10 -- a cluster that never stops changing still gets a rewrite this often
local RELOAD_TIMEOUT_S = 60    -- a reload command still running after this is killed

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local tag_key, tag_value = env("MOONLIST_UPSTREAM_TAG", "role=web"):match("^([^=]+)=(.*)$")
assert(tag_key, "MOONLIST_UPSTREAM_TAG must be key=value")
local file = env("MOONLIST_UPSTREAM_FILE", "upstream.conf")
local name = env("MOONLIST_UPSTREAM_NAME", tag_value)
assert(name:match("^[%w_.-]+$"), "MOONLIST_UPSTREAM_NAME must be letters, digits, _ . -: " .. name)
local port_tag = env("MOONLIST_UPSTREAM_PORT_TAG", "port")
local default_port = tonumber(env("MOONLIST_UPSTREAM_PORT", "80"))
assert(default_port, "MOONLIST_UPSTREAM_PORT must be a number")
local reload_cmd = env("MOONLIST_UPSTREAM_RELOAD", nil)
local format = env("MOONLIST_UPSTREAM_FORMAT", "nginx")
assert(format == "nginx" or format == "haproxy", "MOONLIST_UPSTREAM_FORMAT must be nginx or haproxy")
local debounce_s = tonumber(env("MOONLIST_UPSTREAM_DEBOUNCE", "0.5"))
assert(debounce_s and debounce_s >= 0, "MOONLIST_UPSTREAM_DEBOUNCE must be seconds >= 0")

-- ---- the file's content ----

local function servers()
  local list = {}
  for _, m in ipairs(agent.members()) do
    if (m.status == "alive" or m.status == "suspect") and m.tags[tag_key] == tag_value and m.addr then
      local port = tonumber(m.tags[port_tag] or default_port)
      if port and port >= 1 and port <= 65535 and port % 1 == 0 then
        local host = m.addr:find(":", 1, true) and ("[" .. m.addr .. "]") or m.addr
        list[#list + 1] = { name = m.name, target = host .. ":" .. port }
      else
        agent.log.warn("member", m.name, "has a bad", port_tag, "tag:", m.tags[port_tag])
      end
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

local function render(list)
  local out = { string.format("# written by moonlist scripts/upstreams.lua: members with %s=%s; do not edit",
                              tag_key, tag_value) }
  if format == "nginx" then
    out[#out + 1] = "upstream " .. name .. " {"
    for _, s in ipairs(list) do out[#out + 1] = "    server " .. s.target .. "; # " .. s.name end
    if #list == 0 then out[#out + 1] = "    server 127.0.0.1:1 down; # placeholder: no member" end
    out[#out + 1] = "}"
  else
    out[#out + 1] = "backend " .. name
    for _, s in ipairs(list) do out[#out + 1] = "    server " .. s.name .. " " .. s.target .. " check" end
  end
  return table.concat(out, "\n") .. "\n"
end

-- ---- the reload command ----

local reloading, reload_again = false, false

local function reload()
  if not reload_cmd then return end
  if not has_luv then
    agent.log.info("reload skipped (no luv on the simulator):", reload_cmd)
    return
  end
  if reloading then
    reload_again = true
    return
  end
  reloading = true
  local timer = uv.new_timer()
  local handle, err
  handle, err = uv.spawn("/bin/sh", { args = { "-c", reload_cmd }, stdio = { 0, 1, 2 } }, function(code, signal)
    timer:close()
    handle:close()
    if code == 0 and signal == 0 then
      agent.log.info("reload command done")
    else
      agent.log.error("reload command failed: exit", code, "signal", signal)
    end
    reloading = false
    if reload_again then
      reload_again = false
      reload()
    end
  end)
  if not handle then
    timer:close()
    reloading = false
    agent.log.error("cannot run the reload command:", err)
    return
  end
  timer:start(RELOAD_TIMEOUT_S * 1000, 0, function()
    agent.log.error("reload command ran over", RELOAD_TIMEOUT_S, "s: killed")
    handle:kill("sigkill")
  end)
end

-- ---- rewriting, debounced ----

local written -- what the file holds (read at load: a restart rewrites nothing if nothing changed)
do
  local f = io.open(file, "rb")
  if f then
    written = f:read("*a")
    f:close()
  end
end

local function rewrite()
  local list = servers()
  local text = render(list)
  if text == written then
    agent.log.debug("unchanged:", file, "with", #list, "server(s)")
    return
  end
  local ok, err = catalog.write_atomic(file, text)
  if not ok then
    agent.log.error("cannot write", file .. ":", err)
    return
  end
  written = text
  agent.log.info("wrote", file, "with", #list, "server(s)")
  reload()
end

local timer, first_change -- the pending rewrite, and when the change it waits for began

local function changed()
  local now = agent.now()
  if timer then
    timer:stop()
  else
    first_change = now
  end
  local wait = math.min(debounce_s, first_change + MAX_DELAY_DEBOUNCES * debounce_s - now)
  timer = agent.after(math.max(wait, 0), function()
    timer = nil
    rewrite()
  end)
end

agent.on("join", changed)
agent.on("update", changed)
agent.on("leave", changed)
changed() -- the first rewrite, once the agent runs (and, with -join, has joined)
