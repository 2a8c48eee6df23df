package riverx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/retrykit/retry"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultDefer is the shortest time a deferred job waits before it asks
// again; see [Config].Defer.
const DefaultDefer = time.Second

// Config holds what the adapter needs beyond the retry policy. The zero
// Config is ready to use.
type Config struct {
	// Defer is the shortest time a job waits when the budget refused its
	// retry or the breaker refused its run, before it asks again: the wait
	// the policy would choose for its next retry, but at least Defer (a
	// policy without waits would otherwise bring the job back at once,
	// again and again). 0 means DefaultDefer; negative is invalid.
	Defer time.Duration
	// Now is the clock the decisions read; nil means time.Now. Tests
	// set it to learn the instants the policy decided at.
	Now func() time.Time
}

// Retrier applies a [retry.Policy] to River jobs. It is two things River
// knows: a worker middleware (rivertype.WorkerMiddleware) that decides,
// after each run of a job, whether and when it runs again, and a client
// retry policy (river.ClientRetryPolicy) that tells River the instant the
// middleware chose. Install both with [Retrier.Install], or per worker
// with [Worker]. See the package documentation for what each outcome does.
//
// A Retrier starts no goroutines and holds no connection. Between the end
// of a run and River's call of NextRetry, which follows at once on the
// same goroutine, it keeps the instant it chose in a small map; the rest
// of a job's retry state lives in the job's metadata. It is safe for
// concurrent use by any number of River clients and workers in a process.
// The zero Retrier is not valid: use [New].
type Retrier struct {
	river.MiddlewareDefaults

	policy   *retry.Policy // the user's policy: Begin, Failed, Succeeded
	redecide *retry.Policy // decides a retry held back, before the job runs again
	elapsed  *retry.Policy // the policy's elapsed limit alone: ends a deferral past it
	schedule *retry.Policy // the policy's waits alone: no budget, breaker, observer or limits
	minDefer time.Duration
	clock    func() time.Time

	handoff handoff
	store   func(context.Context, State) // setState; a test's simulated River replaces it

	mu   sync.Mutex
	last map[int]*retry.Policy // the policy with the attempts made as its limit, by count
}

var (
	_ river.ClientRetryPolicy    = (*Retrier)(nil)
	_ rivertype.WorkerMiddleware = (*Retrier)(nil)
	_ rivertype.Plugin           = (*Retrier)(nil)
)

// ErrNilRetrier is the error of a job worked through a nil or zero
// *Retrier: the job fails (River records it and retries it by its own
// policy), and is not lost.
var ErrNilRetrier = errors.New("riverx: nil or zero *Retrier (use riverx.New)")

