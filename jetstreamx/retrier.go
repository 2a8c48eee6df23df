package jetstreamx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrykit/retry"
)

// DefaultDefer is the shortest time a deferred message waits before it is
// delivered again; see [Config].Defer.
const DefaultDefer = time.Second

// Config holds what the adapter needs beyond the retry policy.
type Config struct {
	// Progress is the key-value bucket where a message's retry state
	// ([State]) is kept between its deliveries: the attempts made, when
	// the first began and the previous wait, which the delivery count
	// cannot tell (see the package documentation). Required. Give it a TTL
	// longer than a message's retries can last: a state is deleted when
	// its message ends, and one left behind by a process that died between
	// the two expires.
	Progress jetstream.KeyValue
	// DeadLetter is the subject a copy of each message the policy ends is
	// published to, with the reason and the attempt count in headers (see
	// [HeaderReason]); "" publishes none. A stream must capture the
	// subject, and it must not be one the consumer itself reads.
	DeadLetter string
	// Defer is the shortest time a message waits when the budget refused
	// its retry, the breaker refused its attempt, or the handler's context
	// ended: the wait the policy would choose for its next retry, but at
	// least Defer (a policy without waits would otherwise bring it back at
	// once, again and again). 0 means DefaultDefer; negative is invalid.
	Defer time.Duration
	// KeepAlive is how often a running handler's message is marked in
	// progress (Msg.InProgress), so that the server does not deliver it
	// again after AckWait while the handler still runs. 0 means a third of
	// the consumer's AckWait; it must be shorter than AckWait.
	KeepAlive time.Duration
	// OnError receives what the adapter could not do for a message (store
	// its state, acknowledge it, publish its dead-letter copy) and stored
	// state it had to repair; the message is never dropped for it. msg is
	// nil when the handler was called without one. nil
	// logs through slog.Default at level Warn. It is called from the
	// consumer's goroutines and must be safe for that.
	OnError func(msg jetstream.Msg, err error)
	// Now is the clock the decisions read; nil means time.Now. Tests set
	// it to learn the instants the policy decided at.
	Now func() time.Time
}

// Retrier applies a [retry.Policy] to the messages of JetStream consumers:
// [Retrier.Handler] wraps a handler so that each delivery is one attempt
// of the policy, and the policy's judgement becomes an acknowledgement, a
// delayed negative acknowledgement, or a termination. See the package
// documentation for what each outcome does.
//
// A Retrier holds no goroutine and no connection of its own: it uses the
// JetStream context and bucket of its Config. It is safe for concurrent
// use by any number of consumers and handlers. The zero Retrier is not
// valid: use [New].
type Retrier struct {
	policy   *retry.Policy // the user's policy: Begin, Failed, Succeeded
	redecide *retry.Policy // decides a retry held back, before the message runs again
	elapsed  *retry.Policy // the policy's elapsed limit alone: ends a deferral past it
	schedule *retry.Policy // the policy's waits alone: no budget, breaker, observer or limits
	limit    int           // the policy's attempt limit, 0 for none

	js         jetstream.JetStream
	kv         jetstream.KeyValue
	deadLetter string
	minDefer   time.Duration
	keepAlive  time.Duration
	onError    func(jetstream.Msg, error)
	clock      func() time.Time

	mu   sync.Mutex
	last map[int]*retry.Policy // the policy with the deliveries left as its limit
}

// ErrNilRetrier is the error of a handler made from a nil or zero
// *Retrier.
var ErrNilRetrier = errors.New("jetstreamx: nil or zero *Retrier (use jetstreamx.New)")

