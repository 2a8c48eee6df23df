package retry

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBudgetTimeRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, BudgetConfig{Capacity: 4, PerSecond: 2})
		for range 4 {
			require.True(t, b.withdrawNow(false))
		}
		require.False(t, b.withdrawNow(false))

		time.Sleep(499 * time.Millisecond)
		assert.Equal(t, 0.998, b.Tokens())
		assert.False(t, b.withdrawNow(false))
		time.Sleep(time.Millisecond)
		assert.Equal(t, 1.0, b.Tokens())
		assert.True(t, b.withdrawNow(false))

		time.Sleep(time.Hour)
		assert.Equal(t, 4.0, b.Tokens(), "time refill never exceeds the capacity")
		for range 4 {
			require.True(t, b.withdrawNow(false))
		}
		time.Sleep(250 * time.Millisecond)
		assert.Equal(t, 0.5, b.Tokens(), "a full bucket does not bank time")
	})
}

func TestBudgetRefillKeepsFractions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 3 tokens per second is 3 micro-tokens per microsecond: frequent
		// reads each a fraction of a micro-token apart must not lose time.
		b := mustBudget(t, BudgetConfig{Capacity: 1, PerSecond: 3})
		require.True(t, b.withdrawNow(false))
		for range 1_000_000 / 100 {
			time.Sleep(100 * time.Nanosecond) // 0.3 micro-tokens each
			b.Tokens()
		}
		assert.Equal(t, 0.003, b.Tokens(), "1ms at 3 tokens/s")
	})
}

func TestBudgetRefillArithmetic(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 1e12, PerSecond: 1e12})
	assert.True(t, b.fills(math.MaxInt64))
	assert.True(t, b.fills(uint64(time.Second)))
	assert.False(t, b.fills(uint64(time.Second-1)))
	// ⌊t·rate/1e9⌋ exceeds 2⁶⁴ here; the difference of marks stays exact.
	late := int64(math.MaxInt64 - int64(time.Hour))
	assert.Equal(t, uint64(1e15), b.mark(late+int64(time.Millisecond))-b.mark(late))

	small := mustBudget(t, BudgetConfig{Capacity: 10, PerSecond: 1e-6})
	assert.Equal(t, uint64(1), small.mark(int64(1500*time.Millisecond)), "one micro-token per second")
	assert.Equal(t, uint64(3), small.mark(int64(3*time.Second)))
}

// Goroutines that wake at the same virtual instants withdraw from a budget
// that refills with time: the refill is credited exactly once, so the
// retries granted are exactly those the initial tokens, the time refill
// and the deposits paid for.
func TestBudgetConcurrentRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const goroutines, rounds = 64, 200
		b := mustBudget(t, BudgetConfig{Capacity: 5, PerSecond: 1000, PerSuccess: 0.001}) // starved: time refill dominates
		start := time.Now()
		var granted, deposits atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range rounds {
					time.Sleep(time.Duration(1+(g*7+i)%3) * time.Millisecond)
					if (g+i)%4 == 0 {
						b.deposit()
						deposits.Add(1)
					} else if b.withdrawNow(false) {
						granted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.Tokens()                                                 // credit the refill up to now
		refill := int64(elapsed/time.Millisecond) * microsPerToken // 1 token per ms
		available := b.capacity + refill + deposits.Load()*b.perSuccess
		spent := granted.Load() * b.retryCost
		assert.LessOrEqual(t, spent, available-b.tokens.Load(), "never more than the tokens allowed")
		assert.Positive(t, granted.Load())
		assert.Equal(t, uint64(granted.Load()), b.Stats().Allowed)
		assert.GreaterOrEqual(t, b.tokens.Load(), int64(0))
		assert.LessOrEqual(t, b.tokens.Load(), b.capacity)
	})
}

// The refill at explicit instants (t0 is the tests' origin): no clock, no
// synctest.
func TestBudgetRefillAtExplicitTimes(t *testing.T) {
	b, err := NewBudget(BudgetConfig{Capacity: 3, PerSecond: 2})
	require.NoError(t, err)
	withdraw := func(d time.Duration) bool {
		clk := at(t0.Add(d))
		return b.withdraw(false, &clk)
	}
	for range 3 {
		require.True(t, withdraw(0))
	}
	require.False(t, withdraw(0), "empty")
	require.False(t, withdraw(499*time.Millisecond), "0.998 tokens")
	require.True(t, withdraw(500*time.Millisecond), "one token after 500ms at 2/s")
	assert.Equal(t, 2.0, b.TokensAt(t0.Add(1500*time.Millisecond)))
	assert.Equal(t, 3.0, b.TokensAt(t0.Add(time.Hour)), "capped")
	assert.Equal(t, 0.0, b.TokensAt(t0), "looking changes nothing: what was credited by the last withdrawal")
}
