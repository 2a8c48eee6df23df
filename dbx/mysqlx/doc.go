// Package mysqlx retries MySQL and MariaDB work done through
// github.com/go-sql-driver/mysql with the rules of package
// [github.com/retrykit/retry/dbx]: [InTx] redoes a whole transaction after
// a deadlock or a lock wait timeout, never after a COMMIT whose outcome is
// unknown (unless read-only or declared [dbx.Idempotent]); [Exec] retries a
// statement outside a transaction only where that cannot apply it twice.
//
// # Error numbers
//
// The driver's *mysql.MySQLError has a number and a SQLSTATE field but no
// SQLState method, and several numbers that matter carry the catch-all
// SQLSTATE HY000. mysqlx gives the errors it returns a SQLState method
// (see [dbx.SQLState]) that speaks dbx's vocabulary:
//
//	1213 ER_LOCK_DEADLOCK          40001 (its own; InnoDB rolled back the whole transaction)
//	1205 ER_LOCK_WAIT_TIMEOUT      55P03 (lock not available; HY000 on the wire)
//	1040 ER_CON_COUNT_ERROR        08004 (its own: the connection was refused)
//	1203 ER_TOO_MANY_USER_CONNECTIONS  53300
//	1927 ER_CONNECTION_KILLED      57P01 (MariaDB; the session was killed)
//	mysql.ErrInvalidConn           08006 (the connection broke)
//	any other                      the error's own SQLSTATE
//
// so that [dbx.RetryCodes] and [dbx.StopCodes] work the same for every
// server.
//
// # Deadlocks and lock wait timeouts
//
// On a deadlock (1213) InnoDB rolls back the whole transaction: the only
// remedy is to run it all again, which InTx does. On a lock wait timeout
// (1205) InnoDB rolls back only the statement that waited (unless the
// server runs with innodb_rollback_on_timeout): the transaction is still
// open with the effects of its earlier statements. A caller that catches
// 1205 inside fn and carries on keeps those effects; when fn returns the
// error, InTx rolls the whole transaction back and runs it again from the
// start, so nothing is applied twice. Statements outside a transaction
// ([Exec]) are retried after 1205 too: the statement was rolled back.
//
// # Implicit commits
//
// MySQL and MariaDB commit the open transaction by themselves before (and
// after) some statements: DDL (CREATE, ALTER, DROP, TRUNCATE, RENAME),
// LOCK TABLES and UNLOCK TABLES, account management, and others (see
// "Statements That Cause an Implicit Commit" in the MySQL manual). Such a
// statement inside fn commits the writes made before it; a later
// deadlock, lock wait timeout or lost connection then makes InTx roll back
// only what followed and run fn again from the start, which applies the
// earlier writes a second time. Do not run such statements inside fn, or
// make everything before them idempotent.
//
// # COMMIT takes no context
//
// The driver sends COMMIT without the context: a COMMIT whose reply does
// not come waits for the connection's read timeout (the DSN parameter
// readTimeout), not for the context's end. Set readTimeout to bound it; a
// COMMIT that times out there ends with [dbx.ErrCommitUnknown]. When the
// context has ended before COMMIT, InTx rolls back and sends no COMMIT.
package mysqlx
