package dbx

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/retrykit/retry"
)

// Exec runs one statement outside a transaction ([sql.DB.ExecContext]) and
// retries it only where sending it again cannot apply it twice:
//
//   - the statement provably did not take effect: a serialization failure,
//     deadlock or lock timeout (the server rolled it back), a connection
//     refused (08001, 08004, 53300, 57P03, or ECONNREFUSED), or a context
//     that had ended before the statement was handed to the driver;
//   - or ctx is marked [Idempotent] (a read-only statement is idempotent:
//     mark it), and the connection was lost or the session killed while
//     the statement ran (an outcome the client cannot know).
//
// Every other error ends the call: constraint, syntax and data errors, and
// a lost connection of a statement not marked idempotent. A statement that
// may have taken effect ends the call as [retry.NotIdempotent], so that neither
// a classifier nor an attempt timeout ([retry.WithAttemptTimeout], which
// the loop otherwise retries) sends it again.
//
// A bare [driver.ErrBadConn] is such an unknown outcome. database/sql
// retries a call itself, up to 3 times in all, when the driver reports
// driver.ErrBadConn, and returns it only when its own tries are spent; and
// drivers report it for replies they lost after the statement ran: pgx's
// stdlib driver turns every error pgx calls SafeToRetry into it, a reply
// cut after the server executed the statement included. So database/sql
// may itself run a statement that is not idempotent up to 3 times within
// one attempt, and dbx cannot prevent it (use [InTx], or a driver's own
// interface such as pgxx, where that matters); what dbx does is never to
// add attempts of its own on top. lib/pq turns every FATAL error (57P01
// among them) into a bare driver.ErrBadConn with no SQLSTATE.
//
// args are the statement's arguments, as for [sql.DB.ExecContext]; retry
// options other than dbx's defaults come from ctx ([WithOptions]). The
// returned error is that of [InTx]. Exec is safe for concurrent use.
func Exec(ctx context.Context, db *sql.DB, query string, args ...any) (sql.Result, error) {
	if db == nil {
		return nil, &retry.Error{Reason: fmt.Errorf("%w: dbx.Exec: nil database", retry.ErrInvalidConfig)}
	}
	return Statement(ctx, func(ctx context.Context) (sql.Result, error) {
		return db.ExecContext(ctx, query, args...)
	})
}

// Query runs one query outside a transaction ([sql.DB.QueryContext]) and
// returns what scan makes of its rows; scan must not close them. The
// query is retried under the rules of [Exec], whether it failed when sent,
// in scan or while reading the rows: a query that may write (INSERT …
// RETURNING, SELECT … FOR UPDATE, a function with side effects) is sent
// again after a lost connection only when ctx is marked [Idempotent], and
// so is a plain SELECT: mark it.
//
// args are the query's arguments, as for [sql.DB.QueryContext]; retry
// options come from ctx ([WithOptions]). Errors of scan other than the
// database's end the call; scan may return [retry.Permanent] or
// [retry.After] as any operation may. Query is safe for concurrent use.
func Query[T any](ctx context.Context, db *sql.DB, query string, scan func(*sql.Rows) (T, error), args ...any) (T, error) {
	if db == nil || scan == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: dbx.Query: nil database or nil scan", retry.ErrInvalidConfig)}
	}
	return Statement(ctx, func(ctx context.Context) (T, error) {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			var zero T
			return zero, err
		}
		v, err := scan(rows)
		cerr := rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err == nil {
			err = cerr
		}
		return v, err
	})
}

// Statement runs op, one statement outside a transaction through any
// driver, with the retry rules of [Exec]: op's errors are retried only
// where the statement provably did not take effect, or where ctx is marked
// [Idempotent] and its outcome is unknown. The nested modules use it for
// their drivers' statements; use it for a driver dbx has no helper for.
// The options and the returned error are those of [InTx]. A nil op returns
// an error wrapping [retry.ErrInvalidConfig].
func Statement[T any](ctx context.Context, op func(ctx context.Context) (T, error), ropts ...retry.Option) (T, error) {
	if op == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: dbx.Statement: nil operation", retry.ErrInvalidConfig)}
	}
	all, err := options(ctx, ropts)
	if err != nil {
		var zero T
		return zero, err
	}
	return retry.Do(ctx, func(ctx context.Context) (T, error) {
		if err := ctx.Err(); err != nil {
			// Nothing is handed to the driver: the outcome is known.
			var zero T
			return zero, &verdict{err: context.Cause(ctx), retryable: true}
		}
		v, err := op(ctx)
		if err != nil {
			return v, statementError(ctx, err)
		}
		return v, nil
	}, all...)
}

// statementError wraps err, returned by a statement outside a transaction,
// with its verdict. A statement that may have taken effect is marked
// NotIdempotent unless ctx is Idempotent, so that no classifier and no attempt
// timeout (which the loop retries on its own) can send it again.
func statementError(ctx context.Context, err error) error {
	state := SQLState(err)
	switch {
	case stmtSafe(state, err):
		return &verdict{err: err, retryable: true}
	case IsIdempotent(ctx) && stmtAmbiguous(state, err):
		return &verdict{err: err, retryable: true}
	case stmtAmbiguous(state, err):
		return retry.NotIdempotent(&verdict{err: &mayHaveRun{err}})
	}
	return &verdict{err: err}
}

// mayHaveRun is the error of a statement outside a transaction that may
// have taken effect and is not sent again; its message says what would
// allow the retry, its chain holds the driver's error.
type mayHaveRun struct{ err error }

func (m *mayHaveRun) Error() string {
	return "dbx: not sent again: the statement may have taken effect (to retry it, make running it twice " +
		"harmless and mark the context with dbx.Idempotent): " + m.err.Error()
}

func (m *mayHaveRun) Unwrap() error { return m.err }
