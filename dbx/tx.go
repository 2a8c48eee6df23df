package dbx

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/retrykit/retry"
)

// Access says whether a transaction of [Transact] may write; the zero
// value is ReadWrite. It is a bool underneath (true: read-only), so that a
// call written with a plain bool still compiles.
type Access bool

const (
	// ReadWrite is a transaction that may write: a COMMIT whose outcome is
	// unknown ends the call with [ErrCommitUnknown].
	ReadWrite Access = false
	// ReadOnly is a transaction that writes nothing: a COMMIT whose
	// outcome is unknown is retried, since running it again changes
	// nothing.
	ReadOnly Access = true
)

// Tx is a transaction of any driver: what [Transact] needs to end one.
// pgx's pgx.Tx satisfies it as it is; the nested modules pgxx and mysqlx
// adapt their drivers to it.
type Tx interface {
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// InTx runs fn in a database/sql transaction of db and commits it,
// redoing the whole transaction (a new BEGIN, fn again, COMMIT) while the
// failure is one that a new attempt may cure: a serialization failure,
// a deadlock, a lock timeout, a lost connection before COMMIT (see
// the package documentation for the table). It returns fn's value from the attempt that
// committed.
//
// opts (nil for the driver's defaults) is passed to [sql.DB.BeginTx] on
// every attempt: serialization failures need sql.LevelRepeatableRead or
// sql.LevelSerializable, and ReadOnly lets a COMMIT whose outcome is unknown
// be retried. fn must do all its work through tx, must not call
// tx.Commit or tx.Rollback (the helper ends the transaction), and must decide what to
// run inside the transaction, from what it reads there, on every call:
// PostgreSQL's rule is to retry "the complete transaction, including all
// logic that decides which SQL to issue". Return the driver's errors, or
// wrap them with %w, so that their SQLSTATE can be read.
//
// The retry options follow those of the core loop and apply after dbx's
// defaults and after those of [WithOptions] on ctx. The defaults: 10
// attempts, Exponential(2ms, 2) capped at 500ms with full jitter (both
// sides of a conflict retry; without jitter they collide again). A *retry.Policy among ropts replaces those defaults. Whatever the
// policy, errors are classified by dbx's table (see the package
// documentation) unless a classifier of the policy decides first: use
// [RetryCodes] and [StopCodes] to widen or narrow the table.
//
// See [Transact] for what happens on COMMIT, on panics and on
// cancellation. InTx is safe for concurrent use.
func InTx[T any](ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(ctx context.Context, tx *sql.Tx) (T, error), ropts ...retry.Option) (T, error) {
	if db == nil || fn == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: dbx.InTx: nil database or nil function", retry.ErrInvalidConfig)}
	}
	all, err := options(ctx, ropts)
	if err != nil {
		var zero T
		return zero, err
	}
	r := sqlRun[T]{db: db, opts: opts, fn: fn, readOnly: opts != nil && opts.ReadOnly}
	return retry.Do(ctx, r.attempt, all...)
}

// sqlRun is one call of InTx.
type sqlRun[T any] struct {
	db       *sql.DB
	opts     *sql.TxOptions
	fn       func(context.Context, *sql.Tx) (T, error)
	readOnly bool
}

func (r sqlRun[T]) attempt(ctx context.Context) (T, error) {
	return attempt[sqlTx, T](ctx, r, r.readOnly)
}

func (r sqlRun[T]) begin(ctx context.Context) (sqlTx, error) {
	tx, err := r.db.BeginTx(ctx, r.opts)
	return sqlTx{tx}, err
}

func (r sqlRun[T]) call(ctx context.Context, tx sqlTx) (T, error) { return r.fn(ctx, tx.Tx) }

// sqlTx gives *sql.Tx the methods of Tx. database/sql's Commit and
// Rollback take no context: the transaction keeps the context of BeginTx,
// and a driver may use it for COMMIT itself (pgx's stdlib driver does), so
// a context error from Commit does not prove that COMMIT was not sent.
type sqlTx struct{ *sql.Tx }

func (t sqlTx) Commit(context.Context) error   { return t.Tx.Commit() }
func (t sqlTx) Rollback(context.Context) error { return t.Tx.Rollback() }