// New returns a Retrier deciding with the policy opts build (a
// *retry.Policy is itself an option, as for [retry.Do]), or an error
// wrapping [retry.ErrInvalidConfig] when an option is invalid (a nil
// *retry.Policy, a negative limit) or cfg.Defer is negative.
func New(cfg Config, opts ...retry.Option) (*Retrier, error) {
	if cfg.Defer < 0 {
		return nil, fmt.Errorf("%w: riverx: Config.Defer must not be negative, got %v", retry.ErrInvalidConfig, cfg.Defer)
	}
	p, err := retry.NewPolicy(opts...)
	if err != nil {
		return nil, fmt.Errorf("riverx: %w", err)
	}
	r := &Retrier{policy: p, minDefer: cfg.Defer, clock: cfg.Now, store: setState, last: map[int]*retry.Policy{}}
	if r.minDefer == 0 {
		r.minDefer = DefaultDefer
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	// Neither derivation can fail: p is valid and the options are.
	r.redecide, _ = p.With(retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(retryAll), retry.WithBreaker(nil))
	r.schedule, _ = p.With(retry.WithBudget(nil), retry.WithBreaker(nil), retry.WithObserver(nil),
		retry.WithNotify(nil), retry.WithMaxAttempts(0), retry.WithMaxElapsed(0), retry.WithClassifier(retryAll))
	r.elapsed, _ = p.With(retry.WithBudget(nil), retry.WithBreaker(nil), retry.WithObserver(nil),
		retry.WithNotify(nil), retry.WithMaxAttempts(0), retry.WithClassifier(retryAll),
		retry.WithBackoff(retry.Constant(0)), retry.WithJitter(retry.NoJitter))
	return r, nil
}

// retryAll is the classifier of the derived policies, which judge only
// errors of this package.
func retryAll(error) retry.Class { return retry.Retryable }

// Install puts r into cfg as its retry policy and its first middleware,
// which is what a client-wide Retrier needs: the first of cfg.Middleware,
// or of the legacy cfg.WorkerMiddleware when cfg uses the legacy fields
// (WorkerMiddleware or JobInsertMiddleware) and not Middleware, since
// River refuses both kinds at once. It returns an error, leaving
// cfg unchanged, when r is nil or cfg already has another retry policy:
// two policies would contradict each other about when a failed job runs.
// Installing r twice changes nothing.
func (r *Retrier) Install(cfg *river.Config) error {
	switch {
	case !r.valid():
		return ErrNilRetrier
	case cfg == nil:
		return errors.New("riverx: Install: nil *river.Config")
	case cfg.RetryPolicy != nil && cfg.RetryPolicy != river.ClientRetryPolicy(r):
		return fmt.Errorf("riverx: Install: river.Config.RetryPolicy is already set (%T); "+
			"a Retrier decides when a failed job runs again, and two policies would contradict each other", cfg.RetryPolicy)
	}
	cfg.RetryPolicy = r
	if len(cfg.Middleware) == 0 && r.installLegacy(cfg) {
		return nil
	}
	for _, m := range cfg.Middleware {
		if m == rivertype.Middleware(r) {
			return nil
		}
	}
	cfg.Middleware = append([]rivertype.Middleware{r}, cfg.Middleware...)
	return nil
}

// installLegacy puts r first in cfg.WorkerMiddleware, unless it is there
// already, when cfg uses River's legacy middleware fields, which River
// refuses beside Middleware; it reports whether cfg does.
func (r *Retrier) installLegacy(cfg *river.Config) bool {
	//lint:ignore SA1019 a configuration that uses the legacy fields must keep them
	legacy := cfg.WorkerMiddleware
	//lint:ignore SA1019 a configuration that uses the legacy fields must keep them
	if len(legacy) == 0 && len(cfg.JobInsertMiddleware) == 0 {
		return false
	}
	for _, m := range legacy {
		if m == rivertype.WorkerMiddleware(r) {
			return true
		}
	}
	//lint:ignore SA1019 a configuration that uses the legacy fields must keep them
	cfg.WorkerMiddleware = append([]rivertype.WorkerMiddleware{r}, legacy...)
	return true
}

// valid reports whether r was made by New.
func (r *Retrier) valid() bool { return r != nil && r.policy != nil }

// now reads the Retrier's clock.
func (r *Retrier) now() time.Time { return r.clock() }

// limited returns the policy to decide the job's last run River allows
// (its attempt has reached max_attempts), made after attempts attempts of
// the policy (fewer than River's count after an operator's retry): r's
// policy with those attempts as its limit, so that the run ends the job
// with the policy's reason and the observer sees the end. A policy whose
// own limit those attempts reach ends the job by itself and is returned
// as it is; the others are built once per distinct count.
func (r *Retrier) limited(job *rivertype.JobRow, attempts int) *retry.Policy {
	if job.MaxAttempts <= 0 || job.Attempt < job.MaxAttempts || attempts <= 0 {
		return r.policy
	}
	if limit := r.policy.MaxAttempts(); limit > 0 && limit <= attempts {
		return r.policy
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.last[attempts]
	if !ok {
		p, _ = r.policy.With(retry.WithMaxAttempts(attempts)) // a positive limit is valid
		r.last[attempts] = p
	}
	return p
}

// scheduledWait is the wait the policy would choose before the retry
// after pr's attempts (at least one), with no budget, breaker, observer or
// limit involved: River's rescuer and the deferrals use it.
func (r *Retrier) scheduledWait(pr retry.Progress, now time.Time) time.Duration {
	pr.Attempts = max(pr.Attempts, 1)
	if pr.Start.IsZero() || pr.Start.After(now) {
		pr.Start = now
	}
	v := r.schedule.Failed(context.Background(), pr, errScheduled, now)
	return v.Wait
}

// pastElapsed returns the error that ends a job deferred at now for
// wait, after pr's attempts, because the policy refused it for reason
// (the breaker's or the budget's sentinel), when the deferral would end
// at or past the policy's elapsed limit ([retry.WithMaxElapsed],
// measured from pr.Start): as Do ends a call whose next wait would, with
// [retry.ErrMaxElapsed] as the reason and reason as its last error. It
// returns nil when the deferral ends within the limit, or there is none.
func (r *Retrier) pastElapsed(pr retry.Progress, reason error, wait time.Duration, now time.Time) error {
	if pr.Start.IsZero() {
		return nil
	}
	n := pr.Attempts
	pr.Attempts = max(n, 1) // the engine starts a progress without attempts at now
	v := r.elapsed.Failed(context.Background(), pr, reason, now.Add(wait))
	if !errors.Is(v.Err, retry.ErrMaxElapsed) {
		return nil
	}
	var e *retry.Error
	if errors.As(v.Err, &e) {
		e.Attempts = n
	}
	return v.Err
}

// errScheduled is the error scheduledWait reports; no one sees it.
var errScheduled = errors.New("riverx: scheduled wait")

// NextRetry implements river.ClientRetryPolicy: the instant the middleware
// chose for the job's next run when the run that just failed went through
// it (never before the present, which River would refuse). For a job it
// did not decide (River's rescuer rescuing a run whose worker died, a
// worker without the middleware) it returns the present plus the wait the
// policy would choose for the job's next retry, from the progress stored
// with the job. A nil or zero Retrier returns the zero time, which makes
// River use its default policy.
func (r *Retrier) NextRetry(job *rivertype.JobRow) time.Time {
	if !r.valid() || job == nil {
		return time.Time{}
	}
	now := r.now()
	if at, ok := r.handoff.take(job.ID); ok {
		return laterOf(at, now)
	}
	st, err := loadState(job)
	if err != nil {
		return now // the next run repairs the state; see Work
	}
	return now.Add(r.scheduledWait(st.Progress, now))
}

// laterOf returns the later of two instants.
func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
