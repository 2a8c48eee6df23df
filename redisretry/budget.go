package redisretry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retrykit/retry"
)

// A BudgetOption adjusts a budget made by [Fleet.Budget].
type BudgetOption func(*budgetOptions)

type budgetOptions struct {
	lease    float64
	fallback *retry.BudgetConfig
}

// Lease sets the most tokens a process holds of the shared budget, drawn
// from Redis when a retry finds it dry. A larger lease makes fewer round
// trips and lets the fleet overshoot the budget by more (see the package
// documentation). Default: a tenth of the capacity, and at least the cost
// of one retry (RetryCost and TimeoutCost).
func Lease(tokens float64) BudgetOption { return func(o *budgetOptions) { o.lease = tokens } }

// Fallback sets the budget each process uses while Redis cannot be: until
// Redis answers again, the process's retries draw on a budget of its own
// made from c. Default: the shared budget's configuration, so that each
// process alone is limited as the whole fleet is.
func Fallback(c retry.BudgetConfig) BudgetOption {
	return func(o *budgetOptions) { o.fallback = &c }
}

// budget is a shared budget: the source that lends tokens to one
// process's lease (a retry.Budget) from the budget in Redis.
type budget struct {
	f     *Fleet
	key   string
	cfg   string // the configuration, as Redis keeps it to detect another budget under the same key
	rules rules  // the shared budget's, in micro-tokens
	cheap int64  // the cheaper of the two costs of a retry, in micro-tokens
	h     health

	lease     *retry.Budget // this process's lease, whose surplus each exchange takes back
	pending   atomic.Int64  // micro-tokens taken back, for the next exchange
	dry       atomic.Bool   // Redis could not lend when last asked: no draw until an exchange says otherwise
	unchecked atomic.Bool   // no exchange has checked the key yet
	local     *bucket       // the budget of this process alone, while Redis cannot be used
}

// Budget returns a retry.Budget that holds this process's lease of the
// budget the fleet shares under name, configured by c: c's rules
// (capacity, deposits, refill, costs, threshold) apply to the whole fleet,
// atomically in Redis. Every process that shares the budget must give the
// same c.
//
// The returned Budget is this process's share: its Tokens and TokensAt
// report the tokens this process's lease holds (at most the [Lease]), not
// the tokens of the fleet's budget in Redis, and its Stats count this
// process's retries only.
//
// It asks Redis once, within Options.StartTimeout, to check the key: a key holding
// something else (another budget's configuration, a value of another type
// or that is not a budget) is an error. An unreachable Redis is not: the
// budget decides alone, and a Sharing event says so. It returns an error
// wrapping [retry.ErrInvalidConfig] when c or an option is invalid, or
// when the fleet already has a budget of that name.
func (f *Fleet) Budget(name string, c retry.BudgetConfig, opts ...BudgetOption) (*retry.Budget, error) {
	b, lease, err := f.newBudget(name, c, opts)
	if err != nil {
		return nil, fmt.Errorf("redisretry: Budget %q: %w", name, err)
	}
	if err := f.add("budget", name, b); err != nil {
		return nil, err
	}
	if err := f.check(b); err != nil {
		return nil, err // the exchange's error names the budget already
	}
	return lease, nil
}

// newBudget checks c and the options, and makes the shared budget and the
// lease it lends to.
func (f *Fleet) newBudget(name string, c retry.BudgetConfig, opts []BudgetOption) (*budget, *retry.Budget, error) {
	if err := checkName("the name", name, false); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", retry.ErrInvalidConfig, err)
	}
	if c.Source != nil {
		return nil, nil, fmt.Errorf("%w: BudgetConfig.Source is set: the fleet is the source", retry.ErrInvalidConfig)
	}
	if _, err := retry.NewBudget(c); err != nil {
		return nil, nil, err
	}
	if c.Capacity > maxShared || c.PerSecond > maxShared {
		return nil, nil, fmt.Errorf("%w: Capacity and PerSecond must be at most %g in a shared budget (Redis counts in doubles), got %v and %v",
			retry.ErrInvalidConfig, maxShared, c.Capacity, c.PerSecond)
	}
	var o budgetOptions
	for _, opt := range opts {
		opt(&o)
	}
	retryCost, timeoutCost := orOne(c.RetryCost), orOne(c.RetryCost)
	if c.TimeoutCost != 0 {
		timeoutCost = c.TimeoutCost
	}
	lease := o.lease
	if lease == 0 {
		lease = math.Max(c.Capacity/10, math.Max(retryCost, timeoutCost))
	}
	fb := c
	if o.fallback != nil {
		fb = *o.fallback
	}
	if _, err := retry.NewBudget(fb); err != nil || fb.Source != nil {
		return nil, nil, fmt.Errorf("%w: Fallback: %v", retry.ErrInvalidConfig, errors.Join(err, sourceSet(fb)))
	}
	b := &budget{
		f:     f,
		key:   key(f.prefix, name, "budget"),
		cfg:   fingerprint(c, retryCost, timeoutCost),
		rules: rules{capacity: toMicros(c.Capacity), threshold: toMicros(c.Threshold), rate: toMicros(c.PerSecond)},
		cheap: int64(toMicros(math.Min(retryCost, timeoutCost))),
		local: newBucket(rules{capacity: toMicros(fb.Capacity), threshold: toMicros(fb.Threshold), rate: toMicros(fb.PerSecond)}),
	}
	b.h = health{f: f, kind: "budget", name: name}
	b.unchecked.Store(true)
	leased, err := retry.NewBudget(retry.BudgetConfig{Capacity: lease, PerSuccess: c.PerSuccess,
		RetryCost: c.RetryCost, TimeoutCost: c.TimeoutCost, Source: b})
	if err != nil {
		return nil, nil, fmt.Errorf("Lease(%v): %w", lease, err)
	}
	b.lease = leased
	return b, leased, nil
}

