package retry

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// poolSource is a BudgetSource over a plain pool of micro-tokens: it lends
// up to room from the pool, all or nothing for need, and takes back what
// it is given. It counts its draws.
type poolSource struct {
	mu     sync.Mutex
	pool   int64 // micro-tokens
	given  int64
	draws  int
	lendFn func(need, room float64) float64 // overrides the pool when set
}

func (s *poolSource) Draw(_ time.Time, need, room float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draws++
	if s.lendFn != nil {
		return s.lendFn(need, room)
	}
	n, r := int64(math.Round(need*1e6)), int64(math.Round(room*1e6))
	if s.pool < n {
		return 0
	}
	lent := min(r, s.pool)
	s.pool -= lent
	return float64(lent) / 1e6
}

// takeBack returns b's surplus to the pool, as a source does when it
// syncs.
func (s *poolSource) takeBack(b *Budget) {
	n := micros(b.Surplus())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pool += n
	s.given += n
}

func (s *poolSource) state() (pool, given int64, draws int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool, s.given, s.draws
}

func micros(tokens float64) int64 { return int64(math.Round(tokens * 1e6)) }

func TestBudgetSourceLease(t *testing.T) {
	src := &poolSource{pool: micros(10)}
	b := mustBudget(t, BudgetConfig{Capacity: 3, PerSuccess: 0.5, Source: src})
	assert.Zero(t, b.Tokens(), "a lease starts empty")

	require.True(t, b.withdrawNow(false), "the first retry draws")
	pool, _, draws := src.state()
	assert.Equal(t, 1, draws)
	assert.Equal(t, micros(7), pool, "it drew the room of the lease, 3")
	assert.InDelta(t, 2, b.Tokens(), 1e-9)

	require.True(t, b.withdrawNow(false))
	require.True(t, b.withdrawNow(false))
	_, _, draws = src.state()
	assert.Equal(t, 1, draws, "retries paid from the lease make no draw")

	for range 8 { // 4 tokens: 3 fill the lease, 1 is surplus
		b.deposit()
	}
	assert.InDelta(t, 3, b.Tokens(), 1e-9)
	_, given, _ := src.state()
	assert.Zero(t, given, "the source has not synced")
	src.takeBack(b)
	pool, given, _ = src.state()
	assert.Equal(t, micros(1), given, "deposits beyond Capacity are the surplus the source takes back")
	assert.Equal(t, micros(8), pool)
	assert.Zero(t, b.Surplus(), "taken")
	assert.Equal(t, BudgetStats{Allowed: 3}, b.Stats())
}

func TestBudgetSourceRefusal(t *testing.T) {
	src := &poolSource{pool: micros(1.5)}
	b := mustBudget(t, BudgetConfig{Capacity: 4, RetryCost: 1, TimeoutCost: 2, Source: src})
	require.True(t, b.withdrawNow(false), "draws 1.5")
	require.False(t, b.withdrawNow(true), "0.5 in the lease, the pool is dry: a timeout costing 2 is refused")
	assert.InDelta(t, 0.5, b.Tokens(), 1e-9, "a refusal keeps the lease")
	assert.Equal(t, BudgetStats{Allowed: 1, Denied: 1}, b.Stats(), "a retry refused after a draw is counted once")

	for name, lent := range map[string]float64{"negative": -3, "NaN": math.NaN(), "short": 0.25} {
		src := &poolSource{lendFn: func(float64, float64) float64 { return lent }}
		b := mustBudget(t, BudgetConfig{Capacity: 2, Source: src})
		assert.False(t, b.withdrawNow(false), name)
		assert.GreaterOrEqual(t, b.Tokens(), 0.0, name)
	}
}

// A source that lends more than the room (or +Inf) fills the lease and
// gets the rest back, so no token is made or lost.
func TestBudgetSourceLendsTooMuch(t *testing.T) {
	src := &poolSource{}
	src.lendFn = func(need, room float64) float64 { return room + 5 }
	b := mustBudget(t, BudgetConfig{Capacity: 2, Source: src})
	require.True(t, b.withdrawNow(false))
	assert.InDelta(t, 1, b.Tokens(), 1e-9)
	assert.InDelta(t, 5, b.Surplus(), 1e-9, "lent beyond room: surplus")

	src.lendFn = func(float64, float64) float64 { return math.Inf(1) }
	b = mustBudget(t, BudgetConfig{Capacity: 2, Source: src})
	require.True(t, b.withdrawNow(false))
	assert.InDelta(t, 1, b.Tokens(), 1e-9)
}

func TestBudgetSourceInvalid(t *testing.T) {
	for _, c := range []BudgetConfig{
		{Capacity: 10, Threshold: 5, Source: &poolSource{}},
		{Capacity: 10, PerSecond: 1, Source: &poolSource{}},
		{Capacity: 0.5, Source: &poolSource{}}, // a lease that cannot hold one retry
	} {
		_, err := NewBudget(c)
		assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", c)
	}
}