// Transact is [InTx] for any driver: begin starts a transaction (with the
// isolation level and access mode the caller wants), fn runs in it, and
// Transact commits it, redoing the whole transaction while the failure is
// one a new attempt may cure. access says whether the transaction writes:
// a [ReadOnly] transaction whose COMMIT has an unknown outcome is retried.
//
// Each attempt:
//
//   - calls begin; an error there is classified like any other (a
//     connection refused or too_many_connections is retried);
//   - calls fn; if fn returns an error, the transaction is rolled back and
//     the error classified (by the policy's classifiers, then dbx's table);
//   - if fn panics, rolls back and panics again with the same value, on the
//     caller's goroutine;
//   - if the attempt's context has ended by then (the caller's
//     cancellation or deadline, or the policy's attempt timeout), rolls back
//     without sending COMMIT: nothing was committed;
//   - commits. A COMMIT that fails with a serialization failure or a
//     deadlock (SERIALIZABLE write skew is detected there) did not commit
//     and is retried. A COMMIT whose outcome is unknown (see
//     [ErrCommitUnknown]) ends the call at once, as [retry.NotIdempotent],
//     with an error whose chain holds ErrCommitUnknown and the driver's
//     error, unless access is ReadOnly or ctx is marked [Idempotent]; then
//     it is retried (and the error of the last attempt still holds
//     ErrCommitUnknown). A COMMIT the server turned into a rollback,
//     because fn ignored a failed statement and returned nil, committed
//     nothing and is not retried: the error has the SQLSTATE 25P02 and
//     the driver's error (pgx.ErrTxCommitRollback,
//     pq.ErrInFailedTransaction). Once COMMIT was called, a context error
//     is an unknown outcome too: the driver may have sent COMMIT before it
//     gave up waiting for the reply (pgx does, and through database/sql
//     its stdlib driver commits with the context of BeginTx).
//
// fn must not call Commit or Rollback itself: the helper ends the
// transaction. A COMMIT that finds the transaction already ended
// (sql.ErrTxDone, pgx.ErrTxClosed) while the context is live ends the call
// with an error wrapping [retry.ErrInvalidConfig].
//
// Rollbacks run with ctx's values but without its cancellation, so that a
// cancelled call still releases its connection cleanly, and with a time
// limit of their own of 5 seconds, so that a server that does not answer
// cannot hold the call; their errors are dropped (the transaction is over
// either way: the server rolls back a transaction whose connection closes).
// database/sql's Rollback takes no context, so through [InTx] the limit
// is the driver's own. When ctx ends, the running attempt's transaction
// is rolled back and no new attempt starts.
//
// On failure Transact returns fn's last value and a [*retry.Error] whose
// chain reaches the last error (errors.As finds the driver's error) and the
// reason the loop stopped, as for [retry.Do]. The options are those of
// [InTx]. A nil begin or fn returns an error wrapping
// [retry.ErrInvalidConfig] without calling anything.
func Transact[X Tx, T any](ctx context.Context, begin func(context.Context) (X, error), access Access, fn func(ctx context.Context, tx X) (T, error), ropts ...retry.Option) (T, error) {
	if begin == nil || fn == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: dbx.Transact: nil begin or nil function", retry.ErrInvalidConfig)}
	}
	all, err := options(ctx, ropts)
	if err != nil {
		var zero T
		return zero, err
	}
	r := funcRun[X, T]{beginFn: begin, fn: fn, readOnly: access == ReadOnly}
	return retry.Do(ctx, r.attempt, all...)
}

// funcRun is one call of Transact.
type funcRun[X Tx, T any] struct {
	beginFn  func(context.Context) (X, error)
	fn       func(context.Context, X) (T, error)
	readOnly bool
}

func (r funcRun[X, T]) attempt(ctx context.Context) (T, error) {
	return attempt[X, T](ctx, r, r.readOnly)
}

func (r funcRun[X, T]) begin(ctx context.Context) (X, error)      { return r.beginFn(ctx) }
func (r funcRun[X, T]) call(ctx context.Context, tx X) (T, error) { return r.fn(ctx, tx) }

// source begins the transactions of one call and runs its function; a
// type parameter rather than function values, so that a call allocates
// nothing for it.
type source[X Tx, T any] interface {
	begin(ctx context.Context) (X, error)
	call(ctx context.Context, tx X) (T, error)
}

// attempt runs one whole transaction: begin, the function, commit. It is
// the operation of the loop, for every helper.
func attempt[X Tx, T any, S source[X, T]](ctx context.Context, s S, readOnly bool) (T, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		var zero T
		return zero, classified(err)
	}
	v, err := guarded(ctx, s, tx)
	if err != nil {
		rollback(ctx, tx)
		return v, classified(err)
	}
	if ctx.Err() != nil {
		// COMMIT is not sent: the outcome is known, nothing committed.
		rollback(ctx, tx)
		return v, classified(&notCommitted{context.Cause(ctx)})
	}
	if err := tx.Commit(ctx); err != nil {
		return v, commitFailed(ctx, err, readOnly)
	}
	return v, nil
}

// guarded runs the function, rolling the transaction back if it panics.
func guarded[X Tx, T any, S source[X, T]](ctx context.Context, s S, tx X) (v T, err error) {
	done := false
	defer func() {
		if !done {
			rollback(ctx, tx)
		}
	}()
	v, err = s.call(ctx, tx)
	done = true
	return v, err
}

// rollback rolls tx back with ctx's values, without its cancellation, for
// at most rollbackTimeout.
func rollback[X Tx](ctx context.Context, tx X) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// classified wraps err, returned before COMMIT, with its verdict.
func classified(err error) error {
	return &verdict{err: err, retryable: inTxRetryable(SQLState(err), err)}
}
