// Package retry retries operations that can fail: a plain Go function, an
// HTTP call (see the httpx package), a database transaction, an RPC.
//
//	user, err := retry.Do(ctx, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//
// [Do] calls the operation until it succeeds or the policy gives up, and
// returns its value; the type is inferred. [Run] is the same for an
// operation without a result.
//
// # Policies and options
//
// A call is configured by [Option] values, applied in order, or by a
// [Policy] built once with [NewPolicy] and shared between goroutines. A
// policy is immutable; [Policy.With] derives a new one, for example a
// per-request override of a client-wide policy. Do with a prebuilt policy
// does not allocate when the operation succeeds.
//
// The defaults: 4 attempts (3 retries), exponential backoff from 100ms
// with multiplier 2, each wait capped at 30s, full jitter, every error
// retried except [Permanent] ones and the caller's own context ending, no
// limit on elapsed time and no per-attempt timeout.
//
// Invalid input never panics: negative counts or durations, NaN or
// infinite numbers, a multiplier below 1, a jitter fraction outside [0, 1],
// a nil operation or context make Do, Run, NewPolicy and With return an
// error wrapping [ErrInvalidConfig], without calling the operation.
//
// # The loop
//
// After a failed attempt the loop decides, in this order:
//
//  1. The caller's context has ended: stop with its [context.Cause].
//  2. The operation's own signals: [Permanent] and [NotIdempotent] stop; [After]
//     retries after the hint; [TimedOut], like an attempt that hit its own
//     [WithAttemptTimeout], is retried.
//  3. The classifier chain ([WithClassifier]), then the error's own
//     Retryable() bool method if it has one; by default, retry.
//  4. The attempt limit ([WithMaxAttempts]): stop with [ErrExhausted]. The
//     loop never sleeps after the last attempt.
//  5. The wait: base = min(strategy.Delay(n), max delay), then jitter, then
//     the cap again; a server hint replaces it (see below).
//  6. A wait that would end at or after the context's deadline stops the
//     loop at once with [context.DeadlineExceeded]; one that would end at or
//     after the [WithMaxElapsed] limit stops it with [ErrMaxElapsed].
//  7. The retry budget ([WithBudget]), if any, must grant the retry, or the
//     loop stops with [ErrBudgetExhausted].
//  8. The notify hook ([WithNotify]) sees the attempt, then the loop waits.
//     The wait is cut short when the context ends. One timer per call at
//     most; none for a zero wait.
//
// A circuit breaker ([WithBreaker]) is asked before every attempt, the
// first included; while it is open, attempts fail fast with
// [ErrCircuitOpen] without calling the operation.
//
// # Scheduling retries yourself
//
// The decisions above are one piece of code with time as a parameter, and
// Do is only a blocking driver over it. A caller that must not block (a
// queue consumer that re-delivers a message later, an event loop, a durable
// job, a simulator in virtual time) drives the same decisions itself:
// [Policy.Begin] admits an attempt at an instant, [Policy.Failed] decides
// after a failure (a [Verdict]: retry after a wait, or stop with the
// [*Error] Do would return), [Policy.Succeeded] reports a success. Between
// attempts the call's state is a small [Progress] value that round-trips
// through JSON or MarshalBinary, to be stored with the work. Nothing there
// sleeps, starts a goroutine or reads the clock; the budget and the
// breaker measure time from the instants they are given.
//
// # Strategies and jitter
//
// A [Strategy] maps the retry number to a base delay: [Constant], [Linear],
// [Exponential], [Fibonacci], or any function through [StrategyFunc].
// Strategies are pure and their arithmetic saturates: no overflow, no
// negative delay. [Jitter] spreads waits so that clients that failed
// together do not retry together: [NoJitter], [FullJitter], [EqualJitter],
// [DecorrelatedJitter], [ProportionalJitter]. The cap is applied before
// jitter, so a capped delay stays jittered. [WithRand] gives a seeded
// source for reproducible waits.
//
// # Server hints
//
// An operation that knows when to come back returns [After](d, err). The
// loop then waits d plus a full-jitter spread of this retry's base delay
// (exactly d under NoJitter or [WithExactHints]). A hint longer than the
// maximum delay is not obeyed by sleeping: the loop stops with
// [ErrHintTooLong], and [Error].RetryAfter carries the requested delay.
//
// # Errors
//
// On failure Do returns the last value the operation returned and an
// [*Error] with the number of attempts, the last error and the reason.
// [errors.Is] reaches both the last error and the reason:
//
//	if errors.Is(err, retry.ErrExhausted) && errors.Is(err, io.EOF) { … }
//
// # Retry storms
//
// Retries multiply load exactly when a dependency is weakest. A [Budget]
// shared by every call to a dependency bounds the retries a process makes
// (a token bucket refilled by successes and, optionally, by time); a
// [Breaker] stops calling a dependency that keeps failing and probes it
// before closing again. Both are lock-free on the hot path, compute their
// state lazily from the instant of each decision, and own no goroutines or
// timers.
//
// # Observing
//
// [WithObserver] attaches an [Observer]: optional hooks for each attempt's
// start (which may return the context the attempt runs with, to carry a
// span) and end, each retry scheduled, a retry the budget refused, a change
// of the breaker's state and the end of the call, delivered as plain
// values to [Do] and to the [Policy] methods alike. [LogTo] is an observer
// that logs through log/slog; [ReasonOf] names the reason of an error in
// one stable word for logs and metric labels; the nested module otelretry
// reports to OpenTelemetry. Without an observer, nothing is paid.
//
// # Concurrency
//
// Do, Run, a Policy, a Budget and a Breaker are safe for concurrent use.
// Classifiers, strategies and the notify hook given to a shared policy are
// called from many goroutines and must be safe for that.
package retry