// A source that panics: the panic reaches the caller of Do, and the budget
// stays usable (the next draw is not blocked).
func TestBudgetSourcePanic(t *testing.T) {
	src := &poolSource{pool: micros(10)}
	var boom atomic.Bool
	boom.Store(true)
	src.lendFn = func(need, room float64) float64 {
		if boom.Load() {
			panic("source down")
		}
		return room
	}
	b := mustBudget(t, BudgetConfig{Capacity: 1, Source: src})
	p, err := NewPolicy(WithBudget(b), WithBackoff(Constant(0)), WithMaxAttempts(2))
	require.NoError(t, err)
	fail := func(context.Context) (int, error) { return 0, errProp }
	assert.PanicsWithValue(t, "source down", func() { _, _ = Do(context.Background(), fail, p) })
	boom.Store(false)
	_, err = Do(context.Background(), fail, p)
	assert.ErrorIs(t, err, ErrExhausted, "the retry was granted by a draw after the panic")
	assert.Equal(t, uint64(1), b.Stats().Allowed)
}

// Do with a lease: retries draw, successes deposit into the lease and give
// back the rest.
func TestBudgetSourceDo(t *testing.T) {
	src := &poolSource{pool: micros(2)}
	b := mustBudget(t, BudgetConfig{Capacity: 1, PerSuccess: 1, Source: src})
	p, err := NewPolicy(WithBudget(b), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	calls := 0
	_, err = Do(context.Background(), func(context.Context) (int, error) { calls++; return 0, errProp }, p)
	require.ErrorIs(t, err, ErrBudgetExhausted)
	assert.Equal(t, 3, calls, "two retries: the pool's two tokens")
	for range 3 {
		_, err := Do(context.Background(), func(context.Context) (int, error) { return 1, nil }, p)
		require.NoError(t, err)
	}
	src.takeBack(b)
	pool, _, _ := src.state()
	assert.Equal(t, micros(2), pool, "three deposits: one fills the lease, two go back")
	assert.InDelta(t, 1, b.Tokens(), 1e-9)
}

// Tokens are conserved: whatever the interleaving of retries, deposits and
// refunds from many goroutines, the pool, the lease and the retries paid
// add up to the pool's start plus the deposits.
func TestBudgetSourceConservation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		capacity := tenths(t, 10, 50, "capacity")
		cost := tenths(t, 1, int64(capacity*10), "cost")
		perSuccess := tenths(t, 0, 20, "perSuccess")
		start := tenths(t, 0, 100, "pool")
		src := &poolSource{pool: micros(start)}
		b, err := NewBudget(BudgetConfig{Capacity: capacity, RetryCost: cost, PerSuccess: perSuccess, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		goroutines := rapid.IntRange(1, 4).Draw(t, "goroutines")
		ops := rapid.SliceOfN(rapid.IntRange(0, 2), 1, 60).Draw(t, "ops")
		var refunds atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := g; i < len(ops); i += goroutines {
					switch ops[i] {
					case 0:
						b.withdrawNow(false)
					case 1:
						b.deposit()
					case 2:
						if b.withdrawNow(false) {
							b.refund(false)
							refunds.Add(1)
						}
					}
				}
			})
		}
		wg.Wait()
		deposits := 0
		for _, op := range ops {
			if op == 1 {
				deposits++
			}
		}
		pool, _, _ := src.state()
		st := b.Stats()
		paid := int64(st.Allowed-uint64(refunds.Load())) * micros(cost)
		lease, surplus := micros(b.Tokens()), micros(b.Surplus())
		if got, want := pool+lease+surplus+paid, micros(start)+int64(deposits)*micros(perSuccess); got != want {
			t.Fatalf("pool %d + lease %d + surplus %d + paid %d = %d, want start + deposits = %d", pool, lease, surplus, paid, got, want)
		}
		if lease > micros(capacity) || lease < 0 {
			t.Fatalf("lease %d outside [0, %d]", lease, micros(capacity))
		}
	})
}

// Draw gets the instant of the decision: the one a caller of the engine
// passes to Failed.
func TestBudgetSourceDrawInstant(t *testing.T) {
	var got time.Time
	src := &poolSource{}
	src.lendFn = func(need, room float64) float64 { return room }
	rec := &instantSource{poolSource: src, at: &got}
	b := mustBudget(t, BudgetConfig{Capacity: 1, Source: rec})
	p, err := NewPolicy(WithBudget(b))
	require.NoError(t, err)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	ctx, pr, err := p.Begin(context.Background(), Progress{}, at)
	require.NoError(t, err)
	v := p.Failed(ctx, pr, errProp, at.Add(time.Second))
	require.NoError(t, v.Err)
	assert.Equal(t, at.Add(time.Second), got)
}

type instantSource struct {
	*poolSource
	at *time.Time
}

func (s *instantSource) Draw(now time.Time, need, room float64) float64 {
	*s.at = now
	return s.poolSource.Draw(now, need, room)
}

func TestBudgetSurplusWithoutSource(t *testing.T) {
	var nb *Budget
	assert.Zero(t, nb.Surplus())
	b := mustBudget(t, BudgetConfig{Capacity: 1, PerSuccess: 1})
	b.deposit()
	assert.Zero(t, b.Surplus(), "a whole budget drops what does not fit, as always")
}
