package pgxx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// Beginner starts transactions: *pgxpool.Pool and *pgx.Conn are Beginners.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// InTx runs fn in a transaction of db begun with opts and commits it,
// redoing the whole transaction while the failure is one that a new
// attempt may cure, as [dbx.InTx] does for database/sql: see
// [dbx.Transact] for the rules, the defaults and the returned error.
// opts.IsoLevel should be pgx.RepeatableRead or pgx.Serializable for
// serialization failures to be detected; opts.AccessMode pgx.ReadOnly lets
// a COMMIT with an unknown outcome be retried.
//
// A COMMIT of a transaction in which a statement failed (and fn went on,
// ignoring the error) is rolled back by the server; pgx reports it as
// pgx.ErrTxCommitRollback. As for [dbx.InTx], that outcome is known,
// nothing was committed: the call ends without a retry, whatever the
// access mode, with an error that holds pgx.ErrTxCommitRollback and has
// the SQLSTATE 25P02, never [dbx.ErrCommitUnknown].
//
// InTx is safe for concurrent use.
func InTx[T any](ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(ctx context.Context, tx pgx.Tx) (T, error), ropts ...retry.Option) (T, error) {
	if isNil(db) || fn == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: pgxx.InTx: nil Beginner or nil function", retry.ErrInvalidConfig)}
	}
	begin := func(ctx context.Context) (tx, error) {
		t, err := db.BeginTx(ctx, opts)
		return tx{t}, err
	}
	call := func(ctx context.Context, t tx) (T, error) { return fn(ctx, t.Tx) }
	return dbx.Transact(ctx, begin, dbx.Access(opts.AccessMode == pgx.ReadOnly), call, ropts...)
}

// tx reports a COMMIT that the server turned into a rollback with the
// SQLSTATE dbx reads for it (25P02, in_failed_sql_transaction), so that
// the outcome is known by type rather than by pgx's message: nothing was
// committed; and a COMMIT of a transaction fn already ended as
// sql.ErrTxDone, the misuse dbx reports.
type tx struct{ pgx.Tx }

func (t tx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	switch {
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return &failedTx{err}
	case errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("%w: %w", sql.ErrTxDone, err)
	}
	return err
}

type failedTx struct{ err error }

func (f *failedTx) Error() string    { return f.err.Error() }
func (f *failedTx) Unwrap() error    { return f.err }
func (f *failedTx) SQLState() string { return "25P02" }

// Execer runs a statement: *pgxpool.Pool and *pgx.Conn are Execers.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Exec runs one statement outside a transaction and retries it with the
// rules of [dbx.Exec]: only where the statement provably did not take
// effect (a conflict, a connection that could not be established, a
// context that had ended before the call), or where ctx is marked
// [dbx.Idempotent] and its outcome is unknown. pgx's SafeToRetry is not
// trusted: pgx reports a reply cut after the server ran the statement as
// "conn closed", safe to retry. Unlike database/sql, pgx does not retry by
// itself, so each attempt sends the statement at most once.
//
// args are the statement's arguments, as for pgx's Exec (a
// pgx.QueryExecMode among them works as there); retry options come from
// ctx ([dbx.WithOptions]). Exec is safe for concurrent use.
func Exec(ctx context.Context, db Execer, sql string, args ...any) (pgconn.CommandTag, error) {
	if isNil(db) {
		return pgconn.CommandTag{}, &retry.Error{Reason: fmt.Errorf("%w: pgxx.Exec: nil Execer", retry.ErrInvalidConfig)}
	}
	return dbx.Statement(ctx, func(ctx context.Context) (pgconn.CommandTag, error) {
		tag, err := db.Exec(ctx, sql, args...)
		return tag, notConnected(err)
	})
}

// notConnected gives an error of a connection that could not be
// established, and that carries no SQLSTATE of the server's, the code
// 08001 (sqlclient_unable_to_establish_sqlconnection): nothing was sent,
// and dbx sends the statement again. Other errors are returned as they are.
func notConnected(err error) error {
	var ce *pgconn.ConnectError
	if err != nil && errors.As(err, &ce) && dbx.SQLState(err) == "" {
		return &unconnected{err}
	}
	return err
}

type unconnected struct{ err error }

func (u *unconnected) Error() string    { return u.err.Error() }
func (u *unconnected) Unwrap() error    { return u.err }
func (u *unconnected) SQLState() string { return "08001" }

// isNil reports whether v is nil, or a nil pointer (a *pgxpool.Pool that
// was never set) inside a non-nil interface, which could only panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
