// Package retry retries operations that can fail: a plain Go function, an
// HTTP call (see the httpx package), a database transaction, an RPC.
//
//	user, err := retry.Do(ctx, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//
// The names a new user needs first, in the order this overview meets them:
// [Do] and [Run]; [NewPolicy] with the options [WithMaxAttempts],
// [WithBackoff] ([Exponential]) and [WithClassifier] ([StopOn]); the marks
// [Permanent] and [After] an operation puts on its errors; and the
// [*Error] a failed call returns, with [ReasonOf] to name why it ended.
// The rest (a retry budget, a circuit breaker, an observer, the engine for
// callers that schedule their own retries) is there when it is needed.
//
// # Do and Run
//
// [Do] calls the operation until it succeeds or the policy gives up, and
// returns its value; the type is inferred. [Run] is the same for an
// operation without a result. The operation receives the call's context
// (or a child of it with a deadline, under [WithAttemptTimeout]); the
// caller's context ending stops the call, and cuts a wait short.
//
// # Options and policies
//
// A call is configured by [Option] values, applied in order, or by a
// [Policy] built once with [NewPolicy] and shared between goroutines. A
// policy is immutable; [Policy.With] derives a new one, for example a
// per-request override of a client-wide policy. Do with a prebuilt policy
// does not allocate when the operation succeeds.
//
// The defaults: 4 attempts (3 retries), exponential backoff from 100ms
// with multiplier 2, each wait capped at 30s, full jitter, every error
// retried except those marked otherwise and the caller's own context
// ending, no limit on elapsed time and no per-attempt timeout. The limits:
// [WithMaxAttempts], [WithMaxElapsed], [WithAttemptTimeout], [WithMaxDelay].
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
// Invalid input never panics: negative counts or durations, NaN or
// infinite numbers, a multiplier below 1, a jitter fraction outside [0, 1],
// a nil operation or context make Do, Run, NewPolicy and With return an
// error wrapping [ErrInvalidConfig], without calling the operation.
//
// # Marks on errors
//
// The operation steers the loop through its own errors, whatever the
// classifiers say: [Permanent] stops (the dependency answered: a 404);
// [NotIdempotent] stops a failure that would be retried but must not be
// sent again, because its effect is unknown (a POST without an
// idempotency key that got a 503); [After] retries after a server's hint;
// [TimedOut] retries an attempt that ran out of its own time. An error
// without a mark goes to the classifier chain ([WithClassifier]:
// [RetryOn], [StopOn], [RetryIf], or any [Classifier] returning a
// [Class]), then to its own Retryable() bool method if it has one; by
// default it is retried.
//
// An operation that knows when to come back returns [After](d, err). The
// loop then waits d plus a full-jitter spread of this retry's base delay
// (exactly d under NoJitter or [WithExactHints]). A hint longer than the
// maximum delay is not obeyed by sleeping: the loop stops with
// [ErrHintTooLong], and [Error].Hint carries the requested delay.
//
// # The loop
//
// After a failed attempt the loop decides, in this order:
//
//  1. The caller's context has ended: stop with its [context.Cause].
//  2. The marks: [Permanent] stops with [ErrPermanent], [NotIdempotent]
//     with [ErrNotIdempotent]; [After] retries after the hint; [TimedOut],
//     like an attempt that hit its own [WithAttemptTimeout], is retried.
//  3. The classifier chain, then the error's own Retryable() bool method;
//     by default, retry. A Terminal class stops with ErrPermanent.
//  4. The attempt limit: stop with [ErrExhausted]. The loop never sleeps
//     after the last attempt.
//  5. The wait: base = min(strategy.Delay(n), max delay), then jitter, then
//     the cap again; a server hint replaces it.
//  6. A wait that would end at or after the context's deadline stops the
//     loop at once with [context.DeadlineExceeded]; one that would end at or
//     after the [WithMaxElapsed] limit stops it with [ErrMaxElapsed].
//  7. The retry budget ([WithBudget]), if any, must grant the retry, or the
//     loop stops with [ErrBudgetExhausted].
//  8. The notify hook ([WithNotify]) sees the retry, then the loop waits.
//     The wait is cut short when the context ends. One timer per call at
//     most; none for a zero wait.
//
// A circuit breaker ([WithBreaker]) is asked before every attempt, the
// first included; while it is open, attempts fail fast with
// [ErrCircuitOpen] without calling the operation.
//
// # Errors
//
// On failure Do returns the last value the operation returned and an
// [*Error] with the number of attempts, the last error and the reason.
// [errors.Is] reaches both the last error and the reason, one of the
// Err… sentinels or the caller's context's cause:
//
//	if errors.Is(err, retry.ErrExhausted) && errors.Is(err, io.EOF) { … }
//
// [ReasonOf] names the reason in one stable word ("exhausted",
// "permanent", "not_idempotent", "deadline", …) for a log attribute or a
// metric label.
//
// # Retry budget
//
// Retries multiply load exactly when a dependency is weakest. A [Budget]
// shared by every call to a dependency ([NewBudget], [WithBudget]) bounds
// the retries a process makes: a token bucket that retries draw from and
// successes (and, optionally, time) refill. A refused retry ends the call
// with [ErrBudgetExhausted]; first attempts always run.
//
// # Circuit breaker
//
// A [Breaker] ([NewBreaker], [WithBreaker]) stops calling a dependency
// that keeps failing and probes it before closing again; its state is a
// [BreakerState]. [Breaker.Run] guards a single call with the breaker
// alone. Budgets and breakers are lock-free on the hot path, compute their
// state lazily from the instant of each decision, and own no goroutines or
// timers.
//
// # Hedging
//
// Most of what users feel is slowness, not failure. [DoHedged] and
// [RunHedged] with [WithHedge](delay, n) send another copy of a slow
// attempt every delay, up to n running at once, and take the first
// success: the op must be safe to run concurrently with itself and to
// send twice. ([Do] and [Run] refuse a policy that hedges: their op never
// leaves the caller's goroutine, so a func literal given to them is not
// allocated.) The first copy runs on the
// caller's goroutine, so a call that answers before the delay starts no
// goroutine; the copies that lose are cancelled through their context
// (whose [context.Cause] says another copy won) and waited for, and a
// success that comes too late goes to [WithHedgeDiscard]'s function (close
// a response there). [WithAdaptiveHedge] learns the delay: a [HedgeDelay]
// estimates a quantile, such as the 95th percentile, of recent latencies.
//
// Hedges and retries are one call: [WithMaxAttempts] counts every copy,
// each hedge draws a retry's cost from the [Budget] and asks the [Breaker]
// for admission, and one refused stops the hedging, so when every request
// is slow (a brownout) the budget runs dry and the load stays near one
// copy per call. A copy that fails in a way the policy would retry lets
// the others run; the first such failure since the last retry sends the
// next hedge at once, each later one after the policy's backoff (so failed
// copies never follow one another faster than retries would); past the
// [WithMaxElapsed] limit no hedge is sent. When none is left the
// policy's backoff applies. A stop ([Permanent], a terminal classifier)
// ends the call and cancels the rest; a hint ([After], Retry-After)
// cancels the rest and stops the hedging, and the retry waits for it. A
// panic in one copy cancels the others, waits for them and reaches the
// caller. The observer's hooks of one call run on the copies' goroutines,
// one at a time; [AttemptStartInfo].Hedge, [AttemptEndInfo].Lost and
// [DoneInfo].Hedges tell hedges and the winner apart.
//
// A driver of the engine (see [Policy.Begin]) hedges too: [Policy.Hedge]
// admits a copy with the accounting DoHedged gives a hedge (the attempt
// limit, a retry's cost from the budget, the breaker), [Policy.HedgeAfter]
// and [Policy.MaxInFlight] say when and how many, and the copies are
// reported with [Policy.Succeeded] (the winner) and [Policy.Failed] (the
// others, under a context that is done), which feed a [HedgeDelay] as
// DoHedged's copies do; see Hedge for the recipe and where it differs
// from DoHedged.
//
// # Observing
//
// [WithObserver] attaches an [Observer]: optional hooks for each attempt's
// start (which may return the context the attempt runs with, to carry a
// span) and end, each retry scheduled, a retry the budget refused, a change
// of the breaker's state and the end of the call, delivered as plain
// values to [Do] and to the engine alike. [WithNotify] is shorthand for the
// retry event, [RetryInfo]. [LogTo] is an observer that logs through
// log/slog; the nested module otelretry reports to OpenTelemetry. Without
// an observer, nothing is paid.
//
// # Scheduling retries yourself: the engine
//
// The decisions above are one piece of code with time as a parameter, and
// Do is only a blocking driver over it. A caller that must not block (a
// queue consumer that re-delivers a message later, an event loop, a durable
// job, a simulator in virtual time) drives the same decisions itself:
// [Policy.Begin] admits an attempt at an instant, [Policy.Failed] decides
// after a failure (a [Verdict]: retry after a wait, or stop with the
// [*Error] Do would return), [Policy.Succeeded] reports a success. Each
// attempt Begin admits is reported once: a second report
// ([ErrDuplicateReport]), or a report on the zero Progress, is refused and
// changes nothing. Between
// attempts the call's state is a small [Progress] value that round-trips
// through JSON or MarshalBinary, to be stored with the work. Nothing there
// sleeps, starts a goroutine or reads the clock; the budget and the
// breaker measure time from the instants they are given.
//
// # Concurrency
//
// Do, Run, a Policy, a Budget, a Breaker and a HedgeDelay are safe for
// concurrent use.
// Classifiers, strategies and the notify hook given to a shared policy are
// called from many goroutines and must be safe for that.
package retry
