package dbx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// The drivers' errors for a COMMIT that the server turned into a rollback,
// as they spell them (the real ones are checked against pgx and lib/pq in
// the nested module pgxx).
var (
	errPgxCommitRollback = errors.New("commit unexpectedly resulted in rollback")
	errPqInFailedTx      = errors.New("pq: could not complete operation in a failed transaction")
	errPqInFailedTxOld   = errors.New("pq: Could not complete operation in a failed transaction")
)

// fn ignored a failed statement and returned nil: the server rolled the
// transaction back at COMMIT. The outcome is known (nothing committed),
// so the error is not ErrCommitUnknown, and the call is not retried,
// whatever the access mode: fn hid an error, and running it again would
// hide it again.
func TestTransactCommitTurnedIntoRollback(t *testing.T) {
	for _, commitErr := range []error{errPgxCommitRollback, errPqInFailedTx, errPqInFailedTxOld, codeErr("25P02")} {
		for _, c := range []struct {
			name   string
			idem   bool
			access Access
		}{{"read-write", false, ReadWrite}, {"read-only", false, ReadOnly}, {"idempotent", true, ReadWrite}} {
			t.Run(commitErr.Error()+"/"+c.name, func(t *testing.T) {
				b := &beginner{commitErr: []error{commitErr, commitErr}}
				calls, _, err := transact(t, c.idem, b, c.access, nil)
				require.Error(t, err)
				assert.Equal(t, 1, calls, "not retried")
				assert.NotErrorIs(t, err, ErrCommitUnknown)
				assert.ErrorIs(t, err, retry.ErrPermanent)
				assert.ErrorIs(t, err, commitErr, "the driver's error is in the chain")
				assert.Equal(t, "25P02", SQLState(err))
				assert.Contains(t, err.Error(), "nothing was committed")
				assert.Contains(t, err.Error(), commitErr.Error())
			})
		}
	}
}

// The rolled-back COMMIT is dbx's table's decision, so a classifier can
// still widen it.
func TestTransactCommitTurnedIntoRollbackCanBeRetriedOnRequest(t *testing.T) {
	b := &beginner{commitErr: []error{errPgxCommitRollback}}
	calls, _, err := transact(t, false, b, ReadWrite, nil, retry.WithClassifier(RetryCodes("25P02")))
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
}

// A message that merely contains a driver's words is not its sentinel.
func TestCommitRolledBackNeedsTheWholeMessage(t *testing.T) {
	assert.False(t, rolledBackAtCommit(errors.New("x: commit unexpectedly resulted in rollback, or not")))
	assert.True(t, rolledBackAtCommit(errors.Join(io.EOF, errPgxCommitRollback)), "anywhere in the chain")
	assert.False(t, rolledBackAtCommit(nil))
}

// An idempotent (or read-only) transaction whose COMMIT is cut on every
// attempt: each is retried, and the final error still says that the last
// COMMIT's outcome is unknown.
func TestTransactCommitUnknownOnEveryAttempt(t *testing.T) {
	for _, c := range []struct {
		name   string
		idem   bool
		access Access
	}{{"read-only", false, ReadOnly}, {"idempotent", true, ReadWrite}} {
		t.Run(c.name, func(t *testing.T) {
			cuts := make([]error, defaultMaxAttempts)
			for i := range cuts {
				cuts[i] = io.ErrUnexpectedEOF
			}
			b := &beginner{commitErr: cuts}
			calls, _, err := transact(t, c.idem, b, c.access, nil)
			assert.Equal(t, defaultMaxAttempts, calls)
			assert.ErrorIs(t, err, retry.ErrExhausted)
			assert.ErrorIs(t, err, ErrCommitUnknown)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		})
	}
}

// isConnError honours what SafeToRetry returns: true marks a
// connection-level error (nothing was sent), false says nothing about the
// connection.
func TestSafeToRetryIsHonoured(t *testing.T) {
	assert.True(t, isConnError(pgxConnErr{safe: true}))
	assert.False(t, isConnError(pgxConnErr{safe: false}))

	calls, _, err := transact(t, false, &beginner{}, ReadWrite, []error{pgxConnErr{safe: false}})
	assert.Equal(t, 1, calls, "SafeToRetry() false is not a lost connection")
	assert.ErrorIs(t, err, retry.ErrPermanent)
	calls, _, err = transact(t, false, &beginner{}, ReadWrite, []error{pgxConnErr{safe: true}})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
}

func TestTransactCommitOutcomeUnknown(t *testing.T) {
	for _, commitErr := range []error{io.ErrUnexpectedEOF, pgxConnErr{safe: true}, codeErr("08006"), codeErr("57P01"), codeErr("40003"), codeErr("08007")} {
		t.Run(commitErr.Error(), func(t *testing.T) {
			b := &beginner{commitErr: []error{commitErr}}
			calls, _, err := transact(t, false, b, ReadWrite, nil)
			assert.Equal(t, 1, calls, "never retried")
			assert.ErrorIs(t, err, ErrCommitUnknown)
			assert.ErrorIs(t, err, retry.ErrNotIdempotent)
			assert.ErrorIs(t, err, commitErr)
			assert.Contains(t, err.Error(), "commit outcome unknown")

			b = &beginner{commitErr: []error{commitErr}}
			calls, _, err = transact(t, false, b, ReadOnly, nil)
			require.NoError(t, err, "a read-only transaction is retried")
			assert.Equal(t, 2, calls)

			b = &beginner{commitErr: []error{commitErr}}
			calls, _, err = transact(t, true, b, ReadWrite, nil)
			require.NoError(t, err, "an idempotent transaction is retried")
			assert.Equal(t, 2, calls)
		})
	}
}

