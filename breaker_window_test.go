package retry

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreakerFailureRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4})
		failN(t, b, 3)
		assert.Equal(t, BreakerClosed, b.State(), "3 calls are below the minimum")
		b.succeedNow(admit(t, b))
		assert.Equal(t, BreakerClosed, b.State(), "the rule is checked on failures")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "4 failures of 5 calls")
	})
}

func TestBreakerFailureRateWindowExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Second})
		failN(t, b, 3) // in bucket 0, [0s, 1s)
		time.Sleep(10 * time.Second)
		b.succeedNow(admit(t, b))
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "the first three failures left the window")

		time.Sleep(9*time.Second + 999*time.Millisecond) // still within the last 10 buckets
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "2 failures of 3 calls: below the minimum")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "3 failures of 4 calls")
	})
}

func TestBreakerFailureRateClosingForgetsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, MinimumCalls: 2, RecoveryTimeout: time.Second})
		failN(t, b, 2)
		require.Equal(t, BreakerOpen, b.State())
		time.Sleep(time.Second)
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "one failure in a fresh window is below the minimum")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State())
	})
}

func TestBreakerBothRules(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, FailureRate: 0.9, MinimumCalls: 100})
	failN(t, b, 2)
	assert.Equal(t, BreakerOpen, b.State(), "the consecutive rule applies beside the rate rule")
}

// An attempt whose goroutine read the clock a whole window before it
// records its outcome must not reset a bucket that now counts a later
// period: that would erase the later period's failures.
func TestBreakerFailureRateStaleRecordKeepsNewerBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4})
		time.Sleep(15 * time.Second) // bucket period 15, in bucket 5
		failN(t, b, 3)

		assert.False(t, b.recordAt(5, false), "an attempt that read the clock in period 5")
		w := b.buckets[5].Load()
		assert.Equal(t, uint64(15), w>>tagShift, "the bucket still counts period 15")
		assert.Equal(t, uint64(3), w>>bucketCount&bucketMax, "failures")
		assert.Equal(t, uint64(3), w&bucketMax, "attempts")

		b.recordAt(14, true) // a late attempt still in the window counts
		assert.Equal(t, uint64(14), b.buckets[4].Load()>>tagShift)
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "5 failures of 5 attempts, none lost")
	})
}

// With the failure-rate rule alone, a failure is counted only in its
// bucket: no count of failures in a row that the next success would have to
// write back to zero.
func TestBreakerFailureRateAloneCountsNoRun(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, MinimumCalls: 4})
	failN(t, b, 1)
	assert.Zero(t, b.fails.Load())
	assert.Equal(t, BreakerStats{Failures: 1}, b.Stats())
}
