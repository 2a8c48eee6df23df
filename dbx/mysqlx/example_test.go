package mysqlx_test

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/go-sql-driver/mysql"

	"github.com/retrykit/retry/dbx/mysqlx"
)

// A transfer on MariaDB or MySQL: a deadlock (1213) or a lock wait timeout
// (1205) rolls the whole transaction back and runs it again.
func ExampleInTx() {
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		return
	}
	defer db.Close()
	_, err = mysqlx.InTx(context.Background(), db, nil, func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - 100 WHERE id = ?", 1); err != nil {
			return struct{}{}, err
		}
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 100 WHERE id = ?", 2)
		return struct{}{}, err
	})
	fmt.Println(err)
}

// A statement outside a transaction, retried only where it provably did
// not take effect (a deadlock, a lock wait timeout, a refused connection).
func ExampleExec() {
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		return
	}
	defer db.Close()
	res, err := mysqlx.Exec(context.Background(), db, "UPDATE counters SET n = n + 1 WHERE name = ?", []any{"visits"})
	fmt.Println(res, err)
}
