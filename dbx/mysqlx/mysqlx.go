package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// InTx runs fn in a transaction of db (opened with the MySQL driver) and
// commits it, redoing the whole transaction while the failure is one a new
// attempt may cure: a deadlock (1213), a lock wait timeout (1205), a lost
// connection before COMMIT, too many connections. It is [dbx.InTx] with
// MySQL's errors given their SQLSTATE (see the package documentation);
// see [dbx.Transact] for the rules at COMMIT, on panics and on
// cancellation, the defaults and the returned error, whose chain reaches
// the driver's *mysql.MySQLError. fn must not run statements that commit
// implicitly (DDL, LOCK TABLES): see the package documentation.
//
// InTx is safe for concurrent use.
func InTx[T any](ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(ctx context.Context, tx *sql.Tx) (T, error), ropts ...retry.Option) (T, error) {
	if db == nil || fn == nil {
		var zero T
		return zero, &retry.Error{Reason: fmt.Errorf("%w: mysqlx.InTx: nil database or nil function", retry.ErrInvalidConfig)}
	}
	begin := func(ctx context.Context) (tx, error) {
		t, err := db.BeginTx(ctx, opts)
		return tx{t}, coded(err)
	}
	call := func(ctx context.Context, t tx) (T, error) {
		v, err := fn(ctx, t.Tx)
		return v, coded(err)
	}
	return dbx.Transact(ctx, begin, dbx.Access(opts != nil && opts.ReadOnly), call, ropts...)
}

// tx gives *sql.Tx the methods of dbx.Tx, with coded errors.
type tx struct{ *sql.Tx }

func (t tx) Commit(context.Context) error   { return coded(t.Tx.Commit()) }
func (t tx) Rollback(context.Context) error { return t.Tx.Rollback() }

// Exec runs one statement outside a transaction with the retry rules of
// [dbx.Exec], MySQL's errors given their SQLSTATE. args are the
// statement's arguments, as for [sql.DB.ExecContext]; retry options come
// from ctx ([dbx.WithOptions]). Exec is safe for concurrent use.
func Exec(ctx context.Context, db *sql.DB, query string, args ...any) (sql.Result, error) {
	if db == nil {
		return nil, &retry.Error{Reason: fmt.Errorf("%w: mysqlx.Exec: nil database", retry.ErrInvalidConfig)}
	}
	return dbx.Statement(ctx, func(ctx context.Context) (sql.Result, error) {
		res, err := db.ExecContext(ctx, query, args...)
		return res, coded(err)
	})
}

// coded gives a MySQL error a SQLState method; other errors, and nil, are
// returned as they are.
func coded(err error) error {
	if err == nil {
		return nil
	}
	if state := sqlState(err); state != "" {
		return &codedError{err: err, state: state}
	}
	return err
}

// sqlState maps an error of the MySQL driver to a SQLSTATE in dbx's
// vocabulary, or "" for an error that is not the driver's.
func sqlState(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1205: // ER_LOCK_WAIT_TIMEOUT
			return "55P03"
		case 1203: // ER_TOO_MANY_USER_CONNECTIONS
			return "53300"
		case 1927: // ER_CONNECTION_KILLED (MariaDB)
			return "57P01"
		}
		if me.SQLState != [5]byte{} {
			return string(me.SQLState[:])
		}
		return ""
	}
	if errors.Is(err, mysql.ErrInvalidConn) {
		return "08006"
	}
	return ""
}

// codedError is a driver error with its SQLSTATE; message and chain are the
// driver error's.
type codedError struct {
	err   error
	state string
}

func (c *codedError) Error() string    { return c.err.Error() }
func (c *codedError) Unwrap() error    { return c.err }
func (c *codedError) SQLState() string { return c.state }
