package dbx

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// transact runs Transact over b in a bubble of virtual time, with fn
// failing with the scripted errors (nil: succeed) on successive calls.
// The context is the bubble's own, marked Idempotent when idem is set.
func transact(t *testing.T, idem bool, b *beginner, access Access, fnErrs []error, opts ...retry.Option) (calls int, v int, err error) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		if idem {
			ctx = Idempotent(ctx)
		}
		v, err = Transact(ctx, b.begin, access, func(ctx context.Context, tx *fakeTx) (int, error) {
			calls++
			if calls <= len(fnErrs) && fnErrs[calls-1] != nil {
				return -calls, fnErrs[calls-1]
			}
			return calls, nil
		}, opts...)
	})
	return calls, v, err
}

func TestTransactRetriesTheWholeTransaction(t *testing.T) {
	tests := []struct {
		name      string
		fnErrs    []error
		commitErr []error
		beginErr  []error
		calls     int
		txs       int
	}{
		{"success", nil, nil, nil, 1, 1},
		{"40001 at a statement", []error{codeErr("40001")}, nil, nil, 2, 2},
		{"40P01 twice", []error{codeErr("40P01"), codeErr("40P01")}, nil, nil, 3, 3},
		{"40001 at COMMIT", nil, []error{codeErr("40001")}, nil, 2, 2},
		{"40P01 at COMMIT", nil, []error{codeErr("40P01")}, nil, 2, 2},
		{"53300 at BEGIN", nil, nil, []error{codeErr("53300")}, 1, 1},
		{"bad connection at BEGIN", nil, nil, []error{io.ErrUnexpectedEOF}, 1, 1},
		{"connection lost inside", []error{io.EOF}, nil, nil, 2, 2},
		{"57P01 inside", []error{codeErr("57P01")}, nil, nil, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &beginner{commitErr: tt.commitErr, beginErr: tt.beginErr}
			calls, v, err := transact(t, false, b, ReadWrite, tt.fnErrs)
			require.NoError(t, err)
			assert.Equal(t, tt.calls, calls)
			assert.Equal(t, tt.calls, v, "the value of the attempt that committed")
			require.Len(t, b.txs, tt.txs, "a new transaction for every attempt")
			last := b.txs[len(b.txs)-1]
			assert.True(t, last.committed)
			for _, tx := range b.txs[:len(b.txs)-1] {
				assert.False(t, tx.committed)
				assert.Equal(t, tt.fnErrs != nil, tx.rolledBack, "a failed fn rolls back")
			}
		})
	}
}

func TestTransactStopsOnTerminalErrors(t *testing.T) {
	for _, fnErr := range []error{errOwn, codeErr("23505"), codeErr("42601"), codeErr("22012")} {
		t.Run(fnErr.Error(), func(t *testing.T) {
			b := &beginner{}
			calls, v, err := transact(t, false, b, ReadWrite, []error{fnErr})
			assert.Equal(t, 1, calls)
			assert.Equal(t, -1, v, "fn's last value comes back")
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, 1, re.Attempts)
			assert.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, fnErr)
			assert.True(t, b.txs[0].rolledBack)
			assert.False(t, b.txs[0].committed)
		})
	}
}

func TestTransactExhausts(t *testing.T) {
	errs := make([]error, 20)
	for i := range errs {
		errs[i] = codeErr("40001")
	}
	calls, _, err := transact(t, false, &beginner{}, ReadWrite, errs)
	assert.Equal(t, defaultMaxAttempts, calls)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, "40001", SQLState(err))
}

func TestTransactTableCanBeWidenedAndNarrowed(t *testing.T) {
	calls, _, err := transact(t, false, &beginner{}, ReadWrite, []error{codeErr("23505")},
		retry.WithClassifier(RetryCodes("23505")))
	require.NoError(t, err)
	assert.Equal(t, 2, calls)

	calls, _, err = transact(t, false, &beginner{}, ReadWrite, []error{codeErr("40001")},
		retry.WithClassifier(StopCodes("40001")))
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, calls)

	// A policy replaces the defaults but not the table.
	p, err := retry.NewPolicy(retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	calls, _, err = transact(t, false, &beginner{}, ReadWrite, []error{errOwn}, p)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, calls)
	calls, _, err = transact(t, false, &beginner{}, ReadWrite, []error{codeErr("40001"), codeErr("40001")}, p)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, calls)
}

func TestTransactHonoursPermanentFromFn(t *testing.T) {
	calls, _, err := transact(t, false, &beginner{}, ReadWrite, []error{retry.Permanent(codeErr("40001"))})
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, retry.ErrPermanent)
}