// New returns a Retrier that publishes and keeps state through js, deciding
// with the policy opts build (a *retry.Policy is itself an option, as for
// [retry.Do]). It returns an error wrapping [retry.ErrInvalidConfig] when
// js or cfg.Progress is nil, an option is invalid (a nil *retry.Policy, a
// negative limit), cfg.Defer or cfg.KeepAlive is negative, or
// cfg.DeadLetter is not a subject a message can be published to.
func New(js jetstream.JetStream, cfg Config, opts ...retry.Option) (*Retrier, error) {
	switch {
	case js == nil:
		return nil, invalid("a nil jetstream.JetStream")
	case cfg.Progress == nil:
		return nil, invalid("Config.Progress is nil: a key-value bucket keeps each message's retry progress between deliveries")
	case cfg.Defer < 0:
		return nil, invalid(fmt.Sprintf("Config.Defer must not be negative, got %v", cfg.Defer))
	case cfg.KeepAlive < 0:
		return nil, invalid(fmt.Sprintf("Config.KeepAlive must not be negative, got %v", cfg.KeepAlive))
	case cfg.DeadLetter != "" && !publishable(cfg.DeadLetter):
		return nil, invalid(fmt.Sprintf("Config.DeadLetter %q is not a subject to publish to (no spaces, wildcards or empty tokens)", cfg.DeadLetter))
	}
	p, err := retry.NewPolicy(opts...)
	if err != nil {
		return nil, fmt.Errorf("jetstreamx: %w", err)
	}
	r := &Retrier{policy: p, js: js, kv: cfg.Progress, deadLetter: cfg.DeadLetter, minDefer: cfg.Defer,
		keepAlive: cfg.KeepAlive, onError: cfg.OnError, clock: cfg.Now, last: map[int]*retry.Policy{}}
	if r.minDefer == 0 {
		r.minDefer = DefaultDefer
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if r.onError == nil {
		r.onError = logError
	}
	// Neither derivation can fail: p is valid and the options are.
	r.redecide, _ = p.With(retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(retryAll), retry.WithBreaker(nil))
	r.schedule, _ = p.With(retry.WithBudget(nil), retry.WithBreaker(nil), retry.WithObserver(nil),
		retry.WithNotify(nil), retry.WithMaxAttempts(0), retry.WithMaxElapsed(0), retry.WithClassifier(retryAll))
	r.elapsed, _ = p.With(retry.WithBudget(nil), retry.WithBreaker(nil), retry.WithObserver(nil),
		retry.WithNotify(nil), retry.WithMaxAttempts(0), retry.WithClassifier(retryAll),
		retry.WithBackoff(retry.Constant(0)), retry.WithJitter(retry.NoJitter))
	r.limit = p.MaxAttempts()
	return r, nil
}

// invalid is the error of New or Handler for bad input.
func invalid(what string) error {
	return fmt.Errorf("%w: jetstreamx: %s", retry.ErrInvalidConfig, what)
}

// publishable reports whether subj is a subject a message can be published
// to: non-empty tokens, no wildcards, no white space.
func publishable(subj string) bool {
	for tok := range strings.SplitSeq(subj, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

// retryAll is the classifier of the derived policies, which judge only
// errors of this package.
func retryAll(error) retry.Class { return retry.Retryable }

// logError is the default Config.OnError.
func logError(msg jetstream.Msg, err error) {
	subject := ""
	if msg != nil {
		subject = msg.Subject()
	}
	slog.Default().Warn(err.Error(), "subject", subject)
}

// valid reports whether r was made by New.
func (r *Retrier) valid() bool { return r != nil && r.policy != nil }

// now reads the Retrier's clock.
func (r *Retrier) now() time.Time { return r.clock() }

// limited returns the policy to decide an attempt on the last delivery the
// consumer's MaxDeliver allows: r's policy with the attempts made as its
// limit, so that a failure ends the message with the policy's reason
// (ErrExhausted) instead of a negative acknowledgement the server would
// never answer, and the observer sees the end. Policies are built once per
// distinct count.
func (r *Retrier) limited(attempts int) *retry.Policy {
	if r.limit > 0 && r.limit <= attempts {
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
// limit involved: deferrals use it.
func (r *Retrier) scheduledWait(pr retry.Progress, now time.Time) time.Duration {
	pr.Attempts = max(pr.Attempts, 1)
	if pr.Start.IsZero() || pr.Start.After(now) {
		pr.Start = now
	}
	v := r.schedule.Failed(context.Background(), pr, errScheduled, now)
	return v.Wait
}

// pastElapsed returns the error that ends a message deferred at now for
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
var errScheduled = errors.New("jetstreamx: scheduled wait")

// report hands err about msg to Config.OnError.
func (r *Retrier) report(msg jetstream.Msg, err error) {
	if err != nil {
		r.onError(msg, err)
	}
}

// conn is the connection of r's JetStream context.
func (r *Retrier) conn() *nats.Conn { return r.js.Conn() }
