package retry

import (
	"fmt"
	"math"
)

// BudgetConfig configures a [Budget]. Amounts are in tokens, a unit of
// retry; the resolution is one millionth of a token. A zero field takes the
// default stated beside it.
//
// A common client budget is BudgetConfig{Capacity: 10, PerSuccess: 1}: a
// burst of failures can make at most 10 retries in all, and every call
// that succeeds earns one retry back.
type BudgetConfig struct {
	// Capacity is the size of the bucket: the number of retries a burst of
	// failures can make before the budget runs dry. It must be > 0 (and at
	// most 1e12). The bucket starts full.
	Capacity float64
	// PerSuccess is deposited by every call of Do that ends in success.
	// 0 (the default) deposits nothing.
	PerSuccess float64
	// PerSecond refills the bucket with time, in tokens per second,
	// computed lazily when the budget is used. 0 (the default) means no
	// time refill, and the budget then never reads the clock.
	PerSecond float64
	// RetryCost is withdrawn for each retry. Default 1.
	RetryCost float64
	// TimeoutCost is withdrawn instead of RetryCost when the attempt being
	// retried hit its own [WithAttemptTimeout], so that timeouts, which hold
	// resources on the server for longest, can cost more. Default RetryCost.
	TimeoutCost float64
	// Threshold is the floor a withdrawal must not cross: a retry is granted
	// only if the tokens left after paying its cost are at or above
	// Threshold. Default 0. It must be below Capacity.
	//
	// Capacity/2 keeps half the bucket for when the dependency recovers.
	// gRPC's retry throttling (gRFC A6) is one retry stricter: grpc-go
	// retries only while the tokens left are above half, so from a full
	// bucket of 10 it makes 4 retries where Threshold 5 allows 5. Threshold
	// Capacity/2 + 1e-6 (the resolution) reproduces it exactly.
	Threshold float64

	// Source, when not nil, makes the budget a lease of a larger budget
	// that the source lends from, such as one shared by a fleet of
	// processes: the budget starts empty, holds at most Capacity, draws on
	// the source when a retry finds it dry and keeps the deposits it cannot
	// hold for the source to take back ([Budget.Surplus]); see
	// [BudgetSource]. Threshold and PerSecond must then be 0. Default nil:
	// the budget is the whole budget.
	Source BudgetSource
}

const (
	microsPerToken = 1_000_000
	maxBudgetValue = 1e12 // tokens (or tokens per second); keeps micro-tokens far from overflow
)

// NewBudget returns a full budget configured by c, or an error wrapping
// [ErrInvalidConfig] when a value is negative, NaN or infinite, when
// Capacity is not positive, when Threshold is not below Capacity, or when a
// retry could never be granted (a cost above Capacity − Threshold).
func NewBudget(c BudgetConfig) (*Budget, error) {
	if c.RetryCost == 0 {
		c.RetryCost = 1
	}
	if c.TimeoutCost == 0 {
		c.TimeoutCost = c.RetryCost
	}
	b := &Budget{}
	var rate int64
	for _, f := range [...]struct {
		name string
		v    float64
		dst  *int64
	}{
		{"Capacity", c.Capacity, &b.capacity},
		{"PerSuccess", c.PerSuccess, &b.perSuccess},
		{"PerSecond", c.PerSecond, &rate},
		{"RetryCost", c.RetryCost, &b.retryCost},
		{"TimeoutCost", c.TimeoutCost, &b.timeoutCost},
		{"Threshold", c.Threshold, &b.threshold},
	} {
		m, err := toMicros(f.name, f.v)
		if err != nil {
			return nil, err
		}
		*f.dst = m
	}
	switch {
	case b.capacity == 0:
		return nil, budgetError("Capacity must be > 0, got %v", c.Capacity)
	case b.threshold >= b.capacity:
		return nil, budgetError("Threshold (%v) must be below Capacity (%v)", c.Threshold, c.Capacity)
	case max(b.retryCost, b.timeoutCost) > b.capacity-b.threshold:
		return nil, budgetError("RetryCost (%v) and TimeoutCost (%v) must not exceed Capacity - Threshold (%v): no retry could ever be granted",
			c.RetryCost, c.TimeoutCost, c.Capacity-c.Threshold)
	}
	b.rate = uint64(rate)
	if c.Source != nil {
		if b.threshold != 0 || b.rate != 0 {
			return nil, budgetError("Threshold (%v) and PerSecond (%v) must be 0 with a Source, which applies them to the tokens it lends",
				c.Threshold, c.PerSecond)
		}
		b.link = &budgetLink{src: c.Source}
		return b, nil // a lease starts empty
	}
	b.tokens.Store(b.capacity)
	return b, nil
}

// toMicros converts a non-negative, finite amount of tokens to micro-tokens.
func toMicros(name string, v float64) (int64, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, budgetError("%s must be finite, got %v", name, v)
	case v < 0:
		return 0, budgetError("%s must not be negative, got %v", name, v)
	case v > maxBudgetValue:
		return 0, budgetError("%s must be at most %g, got %v", name, maxBudgetValue, v)
	}
	m := int64(math.Round(v * microsPerToken))
	if m == 0 && v > 0 {
		return 0, budgetError("%s (%v) is below the resolution of 1e-6 tokens", name, v)
	}
	return m, nil
}

func budgetError(format string, args ...any) error {
	return fmt.Errorf("%w: BudgetConfig: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
