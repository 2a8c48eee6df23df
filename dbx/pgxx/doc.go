// Package pgxx retries PostgreSQL work done through pgx v5's native
// interface (a *pgxpool.Pool or a *pgx.Conn), with the rules of package
// [github.com/retrykit/retry/dbx]: [InTx] redoes a whole transaction after
// a serialization failure, a deadlock or a lost connection before COMMIT,
// never after a COMMIT whose outcome is unknown (unless read-only or
// declared [dbx.Idempotent]); [Exec] retries a statement outside a
// transaction only where that cannot apply it twice.
//
// pgx tells apart a connection error that happened before anything was
// sent (pgconn.SafeToRetry) from one that may have reached the server, and
// dbx uses that for statements. At COMMIT it is not trusted: pgx reports
// a reply that was cut after the server committed as safe to retry.
//
// pgx's own BeginTxFunc does not retry; its maintainers leave retries to
// other libraries. This module is a separate Go module so that the core
// module imports no driver.
package pgxx
