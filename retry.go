package retry

import "context"

// Do calls op until it succeeds or the policy gives up, and returns op's
// value. T is inferred from op.
//
// op receives ctx, or a child of it with a deadline when
// [WithAttemptTimeout] is set. Between attempts Do waits as the policy
// says; the wait is cut short when ctx ends. Do never sleeps after the last
// attempt and never starts a wait that would end at or after ctx's deadline
// or the [WithMaxElapsed] limit.
//
// On failure Do returns the last value op returned and an [*Error] that
// carries the number of attempts, op's last error and the reason the loop
// stopped. Invalid options, a nil ctx or a nil op return an error wrapping
// [ErrInvalidConfig] without calling op. A ctx that is already done also
// returns without calling op: an [*Error] with zero attempts whose reason is
// [context.Cause] of ctx.
//
// Do is safe to call from many goroutines with the same options or policy.
func Do[T any](ctx context.Context, op func(context.Context) (T, error), opts ...Option) (T, error) {
	cfg := policyConfig(opts)
	if cfg == nil {
		return doOptions(ctx, op, opts)
	}
	if cfg.isLean && ctx != nil && op != nil && ctx.Err() == nil {
		// The hot path: a prebuilt policy with nothing to set up before the
		// first attempt and nothing to record after a success but a
		// budget's deposit.
		v, err := op(ctx)
		if err == nil {
			if cfg.budget != nil {
				leanSucceeded(ctx, cfg)
			}
			return v, nil
		}
		l := loop{ctx: ctx, pr: Progress{Attempts: 1}}
		return retryAfter(&l, cfg, op, v, err)
	}
	return do(ctx, op, cfg)
}

// Run is [Do] for an operation without a result.
func Run(ctx context.Context, op func(context.Context) error, opts ...Option) error {
	if op == nil {
		_, err := Do[struct{}](ctx, nil, opts...)
		return err
	}
	_, err := Do(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	}, opts...)
	return err
}

// doOptions runs a call configured by options rather than by a lone policy.
// It is kept out of Do so that the hot path does not zero a config.
func doOptions[T any](ctx context.Context, op func(context.Context) (T, error), opts []Option) (T, error) {
	buf := defaultConfig()
	for _, o := range opts {
		buf.apply(o)
	}
	buf.settle()
	return do(ctx, op, &buf)
}

// policyConfig returns the configuration of a lone, non-nil *Policy among
// opts, or nil.
func policyConfig(opts []Option) *config {
	if len(opts) == 1 {
		if p, ok := opts[0].(*Policy); ok && p != nil && p.cfg.built {
			return &p.cfg
		}
	}
	return nil
}

// leanSucceeded takes the attempt step's succeeded for the first attempt
// of a lean call (see config.lean), which succeeded: with nothing but a
// budget, the budget's deposit. It is kept out of Do so that Do stays
// small.
func leanSucceeded(ctx context.Context, cfg *config) {
	pr := Progress{Attempts: 1}
	var clk clock
	cfg.succeeded(ctx, &pr, &clk)
}

// DoHedged is [Do] for a policy that hedges ([WithHedge],
// [WithAdaptiveHedge]): op may run on several goroutines at once, each
// copy with a context of its own; see the "Hedging" section of the
// package documentation. With a policy that does not hedge it is Do.
//
// [Do] and [Run] refuse a policy that hedges, with an error wrapping
// [ErrInvalidConfig]: their op never leaves the caller's goroutine, so
// that a func literal passed to them is not allocated. DoHedged's op may
// run on other goroutines, so a func literal that captures variables is
// allocated by its caller (one or two allocations); a func declared at
// package level, or a func value made once, costs nothing.
func DoHedged[T any](ctx context.Context, op func(context.Context) (T, error), opts ...Option) (T, error) {
	if cfg := policyConfig(opts); cfg != nil {
		return doHedged(ctx, op, cfg)
	}
	buf := defaultConfig()
	for _, o := range opts {
		buf.apply(o)
	}
	buf.settle()
	return doHedged(ctx, op, &buf)
}

// RunHedged is [DoHedged] for an operation without a result.
func RunHedged(ctx context.Context, op func(context.Context) error, opts ...Option) error {
	if op == nil {
		_, err := DoHedged[struct{}](ctx, nil, opts...)
		return err
	}
	_, err := DoHedged(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	}, opts...)
	return err
}
