package dbx

import (
	"context"
	"database/sql/driver"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

func TestStatementError(t *testing.T) {
	ctx := t.Context()
	retryable := func(ctx context.Context, err error) bool {
		var v *verdict
		wrapped := statementError(ctx, err)
		require.ErrorAs(t, wrapped, &v)
		if !v.Retryable() && stmtAmbiguous(SQLState(err), err) {
			assert.NotEqual(t, wrapped, v, "an unknown outcome is NotIdempotent")
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
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	calls, err := run(false, codeErr("40P01"), refused)
	require.NoError(t, err)
	assert.Equal(t, 3, calls)

	// pgx says SafeToRetry, and database/sql says driver.ErrBadConn, for a
	// reply cut after the statement ran: neither proves it did not.
	for _, cut := range []error{pgxConnErr{safe: true}, driver.ErrBadConn} {
		calls, err = run(false, cut)
		assert.ErrorIs(t, err, retry.ErrNotIdempotent, "%v", cut)
		assert.Equal(t, 1, calls, "%v", cut)
		calls, err = run(true, cut)
		require.NoError(t, err, "idempotent: %v", cut)
		assert.Equal(t, 2, calls)
	}

	calls, err = run(false, io.ErrUnexpectedEOF)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent, "a lost reply may have been applied")
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
				assert.ErrorIs(t, err, retry.ErrNotIdempotent)
			}
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

// A statement that may have taken effect is not sent again, and the
// message says so and what would allow the retry.
func TestStatementRefusalSaysWhatWouldAllowTheRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, err := Statement(t.Context(), func(context.Context) (int, error) { return 0, codeErr("57P01") })
		assert.ErrorIs(t, err, retry.ErrNotIdempotent)
		assert.Equal(t, "not_idempotent", retry.ReasonOf(err))
		assert.Equal(t, "57P01", SQLState(err))
		assert.NotContains(t, err.Error(), "permanent")
		for _, hint := range []string{"may have taken effect", "not sent again", "dbx.Idempotent"} {
			assert.Contains(t, err.Error(), hint)
		}
	})
}
