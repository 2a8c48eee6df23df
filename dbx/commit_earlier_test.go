package dbx

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// A retried transaction (idempotent or read-only) whose COMMIT had an
// unknown outcome on one attempt may have committed then, whatever a later
// attempt does: when a later attempt fails some other way (a unique
// violation, which may well come from the earlier commit, or conflicts
// until the attempts run out), the final error still holds
// ErrCommitUnknown, beside the last attempt's error and the reason the
// loop stopped, so that "no ErrCommitUnknown" keeps meaning "nothing was
// committed".
func TestTransactEarlierCommitUnknownIsKept(t *testing.T) {
	conflicts := []error{nil}
	for range defaultMaxAttempts {
		conflicts = append(conflicts, codeErr("40001"))
	}
	for name, tc := range map[string]struct {
		idem   bool
		access Access
		fnErrs []error
		calls  int
		state  string // of the last error
		reason error
	}{
		"idempotent, then 23505":           {true, ReadWrite, []error{nil, codeErr("23505")}, 2, "23505", retry.ErrPermanent},
		"idempotent, then 40001 until out": {true, ReadWrite, conflicts, defaultMaxAttempts, "40001", retry.ErrExhausted},
		"read-only, then 23505":            {false, ReadOnly, []error{nil, codeErr("23505")}, 2, "23505", retry.ErrPermanent},
		"read-only, then 40001 until out":  {false, ReadOnly, conflicts, defaultMaxAttempts, "40001", retry.ErrExhausted},
	} {
		t.Run(name, func(t *testing.T) {
			b := &beginner{commitErr: []error{io.ErrUnexpectedEOF}}
			calls, v, err := transact(t, tc.idem, b, tc.access, tc.fnErrs)
			assert.Equal(t, tc.calls, calls)
			assert.Equal(t, -calls, v, "fn's last value comes back")
			assert.ErrorIs(t, err, ErrCommitUnknown)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the earlier COMMIT's error")
			assert.ErrorIs(t, err, tc.reason)
			assert.Equal(t, tc.state, SQLState(err), "the last error comes first")
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.calls, re.Attempts)
			assert.Equal(t, tc.state, SQLState(re.Last))
			assert.ErrorIs(t, re.Last, ErrCommitUnknown)
			assert.Contains(t, err.Error(), "SQLSTATE "+tc.state)
			assert.Contains(t, err.Error(), "an earlier attempt's COMMIT had an unknown outcome: the transaction may have been committed")
		})
	}
}

// Nothing is added where it would not be true or is already said: a
// transaction that commits after an unknown COMMIT succeeds, and one whose
// last COMMIT is itself unknown says so once.
func TestTransactEarlierCommitUnknownOnlyWhereItMatters(t *testing.T) {
	b := &beginner{commitErr: []error{io.ErrUnexpectedEOF}}
	calls, _, err := transact(t, true, b, ReadWrite, []error{nil, codeErr("40001")})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)

	b = &beginner{commitErr: []error{io.ErrUnexpectedEOF, nil, io.ErrUnexpectedEOF}}
	calls, _, err = transact(t, true, b, ReadWrite, []error{nil, codeErr("40001")}, retry.WithMaxAttempts(3))
	assert.Equal(t, 3, calls)
	assert.ErrorIs(t, err, ErrCommitUnknown)
	assert.Equal(t, 1, strings.Count(err.Error(), ErrCommitUnknown.Error()), err.Error())

	b = &beginner{}
	_, _, err = transact(t, true, b, ReadWrite, []error{codeErr("40001"), codeErr("23505")})
	assert.NotErrorIs(t, err, ErrCommitUnknown, "no COMMIT was sent")
}
