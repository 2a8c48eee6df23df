package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func controlled(t *testing.T, c BreakerConfig) (*Breaker, BreakerControl, *[]string) {
	t.Helper()
	var ctl BreakerControl
	var changes []string
	c.Control = func(bc BreakerControl) { ctl = bc }
	c.OnStateChange = func(from, to BreakerState) { changes = append(changes, from.String()+">"+to.String()) }
	b, err := NewBreaker(c)
	require.NoError(t, err)
	require.NotNil(t, ctl.b)
	return b, ctl, &changes
}

func TestBreakerControlOpenClose(t *testing.T) {
	b, ctl, changes := controlled(t, BreakerConfig{FailureThreshold: 3, HalfOpenProbes: 1})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ctl.Open(t0, t0.Add(time.Second))
	assert.Equal(t, BreakerOpen, b.StateAt(t0.Add(999*time.Millisecond)))
	assert.Equal(t, BreakerHalfOpen, b.StateAt(t0.Add(time.Second)), "half-open at until")
	ctl.Open(t0.Add(500*time.Millisecond), t0.Add(3*time.Second))
	assert.Equal(t, BreakerOpen, b.StateAt(t0.Add(2*time.Second)), "an open circuit stays open until the later instant")
	assert.Equal(t, uint64(1), b.Stats().Opened, "opened once")

	clk := at(t0.Add(3 * time.Second))
	tk, ok := b.allow(&clk)
	require.True(t, ok, "a probe after until")
	require.True(t, tk.probe())
	ctl.Close(t0.Add(3 * time.Second))
	assert.Equal(t, BreakerClosed, b.StateAt(t0.Add(3*time.Second)))
	b.done(tk, outcomeFailure, &clk, nil) // the probe of a period that is over counts as nothing
	assert.Equal(t, BreakerClosed, b.StateAt(t0.Add(3*time.Second)))
	ctl.Close(t0.Add(4 * time.Second)) // closed already: no change
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, *changes)
}

func TestBreakerControlCounts(t *testing.T) {
	b, ctl, _ := controlled(t, BreakerConfig{FailureThreshold: 10})
	t0 := time.Now()
	c, f, n := ctl.Counts(t0)
	assert.Zero(t, c+f+n)
	for range 3 {
		tk, _ := b.allowNow()
		b.failNow(tk)
	}
	c, f, n = ctl.Counts(time.Now())
	assert.Equal(t, [3]uint64{3, 0, 0}, [3]uint64{c, f, n}, "no failure-rate rule: no window")
	tk, _ := b.allowNow()
	b.succeedNow(tk)
	c, _, _ = ctl.Counts(time.Now())
	assert.Zero(t, c, "a success ends the run")

	b, ctl, _ = controlled(t, BreakerConfig{FailureRate: 0.9, Window: 10 * time.Second, MinimumCalls: 100})
	at0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		clk := at(at0.Add(time.Duration(i) * time.Second))
		tk, _ := b.allow(&clk)
		o := outcomeSuccess
		if i%2 == 0 {
			o = outcomeFailure
		}
		b.done(tk, o, &clk, nil)
	}
	_, f, n = ctl.Counts(at0.Add(4 * time.Second))
	assert.Equal(t, [2]uint64{3, 5}, [2]uint64{f, n})
	_, f, n = ctl.Counts(at0.Add(12 * time.Second))
	assert.Equal(t, [2]uint64{1, 2}, [2]uint64{f, n}, "the first three left the window")
	ctl.Open(at0.Add(4*time.Second), at0.Add(5*time.Second))
	c, _, _ = ctl.Counts(at0.Add(4 * time.Second))
	assert.Zero(t, c, "no run while open")
}

// Probing is true while a half-open circuit has a probe in flight, and
// only then: not while closed or open, not in a half-open period waiting
// for its first probe, not once the probe returned.
func TestBreakerControlProbing(t *testing.T) {
	b, ctl, _ := controlled(t, BreakerConfig{FailureThreshold: 1, HalfOpenProbes: 2})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.False(t, ctl.Probing(), "closed")
	ctl.Open(t0, t0.Add(time.Second))
	assert.False(t, ctl.Probing(), "open")
	clk := at(t0.Add(time.Second))
	assert.Equal(t, BreakerHalfOpen, b.StateAt(clk.now()))
	assert.False(t, ctl.Probing(), "half-open, no probe yet")
	tk, ok := b.allow(&clk)
	require.True(t, ok)
	assert.True(t, ctl.Probing(), "a probe in flight")
	tk2, ok := b.allow(&clk)
	require.True(t, ok)
	b.done(tk, outcomeSuccess, &clk, nil)
	assert.True(t, ctl.Probing(), "the second probe still in flight")
	b.done(tk2, outcomeSuccess, &clk, nil)
	assert.Equal(t, BreakerClosed, b.StateAt(clk.now()))
	assert.False(t, ctl.Probing(), "the probes closed it")
}
