package retry

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// The decision engine: what happens after each attempt, as a function of
// the attempt's error and an explicit instant. [Do] drives it with the wall
// clock and sleeps; a caller that schedules retries itself (a queue, an
// event loop, a durable job, a simulator in virtual time) drives it through
// [Policy.Begin], [Policy.Failed] and [Policy.Succeeded]. Nothing here
// sleeps, starts a goroutine, or reads the clock unless Do asks it to.

// Progress is the state of one call between its attempts: how many have
// run, when the first began, and the previous wait (which
// [DecorrelatedJitter] grows from). It is what a caller that schedules
// retries itself stores with the work (a message header, a database row)
// and hands back to the policy; see [Policy.Failed].
//
// The zero Progress is a call that has not begun. Progress is a small value,
// passed and returned by value. It round-trips through encoding/json and
// through [Progress.MarshalBinary], with the sum of the waits so far that
// an observer's Done reports (see [DoneInfo].Waited); what neither keeps
// is the breaker's admission of a running attempt, which lives only
// between [Policy.Begin] and Failed or Succeeded: store the Progress a
// [Verdict] returns.
type Progress struct {
	// Attempts is the number of attempts begun so far.
	Attempts int `json:"attempts"`
	// Start is when the first attempt began; the elapsed limit
	// ([WithMaxElapsed]) is measured from it. Zero before the first.
	Start time.Time `json:"start"`
	// Prev is the wait chosen before the latest attempt (0 before the
	// second), from which DecorrelatedJitter draws the next.
	Prev time.Duration `json:"prev"`

	ticket ticket // the breaker's admission of the running attempt
	held   bool   // ticket is a live admission to report

	// For an observer (see Observer): when the running attempt began,
	// since Start, and the sum of the waits decided so far.
	began, waited time.Duration
	// started: the observer saw the running attempt start (AttemptStart
	// returned), so its end is reported; an attempt reported to Failed
	// without Begin has no AttemptEnd.
	started bool
}

// Verdict is the decision [Policy.Failed] took after a failed attempt: retry
// after Wait, or stop with Err.
type Verdict struct {
	// Next is the progress to store and hand to the next [Policy.Begin].
	Next Progress
	// Wait is how long to wait before the next attempt, when Err is nil:
	// run it at now + Wait.
	Wait time.Duration
	// Hint is the delay the attempt asked for through [After] (or a
	// Retry-After header in httpx), or 0 when it asked for none. Wait is
	// then the hint plus the policy's spread (see After).
	Hint time.Duration
	// Err is nil when the call should be retried; otherwise the call is
	// over and Err is the [*Error] that [Do] would return (Attempts, Last,
	// Reason, RetryAfter).
	Err error
}

// Begin asks for admission of the next attempt of a call at now, and
// returns the context to give the attempt and the progress to hand back to
// [Policy.Failed] or [Policy.Succeeded] when it ends. It counts the attempt
// and, for the first, records now as the call's start. With a breaker (see
// [WithBreaker]) the breaker decides at now; a refusal returns an [*Error]
// with reason [ErrCircuitOpen], and the call is over (its Last is nil: the
// engine keeps no errors; the previous attempt's error is yours). The
// engine applies no attempt timeout: the context is ctx.
//
// Every attempt Begin admits must be reported exactly once, by Failed or
// Succeeded, with the Progress Begin returned: a breaker's half-open probe
// holds a slot until then. An attempt whose outcome you will never know
// (your handler panicked, the process is stopping) is reported by Failed
// with a context that is done, which counts it as nothing. A Progress that
// still holds an admission is not admitted again.
//
// A context that is already done returns an *Error whose reason is
// [context.Cause] of ctx. A nil ctx, a zero now, an invalid Progress
// (negative fields, a count at its largest), or a nil or zero policy return
// an error wrapping [ErrInvalidConfig]. Begin reads no clock, never
// sleeps, and is safe for concurrent use with distinct Progress values.
func (p *Policy) Begin(ctx context.Context, pr Progress, now time.Time) (context.Context, Progress, error) {
	if e := p.check(ctx, pr, now); e != nil {
		return ctx, pr, e
	}
	if pr.held {
		return ctx, pr, pr.invalid("Begin on a Progress whose attempt was not reported (Failed or Succeeded)")
	}
	clk := at(now)
	if ctx.Err() != nil {
		return ctx, pr, p.cfg.ended(ctx, &pr, &Error{Attempts: pr.Attempts, Reason: causeOf(ctx)}, &clk)
	}
	if !p.cfg.admit(&pr, &clk) {
		return ctx, pr, p.cfg.ended(ctx, &pr, &Error{Attempts: pr.Attempts, Reason: ErrCircuitOpen}, &clk)
	}
	if pr.Attempts == 0 || pr.Start.IsZero() {
		pr.Start = now
	}
	pr.Attempts++
	if p.cfg.observer != nil {
		ctx = p.cfg.observeStart(ctx, &pr, &clk)
	}
	return ctx, pr, nil
}

