package dbx

import (
	"context"
	"errors"
	"time"
)

// codeErr is an error with a SQLSTATE, as a driver's.
type codeErr string

func (c codeErr) Error() string    { return "server error (SQLSTATE " + string(c) + ")" }
func (c codeErr) SQLState() string { return string(c) }

// pgxConnErr is shaped like pgx's connection-level errors.
type pgxConnErr struct{ safe bool }

func (e pgxConnErr) Error() string     { return "conn closed" }
func (e pgxConnErr) SafeToRetry() bool { return e.safe }

// fakeTx is a transaction whose commit and rollback are scripted; it
// records what happened to it.
type fakeTx struct {
	commitErr      error
	commitCalled   bool
	committed      bool
	rolledBack     bool
	rollbackOK     bool          // the context of Rollback was not cancelled
	rollbackWithin time.Duration // the time Rollback's context left it (0: no deadline)
}

func (t *fakeTx) Commit(context.Context) error {
	t.commitCalled = true
	if t.commitErr != nil {
		return t.commitErr
	}
	t.committed = true
	return nil
}

func (t *fakeTx) Rollback(ctx context.Context) error {
	t.rolledBack = true
	t.rollbackOK = ctx.Err() == nil
	if d, ok := ctx.Deadline(); ok {
		t.rollbackWithin = time.Until(d)
	}
	return nil
}

// beginner hands out fake transactions, taking commit errors from a script.
type beginner struct {
	txs       []*fakeTx
	commitErr []error
	beginErr  []error
}

func (b *beginner) begin(context.Context) (*fakeTx, error) {
	if len(b.beginErr) > 0 {
		err := b.beginErr[0]
		b.beginErr = b.beginErr[1:]
		if err != nil {
			return nil, err
		}
	}
	tx := &fakeTx{}
	if len(b.commitErr) > 0 {
		tx.commitErr = b.commitErr[0]
		b.commitErr = b.commitErr[1:]
	}
	b.txs = append(b.txs, tx)
	return tx, nil
}

var errOwn = errors.New("the caller's own error")
