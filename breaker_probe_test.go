package retry

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The half-open probe's lease (BreakerConfig.ProbeLease): a probe whose
// report never comes holds its slot for at most the lease, and its late
// report changes nothing.

// allowAt asks b for an admission at t0+d.
func allowAt(b *Breaker, d time.Duration) (ticket, bool) {
	c := at(t0.Add(d))
	return b.allow(&c)
}

// doneAt reports at t0+d the outcome of the attempt admitted with tk.
func doneAt(b *Breaker, tk ticket, o outcome, d time.Duration) {
	c := at(t0.Add(d))
	b.done(tk, o, &c, nil)
}

// tripAt opens a breaker with FailureThreshold 1 at t0+d.
func tripAt(t *testing.T, b *Breaker, d time.Duration) {
	t.Helper()
	tk, ok := allowAt(b, d)
	require.True(t, ok)
	doneAt(b, tk, outcomeFailure, d)
	require.Equal(t, BreakerOpen, b.StateAt(t0.Add(d)))
}

func TestBreakerProbeLeaseAtExplicitTimes(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name  string
		cfg   BreakerConfig
		lease time.Duration // what the lease must be
	}{
		{"default: the recovery timeout", BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * s}, 10 * s},
		{"shorter than recovery", BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * s, ProbeLease: 2 * s}, 2 * s},
		{"longer than recovery", BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * s, ProbeLease: time.Minute}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr transitions
			tt.cfg.OnStateChange = tr.hook
			b, err := NewBreaker(tt.cfg)
			require.NoError(t, err)
			tripAt(t, b, 0)
			half := 10 * s
			dropped, ok := allowAt(b, half)
			require.True(t, ok, "the first probe")
			require.True(t, dropped.probe())

			_, ok = allowAt(b, half+tt.lease-1)
			assert.False(t, ok, "the dropped probe holds its slot until its lease ends")
			rejected := b.Stats().Rejected
			next, ok := allowAt(b, half+tt.lease)
			require.True(t, ok, "the lease has ended: the slot is forfeited")
			assert.Equal(t, rejected, b.Stats().Rejected, "an admission into a forfeited slot is no rejection")
			_, ok = allowAt(b, half+tt.lease)
			assert.False(t, ok, "the new probe holds the slot")

			doneAt(b, dropped, outcomeSuccess, half+tt.lease)
			assert.Equal(t, BreakerHalfOpen, b.StateAt(t0.Add(half+tt.lease)), "a forfeited probe's success closes nothing")
			doneAt(b, dropped, outcomeFailure, half+tt.lease)
			assert.Equal(t, BreakerHalfOpen, b.StateAt(t0.Add(half+tt.lease)), "a forfeited probe's failure opens nothing")
			assert.Equal(t, uint64(1), inflightOf(b.st.Load()), "the new probe alone is in flight")
			doneAt(b, dropped, outcomeNone, half+tt.lease)
			assert.Equal(t, uint64(1), inflightOf(b.st.Load()), "a forfeited probe's cancellation frees no slot")

			doneAt(b, next, outcomeSuccess, half+tt.lease+s)
			assert.Equal(t, BreakerClosed, b.StateAt(t0.Add(half+tt.lease+s)))
			assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->closed"}, tr.list(),
				"forfeiting is no change of state")
			assert.Equal(t, BreakerStats{Failures: 2, Rejected: 2, Opened: 1}, b.Stats(),
				"the forfeited probe's failure is counted, as any failure")
		})
	}
}

// With several probe slots, the lease runs from the latest admission: a
// dropped probe keeps its slot while others come and go, and every slot
// is forfeited only once each is held and the latest admission is a lease
// old. Successes of the forfeited period are forgotten.
func TestBreakerProbeLeaseWithSeveralProbes(t *testing.T) {
	const s = time.Second
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * s, HalfOpenProbes: 3, ProbeLease: 5 * s})
	tripAt(t, b, 0)
	_, ok := allowAt(b, 10*s) // dropped
	require.True(t, ok)
	a, ok := allowAt(b, 11*s)
	require.True(t, ok)
	doneAt(b, a, outcomeSuccess, 12*s) // one success of three
	c, ok := allowAt(b, 13*s)
	require.True(t, ok)
	_, ok = allowAt(b, 14*s) // dropped too: every slot is held
	require.True(t, ok)
	_, ok = allowAt(b, 18*s)
	assert.False(t, ok, "the latest admission (14s) is less than a lease old")
	doneAt(b, c, outcomeSuccess, 18*s)
	assert.Equal(t, uint64(2), successesOf(b.st.Load()))
	d, ok := allowAt(b, 18*s)
	require.True(t, ok, "c's report freed its slot")
	_, ok = allowAt(b, 22*s)
	assert.False(t, ok, "a lease from the latest admission, 18s")
	e, ok := allowAt(b, 23*s)
	require.True(t, ok, "every slot held and the latest admission 5s old: a new period")
	assert.Zero(t, successesOf(b.st.Load()), "the successes of the forfeited period are forgotten")
	assert.Equal(t, uint64(1), inflightOf(b.st.Load()))
	doneAt(b, d, outcomeSuccess, 23*s)
	assert.Zero(t, successesOf(b.st.Load()), "d was forfeited")
	for _, tk := range []ticket{e, admitAt(t, b, 23*s), admitAt(t, b, 23*s)} {
		doneAt(b, tk, outcomeSuccess, 24*s)
	}
	assert.Equal(t, BreakerClosed, b.StateAt(t0.Add(24*s)), "three successes of the new period")
}

