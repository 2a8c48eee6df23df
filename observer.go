package retry

import (
	"context"
	"time"
)

// An Observer receives the events of a call: each attempt's start and end,
// each retry scheduled, the end of the call, a retry the budget refused and
// a change of the breaker's state. It is a struct of optional hooks, in the
// manner of net/http/httptrace.ClientTrace: set the fields you need and
// attach it with [WithObserver]; a nil field costs nothing.
//
// The events of one call arrive in order on the goroutine that drives it
// (the caller of [Do], or of the [Policy] methods that decide for a loop of
// its own; for [DoHedged] and a hedged call of the engine, [Policy.Hedge],
// on the goroutines of its copies, one event at a time): BreakerChange if the attempt's admission changed the
// breaker's state (BreakerOpen to BreakerHalfOpen), then AttemptStart, then AttemptEnd
// for the same attempt, then BreakerChange and BudgetRefused if that
// attempt's outcome caused them, then RetryScheduled or, when the call is
// over, Done. A call that ends
// without running an attempt (its context already done, the breaker
// refused the first attempt) gets Done alone. Every call that starts gets
// exactly one Done, unless a hook panics. When the operation (or a
// classifier) panics in [Do], the attempt's AttemptEnd and the call's Done
// are delivered while the panic unwinds, with an error whose [ReasonOf]
// word is "panic"; the panic then goes on to the caller. A hook delays
// the call by its own duration. The hooks that follow an attempt's end get
// that attempt's context (the one AttemptStart returned); those of a call
// that ends between attempts (its context ended during a wait, the
// breaker refused the next attempt) get the call's context.
//
// The events are plain values: nothing is allocated to deliver them, so a
// call that succeeds allocates nothing beyond what the hooks do. The
// hooks run after the budget and the breaker have recorded what they
// report: a hook that panics reaches the caller and leaves both
// consistent. The same Observer may serve many calls at once: its hooks
// must be safe for concurrent use. An Observer must not be modified once
// it is in use.
type Observer struct {
	// AttemptStart is called before an attempt runs. The context it returns
	// is the one the attempt receives (a tracer returns one that carries
	// the attempt's span); returning ctx itself changes nothing. A nil
	// context is treated as ctx.
	AttemptStart func(ctx context.Context, e AttemptStartInfo) context.Context
	// AttemptEnd is called when an attempt has returned, with the context
	// AttemptStart returned for it, once the call has decided what comes
	// next. It is called only for an attempt whose AttemptStart returned,
	// and once: a report the engine refuses (a second report of an
	// attempt, one with bad input) has none.
	AttemptEnd func(ctx context.Context, e AttemptEndInfo)
	// RetryScheduled is called when another attempt is decided, before the
	// wait starts; it is the event [WithNotify] reports.
	RetryScheduled func(ctx context.Context, e RetryInfo)
	// BudgetRefused is called when the retry budget refused a retry; the
	// call then ends (Done follows).
	BudgetRefused func(ctx context.Context, e BudgetRefusedInfo)
	// BreakerChange is called when an attempt of this call changed the
	// state of the call's breaker: the attempt that tripped it, the first
	// admission after the recovery timeout (BreakerOpen to BreakerHalfOpen), the probe
	// that closed or reopened it. Each change is reported once, to the call
	// that caused it; [BreakerConfig].OnStateChange sees them all.
	BreakerChange func(ctx context.Context, e BreakerChangeInfo)
	// Done is called once when the call is over, successful or not.
	Done func(ctx context.Context, e DoneInfo)

	// Sharing is not an event of a call: it is called by a budget or
	// breaker shared by several processes (such as package redisretry's)
	// that was given this Observer, when it stops sharing its state and
	// decides alone, and when it shares it again; see [SharingInfo].
	Sharing func(ctx context.Context, e SharingInfo)

	// log is the logger of an Observer LogTo made; see levelled.
	log *logTo
}

// AttemptStartInfo is the event of an attempt about to run.
type AttemptStartInfo struct {
	// Attempt is the attempt's number, from 1; an adapter's resend count
	// is Attempt-1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Hedge is true for a hedge ([WithHedge]): an attempt that starts while
	// another attempt of the call is still running. An attempt that
	// starts when none runs (the first, or a retry after a wait) is not.
	Hedge bool
}

// AttemptEndInfo is the event of an attempt that returned.
type AttemptEndInfo struct {
	// Attempt is the attempt's number, from 1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is the error the attempt returned, without a Permanent or After
	// wrapper; nil when it succeeded.
	Err error
	// Duration is the time the attempt ran, as measured by the clock
	// readings the call was given; never negative: an instant given to
	// the engine's report that is earlier than the one given to Begin (a
	// clock stepped back) makes it 0.
	Duration time.Duration
	// Stop is the error that ends the call after this attempt (an
	// [*Error]; see [ReasonOf]), or nil when it succeeded or is retried:
	// a failed attempt (Err != nil) with a nil Stop is followed by another,
	// after the wait of the RetryScheduled event that comes next, or, in a
	// hedged call, by the end of the copies still running.
	Stop error
	// Hedge is the attempt's AttemptStartInfo.Hedge.
	Hedge bool
	// Lost is true for an attempt of a hedged call that another attempt
	// beat: it was still running when another copy won or ended the call,
	// and was cancelled (its outcome counts as nothing), or it succeeded
	// too late (its value went to the [WithHedgeDiscard] function). A
	// successful attempt (Err == nil) that did not lose is the call's
	// winner: its value is the one the call returned.
	Lost bool
}

// RetryInfo is the event of a retry decided, before its wait: what
// [WithNotify] and [Observer].RetryScheduled receive. It is passed by
// value.
type RetryInfo struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is its error, without a Permanent or After wrapper.
	Err error
	// Wait is the wait before the next attempt.
	Wait time.Duration
	// Hint is the wait the server asked for ([After], or Retry-After in
	// httpx), 0 when it asked for none; Wait is then Hint plus the
	// policy's spread (see After). A hint of zero (After(0, err),
	// "Retry-After: 0") counts as none.
	Hint time.Duration
	// Elapsed is the time since the call's first attempt began.
	Elapsed time.Duration
}

// BudgetRefusedInfo is the event of a retry the budget refused.
type BudgetRefusedInfo struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Err is its error, without a Permanent or After wrapper.
	Err error
}

// BreakerChangeInfo is the event of a change of the breaker's state.
type BreakerChangeInfo struct {
	From, To BreakerState
}

// DoneInfo is the event of the end of a call.
type DoneInfo struct {
	// Attempts is the number of attempts that ran.
	Attempts int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is nil when the call succeeded, or the [*Error] it ended with;
	// [ReasonOf] turns it into a word for a log or a metric label.
	Err error
	// Waited is the sum of the waits between the attempts: those decided,
	// except that of a wait in [Do] cut short by the end of the context
	// only the part slept counts. The sum saturates at the largest
	// Duration instead of wrapping.
	Waited time.Duration
	// Elapsed is the time since the call's first attempt began, 0 when
	// none ran.
	Elapsed time.Duration
	// Hedges is the number of the call's attempts that were hedges (see
	// AttemptStartInfo.Hedge); Attempts counts them too.
	Hedges int
}

// WithObserver attaches o's hooks to the call; see [Observer]. A later
// WithObserver replaces an earlier one; a nil o removes it. [WithNotify]
// is kept beside it, so a policy can have both.
func WithObserver(o *Observer) Option { return observerOption{o} }

type observerOption struct{ o *Observer }

func (observerOption) isOption() {}
