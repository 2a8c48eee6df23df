// Package pgxx retries PostgreSQL work done through pgx v5's native
// interface (a *pgxpool.Pool or a *pgx.Conn), with the rules of package
// [github.com/retrykit/retry/dbx]: [InTx] redoes a whole transaction after
// a serialization failure, a deadlock or a lost connection before COMMIT,
// never after a COMMIT whose outcome is unknown (unless read-only or
// declared [dbx.Idempotent]); [Exec] retries a statement outside a
// transaction only where that cannot apply it twice.
//
// pgx marks some connection errors as "safe to retry"
// (pgconn.SafeToRetry), meant as "nothing was sent"; pgxx does not trust
// it, neither at COMMIT nor for a statement: pgx reports a reply that was
// cut after the server had committed, or had run the statement, as "conn
// closed", safe to retry. Only a connection that could not be established
// (*pgconn.ConnectError) or a context that had ended before the call
// proves that nothing was sent.
//
// pgx's own BeginTxFunc does not retry; its maintainers leave retries to
// other libraries. This module is a separate Go module so that the core
// module imports no driver.
package pgxx
