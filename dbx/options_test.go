package dbx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// conflicts runs Statement with ctx on an operation that fails with 40001
// every time, in a bubble of virtual time, and returns how many times it
// ran.
func conflicts(t *testing.T, ctx func(context.Context) context.Context, ropts ...retry.Option) (calls int, err error) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		_, err = Statement(ctx(t.Context()), func(context.Context) (int, error) {
			calls++
			return 0, codeErr("40001")
		}, ropts...)
	})
	return calls, err
}

// Options on the context apply after dbx's defaults and before the call's
// own; an inner WithOptions applies after an outer one.
func TestWithOptionsOrder(t *testing.T) {
	tests := []struct {
		name  string
		ctx   func(context.Context) context.Context
		ropts []retry.Option
		calls int
	}{
		{"defaults", func(ctx context.Context) context.Context { return ctx }, nil, defaultMaxAttempts},
		{"context", func(ctx context.Context) context.Context {
			return WithOptions(ctx, retry.WithMaxAttempts(3))
		}, nil, 3},
		{"nested", func(ctx context.Context) context.Context {
			return WithOptions(WithOptions(ctx, retry.WithMaxAttempts(3)), retry.WithMaxAttempts(2))
		}, nil, 2},
		{"the call's own last", func(ctx context.Context) context.Context {
			return WithOptions(ctx, retry.WithMaxAttempts(3))
		}, []retry.Option{retry.WithMaxAttempts(4)}, 4},
		{"with Idempotent", func(ctx context.Context) context.Context {
			return Idempotent(WithOptions(ctx, retry.WithMaxAttempts(2)))
		}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := conflicts(t, tt.ctx, tt.ropts...)
			assert.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, tt.calls, calls)
		})
	}
}

// Two contexts made from one parent do not share their options (the
// parent's list has room to grow: appending in place would let the second
// overwrite the first's).
func TestWithOptionsSiblingsDoNotShare(t *testing.T) {
	calls, _ := conflicts(t, func(ctx context.Context) context.Context {
		parent := WithOptions(ctx, retry.WithMaxAttempts(9))
		parent = WithOptions(parent, retry.WithMaxAttempts(8))
		parent = WithOptions(parent, retry.WithMaxAttempts(7))
		first := WithOptions(parent, retry.WithMaxAttempts(2))
		_ = WithOptions(parent, retry.WithMaxAttempts(5))
		return first
	})
	assert.Equal(t, 2, calls)
}

// A nil context given to WithOptions, or invalid options on a context,
// fail every helper with ErrInvalidConfig before anything runs.
func TestWithOptionsInvalid(t *testing.T) {
	var nilCtx context.Context
	for name, ctx := range map[string]context.Context{
		"nil context":     WithOptions(nilCtx, retry.WithMaxAttempts(2)),
		"nested nil":      WithOptions(WithOptions(nilCtx), retry.WithMaxAttempts(2)),
		"invalid options": WithOptions(t.Context(), retry.WithMaxAttempts(-1)),
	} {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, ctx)
			b := &beginner{}
			_, err := Transact(ctx, b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) { return 0, nil })
			assert.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Empty(t, b.txs)
			calls := 0
			_, err = Statement(ctx, func(context.Context) (int, error) { calls++; return 0, nil })
			assert.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Zero(t, calls)
			db := sql.OpenDB(unreachable{})
			defer db.Close()
			_, err = InTx(ctx, db, nil, func(context.Context, *sql.Tx) (int, error) { return 0, nil })
			assert.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.NotErrorIs(t, err, errUnreachable, "no connection was tried")
			var re *retry.Error
			assert.ErrorAs(t, err, &re)
		})
	}
	assert.Contains(t, func() string {
		_, err := Statement(WithOptions(nilCtx), func(context.Context) (int, error) { return 0, nil })
		return err.Error()
	}(), "dbx.WithOptions: nil context")
}

// A nil context given to a helper is the core loop's error, not a panic.
func TestHelpersWithANilContext(t *testing.T) {
	var nilCtx context.Context
	b := &beginner{}
	_, err := Transact(nilCtx, b.begin, ReadWrite, func(context.Context, *fakeTx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Empty(t, b.txs)
	_, err = Statement(nilCtx, func(context.Context) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
}

// The options a helper builds cost nothing when there are none.
func TestOptionsWithoutAnyAllocateNothing(t *testing.T) {
	ctx := Idempotent(context.Background())
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := options(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// unreachable is a database/sql connector that never connects.
type unreachable struct{}

var errUnreachable = errors.New("unreachable database")

func (unreachable) Connect(context.Context) (driver.Conn, error) { return nil, errUnreachable }
func (unreachable) Driver() driver.Driver                        { return unreachableDriver{} }

type unreachableDriver struct{}

func (unreachableDriver) Open(string) (driver.Conn, error) { return nil, errUnreachable }
