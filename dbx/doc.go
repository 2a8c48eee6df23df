// Package dbx retries database work with the loop of package
// [github.com/retrykit/retry], and refuses to run again work that may
// already have taken effect. [InTx] runs a whole database/sql transaction
// again after a serialization failure, a deadlock or a connection lost
// before COMMIT; but a COMMIT whose outcome is unknown (the connection
// broke, or the context ended, after COMMIT was sent) ends the call after
// that attempt with an error holding [ErrCommitUnknown] and
// [retry.ErrNotIdempotent] (ReasonOf "not_idempotent"), because running
// the transaction again could apply it twice: two transfers, two orders.
// A read-only transaction, or a context marked [Idempotent], allows the
// retry, and the message says so. [Exec], [Query] and [Statement] retry a
// statement outside a transaction only where that cannot apply it twice,
// and refuse one that may have taken effect in the same way.
//
// [Transact] is InTx for any driver's transactions. dbx imports no driver:
// SQLSTATE codes are read through the method SQLState() string that the
// errors of pgx and lib/pq have. The nested modules pgxx (pgx v5 native)
// and mysqlx (MySQL and MariaDB) build on it.
//
// # Whole transactions, never a replay
//
// Every attempt begins a new transaction, calls the caller's function, and
// commits; an error rolls it back. PostgreSQL's rule is to retry "the
// complete transaction, including all logic that decides which SQL to
// issue": the function must read what it needs inside the transaction on
// every call, not carry results over from a failed attempt.
//
// # What is retried
//
// Inside a transaction, before COMMIT, nothing has been committed, so
// redoing it is always safe; it is worth it for:
//
//	40001        serialization_failure (REPEATABLE READ, SERIALIZABLE)
//	40P01        deadlock_detected
//	55P03        lock_not_available (NOWAIT, lock_timeout)
//	57P01-57P03  admin shutdown, crash shutdown, cannot connect now
//	57P05        idle_session_timeout
//	25P03        idle_in_transaction_session_timeout
//	53300        too_many_connections
//	08xxx        connection exceptions, except 08007
//	(no code)    driver.ErrBadConn, EOF, resets and other network errors
//
// Never retried: 08007 transaction_resolution_unknown and 40003
// statement_completion_unknown (the server itself does not know what
// happened), constraint violations (23xxx), syntax and permission errors
// (42xxx), data errors (22xxx), every other code, and errors of the
// caller's own that carry no code. [RetryCodes] and [StopCodes] widen or
// narrow the table; the policy's classifiers come before it.
//
// # COMMIT
//
// When the attempt's context has ended by the time fn returns, COMMIT is
// not sent: the transaction is rolled back and nothing was committed. A
// COMMIT that fails with 40001 or 40P01 (SERIALIZABLE reports write skew
// there) did not commit: the transaction is retried. A COMMIT that fails
// because the connection broke, because the context ended while it was
// under way, or with 08xxx, 57P01, 57P02, 57P05 or 40003, may have
// committed: the call ends at once with an error for which errors.Is(err,
// [ErrCommitUnknown]) holds, and nothing is retried, unless the
// transaction is read-only (sql.TxOptions.ReadOnly) or the context is
// marked [Idempotent]; if every attempt's COMMIT ends that way, the final
// error still holds ErrCommitUnknown. Drivers' "safe to retry" signals are
// not trusted at COMMIT: pgx reports a reply cut after the server
// committed as safe to retry. fn must not call Commit or Rollback itself.
//
// When fn ignores a failed statement and returns nil, PostgreSQL has
// already aborted the transaction and answers COMMIT with a rollback (pgx
// reports pgx.ErrTxCommitRollback, through its stdlib driver too; lib/pq
// pq.ErrInFailedTransaction). That outcome is known, nothing was
// committed: the error has the SQLSTATE 25P02 (in_failed_sql_transaction)
// and the driver's error in its chain, and it is not retried, whatever the
// access mode, because fn hid an error that a new attempt would most
// likely meet and hide again (pgx's BeginFunc and cockroach-go's ExecuteTx
// do not retry it either). Return the statement's error from fn to have
// it classified, a conflict retried; [RetryCodes]("25P02") retries the
// rolled-back COMMIT too.
//
// So an error from a transaction helper means that nothing was committed
// unless errors.Is(err, ErrCommitUnknown) holds, or fn ended the
// transaction itself ([retry.ErrInvalidConfig]).
//
// # Statements outside a transaction
//
// A statement is its own transaction. [Exec], [Query] and [Statement] retry
// it when it provably did not take effect (a conflict, a refused
// connection, a context that had ended before the call), or when the context is marked [Idempotent] and
// the connection was lost or the session killed while it ran; otherwise a
// statement that may have run ends the call, even after an attempt
// timeout. database/sql itself runs a call up to 3 times on
// driver.ErrBadConn, inside one attempt of ours, and drivers report a
// reply lost after the statement ran as driver.ErrBadConn (pgx's stdlib
// driver does): so database/sql may run a statement that is not
// idempotent up to 3 times, which dbx cannot prevent, and a bare
// driver.ErrBadConn that reaches dbx is an unknown outcome, not retried
// unless the context is marked [Idempotent]. lib/pq turns every FATAL
// error into a bare driver.ErrBadConn without a code.
//
// # Defaults
//
// 10 attempts, Exponential(2ms, 2) capped at 500ms, full jitter: conflicts
// clear in milliseconds, and both parties to a conflict retry, so without
// jitter they meet again. Options put on the context with [WithOptions],
// then those passed to a helper, apply after these; [Exec] and [Query]
// take their arguments as the drivers do (Exec(ctx, db, query, 1, "x")),
// so their options come from the context only. The caller's context
// bounds the whole call, and budgets and breakers of the core work as for
// any operation. Failures are reported as [*retry.Error] with the core's
// reasons.
package dbx
