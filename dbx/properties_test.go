package dbx

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// sqlstate draws a five-character SQLSTATE, biased towards the classes the
// table names.
func sqlstate() *rapid.Generator[string] {
	class := rapid.SampledFrom([]string{"08", "22", "23", "25", "40", "42", "53", "55", "57", "HY", "XX"})
	tail := rapid.StringMatching(`[0-9A-Z]{3}`)
	return rapid.Custom(func(t *rapid.T) string { return class.Draw(t, "class") + tail.Draw(t, "tail") })
}

// Relations the table must keep for every code.
func TestTableProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		code := sqlstate().Draw(t, "code")
		err := codeErr(code)
		safe, ambiguous := stmtSafe(code, err), stmtAmbiguous(code, err)
		if safe && !inTxRetryable(code, err) {
			t.Fatalf("%s: a statement that provably did not run may be resent, so a transaction that failed on it may be redone", code)
		}
		unknown := code == "08007" || code == "40003"
		if ambiguous && !unknown && !inTxRetryable(code, err) {
			t.Fatalf("%s: a lost statement inside a transaction rolls the transaction back, so it may be redone", code)
		}
		if unknown && inTxRetryable(code, err) {
			t.Fatalf("%s: the server says the outcome is unknown: never redone", code)
		}
		if commitUnknown(code) != (strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P05" || code == "40003") {
			t.Fatalf("%s: only connection, shutdown and completion-unknown codes leave a COMMIT's outcome unknown", code)
		}
		for _, never := range []string{"22", "23", "42"} {
			if strings.HasPrefix(code, never) && (inTxRetryable(code, err) || safe || ambiguous) {
				t.Fatalf("%s: class %s is never retried", code, never)
			}
		}
		if got := RetryCodes(code)(err); got != retry.Retryable {
			t.Fatalf("RetryCodes(%s) = %v on its own code", code, got)
		}
		if got := RetryCodes(code[:2])(err); got != retry.Retryable {
			t.Fatalf("RetryCodes(%s) = %v on a code of its class", code[:2], got)
		}
		if got := StopCodes(code)(err); got != retry.Terminal {
			t.Fatalf("StopCodes(%s) = %v on its own code", code, got)
		}
		other := sqlstate().Draw(t, "other")
		if other != code && other[:2] != code[:2] && RetryCodes(other)(err) != retry.Unclassified {
			t.Fatalf("RetryCodes(%s) decided on %s", other, code)
		}
	})
}

// What a failed COMMIT becomes, for every code, driver error and access
// mode: an unknown outcome always carries ErrCommitUnknown (retried only
// when read-only or idempotent), a rollback the server reported never
// does and is never retried by the table, and every other error is the
// table's.
func TestCommitFailedProperties(t *testing.T) {
	others := []error{io.ErrUnexpectedEOF, driver.ErrBadConn, pgxConnErr{safe: true}, pgxConnErr{safe: false},
		errOwn, errPgxCommitRollback, errPqInFailedTx, context.DeadlineExceeded}
	rapid.Check(t, func(t *rapid.T) {
		var err error = codeErr(sqlstate().Draw(t, "code"))
		if rapid.Bool().Draw(t, "no code") {
			err = rapid.SampledFrom(others).Draw(t, "error")
		}
		readOnly, idem := rapid.Bool().Draw(t, "read-only"), rapid.Bool().Draw(t, "idempotent")
		ctx := context.Background()
		if idem {
			ctx = Idempotent(ctx)
		}
		got := commitFailed(ctx, err, readOnly)
		state := SQLState(err)
		var v interface{ Retryable() bool }
		retried := errors.As(got, &v) && v.Retryable() && !errors.Is(got, retry.ErrPermanent)
		switch {
		case state == "25P02" || rolledBackAtCommit(err):
			if errors.Is(got, ErrCommitUnknown) || retried || SQLState(got) != "25P02" {
				t.Fatalf("%v: a rolled-back COMMIT is known, 25P02 and not retried: %v (retried %v)", err, got, retried)
			}
		case commitUnknown(state):
			if !errors.Is(got, ErrCommitUnknown) {
				t.Fatalf("%v: an unknown outcome must carry ErrCommitUnknown: %v", err, got)
			}
			if retried != (readOnly || idem) {
				t.Fatalf("%v: retried %v, read-only %v, idempotent %v", err, retried, readOnly, idem)
			}
		default:
			if errors.Is(got, ErrCommitUnknown) || retried != inTxRetryable(state, err) {
				t.Fatalf("%v: the table's verdict: %v (retried %v)", err, got, retried)
			}
		}
		if !errors.Is(got, err) {
			t.Fatalf("%v: the driver's error is lost: %v", err, got)
		}
	})
}