// Failed reports that the attempt admitted by [Policy.Begin] failed with err
// at now, and decides what comes next exactly as [Do] would: the
// operation's own signals ([Permanent], [After], [TimedOut]) and the
// classifiers, the attempt limit, a hint against the maximum delay, the
// wait (strategy, cap, jitter, decorrelated from pr.Prev), the deadline of
// ctx and the elapsed limit measured from pr.Start, the budget; it records
// the outcome in the breaker, and calls the [WithNotify] hook before a
// retry. ctx is the one Begin returned (an observer's AttemptStart may have
// given it values of its own, such as a span that AttemptEnd ends): once it
// is done, the call is over with reason [context.Cause] of ctx, and the
// attempt counts as nothing.
//
// The engine applies no attempt timeout ([WithAttemptTimeout] is Do's): an
// attempt that hit a timeout of your own is reported as [TimedOut](err),
// and is then retried as Do retries an attempt that hit its attempt
// timeout, at the budget's TimeoutCost. An attempt that was not admitted by
// Begin is counted, but a breaker never hears of it, nor an observer's
// AttemptEnd (it never saw it start).
//
// A nil err, a nil ctx, a zero now, an invalid Progress, or a nil or zero
// policy end the call with an error wrapping [ErrInvalidConfig] (an
// admission the Progress holds is released, counting as nothing).
func (p *Policy) Failed(ctx context.Context, pr Progress, err error, now time.Time) Verdict {
	e := p.check(ctx, pr, now)
	if e == nil && err == nil {
		e = pr.invalid("Failed with a nil error (a success is reported with Succeeded)")
	}
	if e != nil {
		if p != nil && p.cfg.built {
			var clk clock // a release reads no time; a bad now is never used
			p.cfg.report(&pr, outcomeNone, &clk)
		}
		return Verdict{Next: pr, Err: e}
	}
	clk := at(now)
	if pr.Attempts == 0 {
		pr.Attempts, pr.Start = 1, now // an attempt that failed without Begin
	}
	wait, hint, stop := p.cfg.decide(ctx, &pr, err, false, &clk)
	if p.cfg.observer != nil {
		p.cfg.observeFailed(ctx, &pr, err, wait, hint, stop, false, &clk)
	}
	v := Verdict{Next: pr, Wait: wait, Hint: hint}
	if stop != nil {
		v.Err = stop
	}
	return v
}

// Succeeded reports that the attempt admitted by [Policy.Begin] succeeded at
// now: the budget receives its deposit and the breaker records a success.
// ctx is the one Begin returned, which an observer's AttemptStart may have
// given values of its own (a span), as for [Policy.Failed].
// A nil ctx, a zero now, an invalid Progress, or a nil or zero policy
// return an error wrapping [ErrInvalidConfig] and record nothing.
func (p *Policy) Succeeded(ctx context.Context, pr Progress, now time.Time) error {
	if e := p.check(ctx, pr, now); e != nil {
		return e
	}
	clk := at(now)
	p.cfg.succeeded(&pr, &clk)
	if p.cfg.observer != nil {
		p.cfg.observeSucceeded(ctx, &pr, &clk)
	}
	return nil
}

// check reports why p cannot decide for a call with ctx and pr at now, if
// it cannot.
func (p *Policy) check(ctx context.Context, pr Progress, now time.Time) *Error {
	switch {
	case p == nil || !p.cfg.built:
		return pr.invalid("a nil or zero *Policy (use NewPolicy)")
	case p.cfg.err != nil:
		return &Error{Attempts: pr.Attempts, Reason: p.cfg.err}
	case ctx == nil:
		return pr.invalid("nil context")
	case now.IsZero():
		return pr.invalid("a zero time (pass time.Now() or your clock's instant)")
	case pr.Attempts < 0 || pr.Attempts == math.MaxInt || pr.Prev < 0:
		return pr.invalid(fmt.Sprintf("invalid Progress (Attempts %d, Prev %v)", pr.Attempts, pr.Prev))
	}
	return nil
}

