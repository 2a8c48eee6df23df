package dbx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/retrykit/retry"
)

// ErrCommitUnknown is in the chain of the error a transaction helper
// returns when COMMIT failed in a way that does not say whether the
// transaction was committed: the connection broke after COMMIT was sent,
// or the server answered 08xxx, 57P01, 57P02, 40003 or 08007. The
// transaction is not retried, since redoing it could apply it twice;
// errors.Is(err, dbx.ErrCommitUnknown) tells the caller to check (for
// example for a row with a unique id the transaction wrote) before doing it
// again. A read-only transaction, or one declared [Idempotent], is retried
// instead.
var ErrCommitUnknown = errors.New("dbx: commit outcome unknown: the transaction may have been committed")

var errTxDone = sql.ErrTxDone

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
// be retried. fn must do all its work through tx and must decide what to
// run inside the transaction, from what it reads there, on every call:
// PostgreSQL's rule is to retry "the complete transaction, including all
// logic that decides which SQL to issue". Return the driver's errors, or
// wrap them with %w, so that their SQLSTATE can be read.
//
// The retry options follow those of the core loop and apply after dbx's
// defaults: 10 attempts, Exponential(2ms, 2) capped at 500ms with full
// jitter (both sides of a conflict retry; without jitter they collide
// again). A *retry.Policy among ropts replaces those defaults. Whatever the
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
	r := sqlRun[T]{db: db, opts: opts, fn: fn, readOnly: opts != nil && opts.ReadOnly}
	return retry.Do(ctx, r.attempt, options(ropts)...)
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

// sqlTx gives *sql.Tx the methods of Tx.
type sqlTx struct{ *sql.Tx }

// Commit reports a context error as not committed: database/sql checks
// the context before it sends COMMIT and detaches the commit itself from
// it, so a context error means COMMIT was never sent (the transaction was
// rolled back when the context ended).
func (t sqlTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &notCommitted{err}
	}
	return err
}
func (t sqlTx) Rollback(context.Context) error { return t.Tx.Rollback() }

// Transact is [InTx] for any driver: begin starts a transaction (with the
// isolation level and access mode the caller wants), fn runs in it, and
// Transact commits it, redoing the whole transaction while the failure is
// one a new attempt may cure. readOnly says the transaction writes nothing,
// so that a COMMIT with an unknown outcome may be retried.
//
// Each attempt:
//
//   - calls begin; an error there is classified like any other (a
//     connection refused or too_many_connections is retried);
//   - calls fn; if fn returns an error, the transaction is rolled back and
//     the error classified (by the policy's classifiers, then dbx's table);
//   - if fn panics, rolls back and panics again with the same value, on the
//     caller's goroutine;
//   - commits. A COMMIT that fails with a serialization failure or a
//     deadlock (SERIALIZABLE write skew is detected there) did not commit
//     and is retried. A COMMIT whose outcome is unknown (see
//     [ErrCommitUnknown]) ends the call at once with an error whose chain
//     holds ErrCommitUnknown and the driver's error, unless readOnly is set
//     or ctx is marked [Idempotent]; then it is retried.
//
// Rollbacks run with ctx's values but without its cancellation, so that a
// cancelled call still releases its connection cleanly; their errors are
// dropped (the transaction is over either way). When ctx ends, the running
// attempt's transaction is rolled back and no new attempt starts.
//
// On failure Transact returns fn's last value and a [*retry.Error] whose
// chain reaches the last error (errors.As finds the driver's error) and the
// reason the loop stopped, as for [retry.Do]. The options are those of
// [InTx]. A nil begin or fn returns an error wrapping
// [retry.ErrInvalidConfig] without calling anything.
func Transact[X Tx, T any](ctx context.Context, begin func(context.Context) (X, error), readOnly bool, fn func(ctx context.Context, tx X) (T, error), ropts ...retry.Option) (T, error) {
	if begin == nil || fn == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: dbx.Transact: nil begin or nil function", retry.ErrInvalidConfig)}
	}
	r := funcRun[X, T]{beginFn: begin, fn: fn, readOnly: readOnly}
	return retry.Do(ctx, r.attempt, options(ropts)...)
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
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return v, classified(err)
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
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	v, err = s.call(ctx, tx)
	done = true
	return v, err
}

// commitFailed classifies an error of COMMIT.
func commitFailed(ctx context.Context, err error, readOnly bool) error {
	state := SQLState(err)
	if !commitUnknown(state, err) {
		return classified(err)
	}
	if readOnly || IsIdempotent(ctx) {
		return &verdict{err: err, retryable: true}
	}
	return retry.Unretryable(&unknownCommit{err: err})
}

// classified wraps err, returned before COMMIT, with its verdict.
func classified(err error) error {
	return &verdict{err: err, retryable: inTxRetryable(SQLState(err), err)}
}

// notCommitted is an error of COMMIT that proves nothing was committed.
type notCommitted struct{ err error }

func (n *notCommitted) Error() string { return n.err.Error() }
func (n *notCommitted) Unwrap() error { return n.err }

// unknownCommit is the error of a COMMIT with an unknown outcome: its chain
// holds ErrCommitUnknown and the driver's error.
type unknownCommit struct{ err error }

func (u *unknownCommit) Error() string   { return ErrCommitUnknown.Error() + ": " + u.err.Error() }
func (u *unknownCommit) Unwrap() []error { return []error{ErrCommitUnknown, u.err} }