// maxShared bounds a shared budget's capacity and refill, in tokens: Redis
// scripts count micro-tokens in doubles, exact below 2⁵³.
const maxShared = 1e9

func orOne(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

func sourceSet(c retry.BudgetConfig) error {
	if c.Source != nil {
		return errors.New("its Source is set")
	}
	return nil
}

// toMicros converts tokens (checked by retry.NewBudget: finite, not
// negative) to micro-tokens.
func toMicros(v float64) float64 { return math.Round(v * 1e6) }

// fingerprint is the configuration as the budget's key records it, with
// the costs' defaults filled in (retryCost and timeoutCost): processes
// that leave a default at zero and processes that write it out share the
// budget.
func fingerprint(c retry.BudgetConfig, retryCost, timeoutCost float64) string {
	return fmt.Sprintf("v1 capacity=%v per-success=%v per-second=%v retry-cost=%v timeout-cost=%v threshold=%v",
		c.Capacity, c.PerSuccess, c.PerSecond, retryCost, timeoutCost, c.Threshold)
}

func (b *budget) health() *health { return &b.h }

// Draw lends the lease what a retry needs: from Redis, in one exchange
// within Timeout; from the process's own budget while Redis cannot be
// used. It is called by the lease, one draw at a time.
func (b *budget) Draw(now time.Time, need, room float64) float64 {
	n, w := int64(math.Round(need*1e6)), int64(math.Round(room*1e6))
	if b.h.local() || b.f.isClosed() {
		lent, _ := b.local.lend(0, n, w, now.UnixMicro())
		return float64(lent) / 1e6
	}
	if b.dry.Load() {
		return 0
	}
	var lent int64
	var err error
	j := &job{}
	j.do = func(ctx context.Context) {
		var left float64
		lent, left, err = b.exchange(ctx, n, w)
		if err == nil {
			b.learn(left)
		}
	}
	j.late = func() {
		if err == nil {
			b.pending.Add(lent) // lent to no one: it goes back
		}
	}
	switch {
	case !b.f.ask(j):
		// A Close under way, or a first exchange of another limit within
		// StartTimeout, is no failure of Redis's: no event.
		if !b.f.isClosed() && !b.f.busy() {
			b.h.down(errLate(b.f.timeout))
		}
	case err != nil:
		b.h.down(err)
	default:
		return float64(lent) / 1e6
	}
	// Not lent and err belong to the job, which may still be running.
	own, _ := b.local.lend(0, n, w, now.UnixMicro())
	return float64(own) / 1e6
}

// collect takes back the lease's surplus (the deposits it could not
// hold): for the next exchange, or into the process's own budget while
// Redis cannot be used.
func (b *budget) collect() {
	n := int64(math.Round(b.lease.Surplus() * 1e6))
	switch {
	case n == 0:
	case b.h.local():
		b.local.lend(n, 0, 0, micros())
	default:
		b.pending.Add(n)
	}
}

// sync sends the pending deposits and learns whether Redis can lend; it
// asks Redis only when there is something to send or learn.
func (b *budget) sync(ctx context.Context) (bool, error) {
	b.collect()
	if !b.h.local() && b.pending.Load() == 0 && !b.dry.Load() && !b.unchecked.Load() {
		return false, nil
	}
	_, left, err := b.exchange(ctx, 0, 0)
	if err == nil {
		b.learn(left)
		b.unchecked.Store(false)
	}
	return true, err
}

// exchange sends the pending deposits with a draw of need (at least) to
// want micro-tokens. Deposits that Redis surely did not credit (it
// answered with an error) are kept for the next exchange; those of an
// exchange whose outcome is unknown (no answer) are dropped, so that none
// is credited twice.
func (b *budget) exchange(ctx context.Context, need, want int64) (int64, float64, error) {
	b.collect()
	dep := b.pending.Swap(0)
	lent, left, err := runBudget(ctx, b.f.client, b, exchange{dep: dep, need: need, want: want})
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			b.pending.Add(dep)
		}
		return 0, 0, fmt.Errorf("redisretry: budget %q: %w", b.h.name, err)
	}
	return lent, left, nil
}

// learn records what the shared budget holds after an exchange: whether a
// retry could draw on it.
func (b *budget) learn(left float64) {
	b.dry.Store(left-float64(b.cheap) < b.rules.threshold)
}

// isOurs reports whether err is one of the script's own errors: a key that
// holds something else than the limit it was asked about.
func isOurs(err error) bool { return redis.HasErrorPrefix(err, "REDISRETRY") }
