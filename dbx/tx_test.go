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
func transact(t *testing.T, idem bool, b *beginner, readOnly bool, fnErrs []error, opts ...retry.Option) (calls int, v int, err error) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		if idem {
			ctx = Idempotent(ctx)
		}
		v, err = Transact(ctx, b.begin, readOnly, func(ctx context.Context, tx *fakeTx) (int, error) {
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
			calls, v, err := transact(t, false, b, false, tt.fnErrs)
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
			calls, v, err := transact(t, false, b, false, []error{fnErr})
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
	calls, _, err := transact(t, false, &beginner{}, false, errs)
	assert.Equal(t, DefaultMaxAttempts, calls)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, "40001", SQLState(err))
}

func TestTransactCommitOutcomeUnknown(t *testing.T) {
	for _, commitErr := range []error{io.ErrUnexpectedEOF, pgxConnErr{safe: true}, codeErr("08006"), codeErr("57P01"), codeErr("40003"), codeErr("08007")} {
		t.Run(commitErr.Error(), func(t *testing.T) {
			b := &beginner{commitErr: []error{commitErr}}
			calls, _, err := transact(t, false, b, false, nil)
			assert.Equal(t, 1, calls, "never retried")
			assert.ErrorIs(t, err, ErrCommitUnknown)
			assert.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, commitErr)
			assert.Contains(t, err.Error(), "commit outcome unknown")

			b = &beginner{commitErr: []error{commitErr}}
			calls, _, err = transact(t, false, b, true, nil)
			require.NoError(t, err, "a read-only transaction is retried")
			assert.Equal(t, 2, calls)

			b = &beginner{commitErr: []error{commitErr}}
			calls, _, err = transact(t, true, b, false, nil)
			require.NoError(t, err, "an idempotent transaction is retried")
			assert.Equal(t, 2, calls)
		})
	}
}

func TestTransactCommitUnknownIsNotWidenedByClassifiers(t *testing.T) {
	b := &beginner{commitErr: []error{codeErr("08006")}}
	calls, _, err := transact(t, false, b, false, nil,
		retry.WithClassifier(RetryCodes("08"), func(error) retry.Decision { return retry.Retryable }))
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, ErrCommitUnknown)
}

func TestTransactTableCanBeWidenedAndNarrowed(t *testing.T) {
	calls, _, err := transact(t, false, &beginner{}, false, []error{codeErr("23505")},
		retry.WithClassifier(RetryCodes("23505")))
	require.NoError(t, err)
	assert.Equal(t, 2, calls)

	calls, _, err = transact(t, false, &beginner{}, false, []error{codeErr("40001")},
		retry.WithClassifier(StopCodes("40001")))
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, calls)

	// A policy replaces the defaults but not the table.
	p, err := retry.NewPolicy(retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	calls, _, err = transact(t, false, &beginner{}, false, []error{errOwn}, p)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, calls)
	calls, _, err = transact(t, false, &beginner{}, false, []error{codeErr("40001"), codeErr("40001")}, p)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, calls)
}

func TestTransactHonoursPermanentFromFn(t *testing.T) {
	calls, _, err := transact(t, false, &beginner{}, false, []error{retry.Permanent(codeErr("40001"))})
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, retry.ErrPermanent)
}

