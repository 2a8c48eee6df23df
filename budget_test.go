package retry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBudgetOp = errors.New("budget test: transient")

func mustBudget(t testing.TB, c BudgetConfig) *Budget {
	t.Helper()
	b, err := NewBudget(c)
	require.NoError(t, err)
	return b
}

func TestBudgetWithdrawDepositAndStats(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 3, PerSuccess: 0.5})
	for range 3 {
		assert.True(t, b.withdrawNow(false))
	}
	assert.False(t, b.withdrawNow(false))
	assert.False(t, b.withdrawNow(true))
	assert.Equal(t, 0.0, b.Tokens())
	assert.Equal(t, BudgetStats{Allowed: 3, Denied: 2}, b.Stats())

	b.deposit()
	assert.Equal(t, 0.5, b.Tokens())
	assert.False(t, b.withdrawNow(false), "half a token does not pay for a retry")
	b.deposit()
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, BudgetStats{Allowed: 4, Denied: 3}, b.Stats())

	for range 20 {
		b.deposit()
	}
	assert.Equal(t, 3.0, b.Tokens(), "deposits never exceed the capacity")
}

func TestBudgetNoPerSuccessDepositsNothing(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 2})
	require.True(t, b.withdrawNow(false))
	b.deposit()
	assert.Equal(t, 1.0, b.Tokens())
}

func TestBudgetThreshold(t *testing.T) {
	// gRPC-style throttling: retries stop while the bucket is at or below half full.
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5})
	for range 5 {
		assert.True(t, b.withdrawNow(false))
	}
	assert.Equal(t, 5.0, b.Tokens())
	assert.False(t, b.withdrawNow(false))
	b.deposit()
	assert.InDelta(t, 5.1, b.Tokens(), 1e-9)
	assert.False(t, b.withdrawNow(false), "5.1 - 1 would cross the threshold")
	for range 9 {
		b.deposit()
	}
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, 5.0, b.Tokens())
}

func TestBudgetTimeoutCost(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 5, TimeoutCost: 3})
	assert.True(t, b.withdrawNow(true))
	assert.Equal(t, 2.0, b.Tokens())
	assert.False(t, b.withdrawNow(true))
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, 1.0, b.Tokens())
	assert.Equal(t, BudgetStats{Allowed: 2, Denied: 1}, b.Stats())
}

// Many goroutines withdrawing and depositing at once never get more
// retries than the tokens allowed, and the bucket stays within bounds.
func TestBudgetConcurrent(t *testing.T) {
	const goroutines, rounds = 64, 500
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 0.25})
	var granted, deposits atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				if (g+i)%3 == 0 {
					b.deposit()
					deposits.Add(1)
				} else if b.withdrawNow(false) {
					granted.Add(1)
				}
				if tok := b.tokens.Load(); tok < 0 || tok > b.capacity {
					t.Errorf("tokens out of bounds: %d", tok)
				}
			}
		})
	}
	wg.Wait()
	// Every granted retry was paid for by the initial tokens or a deposit.
	paid := b.capacity + deposits.Load()*b.perSuccess - b.tokens.Load()
	assert.LessOrEqual(t, granted.Load()*b.retryCost, paid)
	assert.Equal(t, uint64(granted.Load()), b.Stats().Allowed)
	assert.Equal(t, uint64(goroutines*rounds-deposits.Load()-granted.Load()), b.Stats().Denied)
}

// The Budget's hot fields share one cache line only if the Budget is
// exactly 192 bytes (a size class whose objects are 64-byte aligned) with
// them in its first 64; see the comment on its fields.
func TestBudgetLayout(t *testing.T) {
	var b Budget
	assert.Equal(t, uintptr(192), unsafe.Sizeof(b))
	assert.GreaterOrEqual(t, unsafe.Offsetof(b.tl), uintptr(64))
	assert.Less(t, unsafe.Offsetof(b.tl), uintptr(128))
	assert.GreaterOrEqual(t, unsafe.Offsetof(b.denied), uintptr(128), "refusals write their own line")
	for name, off := range map[string]uintptr{
		"tokens": unsafe.Offsetof(b.tokens), "allowed": unsafe.Offsetof(b.allowed), "last": unsafe.Offsetof(b.last),
		"threshold": unsafe.Offsetof(b.threshold), "retryCost": unsafe.Offsetof(b.retryCost),
		"timeoutCost": unsafe.Offsetof(b.timeoutCost), "capacity": unsafe.Offsetof(b.capacity), "rate": unsafe.Offsetof(b.rate),
	} {
		assert.Less(t, off, uintptr(64), name)
	}
	for range 100 {
		bu := mustBudget(t, BudgetConfig{Capacity: 1})
		assert.Zero(t, uintptr(unsafe.Pointer(bu))%64, "a 192-byte object starts on a 64-byte boundary")
	}
}

// gRFC A6 stops retrying once the tokens left would be at or below half:
// from 10 tokens, 4 retries (the 5th failure is not retried). Threshold
// Capacity/2 + 1e-6 reproduces it; Capacity/2 allows one more.
func TestBudgetGRPCThreshold(t *testing.T) {
	for threshold, retries := range map[float64]int{5 + 1e-6: 4, 5: 5} {
		b := mustBudget(t, BudgetConfig{Capacity: 10, Threshold: threshold})
		calls := 0
		err := Run(context.Background(), func(context.Context) error { calls++; return errProp },
			WithBudget(b), WithMaxAttempts(0), WithBackoff(Constant(0)))
		require.ErrorIs(t, err, ErrBudgetExhausted)
		assert.Equal(t, retries+1, calls, "threshold %v", threshold)
	}
}
