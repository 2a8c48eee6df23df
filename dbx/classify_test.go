package dbx

import (
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
)

func TestSQLState(t *testing.T) {
	assert.Equal(t, "40001", SQLState(codeErr("40001")))
	assert.Equal(t, "23505", SQLState(fmt.Errorf("insert: %w", codeErr("23505"))))
	assert.Equal(t, "", SQLState(io.EOF))
	assert.Equal(t, "", SQLState(nil))
}

// One row per code of the table in the package documentation, for each of
// the three places an error can happen.
func TestClassificationTable(t *testing.T) {
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name                      string
		err                       error
		inTx, stmtSafe, stmtAmbig bool
		commitUnknown             bool
	}{
		{"40001 serialization_failure", codeErr("40001"), true, true, false, false},
		{"40P01 deadlock_detected", codeErr("40P01"), true, true, false, false},
		{"55P03 lock_not_available", codeErr("55P03"), true, true, false, false},
		{"57P01 admin_shutdown", codeErr("57P01"), true, false, true, true},
		{"57P02 crash_shutdown", codeErr("57P02"), true, false, true, true},
		{"57P03 cannot_connect_now", codeErr("57P03"), true, true, false, false},
		{"25P03 idle_in_transaction_timeout", codeErr("25P03"), true, false, false, false},
		{"53300 too_many_connections", codeErr("53300"), true, true, false, false},
		{"08000 connection_exception", codeErr("08000"), true, false, true, true},
		{"08001 unable_to_establish", codeErr("08001"), true, true, true, true},
		{"08003 connection_does_not_exist", codeErr("08003"), true, false, true, true},
		{"08004 rejected_connection", codeErr("08004"), true, true, true, true},
		{"08006 connection_failure", codeErr("08006"), true, false, true, true},
		{"08007 transaction_resolution_unknown", codeErr("08007"), false, false, true, true},
		{"40003 statement_completion_unknown", codeErr("40003"), false, false, true, true},
		{"57P05 idle_session_timeout", codeErr("57P05"), true, false, true, true},
		{"23505 unique_violation", codeErr("23505"), false, false, false, false},
		{"23503 foreign_key_violation", codeErr("23503"), false, false, false, false},
		{"42601 syntax_error", codeErr("42601"), false, false, false, false},
		{"42501 insufficient_privilege", codeErr("42501"), false, false, false, false},
		{"22012 division_by_zero", codeErr("22012"), false, false, false, false},
		{"53100 disk_full", codeErr("53100"), false, false, false, false},
		{"57014 query_canceled", codeErr("57014"), false, false, false, false},
		{"driver.ErrBadConn", driver.ErrBadConn, true, false, true, true},
		{"wrapped ErrBadConn", fmt.Errorf("exec: %w", driver.ErrBadConn), true, false, true, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true, true, true, true},
		{"io.EOF", io.EOF, true, false, true, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true, false, true, true},
		{"connection reset", opErr, true, false, true, true},
		{"pgx SafeToRetry", pgxConnErr{safe: true}, true, false, true, true},
		{"SafeToRetry() false says nothing", pgxConnErr{safe: false}, false, false, false, true},
		{"own error", errOwn, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := SQLState(tt.err)
			assert.Equal(t, tt.inTx, inTxRetryable(state, tt.err), "before COMMIT")
			assert.Equal(t, tt.stmtSafe, stmtSafe(state, tt.err), "statement provably not applied")
			assert.Equal(t, tt.stmtAmbig, stmtAmbiguous(state, tt.err), "statement outcome unknown")
			assert.Equal(t, tt.commitUnknown, commitUnknown(state), "COMMIT outcome unknown")
		})
	}
}

func TestRetryCodesAndStopCodes(t *testing.T) {
	widen := RetryCodes("23505", "08")
	assert.Equal(t, retry.Retryable, widen(codeErr("23505")))
	assert.Equal(t, retry.Retryable, widen(fmt.Errorf("w: %w", codeErr("08006"))), "a class of two characters")
	assert.Equal(t, retry.Unclassified, widen(codeErr("23503")))
	assert.Equal(t, retry.Unclassified, widen(errOwn))
	assert.Equal(t, retry.Unclassified, RetryCodes("2")(codeErr("23505")), "one character is not a class")

	narrow := StopCodes("55P03")
	assert.Equal(t, retry.Terminal, narrow(codeErr("55P03")))
	assert.Equal(t, retry.Unclassified, narrow(codeErr("40001")))
}

func TestRetryCodesKeepsItsOwnCopy(t *testing.T) {
	codes := []string{"23505"}
	c := RetryCodes(codes...)
	codes[0] = "42601"
	assert.Equal(t, retry.Retryable, c(codeErr("23505")))
}