// invalid is the error of a call of the engine with bad input.
func (pr *Progress) invalid(what string) *Error {
	return &Error{Attempts: max(pr.Attempts, 0), Reason: fmt.Errorf("%w: %s", ErrInvalidConfig, what)}
}

// admit asks the breaker, if any, to admit the next attempt at clk.
func (c *config) admit(pr *Progress, clk *clock) bool {
	return c.breaker == nil || c.breaker.admit(pr, clk)
}

// report tells the breaker that admitted the attempt, if any, its outcome.
func (c *config) report(pr *Progress, o outcome, clk *clock) {
	if pr.held {
		c.breaker.report(pr, o, clk, c.rand)
	}
}

// succeeded records a successful attempt: the breaker's success and the
// budget's deposit.
func (c *config) succeeded(pr *Progress, clk *clock) {
	if c.breaker != nil {
		c.report(pr, outcomeSuccess, clk)
	}
	if c.budget != nil {
		c.budget.deposit()
	}
}

// judge is the rule, written once, for what an attempt's error means. The
// operation's own signal decides first: [Permanent] stops, [After] retries
// with its hint, [TimedOut] retries; then an attempt that hit its own
// timeout is retried; then
// the classifier chain, the error's Retryable() method, and the default:
// retry. terminal reports a stop; it also means that the dependency
// answered, which the breaker counts as a success, unless the signal is
// [NotIdempotent].
func judge(ch chain, err error, timedOut bool) (sig *signal, terminal bool) {
	sig, self := inspect(err)
	switch {
	case sig != nil:
		return sig, sig.permanent
	case timedOut:
		return nil, false
	case ch.empty():
		return nil, self == Terminal
	}
	return nil, classify(ch, err, self) != Retryable
}

// breakerOutcome is what a judged error tells the breaker: a stop means
// the dependency answered, unless the operation said the failure is only
// unsafe to retry ([NotIdempotent]).
func breakerOutcome(sig *signal, terminal bool) outcome {
	if terminal && (sig == nil || !sig.notIdempotent) {
		return outcomeSuccess
	}
	return outcomeFailure
}

// decide is the decision after an attempt failed with err at clk: it
// returns the wait before the next attempt and the attempt's hint, or the
// *Error that ends the call. timedOut says the attempt hit the policy's own
// attempt timeout. It updates pr (the previous wait, the breaker
// admission), records the outcome in the breaker, withdraws from the budget
// and calls the notify hook.
func (c *config) decide(ctx context.Context, pr *Progress, err error, timedOut bool, clk *clock) (wait, hint time.Duration, stop *Error) {
	if ctx.Err() != nil {
		c.report(pr, outcomeNone, clk)
		return 0, 0, pr.stop(err, causeOf(ctx), 0)
	}
	var sig *signal
	var terminal bool
	if pr.held {
		sig, terminal = c.judgeAttempt(pr, err, timedOut, clk)
	} else {
		sig, terminal = judge(c.classifiers, err, timedOut)
	}
	hinted := sig != nil && sig.hinted
	if hinted {
		hint = sig.hint
	}
	timedOut = timedOut || sig != nil && sig.timedOut
	switch {
	case terminal && sig != nil && sig.notIdempotent:
		return 0, 0, pr.stop(err, ErrNotIdempotent, 0)
	case terminal:
		return 0, 0, pr.stop(err, ErrPermanent, 0)
	case c.maxAttempts > 0 && pr.Attempts >= c.maxAttempts:
		return 0, hint, pr.stop(err, ErrExhausted, hint)
	case c.instant && !hinted:
		pr.Prev = 0 // a zero wait, no limit on time, no budget, no hook
		return 0, 0, nil
	}
	wait, stop = c.nextWait(ctx, pr, err, hinted, hint, clk)
	if stop != nil {
		return 0, hint, stop
	}
	if c.budget != nil && !c.budget.withdraw(timedOut, clk) {
		return 0, hint, pr.stop(err, ErrBudgetExhausted, hint)
	}
	if c.notify != nil {
		c.notifyRetry(ctx, c.retryInfo(pr, err, wait, hint, clk), timedOut)
	}
	return wait, hint, nil
}

