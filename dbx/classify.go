package dbx

import (
	"database/sql/driver"
	"errors"
	"io"
	"iter"
	"net"
	"slices"
	"strings"
	"syscall"

	"github.com/retrykit/retry"
)

// SQLState returns the five-character SQLSTATE code of the first error in
// err's chain that has a method SQLState() string, as the errors of pgx
// (*pgconn.PgError) and lib/pq (*pq.Error) do, or "" when there is none.
func SQLState(err error) string {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return coded.SQLState()
	}
	return ""
}

// RetryCodes returns a classifier that retries the errors whose SQLSTATE is
// one of codes and leaves every other error to the rest of the chain and
// then to dbx's own table (it is Unclassified for them). A code of two characters names a whole class:
// "23" matches every integrity constraint violation. Use it to widen the
// default table, for example to retry a unique violation (23505) whose
// cause is a concurrent insert:
//
//	dbx.InTx(ctx, db, opts, fn, retry.WithClassifier(dbx.RetryCodes("23505")))
//
// An unknown COMMIT outcome ([ErrCommitUnknown]) is never retried, whatever
// the classifiers say. The classifier is safe for concurrent use.
func RetryCodes(codes ...string) retry.Classifier {
	return codeClassifier(codes, retry.Retryable)
}

// StopCodes returns a classifier that stops on the errors whose SQLSTATE is
// one of codes (two characters name a class) and leaves every other error
// to the rest of the chain. Use it to narrow the default table, for
// example not to retry lock_not_available (55P03):
//
//	dbx.InTx(ctx, db, opts, fn, retry.WithClassifier(dbx.StopCodes("55P03")))
func StopCodes(codes ...string) retry.Classifier {
	return codeClassifier(codes, retry.Terminal)
}

func codeClassifier(codes []string, d retry.Class) retry.Classifier {
	codes = slices.Clone(codes)
	return func(err error) retry.Class {
		state := SQLState(err)
		if state == "" {
			return retry.Unclassified
		}
		for _, c := range codes {
			if state == c || len(c) == 2 && strings.HasPrefix(state, c) {
				return d
			}
		}
		return retry.Unclassified
	}
}

// inTxRetryable is the table for errors inside a transaction, before
// COMMIT (see the package documentation): may the whole transaction be
// redone after err?
func inTxRetryable(state string, err error) bool {
	switch state {
	case "":
		return isConnError(err)
	case "40001", "40P01", "55P03", "57P01", "57P02", "57P03", "57P05", "25P03", "53300":
		return true
	case "08007", "40003":
		// The server itself says the outcome is unknown: never redone.
		return false
	}
	return strings.HasPrefix(state, "08")
}

// stmtSafe reports whether a statement outside a transaction that failed
// with err provably did not take effect, so that it may be sent again
// whatever it does. Without a SQLSTATE only a refused connection proves
// it: neither driver.ErrBadConn (database/sql has already retried it, and
// pgx's stdlib driver reports a reply cut after the statement ran as one)
// nor pgx's SafeToRetry (true for such a cut) does.
func stmtSafe(state string, err error) bool {
	switch state {
	case "":
		return errors.Is(err, syscall.ECONNREFUSED)
	case "40001", "40P01", "55P03", "57P03", "53300", "08001", "08004":
		// Conflicts and lock failures roll the statement back; the others
		// refuse a connection before anything is sent.
		return true
	}
	return false
}

// stmtAmbiguous reports whether a statement outside a transaction that
// failed with err may or may not have taken effect: the connection was
// lost or the session killed while it ran.
func stmtAmbiguous(state string, err error) bool {
	switch state {
	case "":
		return isConnError(err)
	case "57P01", "57P02", "57P05", "40003":
		return true
	}
	return strings.HasPrefix(state, "08")
}

// commitUnknown reports whether an error of COMMIT with SQLSTATE state
// leaves the outcome of the transaction unknown. Only an error the server
// answered with a SQLSTATE outside the connection and shutdown classes
// proves that nothing was committed. An error without a code (a broken
// connection, a context that ended while COMMIT was under way) is never
// trusted at COMMIT, not even pgx's SafeToRetry: a reply cut after the
// server committed looks the same.
func commitUnknown(state string) bool {
	switch state {
	case "", "57P01", "57P02", "57P05", "40003":
		return true
	}
	return strings.HasPrefix(state, "08")
}

// isConnError reports whether err, which has no SQLSTATE, says that the
// connection failed rather than that a statement was wrong.
func isConnError(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return true
	}
	// pgconn marks its connection-level errors, those raised before
	// anything was sent, with SafeToRetry() true; false says nothing about
	// the connection.
	var s interface{ SafeToRetry() bool }
	return errors.As(err, &s) && s.SafeToRetry()
}

// rolledBackAtCommit reports whether err, returned by COMMIT, is a
// driver's report that the server answered COMMIT with ROLLBACK because
// the transaction had failed: pgx's pgx.ErrTxCommitRollback (also through
// its stdlib driver) and lib/pq's pq.ErrInFailedTransaction. dbx imports
// no driver and these errors carry no code, so they are recognised by
// their fixed text, compared whole (case aside: lib/pq capitalised it
// before v1.11) on every error of the chain; the nested module pgxx checks
// the texts against both drivers. A driver wrapper can say the same with
// the SQLSTATE 25P02.
func rolledBackAtCommit(err error) bool {
	for e := range chain(err) {
		msg := e.Error()
		if strings.EqualFold(msg, "commit unexpectedly resulted in rollback") ||
			strings.EqualFold(msg, "pq: could not complete operation in a failed transaction") {
			return true
		}
	}
	return false
}

// chain yields err and every error it wraps, depth first, as errors.Is
// walks them.
func chain(err error) iter.Seq[error] {
	return func(yield func(error) bool) { walk(err, yield) }
}

func walk(err error, yield func(error) bool) bool {
	if err == nil {
		return true
	}
	if !yield(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), yield)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walk(e, yield) {
				return false
			}
		}
	}
	return true
}

// verdict carries dbx's classification of an attempt's error to the core
// loop, which consults it when no classifier of the policy decides (the
// error's own Retryable method): so the table holds under any policy, and
// classifiers given by the caller come before it. Its
// message and chain are the error's own.
type verdict struct {
	err       error
	retryable bool
}

func (v *verdict) Error() string   { return v.err.Error() }
func (v *verdict) Unwrap() error   { return v.err }
func (v *verdict) Retryable() bool { return v.retryable }
