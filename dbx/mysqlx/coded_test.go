package mysqlx

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry/dbx"
)

func myErr(n uint16, state string) *mysql.MySQLError {
	e := &mysql.MySQLError{Number: n, Message: "m"}
	copy(e.SQLState[:], state)
	return e
}

func TestCodedMapsTheNumbersThatMatter(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{myErr(1213, "40001"), "40001"},
		{myErr(1205, "HY000"), "55P03"},
		{myErr(1040, "08004"), "08004"},
		{myErr(1203, "42000"), "53300"},
		{myErr(1927, "70100"), "57P01"},
		{myErr(1062, "23000"), "23000"},
		{myErr(1064, "42000"), "42000"},
		{fmt.Errorf("exec: %w", myErr(1213, "40001")), "40001"},
		{mysql.ErrInvalidConn, "08006"},
		{myErr(9999, ""), ""},
		{errors.New("own"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error()+tt.want, func(t *testing.T) {
			err := coded(tt.err)
			assert.Equal(t, tt.want, dbx.SQLState(err))
			assert.ErrorIs(t, err, tt.err, "the chain keeps the driver's error")
			assert.Equal(t, tt.err.Error(), err.Error())
		})
	}
	assert.NoError(t, coded(nil))
}
