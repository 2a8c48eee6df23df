package retry

import (
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBreakerOp = errors.New("breaker test: transient")

func mustBreaker(t testing.TB, c BreakerConfig) *Breaker {
	t.Helper()
	b, err := NewBreaker(c)
	require.NoError(t, err)
	b.tl.since(time.Now()) // the tests count bucket periods from the breaker's making
	return b
}

// transitions records the breaker's state changes, for OnStateChange.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) hook(from, to BreakerState) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, from.String()+"->"+to.String())
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

// admit asks b for an admission that must be granted.
func admit(t *testing.T, b *Breaker) ticket {
	t.Helper()
	tk, ok := b.allowNow()
	require.True(t, ok, "admission refused in state %v", b.State())
	return tk
}

func failN(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		b.failNow(admit(t, b))
	}
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", BreakerClosed.String())
	assert.Equal(t, "open", BreakerOpen.String())
	assert.Equal(t, "half-open", BreakerHalfOpen.String())
	assert.Equal(t, "BreakerState(7)", BreakerState(7).String())
}

func TestBreakerConsecutiveFailuresOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{OnStateChange: tr.hook})
		failN(t, b, 4)
		b.succeedNow(admit(t, b)) // a success resets the run of failures
		failN(t, b, 4)
		assert.Equal(t, BreakerClosed, b.State())
		assert.Empty(t, tr.list())

		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State())
		assert.Equal(t, []string{"closed->open"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 9, Opened: 1}, b.Stats())

		_, ok := b.allowNow()
		assert.False(t, ok)
		assert.Equal(t, BreakerStats{Failures: 9, Rejected: 1, Opened: 1}, b.Stats())
	})
}

func TestBreakerHalfOpenAfterRecoveryTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second, OnStateChange: tr.hook})
		failN(t, b, 1)

		time.Sleep(10*time.Second - time.Nanosecond)
		assert.Equal(t, BreakerOpen, b.State())
		_, ok := b.allowNow()
		assert.False(t, ok)

		time.Sleep(time.Nanosecond)
		assert.Equal(t, BreakerHalfOpen, b.State(), "reported before any attempt")
		assert.Equal(t, []string{"closed->open"}, tr.list(), "the change is recorded by the next attempt")

		probe := admit(t, b)
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open"}, tr.list())
		_, ok = b.allowNow()
		assert.False(t, ok, "one probe at a time")

		b.succeedNow(probe)
		assert.Equal(t, BreakerClosed, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->closed"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 1, Rejected: 2, Opened: 1}, b.Stats())
	})
}

func TestBreakerProbeFailureReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second, OnStateChange: tr.hook})
		failN(t, b, 2)
		time.Sleep(time.Second)
		b.failNow(admit(t, b))
		assert.Equal(t, BreakerOpen, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->open"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 3, Opened: 2}, b.Stats())

		time.Sleep(time.Second - time.Nanosecond)
		assert.Equal(t, BreakerOpen, b.State(), "reopened for RecoveryTimeout from the probe's failure")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, BreakerHalfOpen, b.State())
	})
}

func TestBreakerSeveralProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 3})
		failN(t, b, 1)
		time.Sleep(time.Second)

		p1, p2, p3 := admit(t, b), admit(t, b), admit(t, b)
		_, ok := b.allowNow()
		assert.False(t, ok, "three probes in flight")

		b.cancelNow(p1) // an attempt without outcome frees its slot
		p4 := admit(t, b)
		b.succeedNow(p2)
		b.succeedNow(p3)
		assert.Equal(t, BreakerHalfOpen, b.State(), "two successes of three")
		p5 := admit(t, b)
		b.succeedNow(p4)
		assert.Equal(t, BreakerClosed, b.State(), "three successes in a row close it")

		b.failNow(p5) // a probe of a half-open period that is over
		assert.Equal(t, BreakerClosed, b.State())
		assert.Zero(t, b.fails.Load(), "a stale outcome is not counted")
	})
}

func TestBreakerStaleClosedOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second})
		early := admit(t, b)
		early2 := admit(t, b)
		failN(t, b, 2)
		require.Equal(t, BreakerOpen, b.State())
		time.Sleep(time.Second)
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())

		b.failNow(early) // admitted before the circuit opened
		b.failNow(early2)
		assert.Equal(t, BreakerClosed, b.State(), "failures from an earlier closed period do not count")
		assert.Zero(t, b.fails.Load())
		failN(t, b, 1)
		b.succeedNow(early)
		assert.Equal(t, int64(1), b.fails.Load(), "nor do successes")
	})
}

func TestBreakerCancelInClosedIsNothing(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	failN(t, b, 1)
	b.cancelNow(admit(t, b))
	assert.Equal(t, int64(1), b.fails.Load())
	assert.Equal(t, BreakerStats{Failures: 1}, b.Stats())
}

func TestBreakerLongerOpenOnRepeatedTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const r = 10 * time.Second
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: r, MaxRecoveryTimeout: 35 * time.Second})
		openTime := func() time.Duration { return time.Duration(b.openUntil.Load() - b.tl.since(time.Now())) }

		failN(t, b, 1)
		assert.Equal(t, r, openTime(), "the first trip is not lengthened")
		const capped = 35 * time.Second // 4r and 8r capped
		for _, bounds := range [][2]time.Duration{{r, 2 * r}, {capped / 2, capped}, {capped / 2, capped}} {
			time.Sleep(openTime())
			require.Equal(t, BreakerHalfOpen, b.State())
			b.failNow(admit(t, b))
			d := openTime()
			assert.GreaterOrEqual(t, d, bounds[0])
			assert.LessOrEqual(t, d, bounds[1])
		}
		time.Sleep(openTime())
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, r, openTime(), "closing resets the lengthening")
	})
}

func TestBreakerOpenForIsJitteredAndBounded(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{RecoveryTimeout: time.Second, MaxRecoveryTimeout: math.MaxInt64})
	seen := map[int64]bool{}
	for n := 1; n <= 100; n++ {
		d := b.openFor(n, nil)
		want := int64(math.MaxInt64)
		if f := math.Ldexp(float64(time.Second), n-1); f < math.MaxInt64 {
			want = int64(f)
		}
		assert.LessOrEqual(t, d, want, "trip %d", n)
		assert.GreaterOrEqual(t, d, max(want/2, int64(time.Second)), "trip %d", n)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 90, "jittered")
	assert.Equal(t, int64(time.Second), mustBreaker(t, BreakerConfig{RecoveryTimeout: time.Second}).openFor(5, nil),
		"no lengthening by default")
}

// The Breaker's lines are separate only if the Breaker is exactly 320
// bytes (a size class whose objects are 64-byte aligned) with each field
// on its line; see the comment on its fields.
func TestBreakerLayout(t *testing.T) {
	var b Breaker
	assert.Equal(t, uintptr(320), unsafe.Sizeof(b))
	for _, off := range []uintptr{unsafe.Offsetof(b.st), unsafe.Offsetof(b.threshold), unsafe.Offsetof(b.recovery),
		unsafe.Offsetof(b.maxRecovery), unsafe.Offsetof(b.probes), unsafe.Offsetof(b.rate), unsafe.Offsetof(b.width),
		unsafe.Offsetof(b.minCalls)} {
		assert.Less(t, off, uintptr(64), "every attempt reads the first line")
	}
	for _, off := range []uintptr{unsafe.Offsetof(b.fails), unsafe.Offsetof(b.failures)} {
		assert.Equal(t, uintptr(1), off/64, "failures write the second line")
	}
	assert.GreaterOrEqual(t, unsafe.Offsetof(b.openUntil), uintptr(128))
	for range 100 {
		br := mustBreaker(t, BreakerConfig{})
		assert.Zero(t, uintptr(unsafe.Pointer(br))%64, "a 320-byte object starts on a 64-byte boundary")
	}
}
