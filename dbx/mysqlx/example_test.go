package mysqlx_test

import (
	"context"
	"database/sql"
	"log"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry/dbx/mysqlx"
)

// The examples need a server, so they are compiled but not run by go test
// (an example cannot skip); TestExamples runs their code, transfer and
// visit, against the test server.

// transfer moves 100 from account 1 to account 2: a deadlock (1213) or a
// lock wait timeout (1205) rolls the whole transaction back and runs it
// again.
func transfer(ctx context.Context, db *sql.DB) error {
	_, err := mysqlx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - 100 WHERE id = ?", 1); err != nil {
			return struct{}{}, err
		}
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 100 WHERE id = ?", 2)
		return struct{}{}, err
	})
	return err
}

// visit counts a visit, a statement outside a transaction, retried only
// where it provably did not take effect (a deadlock, a lock wait timeout,
// a refused connection): an increment is not idempotent.
func visit(ctx context.Context, db *sql.DB) error {
	_, err := mysqlx.Exec(ctx, db, "UPDATE counters SET n = n + 1 WHERE name = ?", "visits")
	return err
}

// A transfer on MariaDB or MySQL.
func ExampleInTx() {
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := transfer(context.Background(), db); err != nil {
		log.Fatal(err)
	}
}

// A statement outside a transaction.
func ExampleExec() {
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := visit(context.Background(), db); err != nil {
		log.Fatal(err)
	}
}

func TestExamples(t *testing.T) {
	db, _ := newDatabase(t)
	accounts(t, db, 2)
	mustExec(t, db, "CREATE TABLE counters (name varchar(20) PRIMARY KEY, n int NOT NULL)",
		"INSERT INTO counters VALUES ('visits', 0)")

	require.NoError(t, transfer(t.Context(), db))
	idle(t, db)
	assert.Equal(t, []int64{0, 200}, balances(t, db))

	require.NoError(t, visit(t.Context(), db))
	require.NoError(t, visit(t.Context(), db))
	var n int
	require.NoError(t, db.QueryRow("SELECT n FROM counters WHERE name = 'visits'").Scan(&n))
	assert.Equal(t, 2, n)
}
