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
		// first attempt and nothing to record after a success.
		v, err := op(ctx)
		if err == nil {
			return v, nil
		}
		l := loop{ctx: ctx, pr: Progress{Attempts: 1}}
		return retryAfter(&l, cfg, op, v, err)
	}
	return doPolicy(ctx, op, cfg)
}

// doPolicy runs a call of a prebuilt policy off the hot path: hedged, or
// by Do's loop. It is kept out of line so that the choice costs Do's hot
// path nothing (inlined, it changed Do's register allocation).
//
//go:noinline
func doPolicy[T any](ctx context.Context, op func(context.Context) (T, error), cfg *config) (T, error) {
	if cfg.hedge.on() {
		return doHedged(ctx, op, cfg)
	}
	return do(ctx, op, cfg)
}

// Run is [Do] for an operation without a result.
//
// It dispatches as Do does, but hands a hedged call op itself, not the
// adapter that gives op a result: the adapter never leaves Run's frame,
// so Run with a prebuilt policy that does not hedge allocates nothing.
func Run(ctx context.Context, op func(context.Context) error, opts ...Option) error {
	if op == nil {
		_, err := Do[struct{}](ctx, nil, opts...)
		return err
	}
	unit := func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	}
	cfg := policyConfig(opts)
	switch {
	case cfg == nil:
		return runOptions(ctx, op, unit, opts)
	case cfg.isLean && ctx != nil && ctx.Err() == nil:
		err := op(ctx)
		if err == nil {
			return nil
		}
		l := loop{ctx: ctx, pr: Progress{Attempts: 1}}
		_, err = retryAfter(&l, cfg, unit, struct{}{}, err)
		return err
	case cfg.hedge.on():
		return runHedged(ctx, op, cfg)
	}
	_, err := do(ctx, unit, cfg)
	return err
}

// runOptions is doOptions for Run.
func runOptions(ctx context.Context, op func(context.Context) error, unit func(context.Context) (struct{}, error), opts []Option) error {
	buf := defaultConfig()
	for _, o := range opts {
		buf.apply(o)
	}
	buf.settle()
	if buf.hedge.on() {
		return runHedged(ctx, op, &buf)
	}
	_, err := do(ctx, unit, &buf)
	return err
}

// runHedged is a hedged call of Run: its copies need op on the heap.
func runHedged(ctx context.Context, op func(context.Context) error, cfg *config) error {
	_, err := doHedged(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	}, cfg)
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
	if buf.hedge.on() {
		return doHedged(ctx, op, &buf)
	}
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
