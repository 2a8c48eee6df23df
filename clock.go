package retry

import (
	"sync/atomic"
	"time"
)

// clock is the instant of one decision. The engine's callers give it
// ([Policy.Begin], [Policy.Failed], [Policy.Succeeded] take now); [Do] leaves
// it unread, and it reads the clock at most once, when the decision first
// needs the time, so that a decision that needs none reads no clock. A
// decision that needs only the time since the call's start (an observer's
// durations, the elapsed limit) reads only the monotonic clock (see since),
// about half the cost of time.Now.
type clock struct {
	t    time.Time
	read bool
	// el is the time since the call's start, when mono is set: since read
	// the monotonic clock and now did not read the clock.
	el   time.Duration
	mono bool

	// A change of the breaker's state that the decision caused, for the
	// call's observer (see Observer.BreakerChange).
	changed  bool
	from, to BreakerState
}

// at returns a clock set to t.
func at(t time.Time) clock { return clock{t: t, read: true} }

// now returns the instant of the decision.
func (c *clock) now() time.Time {
	if !c.read {
		c.t, c.read = time.Now(), true
	}
	return c.t
}

// since returns the time from start (the call's start, pr.Start) to the
// decision's instant. A clock that was not read measures it with
// time.Since, which reads only the monotonic clock when start has a
// monotonic reading (Do's start does), and keeps it for the decision's
// other durations.
func (c *clock) since(start time.Time) time.Duration {
	if c.read {
		return c.t.Sub(start)
	}
	if !c.mono {
		c.el, c.mono = time.Since(start), true
	}
	return c.el
}

// timeline turns instants into nanoseconds since the first instant it was
// given. A Budget or a Breaker measures time on one, so it runs the same on
// the wall clock and on a virtual clock that starts anywhere (a simulator,
// a test). An instant before the first one counts as the first.
type timeline struct {
	origin atomic.Pointer[time.Time]
}

// since returns t as nanoseconds since the timeline's origin, never
// negative; the first call sets the origin.
func (tl *timeline) since(t time.Time) int64 {
	o := tl.origin.Load()
	if o == nil {
		o = tl.start(t)
	}
	return max(int64(t.Sub(*o)), 0)
}

// peek is since without setting the origin: ok is false before the first
// instant was given.
func (tl *timeline) peek(t time.Time) (int64, bool) {
	o := tl.origin.Load()
	if o == nil {
		return 0, false
	}
	return max(int64(t.Sub(*o)), 0), true
}

// start sets the origin to t unless another goroutine set it first. It is
// kept out of since so that since does not move t to the heap.
//
//go:noinline
func (tl *timeline) start(t time.Time) *time.Time {
	tl.origin.CompareAndSwap(nil, &t)
	return tl.origin.Load()
}
