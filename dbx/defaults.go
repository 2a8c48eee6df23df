package dbx

import (
	"time"

	"github.com/retrykit/retry"
)

// The defaults of the helpers: conflicts resolve in milliseconds, so the
// waits are short, and fully jittered so that the two sides of a conflict
// do not collide again.
const (
	// DefaultMaxAttempts is the number of attempts of a helper call, the
	// first included.
	DefaultMaxAttempts = 10
	// DefaultInitial is the base delay before the first retry; it doubles
	// with each retry.
	DefaultInitial = 2 * time.Millisecond
	// DefaultMaxDelay caps each wait.
	DefaultMaxDelay = 500 * time.Millisecond
)

// defaults is the policy every helper call starts from; immutable.
var defaults = mustPolicy(
	retry.WithMaxAttempts(DefaultMaxAttempts),
	retry.WithBackoff(retry.Exponential(DefaultInitial, 2)),
	retry.WithMaxDelay(DefaultMaxDelay),
	retry.WithJitter(retry.FullJitter),
)

// defaultOptions is the options of a call that sets none; never modified.
var defaultOptions = []retry.Option{defaults}

func mustPolicy(opts ...retry.Option) *retry.Policy {
	p, err := retry.NewPolicy(opts...)
	if err != nil {
		panic(err) // the options above are constants
	}
	return p
}

// options returns the options of a call: the defaults, then the caller's.
func options(ropts []retry.Option) []retry.Option {
	if len(ropts) == 0 {
		return defaultOptions
	}
	return append([]retry.Option{defaults}, ropts...)
}