// judgeAttempt judges err and reports the outcome to the breaker that
// admitted the attempt.
func (c *config) judgeAttempt(pr *Progress, err error, timedOut bool, clk *clock) (sig *signal, terminal bool) {
	if pr.ticket.probe() {
		return c.judgeProbe(pr, err, timedOut, clk)
	}
	sig, terminal = judge(c.classifiers, err, timedOut)
	c.report(pr, breakerOutcome(sig, terminal), clk)
	return sig, terminal
}

// judgeProbe is judgeAttempt for a half-open probe: if a classifier or a
// Retryable method panics, the probe's slot is freed (the attempt counts as
// nothing), or the breaker would refuse every later attempt for good.
func (c *config) judgeProbe(pr *Progress, err error, timedOut bool, clk *clock) (sig *signal, terminal bool) {
	o := outcomeNone
	defer func() { c.report(pr, o, clk) }()
	sig, terminal = judge(c.classifiers, err, timedOut)
	o = breakerOutcome(sig, terminal)
	return sig, terminal
}

// notifyRetry calls the notify hook; if it panics, the budget gets back the
// retry it granted, since that retry will not happen.
func (c *config) notifyRetry(ctx context.Context, a RetryInfo, timedOut bool) {
	if c.budget == nil {
		c.notify(ctx, a)
		return
	}
	called := false
	defer func() {
		if !called {
			c.budget.refund(timedOut)
		}
	}()
	c.notify(ctx, a)
	called = true
}

// nextWait chooses the wait before the next attempt and checks it against
// the maximum delay, the context's deadline and the elapsed limit.
func (c *config) nextWait(ctx context.Context, pr *Progress, err error, hinted bool, hint time.Duration, clk *clock) (time.Duration, *Error) {
	var wait time.Duration
	switch {
	case hinted:
		if c.maxDelay > 0 && hint > c.maxDelay {
			return 0, pr.stop(err, ErrHintTooLong, hint)
		}
		wait = c.hintWait(pr.Attempts, hint)
	case c.zeroWaits:
		pr.Prev = 0
		if c.maxElapsed == 0 {
			return 0, nil
		}
		return 0, c.checkElapsed(pr, err, clk)
	default:
		wait = c.wait(pr.Attempts, pr.Prev)
	}
	pr.Prev = wait
	if wait > 0 {
		if deadline, ok := ctx.Deadline(); ok && deadline.Sub(clk.now()) <= wait {
			return 0, pr.stop(err, context.DeadlineExceeded, hint)
		}
	}
	if c.maxElapsed > 0 && satAdd(int64(clk.now().Sub(pr.Start)), int64(wait)) >= int64(c.maxElapsed) {
		return 0, pr.stop(err, ErrMaxElapsed, hint)
	}
	return wait, nil
}

// checkElapsed is nextWait for a zero wait without a hint: only the elapsed
// limit can stop the call.
func (c *config) checkElapsed(pr *Progress, err error, clk *clock) *Error {
	if clk.now().Sub(pr.Start) >= c.maxElapsed {
		return pr.stop(err, ErrMaxElapsed, 0)
	}
	return nil
}

// stop builds the error that ends the call. It is kept out of line: inlined
// at each of its calls it would bloat the decision's hot path.
//
//go:noinline
func (pr *Progress) stop(last, reason error, hint time.Duration) *Error {
	return &Error{Attempts: pr.Attempts, Last: strip(last), Reason: reason, RetryAfter: hint}
}

// limit is the maximum delay, or the largest duration when there is none.
func (c *config) limit() time.Duration {
	if c.maxDelay > 0 {
		return c.maxDelay
	}
	return maxDuration
}

// base returns the strategy's delay for retry n, capped, never negative.
func (c *config) base(n int) time.Duration {
	var d time.Duration
	if c.strategy == nil {
		d = exponential{DefaultInitial, DefaultMultiplier}.Delay(n)
	} else {
		d = c.strategy.Delay(n)
	}
	return min(max(d, 0), c.limit())
}

