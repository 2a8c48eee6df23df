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
// the context ended while COMMIT was under way (the driver stopped waiting
// for the reply), or the server answered 08xxx, 57P01, 57P02, 57P05 or
// 40003. The transaction is not retried, since redoing it could apply it
// twice: the loop stops with [retry.ErrNotIdempotent], and the message
// says what would allow the retry. errors.Is(err, dbx.ErrCommitUnknown)
// tells the caller to check (for example for a row with a unique id the
// transaction wrote) before doing it again. A read-only transaction, or
// one declared [Idempotent], is retried instead; when its attempts run
// out on such COMMITs, the final error still holds ErrCommitUnknown.
//
// A COMMIT the server answered with a rollback (fn ignored a failed
// statement) is not an unknown outcome: nothing was committed, and the
// error has the SQLSTATE 25P02 instead (see the package documentation).
var ErrCommitUnknown = errors.New("dbx: commit outcome unknown: the transaction may have been committed")

// commitFailed classifies an error of COMMIT.
func commitFailed(ctx context.Context, err error, readOnly bool) error {
	if errors.Is(err, sql.ErrTxDone) {
		if ctx.Err() != nil {
			// database/sql rolled the transaction back when the context
			// ended, before COMMIT: nothing committed.
			return classified(err)
		}
		return retry.Permanent(fmt.Errorf("%w: dbx: the transaction had already ended when the helper committed it (fn must not call Commit or Rollback): %w", retry.ErrInvalidConfig, err))
	}
	state := SQLState(err)
	if state == "25P02" || rolledBackAtCommit(err) {
		// A known outcome: the server rolled back. Not retried by the
		// table (fn hid a failed statement), but a classifier may.
		return &verdict{err: &rolledBack{err}}
	}
	if !commitUnknown(state) {
		return classified(err)
	}
	if readOnly || IsIdempotent(ctx) {
		return &verdict{err: &unknownCommit{err: err}, retryable: true}
	}
	return retry.NotIdempotent(&unknownCommit{err: err, refused: true})
}

// notCommitted is the error of an attempt whose context ended before
// COMMIT was sent: the transaction was rolled back.
type notCommitted struct{ err error }

func (n *notCommitted) Error() string { return "dbx: not committed: " + n.err.Error() }
func (n *notCommitted) Unwrap() error { return n.err }

// rolledBack is the error of a COMMIT that the server turned into a
// rollback because a statement of the transaction had failed (and fn
// returned nil): nothing was committed. Its SQLSTATE is 25P02
// (in_failed_sql_transaction) whatever the driver said; its chain holds the
// driver's error.
type rolledBack struct{ err error }

func (r *rolledBack) Error() string {
	return "dbx: COMMIT was rolled back: a statement of the transaction failed and fn returned nil; nothing was committed: " + r.err.Error()
}
func (r *rolledBack) Unwrap() error    { return r.err }
func (r *rolledBack) SQLState() string { return "25P02" }

// unknownCommit is the error of a COMMIT with an unknown outcome: its chain
// holds ErrCommitUnknown and the driver's error. refused says that the
// transaction is not run again because of it; the message then says what
// would allow the retry.
type unknownCommit struct {
	err     error
	refused bool
}

func (u *unknownCommit) Error() string {
	if u.refused {
		return ErrCommitUnknown.Error() + ", so it is not run again (to retry it, make running it twice harmless " +
			"and mark the context with dbx.Idempotent, or make the transaction read-only): " + u.err.Error()
	}
	return ErrCommitUnknown.Error() + ": " + u.err.Error()
}

func (u *unknownCommit) Unwrap() []error { return []error{ErrCommitUnknown, u.err} }