func TestTransactPanicRollsBackAndRepanics(t *testing.T) {
	b := &beginner{}
	assert.PanicsWithValue(t, "boom", func() {
		_, _ = Transact(t.Context(), b.begin, false, func(context.Context, *fakeTx) (int, error) {
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
	_, err := Transact(ctx, b.begin, false, func(ctx context.Context, tx *fakeTx) (int, error) {
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
	_, err := Transact(ctx, b.begin, false, func(context.Context, *fakeTx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, b.txs)
}

func TestNilArgumentsAreInvalid(t *testing.T) {
	b := &beginner{}
	_, err := Transact[*fakeTx, int](t.Context(), nil, false, func(context.Context, *fakeTx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Transact[*fakeTx, int](t.Context(), b.begin, false, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = InTx[int](t.Context(), nil, nil, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Exec(t.Context(), nil, "SELECT 1", nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Query[int](t.Context(), nil, "SELECT 1", nil, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = Statement[int](t.Context(), nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	var re *retry.Error
	assert.ErrorAs(t, err, &re)
	assert.Empty(t, b.txs)
}

func TestInvalidOptionsCallNothing(t *testing.T) {
	b := &beginner{}
	_, err := Transact(t.Context(), b.begin, false, func(context.Context, *fakeTx) (int, error) { return 0, nil },
		retry.WithMaxAttempts(-1))
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Empty(t, b.txs)
}

func TestStatementError(t *testing.T) {
	ctx := t.Context()
	retryable := func(ctx context.Context, err error) bool {
		var v *verdict
		wrapped := statementError(ctx, err)
		require.ErrorAs(t, wrapped, &v)
		if !v.Retryable() && stmtAmbiguous(SQLState(err), err) {
			assert.NotEqual(t, wrapped, v, "an unknown outcome is Permanent")
		}
		return v.Retryable()
	}
	assert.True(t, retryable(ctx, codeErr("40001")))
	assert.True(t, retryable(ctx, codeErr("53300")))
	assert.False(t, retryable(ctx, codeErr("57P01")), "the session died while the statement ran")
	assert.True(t, retryable(Idempotent(ctx), codeErr("57P01")))
	assert.False(t, retryable(ctx, io.ErrUnexpectedEOF))
	assert.True(t, retryable(Idempotent(ctx), io.ErrUnexpectedEOF))
	assert.False(t, retryable(Idempotent(ctx), codeErr("23505")), "idempotent does not retry a constraint violation")
	assert.False(t, retryable(Idempotent(ctx), errOwn))
}

func TestIdempotent(t *testing.T) {
	assert.False(t, IsIdempotent(t.Context()))
	assert.True(t, IsIdempotent(Idempotent(t.Context())))
	child, cancel := context.WithCancel(Idempotent(t.Context()))
	defer cancel()
	assert.True(t, IsIdempotent(child))
}

func TestStatementRetriesOnlyWhatDidNotTakeEffect(t *testing.T) {
	run := func(idem bool, errs ...error) (calls int, err error) {
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			if idem {
				ctx = Idempotent(ctx)
			}
			_, err = Statement(ctx, func(context.Context) (int, error) {
				calls++
				if calls <= len(errs) {
					return 0, errs[calls-1]
				}
				return calls, nil
			})
		})
		return calls, err
	}
	calls, err := run(false, codeErr("40P01"), pgxConnErr{safe: true})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)

	calls, err = run(false, io.ErrUnexpectedEOF)
	assert.ErrorIs(t, err, retry.ErrPermanent, "a lost reply may have been applied")
	assert.Equal(t, 1, calls)

	calls, err = run(true, io.ErrUnexpectedEOF)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
}

// An attempt timeout is retried by the loop whatever the classifiers say;
// a statement that timed out while it ran may have taken effect, so it is
// not sent again unless declared idempotent.
func TestStatementAttemptTimeoutIsNotRetriedUnlessIdempotent(t *testing.T) {
	for _, idem := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			if idem {
				ctx = Idempotent(ctx)
			}
			calls := 0
			_, err := Statement(ctx, func(ctx context.Context) (int, error) {
				calls++
				<-ctx.Done() // the server is slow; the attempt times out
				return 0, ctx.Err()
			}, retry.WithAttemptTimeout(time.Second), retry.WithMaxAttempts(3))
			if idem {
				assert.Equal(t, 3, calls)
				assert.ErrorIs(t, err, retry.ErrExhausted)
			} else {
				assert.Equal(t, 1, calls)
				assert.ErrorIs(t, err, retry.ErrPermanent)
			}
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}
