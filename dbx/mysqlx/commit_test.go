package mysqlx_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/mysqlx"
)

// How the client stops waiting for a COMMIT whose reply the proxy holds
// back after the server committed. The MySQL driver's COMMIT takes no
// context, so its read timeout is what ends the wait; the context ends
// meanwhile, by the policy's attempt timeout (the loop then stops because
// the error is NotIdempotent) or by the caller's deadline.
var giveUps = []struct {
	name   string
	ctx    func(t *testing.T) context.Context
	opts   []retry.Option
	reason error
}{
	{"attempt timeout", func(t *testing.T) context.Context { return t.Context() },
		[]retry.Option{retry.WithAttemptTimeout(patience)}, retry.ErrNotIdempotent},
	{"caller's deadline", func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), patience)
		t.Cleanup(cancel)
		return ctx
	}, nil, context.DeadlineExceeded},
}

func TestInTxCommitReplyHeldPastTheContext(t *testing.T) {
	for _, g := range giveUps {
		t.Run(g.name, func(t *testing.T) {
			db, cfg := newDatabase(t)
			count := orders(t, db)
			proxy, via := newProxy(t, cfg)
			via.ReadTimeout = patience
			viaDB := open(t, via)

			proxy.arm("commit", 1, hold)
			calls := 0
			_, err := mysqlx.InTx(g.ctx(t), viaDB, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				calls++
				_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
				return 0, err
			}, g.opts...)
			idle(t, viaDB)
			assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
			assert.ErrorIs(t, err, g.reason)
			assert.Equal(t, int32(1), proxy.acted.Load(), "one COMMIT was held")
			assert.Equal(t, 1, calls, "not redone")
			assert.Equal(t, 1, count(), "the server committed, once")
		})
	}
}

// The context ends while fn runs and fn does not notice: COMMIT is not
// sent, so nothing is committed and the outcome is known. Under the
// caller's deadline the call ends with it (not ErrCommitUnknown); under
// an attempt timeout the transaction is redone and commits once.
func TestInTxContextEndedBeforeCommit(t *testing.T) {
	db, _ := newDatabase(t)
	count := orders(t, db)
	insert := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
		return err
	}

	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	_, err := mysqlx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		if err := insert(ctx, tx); err != nil {
			return 0, err
		}
		<-ctx.Done() // slow work that swallows the deadline
		return 0, nil
	})
	idle(t, db)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 0, count(), "nothing committed")

	calls := 0
	_, err = mysqlx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		if err := insert(ctx, tx); err != nil {
			return 0, err
		}
		if calls == 1 {
			<-ctx.Done()
		}
		return 0, nil
	}, retry.WithAttemptTimeout(patience))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, 1, count())
}

// The proxy cuts the reply to every INSERT after the server ran it: the
// statement is not sent again by mysqlx.
func TestExecReplyCutIsNotSentAgain(t *testing.T) {
	db, cfg := newDatabase(t)
	count := orders(t, db)
	proxy, via := newProxy(t, cfg)
	viaDB := open(t, via)

	proxy.arm("insert into orders", -1, cut)
	_, err := mysqlx.Exec(t.Context(), viaDB, "INSERT INTO orders (item) VALUES ('book')")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts, "one attempt of mysqlx's")
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	sends := int(proxy.acted.Load())
	assert.Equal(t, sends, count(), "every send ran")
	assert.GreaterOrEqual(t, sends, 1)
	assert.LessOrEqual(t, sends, 3, "at most database/sql's own sends")
}
