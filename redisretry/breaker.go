package redisretry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
)

// breaker is a shared breaker: it syncs one process's retry.Breaker with
// the breaker in Redis.
type breaker struct {
	f     *Fleet
	key   string
	cfg   string
	id    string // this process's breaker, among the fleet's
	rules breakerRules
	h     health
	ctl   retry.BreakerControl
	user  func(from, to retry.BreakerState)

	forcing atomic.Int32 // 1 + the state the fleet's goroutine is moving the breaker to; 0: none
	event   atomic.Int32 // what the breaker did by itself, to send: noEvent, openEvent or closeEvent
	gen     int64        // the shared state's generation last applied; on the fleet's goroutine
}

const (
	noEvent int32 = iota
	openEvent
	closeEvent
)

// breakerRules are the rules of a retry.Breaker as the script applies
// them to the fleet's counts.
type breakerRules struct {
	threshold             int
	rate                  float64
	minCalls              int
	recovery, maxRecovery time.Duration
}

// Breaker returns a retry.Breaker whose state this process shares with
// every process that makes the breaker of that name: the rules of c apply
// to the fleet's attempts (see the package documentation), an open state
// reaches every process within the documented delay, and the probes of a
// half-open state run in one process at a time, HalfOpenProbes of them for
// the whole fleet. Every process must give the same rules. While Redis
// cannot be used the breaker decides alone, as a retry.Breaker made from c.
//
// It asks Redis once, within Options.StartTimeout, to check the key, as [Fleet.Budget]
// does. c.Control must be nil (the fleet holds the control); c's
// OnStateChange sees every change, including those the fleet makes.
func (f *Fleet) Breaker(name string, c retry.BreakerConfig) (*retry.Breaker, error) {
	if err := checkName("the name", name, false); err != nil {
		return nil, fmt.Errorf("redisretry: Breaker %q: %w: %v", name, retry.ErrInvalidConfig, err)
	}
	if c.Control != nil {
		return nil, fmt.Errorf("redisretry: Breaker %q: %w: BreakerConfig.Control is set: the fleet controls the breaker", name, retry.ErrInvalidConfig)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	b := &breaker{f: f, key: key(f.prefix, name, "breaker"), id: hex.EncodeToString(id[:]), user: c.OnStateChange,
		rules: breakerRules{threshold: c.FailureThreshold, rate: c.FailureRate, minCalls: c.MinimumCalls,
			recovery: orDefault(c.RecoveryTimeout, retry.DefaultRecoveryTimeout), maxRecovery: c.MaxRecoveryTimeout}}
	if b.rules.threshold == 0 && c.FailureRate == 0 {
		b.rules.threshold = retry.DefaultFailureThreshold
	}
	if c.FailureRate > 0 && b.rules.minCalls == 0 {
		b.rules.minCalls = retry.DefaultMinimumCalls
	}
	b.h = health{f: f, kind: "breaker", name: name}
	c.OnStateChange = b.changed
	c.Control = func(ctl retry.BreakerControl) { b.ctl = ctl }
	br, err := retry.NewBreaker(c)
	if err != nil {
		return nil, fmt.Errorf("redisretry: Breaker %q: %w", name, err)
	}
	b.cfg = breakerFingerprint(b.rules, c)
	if err := f.add("breaker", name, b); err != nil {
		return nil, err
	}
	if err := f.check(b); err != nil {
		return nil, err // the exchange's error names the breaker already
	}
	return br, nil
}

// breakerFingerprint is the configuration as the breaker's key records
// it, with the defaults filled in (r holds those of the rules): processes
// that leave a default at zero and processes that write it out share the
// breaker.
func breakerFingerprint(r breakerRules, c retry.BreakerConfig) string {
	probes, window := c.HalfOpenProbes, c.Window
	if probes == 0 {
		probes = retry.DefaultHalfOpenProbes
	}
	if c.FailureRate > 0 {
		window = orDefault(window, retry.DefaultWindow)
	}
	return fmt.Sprintf("v1 failure-threshold=%d recovery=%v probes=%d failure-rate=%v window=%v minimum-calls=%d max-recovery=%v",
		r.threshold, r.recovery, probes, c.FailureRate, window, r.minCalls, r.maxRecovery)
}

func (b *breaker) health() *health { return &b.h }

// stale is how long the counts of a process that stopped syncing still
// count: three exchanges and their deadlines.
func (b *breaker) stale() time.Duration { return 3 * (b.f.interval + b.f.timeout) }

// leaderLease is how long the process that runs the probes keeps that
// role without an exchange.
func (b *breaker) leaderLease() time.Duration { return 3 * (b.f.interval + b.f.timeout) }

// changed is the breaker's OnStateChange: a change the breaker made by
// itself (its rules tripped it, a probe failed, its probes closed it) is
// sent to the fleet at once; then the user's hook is called.
//
// A change to another state than the one the fleet's goroutine is forcing
// at that moment is the breaker's own, even while it forces one.
func (b *breaker) changed(from, to retry.BreakerState) {
	if b.forcing.Load() != 1+int32(to) {
		switch {
		case to == retry.BreakerOpen:
			b.event.Store(openEvent)
			b.f.kickSync()
		case from == retry.BreakerHalfOpen && to == retry.BreakerClosed:
			b.event.Store(closeEvent)
			b.f.kickSync()
		}
	}
	if b.user != nil {
		b.user(from, to)
	}
}

// sync sends this process's counts and event, and applies the fleet's
// state to its breaker. A breaker always asks: the exchange is how it
// learns that the fleet opened.
func (b *breaker) sync(ctx context.Context) (bool, error) {
	ev := b.event.Swap(noEvent)
	now := time.Now()
	c, f, n := b.ctl.Counts(now)
	name := [...]string{noEvent: "", openEvent: "open", closeEvent: "close"}[ev]
	st, err := runBreaker(ctx, b.f.client, b, [3]uint64{c, f, n}, name, mrand.Float64(), b.ctl.Probing())
	if err != nil {
		b.event.CompareAndSwap(noEvent, ev) // send it again next time
		return true, fmt.Errorf("redisretry: breaker %q: %w", b.h.name, err)
	}
	b.apply(st, time.Now())
	return true, nil
}

// apply makes this process's breaker follow the fleet's state: open until
// the fleet's open time ends; closed once the fleet closed; and, in a
// half-open state, half-open in the one process that runs the probes and
// open in every other.
func (b *breaker) apply(st fleetState, now time.Time) {
	if b.event.Load() != noEvent {
		return // the breaker changed since it read its counts: send that first
	}
	defer b.forcing.Store(0)
	switch {
	case st.st == "closed":
		b.forcing.Store(1 + int32(retry.BreakerClosed))
		b.ctl.Close(now)
	default:
		b.forcing.Store(1 + int32(retry.BreakerOpen))
	}
	switch {
	case st.st == "closed":
	case st.st == "open":
		// Open past the fleet's open time, by the leader's lease: the
		// fleet names the one process that probes first, and it turns
		// half-open then (the gen of the half-open state is new to it).
		// Without Redis, it probes alone after that much longer.
		b.ctl.Open(now, now.Add(time.Duration(st.left)*time.Millisecond+b.leaderLease()))
	case st.leads && st.gen != b.gen:
		b.ctl.Open(now, now) // half-open at its next attempt: it runs the fleet's probes
	case !st.leads:
		b.ctl.Open(now, now.Add(b.leaderLease()))
	}
	b.gen = st.gen
}
