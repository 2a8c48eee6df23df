package retry

import (
	"sync"
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
	cfg        config
	admissions sync.Pool // of *admission, for the engine's Begin
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

// MaxAttempts returns the most times p calls an operation in one call of
// [Do] (or the engine admits attempts for one [Progress]): the limit set by
// [WithMaxAttempts], [DefaultMaxAttempts] when no option set it, and 0
// when p has no attempt limit (WithMaxAttempts(0)). An adapter reads it to
// check a queue's own delivery limit against the policy's.
//
// It is safe for concurrent use, as p is immutable. A nil or zero Policy,
// which Do rejects, has no limits: MaxAttempts returns 0 for it, so a
// caller that must tell "unlimited" from "no policy" checks p itself.
func (p *Policy) MaxAttempts() int {
	if p == nil || !p.cfg.built {
		return 0
	}
	return p.cfg.maxAttempts
}

// MaxInFlight returns the most copies of an attempt p runs at once in one
// call of [DoHedged] or [RunHedged]: the maxInFlight of [WithHedge] or
// [WithAdaptiveHedge], or 1 when p does not hedge. An adapter reads it to
// know whether its operation may run concurrently with itself (and so
// needs state of its own per copy) before it chooses how to run a call;
// a driver of the engine keeps at most this many copies running (see
// [Policy.Hedge]).
//
// It is safe for concurrent use, as p is immutable. A nil or zero Policy,
// which Do rejects, returns 0.
func (p *Policy) MaxInFlight() int {
	if p == nil || !p.cfg.built {
		return 0
	}
	return max(p.cfg.hedge.max, 1)
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
