package redisretry

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// breakerScript is one process's exchange with a shared breaker: it
// records the process's counts (failures in a row, the failure-rate
// window's failures and attempts), applies the event the process brings
// (its breaker opened by its own rules or a failed probe; its probes
// closed it), adds up the counts of the processes heard from recently and
// applies the rules to the sums, turns an open breaker half-open once its
// time is up, and names the one process whose breaker runs the probes
// (the leader, for a lease, renewed at each of its exchanges while its
// probes are in flight: when it runs out before the probes closed or
// reopened the breaker, say because the leader has no traffic, the next
// process to sync leads). The state is one
// hash: cfg, st, gen (bumped at every change), until and lu (server ms: the
// end of the open time, of the leader's lease), leader, trips (since the
// breaker was last closed), and one field p:<id> per process.
//
// KEYS[1]: the breaker's key. ARGV: cfg, id, consecutive, failures,
// attempts, threshold, rate, minimum calls, stale (ms), recovery (ms),
// max recovery (ms), jitter (a number in [0, 1)), event ("", "open" or
// "close"), leader lease (ms), expiry (ms), probing ("1" when the process's
// breaker has probes in flight). It returns {st, gen, ms until
// the end of the open time, "1" when the process leads the probes}.
var breakerScript = redis.NewScript(`
local h = redis.pcall('HGETALL', KEYS[1])
if h.err then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' is not a hash: ' .. h.err)
end
local m = {}
for i = 1, #h, 2 do m[h[i]] = h[i + 1] end
if #h > 0 and not m.cfg then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' is a hash that redisretry did not make (no cfg field)')
end
if m.cfg and m.cfg ~= ARGV[1] then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' holds a breaker configured otherwise (' .. m.cfg .. ')')
end
local st = m.st or 'closed'
local gen, untl, lu, trips = tonumber(m.gen or '0'), tonumber(m['until'] or '0'), tonumber(m.lu or '0'), tonumber(m.trips or '0')
local leader = m.leader or ''
if not gen or not untl or not lu or not trips or (st ~= 'closed' and st ~= 'open' and st ~= 'half-open') then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' holds values that are not a breaker (st ' .. tostring(m.st) .. ')')
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, me = ARGV[2], 'p:' .. ARGV[2]
local threshold, rate, minCalls, stale = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local recovery, maxRecovery, jitter = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])

local function open()
  trips = trips + 1
  local d = recovery
  if maxRecovery > 0 and trips > 1 then
    for i = 2, trips do
      if d >= maxRecovery then break end
      if d > maxRecovery / 2 then d = maxRecovery else d = d * 2 end
    end
    d = math.max(math.floor(d / 2) + math.floor(jitter * (math.floor(d / 2) + 1)), recovery)
  end
  st, untl, gen, leader = 'open', now + d, gen + 1, ''
end

redis.call('HSET', KEYS[1], me, ARGV[3] .. ',' .. ARGV[4] .. ',' .. ARGV[5] .. ',' .. now)
local ev = ARGV[13]
if ev == 'open' and st ~= 'open' then
  open()
elseif ev == 'close' and st == 'half-open' and leader == id then
  st, gen, leader, trips = 'closed', gen + 1, '', 0
  for k in pairs(m) do
    if string.sub(k, 1, 2) == 'p:' and k ~= me then redis.call('HDEL', KEYS[1], k) end
  end
  m = {}
end
if st == 'closed' then
  local c, f, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  for k, v in pairs(m) do
    if string.sub(k, 1, 2) == 'p:' and k ~= me then
      local a, b, d, at = string.match(v, '^(%d+),(%d+),(%d+),(%d+)$')
      if not a then
        return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' holds values that are not a breaker (' .. k .. ' ' .. v .. ')')
      end
      if now - tonumber(at) > stale then
        redis.call('HDEL', KEYS[1], k)
      else
        c, f, n = c + tonumber(a), f + tonumber(b), n + tonumber(d)
      end
    end
  end
  if (threshold > 0 and c >= threshold) or (rate > 0 and n >= minCalls and f >= rate * n) then open() end
end
if st == 'open' and now >= untl then
  st, gen, leader = 'half-open', gen + 1, ''
end
if st == 'half-open' and leader == id and ARGV[16] == '1' then
  lu = now + tonumber(ARGV[14])
elseif st == 'half-open' and (leader == '' or lu < now) then
  leader, lu, gen = id, now + tonumber(ARGV[14]), gen + 1
end
redis.call('HSET', KEYS[1], 'cfg', ARGV[1], 'st', st, 'gen', string.format('%.0f', gen), 'until', string.format('%.0f', untl),
  'leader', leader, 'lu', string.format('%.0f', lu), 'trips', string.format('%.0f', trips))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[15]))
local leads = '0'
if st == 'half-open' and leader == id then leads = '1' end
return {st, string.format('%.0f', gen), string.format('%.0f', math.max(0, untl - now)), leads}
`)

// fleetState is a shared breaker's state as an exchange returns it.
type fleetState struct {
	st    string // "closed", "open" or "half-open"
	gen   int64
	left  int64 // ms until the end of the open time
	leads bool  // this process runs the probes
}

// runBreaker runs breakerScript for b with the process's counts and event.
func runBreaker(ctx context.Context, c redis.UniversalClient, b *breaker, counts [3]uint64, event string, jitter float64, probing bool) (fleetState, error) {
	r := b.rules
	v, err := breakerScript.Run(ctx, c, []string{b.key}, b.cfg, b.id, counts[0], counts[1], counts[2],
		r.threshold, r.rate, r.minCalls, b.stale().Milliseconds(), r.recovery.Milliseconds(), r.maxRecovery.Milliseconds(),
		jitter, event, b.leaderLease().Milliseconds(), b.f.expire.Milliseconds(), flag(probing)).StringSlice()
	if err != nil {
		return fleetState{}, err
	}
	if len(v) != 4 {
		return fleetState{}, fmt.Errorf("redisretry: %s: the breaker script answered %d values, want 4", b.key, len(v))
	}
	gen, err1 := strconv.ParseInt(v[1], 10, 64)
	left, err2 := strconv.ParseInt(v[2], 10, 64)
	if err1 != nil || err2 != nil || (v[0] != "closed" && v[0] != "open" && v[0] != "half-open") {
		return fleetState{}, fmt.Errorf("redisretry: %s: the breaker script answered %q", b.key, v)
	}
	return fleetState{st: v[0], gen: gen, left: left, leads: v[3] == "1"}, nil
}

// flag is "1" for true and "0" for false, as the script reads a flag.
func flag(v bool) string {
	if v {
		return "1"
	}
	return "0"
}
