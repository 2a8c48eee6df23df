package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update rewrites the golden files with what the tests produce:
// go test ./cmd/retry -run TestName -update, then read the diff.
var update = flag.Bool("update", false, "rewrite the golden files of cmd/retry's tests")

// assertGolden compares got with testdata/name.golden.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	assert.Equal(t, string(want), got, "golden file %s (run with -update to rewrite it, then read the diff)", path)
}

// runInProcess calls run with args and returns its status and output.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), args, nil, &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}
