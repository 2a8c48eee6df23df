package dbx

import (
	"time"

	"github.com/retrykit/retry"
)

// The defaults of the helpers, stated in the package documentation:
// conflicts resolve in milliseconds, so the waits are short, and fully
// jittered so that the two sides of a conflict do not collide again.
const (
	// defaultMaxAttempts is the number of attempts of a helper call, the
	// first included.
	defaultMaxAttempts = 10
	// defaultInitial is the base delay before the first retry; it doubles
	// with each retry.
	defaultInitial = 2 * time.Millisecond
	// defaultMaxDelay caps each wait.
	defaultMaxDelay = 500 * time.Millisecond
	// rollbackTimeout bounds every rollback the helpers make: it runs
	// without the caller's cancellation, so that a cancelled call still
	// releases its connection, but not for ever against a server that does
	// not answer.
	rollbackTimeout = 5 * time.Second
)

// defaults is the policy every helper call starts from; immutable.
var defaults = mustPolicy(
	retry.WithMaxAttempts(defaultMaxAttempts),
	retry.WithBackoff(retry.Exponential(defaultInitial, 2)),
	retry.WithMaxDelay(defaultMaxDelay),
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