func TestTransactCommitUnknownIsNotWidenedByClassifiers(t *testing.T) {
	b := &beginner{commitErr: []error{codeErr("08006")}}
	calls, _, err := transact(t, false, b, ReadWrite, nil,
		retry.WithClassifier(RetryCodes("08"), func(error) retry.Class { return retry.Retryable }))
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, ErrCommitUnknown)
}

// The attempt's context ends while fn runs and fn does not notice: COMMIT
// is not sent, the transaction is rolled back, and the outcome is known,
// so the attempt timeout is retried.
func TestTransactContextEndedBeforeCommitSendsNothing(t *testing.T) {
	b := &beginner{}
	calls := 0
	synctest.Test(t, func(t *testing.T) {
		_, err := Transact(t.Context(), b.begin, ReadWrite, func(ctx context.Context, tx *fakeTx) (int, error) {
			calls++
			if calls == 1 {
				<-ctx.Done() // slow work that swallows the cancellation
			}
			return calls, nil
		}, retry.WithAttemptTimeout(time.Second))
		require.NoError(t, err)
	})
	assert.Equal(t, 2, calls)
	require.Len(t, b.txs, 2)
	assert.False(t, b.txs[0].commitCalled, "COMMIT is not sent after the context ended")
	assert.True(t, b.txs[0].rolledBack)
	assert.True(t, b.txs[1].committed)

	// The caller's own deadline: the call ends with it, not with
	// ErrCommitUnknown.
	b = &beginner{}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := Transact(ctx, b.begin, ReadWrite, func(ctx context.Context, tx *fakeTx) (int, error) {
			<-ctx.Done()
			return 0, nil
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, ErrCommitUnknown)
	})
	require.Len(t, b.txs, 1)
	assert.False(t, b.txs[0].commitCalled)
	assert.True(t, b.txs[0].rolledBack)
}

// Once COMMIT was called, a context error does not prove it was not sent:
// pgx gives up waiting for the reply of a COMMIT the server may have run.
func TestTransactContextErrorFromCommitIsUnknown(t *testing.T) {
	for _, commitErr := range []error{
		context.DeadlineExceeded,
		fmt.Errorf("timeout: %w", context.DeadlineExceeded),
		context.Canceled,
	} {
		b := &beginner{commitErr: []error{commitErr}}
		calls, _, err := transact(t, false, b, ReadWrite, nil, retry.WithAttemptTimeout(time.Second))
		assert.Equal(t, 1, calls, "%v", commitErr)
		assert.ErrorIs(t, err, ErrCommitUnknown)
		assert.ErrorIs(t, err, retry.ErrNotIdempotent)
		assert.ErrorIs(t, err, commitErr)
	}
}

// fn committed or rolled back the transaction itself: the helper's COMMIT
// finds it ended, which is a misuse, not a conflict or an unknown outcome.
func TestTransactTxDoneAtCommitIsAMisuse(t *testing.T) {
	b := &beginner{commitErr: []error{fmt.Errorf("commit: %w", sql.ErrTxDone)}}
	calls, _, err := transact(t, false, b, ReadWrite, nil)
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.ErrorIs(t, err, sql.ErrTxDone)
	assert.NotErrorIs(t, err, ErrCommitUnknown)
	assert.Contains(t, err.Error(), "fn must not call Commit or Rollback")
}

// A COMMIT whose outcome is unknown ends the call as a refusal to run the
// transaction again, not as a permanent failure, and the message says what
// would allow the retry; once retried (read-only or idempotent), the last
// error says only that the outcome is unknown.
func TestTransactCommitUnknownSaysWhatWouldAllowTheRetry(t *testing.T) {
	b := &beginner{commitErr: []error{io.ErrUnexpectedEOF}}
	_, _, err := transact(t, false, b, ReadWrite, nil)
	assert.ErrorIs(t, err, ErrCommitUnknown)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.NotErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, "not_idempotent", retry.ReasonOf(err))
	assert.NotContains(t, err.Error(), "permanent")
	for _, hint := range []string{"may have been committed", "not run again", "dbx.Idempotent", "read-only"} {
		assert.Contains(t, err.Error(), hint)
	}

	b = &beginner{commitErr: []error{io.ErrUnexpectedEOF, io.ErrUnexpectedEOF}}
	_, _, err = transact(t, true, b, ReadWrite, nil, retry.WithMaxAttempts(2))
	assert.ErrorIs(t, err, ErrCommitUnknown)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.NotContains(t, err.Error(), "not run again", "it was run again")
}
