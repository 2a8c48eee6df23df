package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// Fleet is the retry configuration of the simulated clients: a real
// [retry.Policy] and, optionally, the budget and breaker each client gets.
// The simulator makes its decisions (waits, classification, hints, attempt
// limits, budget withdrawals, breaker admissions) through the policy's
// decision engine ([retry.Policy.Begin], Failed and Succeeded), at virtual
// instants.
//
// The zero Fleet is not usable: Policy must be set.
type Fleet struct {
	// Policy is what every client retries with. Its random source is
	// replaced by one seeded from the run's seed, so that a run is
	// reproducible. Its attempt timeout (WithAttemptTimeout), which Do
	// enforces and the decision engine does not, has no effect here: the
	// scenario's own timeout ends attempts, and reports them to the policy
	// wrapped in [retry.TimedOut], so that a budget charges them
	// TimeoutCost. A budget or breaker Policy already carries (WithBudget,
	// WithBreaker) is shared by the whole fleet: one process whose calls
	// all draw on it.
	Policy *retry.Policy
	// Budget, when not nil, gives every client its own [retry.Budget] made
	// from this configuration (a fleet of processes, each with its own
	// budget), replacing one Policy carries.
	Budget *retry.BudgetConfig
	// Breaker, when not nil, gives every client its own [retry.Breaker]
	// made from this configuration, replacing one Policy carries.
	Breaker *retry.BreakerConfig
}

// client is one simulated client: the policy its calls run and what it
// owns for observation.
type client struct {
	p *retry.Policy
	// budget is the client's own budget, observed at virtual instants
	// with TokensAt; nil when it has none.
	budget *retry.Budget
	// breaker is the client's own breaker, observed at virtual instants
	// with StateAt; nil when it has none.
	breaker *retry.Breaker
}

// epoch is virtual time zero. Any instant works: the budget and the breaker
// measure time from the first instant they are given.
var epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// vt turns virtual nanoseconds into the instant the engine is given.
func vt(ns int64) time.Time { return epoch.Add(time.Duration(ns)) }

// bg is the context of every simulated call: nothing cancels one.
var bg = context.Background()

// clients builds n clients of f, all drawing their random numbers from r.
func (f Fleet) clients(n int, r *rand.Rand) ([]client, error) {
	if f.Policy == nil {
		return nil, fmt.Errorf("%w: sim: Fleet.Policy is nil", retry.ErrInvalidConfig)
	}
	shared, err := f.Policy.With(retry.WithRand(r))
	if err != nil {
		return nil, fmt.Errorf("sim: Fleet.Policy: %w", err)
	}
	cs := make([]client, n)
	for i := range cs {
		cs[i].p = shared
		if f.Budget == nil && f.Breaker == nil {
			continue
		}
		var opts []retry.Option
		if f.Budget != nil {
			b, err := retry.NewBudget(*f.Budget)
			if err != nil {
				return nil, fmt.Errorf("sim: Fleet.Budget: %w", err)
			}
			cs[i].budget = b
			opts = append(opts, retry.WithBudget(b))
		}
		if f.Breaker != nil {
			b, err := retry.NewBreaker(*f.Breaker)
			if err != nil {
				return nil, fmt.Errorf("sim: Fleet.Breaker: %w", err)
			}
			cs[i].breaker = b
			opts = append(opts, retry.WithBreaker(b))
		}
		if cs[i].p, err = shared.With(opts...); err != nil {
			return nil, fmt.Errorf("sim: Fleet: %w", err)
		}
	}
	return cs, nil
}

// fleetTokens sums the tokens the clients' own budgets hold at virtual
// instant now, time refill included; -1 when the clients have no budget of
// their own. TokensAt observes without changing the budget. The sum is
// rounded to the millionth of a token the budgets count in, so that float
// addition leaves no noise in the outputs.
func fleetTokens(cs []client, now int64) float64 {
	t := -1.0
	for i := range cs {
		if cs[i].budget != nil {
			t = max(t, 0) + cs[i].budget.TokensAt(vt(now))
		}
	}
	return math.Round(t*1e6) / 1e6
}

// fleetNotClosed counts the clients whose own breaker is not closed at
// virtual instant now: open, or half-open (it fails fast all but its
// probes). StateAt reports an open breaker whose recovery timeout has
// passed as half-open at once; both count alike here.
func fleetNotClosed(cs []client, now int64) int {
	n := 0
	for i := range cs {
		if cs[i].breaker != nil && cs[i].breaker.StateAt(vt(now)) != retry.BreakerClosed {
			n++
		}
	}
	return n
}

// fleetRefused sums the retries the clients' own budgets refused.
func fleetRefused(cs []client) int64 {
	var n uint64
	for i := range cs {
		if cs[i].budget != nil {
			n += cs[i].budget.Stats().Denied
		}
	}
	return int64(n)
}
