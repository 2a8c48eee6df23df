package redisretry

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// budgetScript applies one process's exchange with a shared budget
// atomically: it refills the budget with time (on the server's clock),
// credits the deposits the process gives back, and lends what the process
// asks for, as the Go bucket does. The state is one hash: cfg (the
// configuration it was made with), tok (micro-tokens) and at (the
// server's microseconds at the last refill). A key that is not such a hash
// is an error, never overwritten; every call renews the key's expiry.
//
// KEYS[1]: the budget's key. ARGV: cfg, capacity, threshold, rate
// (micro-tokens per second), expiry (ms), deposit, need, want
// (micro-tokens). It returns {lent, tokens left} as strings (a Lua number
// returned as such would be cut to an integer).
var budgetScript = redis.NewScript(`
local cap, thr, rate = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, dep, need, want = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local h = redis.pcall('HMGET', KEYS[1], 'cfg', 'tok', 'at')
if h.err then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' is not a hash: ' .. h.err)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tok, at
if not h[1] then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' is a hash that redisretry did not make (no cfg field)')
  end
  tok, at = cap, now
elseif h[1] ~= ARGV[1] then
  return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' holds a budget configured otherwise (' .. h[1] .. ')')
else
  tok, at = tonumber(h[2]), tonumber(h[3])
  if not tok or not at or tok ~= tok or at ~= at or at == math.huge or at == -math.huge then
    return redis.error_reply('REDISRETRY ' .. KEYS[1] .. ' holds values that are not a budget (tok ' .. tostring(h[2]) .. ', at ' .. tostring(h[3]) .. ')')
  end
  tok = math.max(0, math.min(cap, tok))
end
if rate > 0 and now > at then tok = math.min(cap, tok + (now - at) * rate / 1e6) end
if now > at then at = now end
tok = math.min(cap, tok + dep)
local lent = 0
if need > 0 and tok - need >= thr then
  lent = math.floor(math.min(want, tok - thr))
  tok = tok - lent
end
redis.call('HSET', KEYS[1], 'cfg', ARGV[1], 'tok', string.format('%.17g', tok), 'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], ttl)
return {tostring(lent), string.format('%.17g', tok)}
`)

// exchange is one run of budgetScript.
type exchange struct {
	dep, need, want int64 // micro-tokens
}

// runBudget runs budgetScript for b and returns what it lent and what the
// shared budget holds after.
func runBudget(ctx context.Context, c redis.UniversalClient, b *budget, x exchange) (lent int64, left float64, err error) {
	r := b.rules
	v, err := budgetScript.Run(ctx, c, []string{b.key}, b.cfg,
		int64(r.capacity), int64(r.threshold), int64(r.rate), b.f.expire.Milliseconds(), x.dep, x.need, x.want).StringSlice()
	if err != nil {
		return 0, 0, err
	}
	if len(v) != 2 {
		return 0, 0, fmt.Errorf("redisretry: %s: the budget script answered %d values, want 2", b.key, len(v))
	}
	l, err1 := strconv.ParseFloat(v[0], 64)
	left, err2 := strconv.ParseFloat(v[1], 64)
	if err1 != nil || err2 != nil || l < 0 || l > float64(x.want) || math.IsNaN(left) {
		return 0, 0, fmt.Errorf("redisretry: %s: the budget script answered %q", b.key, v)
	}
	return int64(l), left, nil
}