// wait returns the jittered wait before retry n, given the previous wait.
func (c *config) wait(n int, prev time.Duration) time.Duration {
	base := c.base(n)
	if base == 0 && c.jitter != DecorrelatedJitter {
		return 0 // every other mode maps a zero base to a zero wait
	}
	first := base
	if n != 1 && c.jitter == DecorrelatedJitter {
		first = c.base(1)
	}
	if n == 1 {
		prev = first
	}
	return c.jitter.apply(c.rand, base, prev, first, c.limit())
}

// hintWait returns the wait for a server hint: the hint plus a full-jitter
// spread of retry n's base delay, or exactly the hint.
func (c *config) hintWait(n int, hint time.Duration) time.Duration {
	if c.exactHints || c.jitter == NoJitter {
		return hint
	}
	spread := c.rand.between(0, c.base(n))
	return min(time.Duration(satAdd(int64(hint), int64(spread))), max(c.limit(), hint))
}

// progressVersion leads the binary form of a Progress: version 2 adds the
// sum of the waits after the previous wait; version 1, without it, is
// still read.
const progressVersion = 2

// MarshalBinary encodes the progress (not the breaker admission of a
// running attempt) in a compact form that [Progress.UnmarshalBinary] reads.
func (p Progress) MarshalBinary() ([]byte, error) {
	t, err := p.Start.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("retry: Progress.MarshalBinary: %w", err)
	}
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(t))
	b = append(b, progressVersion)
	b = binary.AppendVarint(b, int64(p.Attempts))
	b = binary.AppendVarint(b, int64(p.Prev))
	b = binary.AppendVarint(b, int64(p.waited))
	return append(b, t...), nil
}

// UnmarshalBinary decodes what [Progress.MarshalBinary] encoded, in this
// release or the previous one (which did not keep the sum of the waits an
// observer's Done reports: it restarts from 0). Malformed input (a wrong
// version, truncated or negative counts, a bad time) returns an error and
// leaves p unchanged.
func (p *Progress) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || (b[0] != 1 && b[0] != progressVersion) {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: not an encoded Progress (version byte)")
	}
	version := b[0]
	b = b[1:]
	attempts, n := binary.Varint(b)
	if n <= 0 || attempts < 0 || int64(int(attempts)) != attempts || int(attempts) == math.MaxInt {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: bad attempt count")
	}
	b = b[n:]
	prev, n := binary.Varint(b)
	if n <= 0 || prev < 0 {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: bad previous wait")
	}
	b = b[n:]
	var waited int64
	if version >= 2 {
		waited, n = binary.Varint(b)
		if n <= 0 || waited < 0 {
			return fmt.Errorf("retry: Progress.UnmarshalBinary: bad sum of waits")
		}
		b = b[n:]
	}
	var start time.Time
	if err := start.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: %w", err)
	}
	*p = Progress{Attempts: int(attempts), Start: start, Prev: time.Duration(prev), waited: time.Duration(waited)}
	return nil
}

// progressJSON is the JSON form of a Progress.
type progressJSON struct {
	Attempts int           `json:"attempts"`
	Start    time.Time     `json:"start"`
	Prev     time.Duration `json:"prev"`
	Waited   time.Duration `json:"waited,omitempty"`
}

// MarshalJSON encodes the progress (not the breaker admission of a running
// attempt) as {"attempts": n, "start": time, "prev": nanoseconds,
// "waited": nanoseconds}; "waited", the sum of the waits so far that an
// observer's Done reports, is left out when it is 0.
func (p Progress) MarshalJSON() ([]byte, error) {
	return json.Marshal(progressJSON{Attempts: p.Attempts, Start: p.Start, Prev: p.Prev, Waited: p.waited})
}

// UnmarshalJSON decodes the JSON form of a Progress (see
// [Progress.MarshalJSON]; "waited" may be missing) with the checks of
// [Progress.UnmarshalBinary]: a negative or largest count or a negative
// wait is an error, and leaves p unchanged.
func (p *Progress) UnmarshalJSON(b []byte) error {
	var v progressJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Attempts < 0 || v.Attempts == math.MaxInt || v.Prev < 0 || v.Waited < 0 {
		return fmt.Errorf("retry: Progress.UnmarshalJSON: invalid Progress (attempts %d, prev %v, waited %v)", v.Attempts, v.Prev, v.Waited)
	}
	*p = Progress{Attempts: v.Attempts, Start: v.Start, Prev: v.Prev, waited: v.Waited}
	return nil
}
