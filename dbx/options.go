package dbx

import (
	"context"
	"fmt"
	"slices"
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

type optionsKey struct{}

// contextOptions is what WithOptions puts on a context.
type contextOptions struct {
	opts []retry.Option
	err  error // WithOptions was called with a nil context
}

// WithOptions returns a copy of ctx carrying retry options for the helper
// calls made with it: [Exec], [Query] and the statement helpers of the
// nested modules, whose variadic arguments are the statement's, take
// their options this way; [InTx], [Transact] and [Statement] apply them
// too. They apply after dbx's defaults and before the options passed to
// the call itself; calls nest, the options of an inner WithOptions
// applying after those of an outer one:
//
//	ctx = dbx.WithOptions(ctx, retry.WithMaxAttempts(3))
//	res, err := dbx.Exec(ctx, db, `UPDATE stock SET n = n - $1 WHERE id = $2`, 1, id)
//
// Invalid options fail the call with an error wrapping
// [retry.ErrInvalidConfig] before anything is sent. A nil ctx does not
// panic: the returned context (a child of [context.Background]) fails
// every helper call made with it in the same way.
func WithOptions(ctx context.Context, opts ...retry.Option) context.Context {
	if ctx == nil {
		return context.WithValue(context.Background(), optionsKey{}, contextOptions{
			err: fmt.Errorf("%w: dbx.WithOptions: nil context", retry.ErrInvalidConfig)})
	}
	prev := fromContext(ctx)
	prev.opts = append(slices.Clip(prev.opts), opts...)
	return context.WithValue(ctx, optionsKey{}, prev)
}

func fromContext(ctx context.Context) contextOptions {
	o, _ := ctx.Value(optionsKey{}).(contextOptions)
	return o
}

// options returns the options of a call: the defaults, then ctx's (see
// WithOptions), then the call's own; or the error of a context made by
// WithOptions from a nil one. A nil ctx is left to the core loop, which
// reports it.
func options(ctx context.Context, ropts []retry.Option) ([]retry.Option, error) {
	var co contextOptions
	if ctx != nil {
		co = fromContext(ctx)
	}
	switch {
	case co.err != nil:
		return nil, &retry.Error{Reason: co.err}
	case len(co.opts) == 0 && len(ropts) == 0:
		return defaultOptions, nil
	}
	return slices.Concat([]retry.Option{defaults}, co.opts, ropts), nil
}