// admitAt is allowAt that must admit.
func admitAt(t *testing.T, b *Breaker, d time.Duration) ticket {
	t.Helper()
	tk, ok := allowAt(b, d)
	require.True(t, ok)
	return tk
}

// TestEngineDroppedProbe is issue 20's leftover: the only probe Begin
// admitted is dropped without a report (a consumer that crashed). Begin
// is refused until the probe's lease ends, then admits a new probe; the
// dropped probe's late report is accepted by the engine (it is its first)
// but changes nothing in the breaker.
func TestEngineDroppedProbe(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
	p, err := NewPolicy(WithBreaker(br), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, pr := begin(t, p, Progress{}, engineT0)
	p.Failed(ctx, pr, errProp, engineT0) // trips it (and stops: the retry would be refused)
	require.Equal(t, BreakerOpen, br.StateAt(engineT0))
	half := engineT0.Add(time.Second)
	dctx, dropped := begin(t, p, Progress{}, half)

	_, _, err = p.Begin(context.Background(), Progress{}, half.Add(time.Second-1))
	require.ErrorIs(t, err, ErrCircuitOpen, "the dropped probe's lease runs")
	nctx, next := begin(t, p, Progress{}, half.Add(time.Second))

	v := p.Failed(dctx, dropped, errProp, half.Add(2*time.Second))
	require.NoError(t, v.Err, "the engine retries the late failure; the breaker ignores it")
	assert.Equal(t, BreakerHalfOpen, br.StateAt(half.Add(2*time.Second)))
	require.NoError(t, p.Succeeded(nctx, next, half.Add(2*time.Second)))
	assert.Equal(t, BreakerClosed, br.StateAt(half.Add(2*time.Second)))
}

// TestDoProbeOutlivesItsLease: under Do, a probe that runs longer than
// its lease loses its slot to the next caller, whose success closes the
// circuit; the slow probe's failure, reported after, opens nothing.
func TestDoProbeOutlivesItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, ProbeLease: 2 * time.Second})
		require.Error(t, br.Run(context.Background(), func(context.Context) error { return errProp }))
		time.Sleep(time.Second)

		slow := make(chan error, 1)
		go func() {
			slow <- br.Run(context.Background(), func(context.Context) error {
				time.Sleep(5 * time.Second)
				return errProp
			})
		}()
		synctest.Wait()
		require.ErrorIs(t, br.Run(context.Background(), func(context.Context) error { return nil }), ErrCircuitOpen)
		time.Sleep(2 * time.Second)
		require.NoError(t, br.Run(context.Background(), func(context.Context) error { return nil }))
		assert.Equal(t, BreakerClosed, br.State())
		require.ErrorIs(t, <-slow, errProp)
		assert.Equal(t, BreakerClosed, br.State(), "the forfeited probe's failure came from an earlier period")
	})
}

// 32 goroutines hammer one breaker whose probes are often dropped without
// a report, while others fail, succeed or cancel: in each half-open period
// no more than HalfOpenProbes probes run at once, and once the hammering
// stops, the breaker admits a probe within one lease and closes on its
// success, whatever the dropped probes left behind.
func TestBreakerConcurrentDroppedProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const probes = 2
		lease := 3 * time.Millisecond
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: 2 * time.Millisecond, HalfOpenProbes: probes, ProbeLease: lease})
		var mu sync.Mutex
		running := map[uint64]int{} // probes in flight per half-open generation
		peak, dropped := 0, 0
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := range 200 {
					tk, ok := b.allowNow()
					if !ok {
						time.Sleep(time.Millisecond)
						continue
					}
					probe, gen := tk.probe(), genOf(uint64(tk))
					if probe {
						mu.Lock()
						running[gen]++
						peak = max(peak, running[gen])
						mu.Unlock()
					}
					runtime.Gosched()
					if (g+i)%7 == 0 && probe {
						mu.Lock()
						dropped++ // never reported: its slot stays held until the lease ends
						mu.Unlock()
						continue
					}
					if probe {
						mu.Lock()
						running[gen]--
						mu.Unlock()
					}
					switch (g + i) % 4 {
					case 0, 1:
						b.failNow(tk)
					case 2:
						b.cancelNow(tk)
					default:
						b.succeedNow(tk)
					}
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, peak, probes)
		assert.Positive(t, dropped, "probes were dropped")

		time.Sleep(2*time.Millisecond + lease) // past any open period and any lease
		for range probes {
			tk, ok := b.allowNow()
			require.True(t, ok, "state %v, word %x", b.State(), b.st.Load())
			b.succeedNow(tk)
		}
		assert.Equal(t, BreakerClosed, b.State())
	})
}