func TestTransactPanicRollsBackAndRepanics(t *testing.T) {
	b := &beginner{}
	assert.PanicsWithValue(t, "boom", func() {
		_, _ = Transact(t.Context(), b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) {
			panic("boom")
		})
	})
	require.Len(t, b.txs, 1)
	assert.True(t, b.txs[0].rolledBack)
	assert.False(t, b.txs[0].committed)
}

func TestTransactCancellationRollsBackAndStops(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("caller gave up")
	b := &beginner{}
	calls := 0
	_, err := Transact(ctx, b.begin, ReadWrite, func(ctx context.Context, tx *fakeTx) (int, error) {
		calls++
		cancel(stop)
		return 0, context.Cause(ctx)
	})
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, stop)
	require.Len(t, b.txs, 1)
	assert.True(t, b.txs[0].rolledBack)
	assert.True(t, b.txs[0].rollbackOK, "the rollback's context is not cancelled")
}

func TestTransactWithADoneContextDoesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := &beginner{}
	_, err := Transact(ctx, b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, b.txs)
}

func TestNilArgumentsAreInvalid(t *testing.T) {
	b := &beginner{}
	_, err := Transact[*fakeTx, int](t.Context(), nil, ReadWrite, func(context.Context, *fakeTx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Transact[*fakeTx, int](t.Context(), b.begin, ReadWrite, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = InTx[int](t.Context(), nil, nil, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Exec(t.Context(), nil, "SELECT 1")
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Query[int](t.Context(), nil, "SELECT 1", nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Statement[int](t.Context(), nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	var re *retry.Error
	assert.ErrorAs(t, err, &re)
	assert.Empty(t, b.txs)
}

func TestInvalidOptionsCallNothing(t *testing.T) {
	b := &beginner{}
	_, err := Transact(t.Context(), b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) { return 0, nil },
		retry.WithMaxAttempts(-1))
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Empty(t, b.txs)
}

// Every rollback has a time limit of its own, free of the caller's
// cancellation.
func TestTransactRollbackHasATimeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		b := &beginner{}
		_, err := Transact(ctx, b.begin, ReadWrite, func(ctx context.Context, tx *fakeTx) (int, error) {
			cancel()
			return 0, ctx.Err()
		})
		assert.ErrorIs(t, err, context.Canceled)
		require.Len(t, b.txs, 1)
		assert.True(t, b.txs[0].rollbackOK)
		assert.Equal(t, rollbackTimeout, b.txs[0].rollbackWithin)
	})
	b := &beginner{}
	synctest.Test(t, func(t *testing.T) {
		assert.Panics(t, func() {
			_, _ = Transact(t.Context(), b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) { panic("boom") })
		})
	})
	require.Len(t, b.txs, 1)
	assert.Equal(t, rollbackTimeout, b.txs[0].rollbackWithin, "the rollback after a panic too")
}

// The default policy jitters fully: the waits of a transaction failing
// with 40001 are each within [0, min(2ms·2^(n-1), 500ms)], the loop waits
// exactly that long, and they are not the plain exponential.
func TestTransactDefaultWaitsAreFullyJittered(t *testing.T) {
	const failures = 9
	errs := make([]error, failures)
	for i := range errs {
		errs[i] = codeErr("40001")
	}
	var delays, slept []time.Duration
	synctest.Test(t, func(t *testing.T) {
		last := time.Now()
		b := &beginner{}
		calls := 0
		_, err := Transact(t.Context(), b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) {
			now := time.Now()
			if calls > 0 {
				slept = append(slept, now.Sub(last))
			}
			last = now
			calls++
			if calls <= failures {
				return 0, errs[calls-1]
			}
			return 0, nil
		}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { delays = append(delays, a.Wait) }))
		require.NoError(t, err)
	})
	require.Len(t, delays, failures)
	assert.Equal(t, delays, slept, "the loop waits the delay it reports")
	plain := 0
	for i, d := range delays {
		ceiling := min(defaultInitial<<i, defaultMaxDelay)
		assert.GreaterOrEqual(t, d, time.Duration(0), "wait %d", i+1)
		assert.LessOrEqual(t, d, ceiling, "wait %d", i+1)
		if d == ceiling {
			plain++
		}
	}
	assert.Less(t, plain, failures, "the waits are jittered, not the plain exponential %v", delays)
}

// A call written with a plain bool for the access still compiles and
// means what it did: true is read-only.
func TestTransactAccessIsABool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &beginner{commitErr: []error{io.ErrUnexpectedEOF}}
		_, err := Transact(t.Context(), b.begin, true, func(context.Context, *fakeTx) (int, error) { return 0, nil })
		require.NoError(t, err, "read-only: an unknown COMMIT is retried")
		assert.Len(t, b.txs, 2)
	})
}
