package retry_test

// This file pins the test-only dependencies so that `go mod tidy` keeps them.
import (
	_ "github.com/stretchr/testify/require"
	_ "pgregory.net/rapid"
)
