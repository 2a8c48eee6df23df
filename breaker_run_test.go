package retry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreakerRun(t *testing.T) {
	ctx := context.Background()
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	calls := 0
	fail := func(context.Context) error { calls++; return errBreakerOp }

	assert.NoError(t, b.Run(ctx, func(context.Context) error { return nil }))
	assert.Same(t, errBreakerOp, b.Run(ctx, fail), "op's error comes back unchanged")
	perm := Permanent(errBreakerOp)
	assert.Same(t, perm, b.Run(ctx, func(context.Context) error { return perm }))
	assert.Equal(t, BreakerClosed, b.State(), "a Permanent error counts as a success")
	assert.Zero(t, b.fails.Load())

	notRetryable := selfRetryable(false)
	_ = b.Run(ctx, func(context.Context) error { return notRetryable })
	assert.Zero(t, b.fails.Load(), "an error that says it is not retryable is an answer")

	_ = b.Run(ctx, func(context.Context) error { return After(time.Second, errBreakerOp) })
	_ = b.Run(ctx, fail)
	assert.Equal(t, BreakerOpen, b.State(), "After and plain errors are failures")

	err := b.Run(ctx, fail)
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &Error{Reason: ErrCircuitOpen}, re)
	assert.Equal(t, 2, calls, "op not called while open")
}

type selfRetryable bool

func (e selfRetryable) Error() string   { return fmt.Sprintf("retryable=%v", bool(e)) }
func (e selfRetryable) Retryable() bool { return bool(e) }

func TestBreakerRunInvalid(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	var nilB *Breaker
	require.ErrorIs(t, nilB.Run(ctx, op), ErrInvalidConfig)
	require.ErrorIs(t, new(Breaker).Run(ctx, op), ErrInvalidConfig)
	b := mustBreaker(t, BreakerConfig{})
	require.ErrorIs(t, b.Run(ctx, nil), ErrInvalidConfig)
	//lint:ignore SA1012 a nil context must be reported, not panic
	require.ErrorIs(t, b.Run(nil, op), ErrInvalidConfig) //nolint:staticcheck

	cctx, cancel := context.WithCancelCause(ctx)
	cause := errors.New("caller gave up")
	cancel(cause)
	err := b.Run(cctx, func(ctx context.Context) error { return context.Cause(ctx) })
	assert.Same(t, cause, err, "op sees the ended context and answers for it")
	assert.Equal(t, BreakerStats{}, b.Stats(), "the caller's own cancellation is no failure")
}

func TestBreakerRunCancellationAndPanicFreeTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		failN(t, b, 1)
		time.Sleep(time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		err := b.Run(ctx, func(context.Context) error { cancel(); return errBreakerOp })
		assert.Same(t, errBreakerOp, err)
		assert.Equal(t, BreakerHalfOpen, b.State(), "cancellation is no outcome")

		assert.Panics(t, func() {
			_ = b.Run(context.Background(), func(context.Context) error { panic("boom") })
		})
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.NoError(t, b.Run(context.Background(), func(context.Context) error { return nil }),
			"the slot was freed")
		assert.Equal(t, BreakerClosed, b.State())
	})
}

// The same through Run and through Do, deterministically: while the probes
// block, every other caller is refused, and when they succeed the circuit
// closes.
func TestBreakerConcurrentRunInHalfOpen(t *testing.T) {
	calls := map[string]func(b *Breaker, op func(context.Context) error) error{
		"Run": func(b *Breaker, op func(context.Context) error) error { return b.Run(context.Background(), op) },
		"Do": func(b *Breaker, op func(context.Context) error) error {
			return Run(context.Background(), op, WithBreaker(b), WithMaxAttempts(1))
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const probes = 2
				b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: probes})
				failN(t, b, 1)
				time.Sleep(time.Second)

				release := make(chan struct{})
				var running, rejected atomic.Int64
				var wg sync.WaitGroup
				for range 64 {
					wg.Go(func() {
						err := call(b, func(context.Context) error {
							running.Add(1)
							<-release
							return nil
						})
						if errors.Is(err, ErrCircuitOpen) {
							rejected.Add(1)
						}
					})
				}
				synctest.Wait()
				assert.Equal(t, int64(probes), running.Load())
				assert.Equal(t, int64(64-probes), rejected.Load())
				close(release)
				wg.Wait()
				assert.Equal(t, BreakerClosed, b.State())
				assert.Equal(t, uint64(64-probes), b.Stats().Rejected)
			})
		})
	}
}
