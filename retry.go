package retry

import (
	"context"
	"fmt"
	"time"
)

// Policy is a complete, validated retry configuration: limits, backoff
// strategy, jitter, classifiers and hooks, with the defaults for whatever
// its options left unset. Build one with [NewPolicy] and pass it to [Do] as
// an option; Do(ctx, op, p) does not allocate when op succeeds.
//
// A Policy is immutable and safe for concurrent use by any number of
// goroutines. The zero Policy is not valid: use NewPolicy; Do, NewPolicy
// and With reject it with an error wrapping ErrInvalidConfig.
type Policy struct {
	cfg config
}

func (*Policy) isOption() {}

// NewPolicy returns a policy built from the defaults and then opts, in
// order: 4 attempts, Exponential(100ms, 2) capped at 30s, FullJitter, every
// error retried except Permanent ones and the caller's own context ending,
// no elapsed limit and no attempt timeout. An invalid option returns an
// error wrapping ErrInvalidConfig.
func NewPolicy(opts ...Option) (*Policy, error) {
	p := &Policy{cfg: defaultConfig()}
	for _, o := range opts {
		p.cfg.apply(o)
	}
	p.cfg.settle()
	p.cfg.built = true
	if p.cfg.err != nil {
		return nil, p.cfg.err
	}
	return p, nil
}

// With returns a new policy: p's configuration with opts applied after it.
// p itself is unchanged. Use it to derive a per-call override from a
// client-level policy.
func (p *Policy) With(opts ...Option) (*Policy, error) {
	return NewPolicy(append([]Option{p}, opts...)...)
}

// maxSchedule is the most waits [Policy.Schedule] returns.
const maxSchedule = 10_000

// Schedule returns the waits p would choose before retries 1 to n of a call
// whose attempts all fail without hints, jitter included (drawn from p's
// random source); it ignores the attempt and elapsed limits. It is meant
// for showing a policy to a person, as the retry command's -dry-run does,
// so it returns at most 10,000 waits: a larger n is cut to that.
// A nil or zero Policy, which Do rejects, has no schedule: Schedule returns
// nil.
func (p *Policy) Schedule(n int) []time.Duration {
	if p == nil || !p.cfg.built {
		return nil
	}
	n = min(max(n, 0), maxSchedule)
	waits := make([]time.Duration, 0, n)
	var prev time.Duration
	for i := 1; i <= n; i++ {
		prev = p.cfg.wait(i, prev)
		waits = append(waits, prev)
	}
	return waits
}

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
	return do(ctx, op, cfg)
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

// do runs the whole loop, the first attempt included.
//
// The configuration is passed beside the loop, not stored in it: escape
// analysis does not tell fields apart, and the context leaks, so a config
// pointer kept in the loop would move an options-built config to the heap.
func do[T any](ctx context.Context, op func(context.Context) (T, error), cfg *config) (T, error) {
	var last T
	l := loop{ctx: ctx}
	if e := l.start(cfg, op == nil); e != nil {
		return last, e
	}
	if cfg.attemptTimeout > 0 {
		defer l.endAttempt() // an op that panics still has its context released
	}
	if cfg.observer != nil {
		defer l.unwound(cfg) // an op that panics still has its end observed
	}
	actx, e := l.begin(cfg)
	if e != nil {
		return last, e
	}
	var v T
	var err error
	if l.pr.held && l.pr.ticket.probe() {
		v, err = callProbe(cfg.breaker, cfg.rand, &l.pr, op, actx)
	} else {
		v, err = op(actx)
	}
	if err == nil {
		l.succeeded(cfg)
		return v, nil
	}
	return retryAfter(&l, cfg, op, v, err)
}

