-- Config script that bench/papers.sh runs on every simulated node
-- (`moonlist sim -config`): it sets the knobs of the run and writes every
-- dead declaration to a file, since the sim's JSON counts only distinct
-- nodes falsely declared dead, and the papers count episodes.
--
--   PAPERS_LIFEGUARD=off  awareness_max_multiplier = 1 (no local health:
--                         the score stays 0, timeouts are never scaled)
--                         and suspicion_max_timeout_mult = 1 (a suspicion
--                         always lasts the shortest timeout, whatever the
--                         confirmations). The buddy message (a ping to a
--                         suspect carries the suspicion) and the nacks of
--                         indirect probes stay: no knob turns them off.
--                         no-awareness and no-suspicion turn off one half.
--   PAPERS_TCP_PINGS=off  disable_tcp_pings = true: the simulator never
--                         loses a stream, so with TCP pings on a probe
--                         under packet loss all but never fails.
--   PAPERS_EVENTS=FILE    append "observer<TAB>subject<TAB>incarnation<TAB>
--                         virtual seconds" for every member declared dead.
local agent = require "moonlist"

local knobs = {}
local lifeguard = os.getenv("PAPERS_LIFEGUARD") or "on"
if lifeguard == "off" or lifeguard == "no-awareness" then
    knobs.awareness_max_multiplier = 1
end
if lifeguard == "off" or lifeguard == "no-suspicion" then
    knobs.suspicion_max_timeout_mult = 1
end
if os.getenv("PAPERS_TCP_PINGS") == "off" then
    knobs.disable_tcp_pings = true
end
agent.config(knobs)

local path = os.getenv("PAPERS_EVENTS")
if path then
    local me = agent.self().name
    agent.on("leave", function(m)
        if m.status ~= "dead" then
            return
        end
        local f = assert(io.open(path, "a"))
        f:write(string.format("%s\t%s\t%d\t%.3f\n", me, m.name, m.incarnation, agent.now()))
        f:close()
    end)
end