// retryAfter continues a call whose latest attempt returned (last, err),
// err != nil: it decides, waits and tries again until the loop ends.
func retryAfter[T any](l *loop, cfg *config, op func(context.Context) (T, error), last T, err error) (T, error) {
	for {
		if e := l.failed(cfg, err); e != nil {
			return last, e
		}
		actx, e := l.begin(cfg)
		if e != nil {
			return last, e
		}
		var v T
		var opErr error
		if l.pr.held && l.pr.ticket.probe() {
			v, opErr = callProbe(cfg.breaker, cfg.rand, &l.pr, op, actx)
		} else {
			v, opErr = op(actx)
		}
		if opErr == nil {
			l.succeeded(cfg)
			return v, nil
		}
		last, err = v, opErr
	}
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

// loop is the state of one call of Do: the engine's progress and what
// only a blocking driver needs, the timer and the attempt's context. It
// lives on Do's stack.
type loop struct {
	ctx    context.Context
	pr     Progress
	hint   time.Duration      // the latest attempt's hint, for the error of a cut-short wait
	timer  *time.Timer        // created on the first non-zero wait, then reused
	cancel context.CancelFunc // of the running attempt's context, if any
	actx   context.Context    // the running attempt's context, if any
	octx   context.Context    // with an observer: the context its AttemptStart returned
	// With an observer and a budget: the retry the budget granted has not
	// begun yet (1, or 2 at the timeout cost). If an admission
	// BreakerChange or AttemptStart hook panics before it begins, the
	// budget gets it back (see unwound), as when the notify hook panics.
	granted int8
}

// start validates the call, and admits its first attempt.
func (l *loop) start(cfg *config, nilOp bool) *Error {
	ctx := l.ctx
	switch {
	case cfg.err != nil:
		return &Error{Reason: cfg.err}
	case ctx == nil:
		return &Error{Reason: fmt.Errorf("%w: nil context", ErrInvalidConfig)}
	case nilOp:
		return &Error{Reason: fmt.Errorf("%w: nil operation", ErrInvalidConfig)}
	case ctx.Err() != nil:
		return cfg.ended(ctx, &l.pr, &Error{Reason: causeOf(ctx)}, &clock{})
	}
	var clk clock
	if cfg.maxElapsed > 0 || cfg.notify != nil || cfg.observer != nil {
		l.pr.Start = clk.now()
	}
	return l.admit(cfg, nil, &clk)
}

// admit asks the engine to admit the next attempt. last is the previous
// attempt's error, if any.
func (l *loop) admit(cfg *config, last error, clk *clock) *Error {
	if cfg.admit(&l.pr, clk) {
		if cfg.observer != nil && clk.changed {
			cfg.observeAdmitted(l.ctx, &l.pr, clk)
		}
		return nil
	}
	l.release()
	l.granted = 0 // a retry the breaker refused is not refunded
	return cfg.ended(l.ctx, &l.pr, l.pr.stop(last, ErrCircuitOpen, l.hint), clk)
}

// begin prepares the next attempt and returns the context to give op.
func (l *loop) begin(cfg *config) (context.Context, *Error) {
	l.pr.Attempts++
	if cfg.attemptTimeout <= 0 && cfg.observer == nil {
		return l.ctx, nil // kept small so that it inlines
	}
	return l.beginTimed(cfg)
}

// beginTimed gives the attempt the context of the observer's AttemptStart,
// if any, and its own context with the attempt timeout, if any.
func (l *loop) beginTimed(cfg *config) (context.Context, *Error) {
	ctx := l.ctx
	if cfg.observer != nil {
		clk := clock{}
		if l.pr.Attempts == 1 {
			clk = at(l.pr.Start) // the first attempt begins as the call starts
		}
		ctx = cfg.observeStart(ctx, &l.pr, &clk)
		l.octx = ctx
		l.granted = 0 // the retry has begun
	}
	if cfg.attemptTimeout <= 0 {
		return ctx, nil
	}
	l.actx, l.cancel = context.WithTimeout(ctx, cfg.attemptTimeout)
	return l.actx, nil
}

// unwound runs as a call with an observer unwinds. After a panic of an
// admission BreakerChange or AttemptStart hook on a retry, the budget gets
// back the retry it granted. When the operation (or a classifier) panicked
// while the attempt ran, its start was reported and its end was not,
// which no return leaves behind: unwound reports the end of the attempt
// and of the call. It does not recover: the panic goes on to the caller. A
// tracer's span is thus ended, with an error and the reason "panic" (see
// [ReasonOf]).
func (l *loop) unwound(c *config) {
	if l.granted != 0 {
		c.budget.refund(l.granted == 2)
		l.granted = 0
	}
	if !l.pr.started {
		return
	}
	l.pr.started = false
	e := &Error{Attempts: l.pr.Attempts, Reason: errPanicked}
	var clk clock
	if f := c.observer.AttemptEnd; f != nil {
		f(l.octx, AttemptEndInfo{Attempt: l.pr.Attempts, MaxAttempts: c.maxAttempts, Err: errPanicked,
			Duration: clk.now().Sub(l.pr.Start) - l.pr.began, Stop: e})
	}
	c.observeDone(l.octx, &l.pr, e, &clk)
}

// endAttempt releases the attempt's context and reports whether the
// attempt hit its own timeout (and not the caller's deadline).
func (l *loop) endAttempt() (timedOut bool) {
	if l.cancel == nil {
		return false
	}
	timedOut = l.actx.Err() != nil && l.ctx.Err() == nil
	l.cancel()
	l.cancel, l.actx = nil, nil
	return timedOut
}

func (l *loop) succeeded(cfg *config) {
	l.endAttempt()
	l.release()
	var clk clock
	cfg.succeeded(&l.pr, &clk)
	if cfg.observer != nil {
		cfg.observeSucceeded(l.octx, &l.pr, &clk)
	}
}

// failed hands the failed attempt to the engine: it returns the *Error that
// ends the call, or waits as the engine decided, admits the next attempt
// and returns nil.
func (l *loop) failed(c *config, err error) *Error {
	timedOut := l.cancel != nil && l.endAttempt()
	var clk clock
	wait, hint, e := c.decide(l.ctx, &l.pr, err, timedOut, &clk)
	if c.observer != nil {
		c.observeFailed(l.octx, &l.pr, err, wait, hint, e, timedOut, &clk)
		if e == nil && c.budget != nil {
			l.granted = 1
			if sig, _ := inspect(err); timedOut || sig != nil && sig.timedOut {
				l.granted = 2
			}
		}
	}
	if e != nil {
		l.release()
		return e
	}
	l.hint = hint
	if wait > 0 {
		var from time.Time // with an observer: when the wait began
		if c.observer != nil {
			from = clk.now()
		}
		if e := l.sleep(err, wait); e != nil {
			l.granted = 0 // a retry cut short is not refunded
			end := clock{}
			if c.observer != nil {
				// Done reports the part of the wait that was slept.
				slept := end.now().Sub(from)
				l.pr.waited -= max(wait-max(slept, 0), 0)
			}
			return c.ended(l.ctx, &l.pr, e, &end)
		}
		clk = clock{} // time has moved on
	}
	if c.breaker == nil {
		return nil
	}
	return l.admit(c, err, &clk)
}

// sleep waits d, cut short by the end of the caller's context. It uses at
// most one timer per call.
func (l *loop) sleep(err error, d time.Duration) *Error {
	if l.timer == nil {
		l.timer = time.NewTimer(d)
	} else {
		l.timer.Reset(d)
	}
	select {
	case <-l.timer.C:
		if l.ctx.Err() == nil { // both may be ready; cancellation wins
			return nil
		}
	case <-l.ctx.Done():
	}
	l.release()
	return l.pr.stop(err, causeOf(l.ctx), l.hint)
}

func (l *loop) release() {
	if l.timer != nil {
		l.timer.Stop()
	}
}

// callProbe calls op for an attempt that holds a half-open probe slot, and
// frees the slot if op panics: such an attempt counts as nothing. Without
// it, a panic would keep the slot taken, and a breaker with one probe would
// refuse every later attempt for good. Only probes pay for the deferred
// call. Do and [Breaker.Run] both call their probes through it.
func callProbe[T any](b *Breaker, rnd *lockedRand, pr *Progress, op func(context.Context) (T, error), ctx context.Context) (v T, err error) {
	returned := false
	defer func() {
		if !returned {
			var clk clock
			b.report(pr, outcomeNone, &clk, rnd)
		}
	}()
	v, err = op(ctx)
	returned = true
	return v, err
}
